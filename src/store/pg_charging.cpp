// PgChargingStore: the money-critical transaction. The shape of every charge:
//
//   (a) find the subscriber (identities, or the session row)
//   (b) SELECT ... FROM accounts ... FOR UPDATE   -- serialises the subscriber
//   (c) the stored answer of (session_id, request_key), if any: replay it
//   (d) load status, plan, policy, buckets, other sessions' holds, this
//       session's reservations
//   (e) ocs::evaluate
//   (f) apply debits, releases, reservations; write the session row
//   (g) store the answer under (session_id, request_key)
//   (h) commit
//
// Every read in (c)-(d) comes after the lock, in a READ COMMITTED
// transaction, so it sees everything earlier holders of the lock committed.
#include "ocs/store/pg_store.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocs/core/credit.hpp"
#include "ocs/store/outcome_codec.hpp"

namespace ocs::store {
namespace {

// ---------------------------------------------------------------------------
// Every statement the charging store runs, by name.
// ---------------------------------------------------------------------------
namespace stmt {
constexpr const char* kIdentity = "chg_identity";
constexpr const char* kSession = "chg_session";
constexpr const char* kLockAccount = "chg_lock_account";
constexpr const char* kEvent = "chg_event";
constexpr const char* kSubscriber = "chg_subscriber";
constexpr const char* kPlan = "chg_plan";
constexpr const char* kPlanRatingGroups = "chg_plan_rating_groups";
constexpr const char* kTariffPeriods = "chg_tariff_periods";
constexpr const char* kPolicy = "chg_policy";
constexpr const char* kBuckets = "chg_buckets";
constexpr const char* kBucketHoldsElsewhere = "chg_bucket_holds_elsewhere";
constexpr const char* kMoneyElsewhere = "chg_money_elsewhere";
constexpr const char* kSessionReservations = "chg_session_reservations";
constexpr const char* kSessionHolds = "chg_session_holds";
constexpr const char* kDebitBalance = "chg_debit_balance";
constexpr const char* kDebitBucket = "chg_debit_bucket";
constexpr const char* kLedger = "chg_ledger";
constexpr const char* kUsage = "chg_usage";
constexpr const char* kRelease = "chg_release";
constexpr const char* kReleaseAll = "chg_release_all";
constexpr const char* kReserve = "chg_reserve";
constexpr const char* kOpenSession = "chg_open_session";
constexpr const char* kTouchSession = "chg_touch_session";
constexpr const char* kCloseSession = "chg_close_session";
constexpr const char* kInsertEvent = "chg_insert_event";
constexpr const char* kExpiredSessions = "chg_expired_sessions";
constexpr const char* kLockExpired = "chg_lock_expired";
constexpr const char* kOpenSessions = "chg_open_sessions";
}  // namespace stmt

struct NamedSql {
  const char* name;
  const char* sql;
};

// Times travel as Unix seconds: to_timestamp($n) in, extract(epoch ...) out.
constexpr NamedSql kStatements[] = {
    {stmt::kIdentity,
     "SELECT subscriber_id FROM subscriber_identities WHERE kind = $1 AND value = $2"},
    {stmt::kSession, "SELECT subscriber_id, state = 'open' FROM charging_sessions WHERE id = $1"},
    // The lock that serialises every charging operation of one subscriber.
    {stmt::kLockAccount,
     "SELECT balance, credit_limit, currency FROM accounts WHERE subscriber_id = $1 FOR UPDATE"},
    {stmt::kEvent,
     "SELECT outcome FROM charging_events WHERE session_id = $1 AND request_key = $2"},
    {stmt::kSubscriber,
     "SELECT s.external_id, s.status, s.plan_id, coalesce(s.policy_id, p.policy_id) "
     "FROM subscribers s JOIN plans p ON p.id = s.plan_id WHERE s.id = $1"},
    {stmt::kPlan, "SELECT name, currency, utc_offset_minutes FROM plans WHERE id = $1"},
    {stmt::kPlanRatingGroups,
     "SELECT id, rating_group, unit, block_units, rounding, default_grant, max_grant "
     "FROM plan_rating_groups WHERE plan_id = $1 ORDER BY rating_group NULLS LAST, id"},
    // "The first matching row by priority wins": ascending priority.
    {stmt::kTariffPeriods,
     "SELECT t.plan_rating_group_id, t.name, t.days_mask, t.start_minute, t.end_minute, "
     "t.price_per_block FROM tariff_periods t "
     "JOIN plan_rating_groups g ON g.id = t.plan_rating_group_id "
     "WHERE g.plan_id = $1 ORDER BY t.plan_rating_group_id, t.priority, t.id"},
    {stmt::kPolicy,
     "SELECT id, name, volume_quota_threshold, time_quota_threshold, quota_holding_time, "
     "quota_consumption_time, validity_time, hotline_denied_result_code, "
     "hotline_limit_reached_result_code, rating_group_in_disconnect, tariff_time_change, "
     "home_plmn_e212_match, rate_limit_up_kbps, rate_limit_down_kbps, "
     "rate_limit_scaling_percent, final_unit_action, hotline_url, restriction_filter_id, "
     "hotline_validity_time, supervision_time, ignore_requested_units "
     "FROM policies WHERE id = $1"},
    {stmt::kBuckets,
     "SELECT id, rating_group, unit_family, remaining, "
     "extract(epoch FROM valid_from)::bigint, extract(epoch FROM valid_until)::bigint "
     "FROM buckets WHERE subscriber_id = $1 ORDER BY valid_until NULLS LAST, id"},
    // $2 NULL (an Event request): every session's holds count as elsewhere.
    {stmt::kBucketHoldsElsewhere,
     "SELECT (h->>'bucket')::bigint, sum((h->>'units')::bigint)::bigint "
     "FROM reservations r CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) h "
     "WHERE r.subscriber_id = $1 AND r.session_id IS DISTINCT FROM $2 GROUP BY 1"},
    {stmt::kMoneyElsewhere,
     "SELECT coalesce(sum(money), 0)::bigint FROM reservations "
     "WHERE subscriber_id = $1 AND session_id IS DISTINCT FROM $2"},
    {stmt::kSessionReservations,
     "SELECT rating_group, unit, granted_units, money, extract(epoch FROM granted_at)::bigint, "
     "extract(epoch FROM tariff_change_at)::bigint "
     "FROM reservations WHERE session_id = $1 ORDER BY rating_group"},
    {stmt::kSessionHolds,
     "SELECT r.rating_group, (h.value->>'bucket')::bigint, (h.value->>'units')::bigint "
     "FROM reservations r "
     "CROSS JOIN LATERAL jsonb_array_elements(r.bucket_holds) WITH ORDINALITY h "
     "WHERE r.session_id = $1 ORDER BY r.rating_group, h.ordinality"},
    {stmt::kDebitBalance,
     "UPDATE accounts SET balance = balance - $2, updated_at = now() "
     "WHERE subscriber_id = $1 RETURNING balance"},
    {stmt::kDebitBucket,
     "UPDATE buckets SET remaining = remaining - $3 WHERE id = $1 AND subscriber_id = $2 "
     "RETURNING remaining"},
    {stmt::kLedger,
     "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, session_id, "
     "request_key, rating_group) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
    {stmt::kUsage,
     "INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, "
     "units, input_octets, output_octets, total_octets, seconds, events, cost, bucket_units, "
     "currency, usage_start) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, to_timestamp($15))"},
    {stmt::kRelease,
     "DELETE FROM reservations WHERE session_id = $1 AND rating_group = $2 RETURNING money"},
    {stmt::kReleaseAll,
     "DELETE FROM reservations WHERE session_id = $1 RETURNING rating_group, money"},
    {stmt::kReserve,
     "INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, "
     "money, bucket_holds, granted_at, tariff_change_at) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, to_timestamp($8), to_timestamp($9))"},
    // Initial: a new session, the same session again, or a closed id reused.
    {stmt::kOpenSession,
     "INSERT INTO charging_sessions (id, subscriber_id, protocol, credit_state, origin_host, "
     "origin_realm, nas_address, last_request_key, created_at, last_seen, expires_at, client_info) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9), to_timestamp($9), "
     "to_timestamp($10), jsonb_build_object('exhausted_rating_groups', $11::jsonb)) "
     "ON CONFLICT (id) DO UPDATE SET subscriber_id = EXCLUDED.subscriber_id, "
     "protocol = EXCLUDED.protocol, state = 'open', credit_state = EXCLUDED.credit_state, "
     "client_info = EXCLUDED.client_info, "
     "origin_host = EXCLUDED.origin_host, origin_realm = EXCLUDED.origin_realm, "
     "nas_address = EXCLUDED.nas_address, last_request_key = EXCLUDED.last_request_key, "
     "last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at, "
     "closed_at = NULL, close_reason = NULL"},
    {stmt::kTouchSession,
     "UPDATE charging_sessions SET credit_state = $2, last_request_key = $3, "
     "last_seen = to_timestamp($4), expires_at = to_timestamp($5), "
     "client_info = client_info || jsonb_build_object('exhausted_rating_groups', $9::jsonb), "
     "origin_host = coalesce($6, origin_host), origin_realm = coalesce($7, origin_realm), "
     "nas_address = coalesce($8, nas_address) WHERE id = $1"},
    {stmt::kCloseSession,
     "UPDATE charging_sessions SET state = 'closed', closed_at = to_timestamp($2), "
     "close_reason = $3 WHERE id = $1"},
    // No row back: a concurrent duplicate committed first.
    {stmt::kInsertEvent,
     "INSERT INTO charging_events (session_id, request_key, subscriber_id, kind, outcome) "
     "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, request_key) DO NOTHING RETURNING 1"},
    {stmt::kExpiredSessions,
     "SELECT id, subscriber_id FROM charging_sessions "
     "WHERE state = 'open' AND expires_at < to_timestamp($1) ORDER BY expires_at LIMIT $2"},
    {stmt::kLockExpired,
     "SELECT 1 FROM charging_sessions WHERE id = $1 AND subscriber_id = $2 AND state = 'open' "
     "AND expires_at < to_timestamp($3) FOR UPDATE"},
    {stmt::kOpenSessions,
     "SELECT s.id, s.origin_host, s.origin_realm, s.nas_address, s.credit_state, r.rating_group, "
     "coalesce(s.client_info -> 'exhausted_rating_groups', '[]'::jsonb)::text, "
     "pol.rating_group_in_disconnect "
     "FROM charging_sessions s LEFT JOIN reservations r ON r.session_id = s.id "
     "JOIN subscribers sub ON sub.id = s.subscriber_id JOIN plans p ON p.id = sub.plan_id "
     "JOIN policies pol ON pol.id = coalesce(sub.policy_id, p.policy_id) "
     "WHERE s.subscriber_id = $1 AND s.protocol = $2 AND s.state = 'open' "
     "ORDER BY s.created_at, s.id, r.rating_group"},
};

// ---------------------------------------------------------------------------
// Names the schema's CHECK constraints allow.
// ---------------------------------------------------------------------------
template <class E>
struct SqlName {
  E value;
  std::string_view text;
};

constexpr SqlName<IdentityKind> kIdentityKinds[] = {
    {IdentityKind::Msisdn, "msisdn"}, {IdentityKind::Imsi, "imsi"},
    {IdentityKind::Nai, "nai"},       {IdentityKind::SipUri, "sip_uri"},
    {IdentityKind::Username, "username"},
};
constexpr SqlName<Unit> kUnits[] = {
    {Unit::OctetsTotal, "octets_total"}, {Unit::OctetsInput, "octets_in"},
    {Unit::OctetsOutput, "octets_out"},  {Unit::Seconds, "seconds"},
    {Unit::Events, "events"},
};
constexpr SqlName<UnitFamily> kFamilies[] = {
    {UnitFamily::Octets, "octets"}, {UnitFamily::Seconds, "seconds"}, {UnitFamily::Events, "events"}};
constexpr SqlName<Rounding> kRoundings[] = {
    {Rounding::Up, "up"}, {Rounding::Down, "down"}, {Rounding::Nearest, "nearest"}};
constexpr SqlName<SubscriberStatus> kStatuses[] = {{SubscriberStatus::Active, "active"},
                                                    {SubscriberStatus::Suspended, "suspended"},
                                                    {SubscriberStatus::Blocked, "blocked"}};
constexpr SqlName<FinalUnitAction> kFinalUnitActions[] = {
    {FinalUnitAction::Terminate, "terminate"},
    {FinalUnitAction::Redirect, "redirect"},
    {FinalUnitAction::RestrictAccess, "restrict"}};
constexpr SqlName<RequestKind> kRequestKinds[] = {{RequestKind::Initial, "initial"},
                                                   {RequestKind::Update, "update"},
                                                   {RequestKind::Terminate, "terminate"},
                                                   {RequestKind::Event, "event"}};
constexpr SqlName<Outcome> kOutcomes[] = {{Outcome::Success, "success"},
                                           {Outcome::CreditLimitReached, "credit_limit_reached"},
                                           {Outcome::Hotlined, "hotlined"},
                                           {Outcome::Denied, "denied"},
                                           {Outcome::RatingFailed, "rating_failed"}};

template <class E, std::size_t N>
std::string sql_name(const SqlName<E> (&names)[N], E value) {
  for (const auto& n : names)
    if (n.value == value) return std::string(n.text);
  throw StoreError(StoreError::Kind::Invalid, "value out of range for the schema");
}

template <class E, std::size_t N>
E from_sql(const SqlName<E> (&names)[N], const pqxx::field& f) {
  const std::string_view text = f.c_str();
  for (const auto& n : names)
    if (n.text == text) return n.value;
  throw StoreError(StoreError::Kind::Schema,
                   "unexpected value '" + std::string(text) + "' in column " + f.name());
}

// ---------------------------------------------------------------------------
// Small conversions.
// ---------------------------------------------------------------------------
std::int64_t epoch(TimePoint t) { return t.time_since_epoch().count(); }

/// Unix seconds as text, so that a null time binds as SQL NULL.
std::optional<std::string> opt_epoch(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return std::to_string(epoch(*t));
}

TimePoint from_epoch(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

std::optional<TimePoint> opt_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch(f.as<std::int64_t>());
}

std::optional<std::string> non_empty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::string holds_json(const std::vector<BucketUnits>& holds) {
  std::string json = "[";
  for (const auto& h : holds) {
    if (json.size() > 1) json += ',';
    json += "{\"bucket\":" + std::to_string(h.bucket_id) + ",\"units\":" + std::to_string(h.units) + "}";
  }
  return json + "]";
}

/// Thrown inside a transaction that lost the race to store its request key.
struct EventRace : std::runtime_error {
  EventRace() : std::runtime_error("a concurrent duplicate stored this request first") {}
};

StoreError as_store_error(const std::exception& e) {
  if (const auto* s = dynamic_cast<const StoreError*>(&e)) return *s;
  if (dynamic_cast<const pqxx::undefined_table*>(&e) || dynamic_cast<const pqxx::undefined_column*>(&e) ||
      dynamic_cast<const pqxx::undefined_function*>(&e))
    return StoreError(StoreError::Kind::Schema, e.what());
  if (dynamic_cast<const std::logic_error*>(&e))  // pqxx conversion and usage errors
    return StoreError(StoreError::Kind::Invalid, e.what());
  return StoreError(StoreError::Kind::Unavailable, e.what());
}

/// Runs `f`, turning any exception into StoreError.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw as_store_error(e);
  }
}

// ---------------------------------------------------------------------------
// Rows shared by charge and expiry.
// ---------------------------------------------------------------------------
struct Account {
  std::int64_t subscriber_id = 0;
  Money balance = 0;
  Money credit_limit = 0;
  std::string currency;
};

/// (b): blocks until no other transaction holds the subscriber's account.
std::optional<Account> lock_account(pqxx::work& tx, std::int64_t subscriber_id) {
  const auto r = tx.exec_prepared(stmt::kLockAccount, subscriber_id);
  if (r.empty()) return std::nullopt;
  return Account{subscriber_id, r[0][0].as<Money>(), r[0][1].as<Money>(), r[0][2].as<std::string>()};
}

struct LedgerEntry {
  const char* kind;
  Money amount;
  std::optional<std::string> request_key;
  std::optional<std::uint32_t> rating_group;
};

void write_ledger(pqxx::work& tx, const Account& a, const std::string& session_id, const LedgerEntry& e) {
  tx.exec_prepared(stmt::kLedger, a.subscriber_id, e.kind, e.amount, a.currency, a.balance, session_id,
                   e.request_key, e.rating_group);
}

/// Ends one rating group's reservation; returns the money it held.
Money release(pqxx::work& tx, const Account& a, const std::string& session_id, std::uint32_t rg,
              const std::optional<std::string>& request_key) {
  const auto r = tx.exec_prepared(stmt::kRelease, session_id, rg);
  if (r.empty()) return 0;
  const auto held = r[0][0].as<Money>();
  if (held != 0) write_ledger(tx, a, session_id, {"release", -held, request_key, rg});
  return held;
}

Money release_all(pqxx::work& tx, const Account& a, const std::string& session_id,
                  const std::optional<std::string>& request_key) {
  Money total = 0;
  for (const auto& row : tx.exec_prepared(stmt::kReleaseAll, session_id)) {
    const auto held = row[1].as<Money>();
    if (held != 0) write_ledger(tx, a, session_id, {"release", -held, request_key, row[0].as<std::uint32_t>()});
    total += held;
  }
  return total;
}

void close_session(pqxx::work& tx, const std::string& session_id, TimePoint now, const std::string& reason) {
  tx.exec_prepared(stmt::kCloseSession, session_id, epoch(now), reason);
}

// ---------------------------------------------------------------------------
// Loading what evaluate needs (d).
// ---------------------------------------------------------------------------
std::optional<std::int64_t> resolve_identities(pqxx::work& tx, const std::vector<Identity>& ids) {
  for (const auto& id : ids) {
    const auto r = tx.exec_prepared(stmt::kIdentity, sql_name(kIdentityKinds, id.kind), id.value);
    if (!r.empty()) return r[0][0].as<std::int64_t>();
  }
  return std::nullopt;
}

struct SessionRow {
  std::int64_t subscriber_id = 0;
  bool open = false;
};

std::optional<SessionRow> read_session(pqxx::work& tx, const std::string& session_id) {
  const auto r = tx.exec_prepared(stmt::kSession, session_id);
  if (r.empty()) return std::nullopt;
  return SessionRow{r[0][0].as<std::int64_t>(), r[0][1].as<bool>()};
}

struct SubscriberRow {
  std::string external_id;
  SubscriberStatus status = SubscriberStatus::Active;
  std::int64_t plan_id = 0;
  std::int64_t policy_id = 0;
};

SubscriberRow read_subscriber(pqxx::work& tx, std::int64_t subscriber_id) {
  const auto r = tx.exec_prepared(stmt::kSubscriber, subscriber_id);
  if (r.empty())
    throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(subscriber_id) + " not found");
  return SubscriberRow{r[0][0].as<std::string>(), from_sql(kStatuses, r[0][1]), r[0][2].as<std::int64_t>(),
                       r[0][3].as<std::int64_t>()};
}

RatingGroupTariff tariff_from(const pqxx::row& row) {
  RatingGroupTariff t;
  t.rating_group = opt<std::uint32_t>(row[1]);
  t.unit = from_sql(kUnits, row[2]);
  t.block_units = row[3].as<std::uint64_t>();
  t.rounding = from_sql(kRoundings, row[4]);
  t.default_grant = row[5].as<std::uint64_t>();
  t.max_grant = row[6].as<std::uint64_t>();
  return t;
}

TariffPeriod period_from(const pqxx::row& row) {
  TariffPeriod p;
  p.name = row[1].as<std::string>();
  p.days_mask = static_cast<std::uint8_t>(row[2].as<int>());
  p.start_minute = row[3].as<int>();
  p.end_minute = row[4].as<int>();
  p.price_per_block = row[5].as<Money>();
  return p;
}

Plan read_plan(pqxx::work& tx, std::int64_t plan_id) {
  const auto r = tx.exec_prepared(stmt::kPlan, plan_id);
  if (r.empty()) throw StoreError(StoreError::Kind::NotFound, "plan " + std::to_string(plan_id) + " not found");
  Plan plan;
  plan.id = plan_id;
  plan.name = r[0][0].as<std::string>();
  plan.currency = r[0][1].as<std::string>();
  plan.utc_offset_minutes = r[0][2].as<int>();
  std::map<std::int64_t, std::size_t> position;  // plan_rating_groups.id -> index in tariffs
  for (const auto& row : tx.exec_prepared(stmt::kPlanRatingGroups, plan_id)) {
    position[row[0].as<std::int64_t>()] = plan.tariffs.size();
    plan.tariffs.push_back(tariff_from(row));
  }
  for (const auto& row : tx.exec_prepared(stmt::kTariffPeriods, plan_id))
    plan.tariffs.at(position.at(row[0].as<std::int64_t>())).periods.push_back(period_from(row));
  return plan;
}

Policy read_policy(pqxx::work& tx, std::int64_t policy_id) {
  const auto r = tx.exec_prepared(stmt::kPolicy, policy_id);
  if (r.empty())
    throw StoreError(StoreError::Kind::NotFound, "policy " + std::to_string(policy_id) + " not found");
  const auto& row = r[0];
  Policy p;
  p.id = row[0].as<std::int64_t>();
  p.name = row[1].as<std::string>();
  p.volume_quota_threshold = opt<std::uint64_t>(row[2]);
  p.time_quota_threshold = opt<std::uint32_t>(row[3]);
  p.quota_holding_time = opt<std::uint32_t>(row[4]);
  p.quota_consumption_time = opt<std::uint32_t>(row[5]);
  p.validity_time = row[6].as<std::uint32_t>();
  p.hotline_denied_result_code = row[7].as<std::uint32_t>();
  p.hotline_limit_reached_result_code = row[8].as<std::uint32_t>();
  p.rating_group_in_disconnect = row[9].as<bool>();
  p.tariff_time_change = row[10].as<bool>();
  p.home_plmn_e212_match = opt<std::string>(row[11]);
  p.rate_limit_up_kbps = opt<std::uint64_t>(row[12]);
  p.rate_limit_down_kbps = opt<std::uint64_t>(row[13]);
  p.rate_limit_scaling_percent = row[14].as<std::uint32_t>();
  p.final_unit_action = from_sql(kFinalUnitActions, row[15]);
  p.hotline_url = opt<std::string>(row[16]);
  p.restriction_filter_id = opt<std::string>(row[17]);
  p.hotline_validity_time = row[18].as<std::uint32_t>();
  p.supervision_time = opt<std::uint32_t>(row[19]);
  p.ignore_requested_units = row[20].as<bool>();
  return p;
}

/// Buckets, each with the units other sessions hold of it.
std::vector<Bucket> read_buckets(pqxx::work& tx, std::int64_t subscriber_id,
                                 const std::optional<std::string>& own_session) {
  std::map<std::int64_t, std::uint64_t> held;
  for (const auto& row : tx.exec_prepared(stmt::kBucketHoldsElsewhere, subscriber_id, own_session))
    held[row[0].as<std::int64_t>()] = row[1].as<std::uint64_t>();
  std::vector<Bucket> buckets;
  for (const auto& row : tx.exec_prepared(stmt::kBuckets, subscriber_id)) {
    Bucket b;
    b.id = row[0].as<std::int64_t>();
    b.rating_group = opt<std::uint32_t>(row[1]);
    b.family = from_sql(kFamilies, row[2]);
    b.remaining = row[3].as<std::uint64_t>();
    const auto h = held.find(b.id);
    b.reserved_elsewhere = h == held.end() ? 0 : h->second;
    b.valid_from = opt_time(row[4]);
    b.valid_until = opt_time(row[5]);
    buckets.push_back(b);
  }
  return buckets;
}

SessionState read_reservations(pqxx::work& tx, const std::string& session_id) {
  SessionState s;
  for (const auto& row : tx.exec_prepared(stmt::kSessionReservations, session_id)) {
    Reservation r;
    r.rating_group = row[0].as<std::uint32_t>();
    r.unit = from_sql(kUnits, row[1]);
    r.granted_units = row[2].as<std::uint64_t>();
    r.money = row[3].as<Money>();
    r.granted_at = from_epoch(row[4].as<std::int64_t>());
    r.tariff_change_at = opt_time(row[5]);
    s.reservations.push_back(r);
  }
  for (const auto& row : tx.exec_prepared(stmt::kSessionHolds, session_id)) {
    const auto rg = row[0].as<std::uint32_t>();
    for (auto& r : s.reservations)
      if (r.rating_group == rg)
        r.bucket_holds.push_back(BucketUnits{row[1].as<std::int64_t>(), row[2].as<std::uint64_t>()});
  }
  return s;
}

// ---------------------------------------------------------------------------
// One charging transaction.
// ---------------------------------------------------------------------------
class ChargeTx {
 public:
  ChargeTx(pqxx::work& tx, const ChargeRequest& req, TimePoint now) : tx_(tx), req_(req), now_(now) {}

  ChargeResult run() {
    const auto owner = by_session() ? owner_of_session() : resolve_identities(tx_, req_.identities);
    if (!owner) return status_only(by_session() ? ChargeStatus::UnknownSession : ChargeStatus::UserUnknown);
    const auto account = lock_account(tx_, *owner);  // (b)
    if (!account)
      throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(*owner) + " has no account");
    account_ = *account;
    if (auto stored = stored_outcome()) return *stored;  // (c)
    const auto session = kind() == RequestKind::Event ? std::nullopt : read_session(tx_, req_.session_id);
    if (by_session() && (!session || !session->open || session->subscriber_id != *owner))
      return status_only(ChargeStatus::UnknownSession);
    if (session && session->open && session->subscriber_id != *owner)
      throw StoreError(StoreError::Kind::Invalid,
                       "session " + req_.session_id + " is open for another subscriber");
    return decide_and_apply(session && session->open);
  }

 private:
  RequestKind kind() const { return req_.credit.kind; }
  bool by_session() const { return kind() == RequestKind::Update || kind() == RequestKind::Terminate; }
  bool is_event() const { return kind() == RequestKind::Event; }

  std::optional<std::int64_t> owner_of_session() {
    const auto s = read_session(tx_, req_.session_id);
    return s ? std::optional<std::int64_t>(s->subscriber_id) : std::nullopt;
  }

  ChargeResult status_only(ChargeStatus status) const {
    ChargeResult r;
    r.status = status;
    return r;
  }

  std::optional<ChargeResult> stored_outcome() {
    const auto r = tx_.exec_prepared(stmt::kEvent, req_.session_id, req_.request_key);
    if (r.empty()) return std::nullopt;
    ChargeResult stored = decode_outcome(r[0][0].as<std::string>());
    stored.replayed = true;
    return stored;
  }

  ChargeResult decide_and_apply(bool session_open) {
    const SubscriberRow sub = read_subscriber(tx_, account_.subscriber_id);
    const Plan plan = read_plan(tx_, sub.plan_id);
    ChargeResult result;
    result.subscriber_id = account_.subscriber_id;
    result.subscriber = sub.external_id;
    result.policy = read_policy(tx_, sub.policy_id);
    const SessionState mine = session_open ? read_reservations(tx_, req_.session_id) : SessionState{};
    result.decision = evaluate(req_.credit, mine, account_state(sub.status), plan, result.policy, now_);  // (e)
    apply(result.decision, result.policy);                                                            // (f)
    record(result);                                                                                   // (g)
    return result;
  }

  AccountState account_state(SubscriberStatus status) {
    // An Event holds nothing: every reservation of the subscriber is elsewhere.
    const auto own = is_event() ? std::nullopt : std::optional<std::string>(req_.session_id);
    AccountState a;
    a.subscriber_id = account_.subscriber_id;
    a.status = status;
    a.balance = account_.balance;
    a.credit_limit = account_.credit_limit;
    a.reserved_elsewhere = tx_.exec_prepared(stmt::kMoneyElsewhere, a.subscriber_id, own)[0][0].as<Money>();
    a.buckets = read_buckets(tx_, a.subscriber_id, own);
    return a;
  }

  void apply(const CreditDecision& d, const Policy& policy) {
    if (is_event()) {
      if (!d.reservations.empty())
        throw StoreError(StoreError::Kind::Invalid, "an event request cannot hold a reservation");
      for (const auto& debit : d.debits) apply_debit(debit);
      return;
    }
    write_session(d, policy);  // before the reservations that reference it
    for (const auto& debit : d.debits) apply_debit(debit);
    for (std::uint32_t rg : d.released) release(tx_, account_, req_.session_id, rg, req_.request_key);
    for (const auto& r : d.reservations) reserve(r);
    if (d.session_closed) {
      release_all(tx_, account_, req_.session_id, req_.request_key);
      close_session(tx_, req_.session_id, now_,
                    kind() == RequestKind::Terminate ? "terminate" : sql_name(kOutcomes, d.outcome));
    }
  }

  void write_session(const CreditDecision& d, const Policy& policy) {
    const std::int64_t expires = epoch(now_) + policy.effective_supervision_time();
    const char* credit = d.credit_exhausted ? "exhausted" : "ok";
    // The rating groups refused for lack of credit: a re-authorisation after
    // a top-up names them (policy rating_group_in_disconnect).
    std::string refused = "[";
    for (const auto& r : d.results)
      if (r.status == RgStatus::CreditLimitReached || r.status == RgStatus::Hotlined)
        refused += (refused.size() > 1 ? "," : "") + std::to_string(r.rating_group);
    refused += "]";
    const auto& o = req_.origin;
    if (kind() == RequestKind::Initial) {
      tx_.exec_prepared(stmt::kOpenSession, req_.session_id, account_.subscriber_id, o.protocol, credit,
                        non_empty(o.origin_host), non_empty(o.origin_realm), non_empty(o.nas_address),
                        req_.request_key, epoch(now_), expires, refused);
    } else {
      tx_.exec_prepared(stmt::kTouchSession, req_.session_id, credit, req_.request_key, epoch(now_), expires,
                        non_empty(o.origin_host), non_empty(o.origin_realm), non_empty(o.nas_address), refused);
    }
  }

  void apply_debit(const Debit& d) {
    if (d.cost != 0) {
      account_.balance = tx_.exec_prepared(stmt::kDebitBalance, account_.subscriber_id, d.cost)[0][0].as<Money>();
      write_ledger(tx_, account_, req_.session_id, {"debit", -d.cost, req_.request_key, d.rating_group});
    }
    std::uint64_t bucket_units = 0;
    for (const auto& use : d.bucket_uses) {
      if (tx_.exec_prepared(stmt::kDebitBucket, use.bucket_id, account_.subscriber_id, use.units).empty())
        throw StoreError(StoreError::Kind::NotFound, "bucket " + std::to_string(use.bucket_id) + " vanished");
      bucket_units += use.units;
    }
    const auto& u = d.reported;
    tx_.exec_prepared(stmt::kUsage, req_.session_id, req_.request_key, account_.subscriber_id, d.rating_group,
                      sql_name(kUnits, d.unit), d.units, u.input_octets, u.output_octets, u.total_octets,
                      u.seconds, u.events, d.cost, bucket_units, account_.currency, epoch(d.usage_start));
  }

  /// A new reservation replaces the rating group's old one, which is
  /// released first so the ledger's holds keep matching the table.
  void reserve(const Reservation& r) {
    release(tx_, account_, req_.session_id, r.rating_group, req_.request_key);
    tx_.exec_prepared(stmt::kReserve, req_.session_id, r.rating_group, account_.subscriber_id,
                      sql_name(kUnits, r.unit), r.granted_units, r.money, holds_json(r.bucket_holds),
                      epoch(r.granted_at), opt_epoch(r.tariff_change_at));
    if (r.money != 0)
      write_ledger(tx_, account_, req_.session_id, {"reserve", r.money, req_.request_key, r.rating_group});
  }

  void record(const ChargeResult& result) {
    const auto r = tx_.exec_prepared(stmt::kInsertEvent, req_.session_id, req_.request_key,
                                     account_.subscriber_id, sql_name(kRequestKinds, kind()),
                                     encode_outcome(result));
    if (r.empty()) throw EventRace();
  }

  pqxx::work& tx_;
  const ChargeRequest& req_;
  TimePoint now_;
  Account account_;
};

void validate(const ChargeRequest& req) {
  if (req.session_id.empty()) throw StoreError(StoreError::Kind::Invalid, "empty session id");
  if (req.request_key.empty()) throw StoreError(StoreError::Kind::Invalid, "empty request key");
}

ChargeResult charge_once(ConnectionPool& pool, const ChargeRequest& req, TimePoint now) {
  ChargeResult result;
  run_transaction(pool, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    result = ChargeTx(tx, req, now).run();
    tx.commit();  // also for a replay or an unknown session: nothing was written
  });
  return result;
}

std::optional<ExpiredSession> expire_one(ConnectionPool& pool, const std::string& session_id,
                                         std::int64_t subscriber_id, TimePoint now) {
  std::optional<ExpiredSession> done;
  run_transaction(pool, [&](pqxx::connection& c) {
    done.reset();
    pqxx::work tx(c);
    const auto account = lock_account(tx, subscriber_id);  // the same order as charge
    if (!account) return;
    // A charge may have renewed or closed the session since we listed it.
    if (tx.exec_prepared(stmt::kLockExpired, session_id, subscriber_id, epoch(now)).empty()) return;
    const Money released = release_all(tx, *account, session_id, std::nullopt);
    close_session(tx, session_id, now, "supervision");
    tx.commit();
    done = ExpiredSession{session_id, subscriber_id, released};
  });
  return done;
}

}  // namespace

void PgChargingStore::prepare_statements(pqxx::connection& c) {
  for (const auto& s : kStatements) c.prepare(s.name, s.sql);
}

ChargeResult PgChargingStore::charge(const ChargeRequest& req, TimePoint now) {
  validate(req);
  // A lost race on the request key, or a commit whose outcome is unknown, is
  // retried once: the request key makes the second attempt a replay if the
  // first one committed.
  std::optional<StoreError> unknown;
  for (int attempt = 1;; ++attempt) {
    try {
      return charge_once(pool_, req, now);
    } catch (const EventRace&) {
      if (unknown) throw StoreError(*unknown);
      if (attempt >= 2)
        throw StoreError(StoreError::Kind::Unavailable,
                         "request " + req.session_id + "/" + req.request_key + " kept racing a duplicate");
    } catch (const StoreError& e) {
      if (unknown) throw StoreError(*unknown);  // the first commit's outcome is still unknown
      if (e.kind() != StoreError::Kind::Unknown || attempt >= 2) throw;
      unknown = e;
    } catch (const std::exception& e) {
      if (unknown) throw StoreError(*unknown);
      throw as_store_error(e);
    }
  }
}

std::vector<ExpiredSession> PgChargingStore::expire_sessions(TimePoint now, std::size_t limit) {
  return guarded([&] {
    std::vector<std::pair<std::string, std::int64_t>> candidates;
    run_transaction(pool_, [&](pqxx::connection& c) {
      candidates.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_prepared(stmt::kExpiredSessions, epoch(now), limit))
        candidates.emplace_back(row[0].as<std::string>(), row[1].as<std::int64_t>());
      tx.commit();
    });
    std::vector<ExpiredSession> expired;
    for (const auto& [session_id, subscriber_id] : candidates)
      if (auto e = expire_one(pool_, session_id, subscriber_id, now)) expired.push_back(*e);
    return expired;
  });
}

namespace {
/// "[10,20]" -> {10, 20}; anything else in the array is skipped.
std::vector<std::uint32_t> parse_rating_groups(const std::string& json) {
  std::vector<std::uint32_t> out;
  std::uint64_t value = 0;
  bool in_number = false;
  for (char ch : json) {
    if (ch >= '0' && ch <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(ch - '0');
      in_number = value <= 0xffffffffu;
      continue;
    }
    if (in_number) out.push_back(static_cast<std::uint32_t>(value));
    in_number = false;
    value = 0;
  }
  return out;
}
}  // namespace

std::vector<OpenSession> PgChargingStore::open_sessions(std::int64_t subscriber_id, const std::string& protocol) {
  return guarded([&] {
    std::vector<OpenSession> sessions;
    run_transaction(pool_, [&](pqxx::connection& c) {
      sessions.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_prepared(stmt::kOpenSessions, subscriber_id, protocol)) {
        const auto id = row[0].as<std::string>();
        if (sessions.empty() || sessions.back().session_id != id) {
          SessionOrigin origin{protocol, row[1].as<std::string>(""), row[2].as<std::string>(""),
                               row[3].as<std::string>("")};
          OpenSession session{id, subscriber_id, origin, row[4].as<std::string>() == "exhausted", {}, {}, false};
          session.exhausted_rating_groups = parse_rating_groups(row[6].as<std::string>());
          session.rating_group_in_disconnect = row[7].as<bool>();
          sessions.push_back(std::move(session));
        }
        if (!row[5].is_null()) sessions.back().rating_groups.push_back(row[5].as<std::uint32_t>());
      }
      tx.commit();
    });
    return sessions;
  });
}

}  // namespace ocs::store
