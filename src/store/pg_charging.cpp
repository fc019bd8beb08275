// PgChargingStore: the money-critical transaction. The shape of every charge:
//
//   (a) find the subscriber (identities, or the session row)
//   (b) SELECT ... FROM accounts ... FOR UPDATE   -- serialises the subscriber
//   (c) the stored answer of (session_id, request_key), if any: replay it
//   (d) load status, buckets, other sessions' holds, this session's
//       reservations; plan and policy from the cache
//   (e) ocs::evaluate
//   (f) apply debits, releases, reservations; write the session row
//   (g) store the answer under (session_id, request_key)
//   (h) commit
//
// (a)-(d) are one round trip (ocs_charge_load, which begins the transaction),
// (f)-(h) another (ocs_charge_apply_batch and COMMIT); see ChargeTx. Every read in
// (c)-(d) comes after the lock, in a READ COMMITTED transaction, so it sees
// everything earlier holders of the lock committed.
#include "ocs/store/pg_store.hpp"

#include <algorithm>
#include <concepts>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocs/common/utf8.hpp"
#include "ocs/core/credit.hpp"
#include "ocs/store/outcome_codec.hpp"
#include "pg_util.hpp"

namespace ocs::store {
namespace {

// ---------------------------------------------------------------------------
// Every statement the charging store runs, by name.
// ---------------------------------------------------------------------------
namespace stmt {
constexpr const char* kLockAccount = "chg_lock_account";
constexpr const char* kPlan = "chg_plan";
constexpr const char* kPlanRatingGroups = "chg_plan_rating_groups";
constexpr const char* kTariffPeriods = "chg_tariff_periods";
constexpr const char* kPolicy = "chg_policy";
constexpr const char* kLedger = "chg_ledger";
constexpr const char* kReleaseAll = "chg_release_all";
constexpr const char* kCloseSession = "chg_close_session";
constexpr const char* kExpiredSessions = "chg_expired_sessions";
constexpr const char* kLockExpired = "chg_lock_expired";
constexpr const char* kLockOpen = "chg_lock_open";
constexpr const char* kOpenOwner = "chg_open_owner";
constexpr const char* kOpenSessions = "chg_open_sessions";
}  // namespace stmt

using pg::NamedSql;

// Times travel as Unix seconds: to_timestamp($n) in, extract(epoch ...) out.
// A charge itself runs the functions of sql/migrations/ (ocs_charge_load,
// ocs_charge_load_batch, ocs_charged_usage(_batch), ocs_charge_apply_batch; see
// ChargeTx); these statements serve the plan and policy cache, expiry and
// open_sessions.
constexpr NamedSql kStatements[] = {
    // The lock that serialises every charging operation of one subscriber.
    {stmt::kLockAccount,
     "SELECT balance, credit_limit, currency FROM accounts WHERE subscriber_id = $1 FOR UPDATE"},
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
    {stmt::kLedger,
     "INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after, session_id, "
     "request_key, rating_group) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
    {stmt::kReleaseAll,
     "DELETE FROM reservations WHERE session_id = $1 RETURNING rating_group, money"},
    {stmt::kCloseSession,
     "UPDATE charging_sessions SET state = 'closed', closed_at = to_timestamp($2), "
     "close_reason = $3 WHERE id = $1"},
    {stmt::kExpiredSessions,
     "SELECT id, subscriber_id, protocol FROM charging_sessions "
     "WHERE state = 'open' AND expires_at < to_timestamp($1) ORDER BY expires_at LIMIT $2"},
    {stmt::kLockExpired,
     "SELECT 1 FROM charging_sessions WHERE id = $1 AND subscriber_id = $2 AND state = 'open' "
     "AND expires_at < to_timestamp($3) FOR UPDATE"},
    {stmt::kLockOpen,
     "SELECT 1 FROM charging_sessions WHERE id = $1 AND subscriber_id = $2 AND state = 'open' FOR UPDATE"},
    {stmt::kOpenOwner, "SELECT subscriber_id FROM charging_sessions WHERE id = $1 AND state = 'open'"},
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
using pg::epoch;
using pg::from_epoch;
using pg::opt;

std::optional<TimePoint> opt_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch(f.as<std::int64_t>());
}

/// `s` as a JSON string. PostgreSQL refuses what is not UTF-8 (as it refuses
/// it in a quoted literal) and \u0000.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += ch;
    }
  }
  return out + '"';
}

std::string json_string_or_null(const std::string& s) { return s.empty() ? "null" : json_string(s); }

/// The client's session details (SessionOrigin::client) as a JSON object.
std::string client_object(const std::vector<std::pair<std::string, std::string>>& client) {
  std::string pairs;
  for (const auto& [key, value] : client) pairs += (pairs.empty() ? "" : ",") + json_string(key) + ":" + json_string(value);
  return "{" + pairs + "}";
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

using pg::as_store_error;
using pg::guarded;

// ---------------------------------------------------------------------------
// Rows shared by charge and expiry.
// ---------------------------------------------------------------------------
struct Account {
  std::int64_t subscriber_id = 0;
  Money balance = 0;
  Money credit_limit = 0;
  std::string currency;
};

/// Expiry's (b): blocks until no other transaction holds the subscriber's
/// account. A charge takes the same lock inside ocs_charge_load.
std::optional<Account> lock_account(pqxx::transaction_base& tx, std::int64_t subscriber_id) {
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

void write_ledger(pqxx::transaction_base& tx, const Account& a, const std::string& session_id,
                  const LedgerEntry& e) {
  tx.exec_prepared(stmt::kLedger, a.subscriber_id, e.kind, e.amount, a.currency, a.balance, session_id,
                   e.request_key, e.rating_group);
}

Money release_all(pqxx::transaction_base& tx, const Account& a, const std::string& session_id,
                  const std::optional<std::string>& request_key) {
  Money total = 0;
  for (const auto& row : tx.exec_prepared(stmt::kReleaseAll, session_id)) {
    const auto held = row[1].as<Money>();
    if (held != 0) write_ledger(tx, a, session_id, {"release", -held, request_key, row[0].as<std::uint32_t>()});
    total += held;
  }
  return total;
}

void close_session(pqxx::transaction_base& tx, const std::string& session_id, TimePoint now,
                   const std::string& reason) {
  tx.exec_prepared(stmt::kCloseSession, session_id, epoch(now), reason);
}

// ---------------------------------------------------------------------------
// Plans and policies, read when the cache misses.
// ---------------------------------------------------------------------------
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

Plan read_plan(pqxx::transaction_base& tx, std::int64_t plan_id) {
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

Policy read_policy(pqxx::transaction_base& tx, std::int64_t policy_id) {
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


// ---------------------------------------------------------------------------
// One charging transaction, in two round trips:
//
//   1. "BEGIN; SELECT * FROM ocs_charge_load(...)"   (a)-(d), the lock first
//   2. "SELECT ocs_charge_apply_batch(...); COMMIT"  (f)-(h)
//
// with (e), ocs::evaluate, in between. The load is documented in
// sql/migrations/0002_charge_round_trips.sql (its body is now that of
// 0007_charge_cost.sql), the apply with its JSON in
// 0011_charge_apply_batch.sql: they read and write, the core decides. Plans and policies come from ChargingConfigCache, keyed by the
// config_version that round trip 1 reads after the lock; a miss costs one
// more round trip per statement, inside the same transaction.
//
// The transaction is begun and ended by hand on pqxx::nontransaction, so
// charge_once rolls it back on any error, and a failure of round trip 2
// that loses the connection is an in-doubt commit.
// ---------------------------------------------------------------------------
constexpr const char* kEventRaceState = "OC001";   // ocs_charge_apply_batch: key taken
constexpr const char* kBucketGoneState = "OC002";  // ocs_charge_apply_batch: bucket gone

/// Sends `sql` (one or more statements) as one simple query; the result of
/// the last statement.
pqxx::result round_trip(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  auto r = n.exec(sql);
  n.commit();
  return r;
}

void rollback_quietly(pqxx::connection& c) noexcept {
  try {
    round_trip(c, "ROLLBACK");
  } catch (...) {
    // A dead connection has rolled back on the server; the pool drops it.
  }
}

/// libpqxx 6 silently re-opens a broken connection on its next use. A
/// transaction spread over several round trips must never go on over a new
/// connection: its writes would run without BEGIN and without the lock.
void forbid_reconnect(pqxx::connection& c) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  c.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

struct SessionRow {
  std::int64_t subscriber_id = 0;
  bool open = false;
};

struct SubscriberRow {
  std::string external_id;
  SubscriberStatus status = SubscriberStatus::Active;
  std::int64_t plan_id = 0;
  std::int64_t policy_id = 0;
};

/// What ocs_charge_load returned (its rows are documented in the migration).
struct Loaded {
  bool owner_found = true;
  std::optional<std::int64_t> no_account;
  std::optional<std::string> stored_outcome;
  std::optional<Account> account;
  Money reserved_elsewhere = 0;
  std::int64_t config_version = 0;
  std::optional<SessionRow> session;
  std::optional<SubscriberRow> subscriber;
  std::vector<Bucket> buckets;  // each with the units other sessions hold
  SessionState mine;            // this session's reservations, if it is open
  /// A running-totals request: what the session id was already charged.
  struct Charged {
    std::uint64_t input_octets = 0;
    std::uint64_t output_octets = 0;
    std::uint64_t total_octets = 0;
    std::uint64_t seconds = 0;
    bool exhausted = false;
  };
  std::optional<Charged> charged;
};

/// Adds one row of ocs_charge_load to `l`; its columns start at `first`
/// (ocs_charge_load_batch puts the request's position before them).
void parse_row(Loaded& l, const pqxx::row& row, pqxx::row::size_type first) {
  const auto col = [&](pqxx::row::size_type n) { return row[first + n]; };
  const std::string_view tag = col(0).c_str();
  if (tag == "account") {
    l.account = Account{col(1).as<std::int64_t>(), col(2).as<Money>(), col(3).as<Money>(),
                        col(7).as<std::string>()};
    l.reserved_elsewhere = col(4).as<Money>();
    l.config_version = col(5).as<std::int64_t>();
  } else if (tag == "bucket") {
    Bucket b;
    b.id = col(1).as<std::int64_t>();
    b.rating_group = opt<std::uint32_t>(col(2));
    b.remaining = col(3).as<std::uint64_t>();
    b.reserved_elsewhere = col(4).as<std::uint64_t>();
    b.valid_from = opt_time(col(5));
    b.valid_until = opt_time(col(6));
    b.family = from_sql(kFamilies, col(7));
    l.buckets.push_back(b);
  } else if (tag == "reservation") {
    Reservation r;
    r.rating_group = col(1).as<std::uint32_t>();
    r.granted_units = col(2).as<std::uint64_t>();
    r.money = col(3).as<Money>();
    r.granted_at = from_epoch(col(4).as<std::int64_t>());
    r.tariff_change_at = opt_time(col(5));
    r.unit = from_sql(kUnits, col(7));
    l.mine.reservations.push_back(r);
  } else if (tag == "hold") {
    const auto rg = col(1).as<std::uint32_t>();
    for (auto& r : l.mine.reservations)
      if (r.rating_group == rg)
        r.bucket_holds.push_back(BucketUnits{col(2).as<std::int64_t>(), col(3).as<std::uint64_t>()});
  } else if (tag == "session") {
    l.session = SessionRow{col(1).as<std::int64_t>(), col(2).as<int>() != 0};
  } else if (tag == "subscriber") {
    l.subscriber = SubscriberRow{col(7).as<std::string>(), from_sql(kStatuses, col(8)),
                                 col(1).as<std::int64_t>(), col(2).as<std::int64_t>()};
  } else if (tag == "replay") {
    l.stored_outcome = col(7).as<std::string>();
  } else if (tag == "no_owner") {
    l.owner_found = false;
  } else if (tag == "no_account") {
    l.no_account = col(1).as<std::int64_t>();
  } else if (tag == "charged") {  // charged_sql, not ocs_charge_load
    l.charged = Loaded::Charged{col(1).as<std::uint64_t>(), col(2).as<std::uint64_t>(), col(3).as<std::uint64_t>(),
                                col(4).as<std::uint64_t>(), col(5).as<int>() != 0};
  } else {
    throw StoreError(StoreError::Kind::Schema, "ocs_charge_load returned a row tagged '" + std::string(tag) + "'");
  }
}

/// For a running-totals request charged alone, appended to its load:
/// ocs_charged_usage's row (schema version 9), tagged 'charged', with what
/// the session id was already charged. In the same statement as the load,
/// so in the same round trip. (A batch uses ocs_charged_usage_batch.)
std::string charged_sql(pqxx::connection& c, const std::string& session_id) {
  return " UNION ALL SELECT * FROM ocs_charged_usage(" + c.quote(session_id) + ")";
}

std::uint64_t minus(std::uint64_t total, std::uint64_t charged) { return total > charged ? total - charged : 0; }

/// A running-totals request's usage since what was charged
/// (ChargeRequest::running_totals).
CreditRequest since_charged(CreditRequest credit, const Loaded::Charged& c) {
  for (auto& group : credit.rating_groups)
    for (auto& used : group.used) {
      auto& a = used.amount;
      const bool directional = a.input_octets.has_value() || a.output_octets.has_value();
      if (a.input_octets) a.input_octets = minus(*a.input_octets, c.input_octets);
      if (a.output_octets) a.output_octets = minus(*a.output_octets, c.output_octets);
      if (directional)
        a.total_octets = a.input_octets.value_or(0) + a.output_octets.value_or(0);
      else if (a.total_octets)
        a.total_octets = minus(*a.total_octets, c.total_octets);
      if (a.seconds) a.seconds = minus(*a.seconds, c.seconds);
    }
  return credit;
}

Loaded parse_loaded(const pqxx::result& rows) {
  Loaded l;
  for (const auto& row : rows) parse_row(l, row, 0);
  return l;
}

/// An attach ocs_attach_clients returned (idx from 1) is marked attached.
void mark_attached(std::vector<bool>& attached, std::size_t idx) {
  if (idx < 1 || idx > attached.size())
    throw StoreError(StoreError::Kind::Schema, "ocs_attach_clients returned request " + std::to_string(idx));
  attached[idx - 1] = true;
}

/// ocs_charge_load_batch's rows, one Loaded per charge of the round, and the
/// rows of ocs_attach_clients after them (tag 'attached', idx the attach's
/// position from 1): `attached[idx - 1]` is set for each.
std::vector<Loaded> parse_loaded_batch(const pqxx::result& rows, std::size_t requests, std::vector<bool>& attached) {
  std::vector<Loaded> loaded(requests);
  for (const auto& row : rows) {
    const auto idx = row[0].as<std::size_t>();
    if (std::string_view(row[1].c_str()) == "attached") {
      mark_attached(attached, idx);
      continue;
    }
    if (idx < 1 || idx > requests)
      throw StoreError(StoreError::Kind::Schema, "ocs_charge_load_batch returned request " + std::to_string(idx));
    parse_row(loaded[idx - 1], row, 1);
  }
  return loaded;
}

std::string number(std::integral auto n) { return std::to_string(n); }

template <class T>
std::string opt_number(const std::optional<T>& n) {
  return n ? std::to_string(*n) : std::string("null");
}

/// The debits as an ocs_charge_apply_batch request's "debits": numbers and
/// schema names only.
std::string debits_json(const std::vector<Debit>& debits) {
  std::string json = "[";
  for (const auto& d : debits) {
    if (json.size() > 1) json += ',';
    const auto& u = d.reported;
    json += "{\"rating_group\":" + number(d.rating_group) + ",\"unit\":\"" + sql_name(kUnits, d.unit) +
            "\",\"units\":" + number(d.units) + ",\"cost\":" + number(d.cost) +
            ",\"usage_start\":" + number(epoch(d.usage_start)) + ",\"input_octets\":" + opt_number(u.input_octets) +
            ",\"output_octets\":" + opt_number(u.output_octets) + ",\"total_octets\":" + opt_number(u.total_octets) +
            ",\"seconds\":" + opt_number(u.seconds) + ",\"events\":" + opt_number(u.events) +
            ",\"buckets\":" + holds_json(d.bucket_uses) + "}";
  }
  return json + "]";
}

/// The new reservations as an ocs_charge_apply_batch request's "reservations".
std::string reservations_json(const std::vector<Reservation>& reservations) {
  std::string json = "[";
  for (const auto& r : reservations) {
    if (json.size() > 1) json += ',';
    json += "{\"rating_group\":" + number(r.rating_group) + ",\"unit\":\"" + sql_name(kUnits, r.unit) +
            "\",\"granted_units\":" + number(r.granted_units) + ",\"money\":" + number(r.money) +
            ",\"bucket_holds\":" + holds_json(r.bucket_holds) + ",\"granted_at\":" + number(epoch(r.granted_at)) +
            ",\"tariff_change_at\":" +
            (r.tariff_change_at ? number(epoch(*r.tariff_change_at)) : std::string("null")) + "}";
  }
  return json + "]";
}

}  // namespace

/// Plans and policies as the database had them at config_version `version_`
/// or later (an entry is read after its version). Shared by every thread of
/// a PgChargingStore; a newer version empties it.
class ChargingConfigCache {
 public:
  std::shared_ptr<const Plan> plan(std::int64_t version, std::int64_t id) { return find(plans_, version, id); }
  std::shared_ptr<const Policy> policy(std::int64_t version, std::int64_t id) {
    return find(policies_, version, id);
  }
  void put(std::int64_t version, std::int64_t id, std::shared_ptr<const Plan> p) { store(plans_, version, id, p); }
  void put(std::int64_t version, std::int64_t id, std::shared_ptr<const Policy> p) {
    store(policies_, version, id, p);
  }

 private:
  template <class T>
  using Entries = std::map<std::int64_t, std::shared_ptr<const T>>;

  template <class T>
  std::shared_ptr<const T> find(const Entries<T>& entries, std::int64_t version, std::int64_t id) {
    std::lock_guard g(mu_);
    if (version != version_) return nullptr;
    const auto it = entries.find(id);
    return it == entries.end() ? nullptr : it->second;
  }

  template <class T>
  void store(Entries<T>& entries, std::int64_t version, std::int64_t id, std::shared_ptr<const T> value) {
    std::lock_guard g(mu_);
    if (version < version_) return;  // read under an older version: not worth keeping
    if (version > version_) {
      plans_.clear();
      policies_.clear();
      version_ = version;
    }
    entries[id] = std::move(value);
  }

  std::mutex mu_;
  std::int64_t version_ = -1;
  Entries<Plan> plans_;
  Entries<Policy> policies_;
};

namespace {

/// A request after (c)-(e): its answer, and the element of
/// ocs_charge_apply_batch's array that writes its effects (empty when it
/// writes nothing: a replay, an unknown session or user). `subscriber_id` is
/// the account it changes.
struct Prepared {
  ChargeResult result;
  std::string apply;
  std::int64_t subscriber_id = 0;
};

/// The call that writes the requests whose elements `elements` joins with
/// commas (sql/migrations/0011_charge_apply_batch.sql), without COMMIT.
std::string apply_call(pqxx::connection& c, const std::string& elements) {
  return "SELECT ocs_charge_apply_batch(" + c.quote("[" + elements + "]") + "::jsonb)";
}

/// The last round trip: the writes, then COMMIT. A statement error means
/// nothing was committed (the COMMIT after it never ran, or failed); a lost
/// connection means nobody knows.
void commit(pqxx::connection& c, const std::string& sql) {
  try {
    round_trip(c, sql);
  } catch (const pqxx::broken_connection& e) {
    throw pqxx::in_doubt_error(std::string("connection lost while committing: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == kEventRaceState) throw EventRace();
    if (e.sqlstate() == kBucketGoneState) throw StoreError(StoreError::Kind::NotFound, e.what());
    if (!c.is_open()) throw pqxx::in_doubt_error(std::string("connection lost while committing: ") + e.what());
    throw;
  }
}

class ChargeTx {
 public:
  ChargeTx(pqxx::connection& c, ChargingConfigCache& cache, const ChargeRequest& req, TimePoint now)
      : c_(c), cache_(cache), req_(req), now_(now) {}

  /// One request alone: its own transaction, ended here.
  ChargeResult run() {
    Prepared p = prepare(parse_loaded(round_trip(c_, load_sql())));  // round trip 1: (a)-(d)
    if (p.apply.empty()) return end_read_only(std::move(p.result));
    commit(c_, apply_call(c_, p.apply) + "; COMMIT");  // round trip 2: (f)-(h)
    return std::move(p.result);
  }

  /// (c)-(e) on what ocs_charge_load returned for this request, inside a
  /// transaction that holds its account lock. Throws StoreError for a
  /// request that must fail; writes nothing.
  Prepared prepare(const Loaded& l) {
    if (!l.owner_found)
      return read_only(status_only(by_session() ? ChargeStatus::UnknownSession : ChargeStatus::UserUnknown));
    if (l.no_account)
      throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(*l.no_account) + " has no account");
    if (l.stored_outcome && !req_.enquiry) {  // (c); an enquiry stores nothing, so is decided again
      ChargeResult stored = decode_outcome(*l.stored_outcome);
      stored.replayed = true;
      return read_only(std::move(stored));
    }
    if (!l.account) throw StoreError(StoreError::Kind::Schema, "ocs_charge_load returned no account");
    const std::int64_t owner = l.account->subscriber_id;
    const auto& session = l.session;
    if (by_session() && (!session || !session->open || session->subscriber_id != owner))
      return read_only(status_only(ChargeStatus::UnknownSession));
    if (session && session->open && session->subscriber_id != owner)
      throw StoreError(StoreError::Kind::Invalid, "session " + req_.session_id + " is open for another subscriber");
    if (!l.subscriber)
      throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(owner) + " not found");
    return decide(l, session && session->open);
  }

 private:
  RequestKind kind() const { return req_.credit.kind; }
  bool by_session() const { return kind() == RequestKind::Update || kind() == RequestKind::Terminate; }
  bool is_event() const { return kind() == RequestKind::Event; }

  ChargeResult status_only(ChargeStatus status) const {
    ChargeResult r;
    r.status = status;
    return r;
  }

  static Prepared read_only(ChargeResult r) { return Prepared{std::move(r), {}, 0}; }

  /// Nothing was written: end the transaction (releasing the lock).
  ChargeResult end_read_only(ChargeResult r) {
    round_trip(c_, "ROLLBACK");
    return r;
  }

  std::string load_sql() const {
    std::string kinds;
    std::string values;
    if (!by_session()) {
      for (const auto& id : req_.identities) {
        if (!kinds.empty()) {
          kinds += ", ";
          values += ", ";
        }
        kinds += c_.quote(sql_name(kIdentityKinds, id.kind));
        values += c_.quote(id.value);
      }
    }
    return "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT * FROM ocs_charge_load(" +
           c_.quote(sql_name(kRequestKinds, kind())) + ", " + c_.quote(req_.session_id) + ", " +
           c_.quote(req_.request_key) + ", ARRAY[" + kinds + "]::text[], ARRAY[" + values + "]::text[])" +
           (req_.running_totals ? charged_sql(c_, req_.session_id) : std::string());
  }

  Prepared decide(const Loaded& l, bool session_open) {
    const Account& account = *l.account;
    const SubscriberRow& sub = *l.subscriber;
    const auto plan = cached_plan(l.config_version, sub.plan_id);
    ChargeResult result;
    result.subscriber_id = account.subscriber_id;
    result.subscriber = sub.external_id;
    result.policy = *cached_policy(l.config_version, sub.policy_id);
    AccountState a;
    a.subscriber_id = account.subscriber_id;
    a.status = sub.status;
    a.balance = account.balance;
    a.credit_limit = account.credit_limit;
    a.reserved_elsewhere = l.reserved_elsewhere;
    a.buckets = l.buckets;
    const SessionState none;
    std::optional<CreditRequest> since;
    if (req_.running_totals) {
      if (!l.charged) throw StoreError(StoreError::Kind::Internal, "running totals without the charged row");
      since = since_charged(req_.credit, *l.charged);
      result.was_exhausted = l.charged->exhausted;
    }
    result.decision =
        evaluate(since ? *since : req_.credit, session_open ? l.mine : none, a, *plan, result.policy, now_);  // (e)
    if (req_.enquiry) {
      if (!is_event()) throw StoreError(StoreError::Kind::Invalid, "an enquiry is an event request");
      for (const auto& r : req_.credit.rating_groups)
        result.prices.push_back({r.rating_group, list_price(r, *plan, now_)});
      result.currency = account.currency;
      result.currency_exponent = currency_exponent(account.currency);
      return Prepared{std::move(result), {}, account.subscriber_id};  // nothing to write
    }
    std::string apply = apply_json(account, result);
    return Prepared{std::move(result), std::move(apply), account.subscriber_id};
  }

  std::shared_ptr<const Plan> cached_plan(std::int64_t version, std::int64_t id) {
    if (auto p = cache_.plan(version, id)) return p;
    pqxx::nontransaction n(c_);  // still inside round trip 1's transaction
    auto p = std::make_shared<const Plan>(read_plan(n, id));
    n.commit();
    cache_.put(version, id, p);
    return p;
  }

  int currency_exponent(const std::string& code) {
    pqxx::nontransaction n(c_);  // still inside round trip 1's transaction
    const auto r = n.exec_params("SELECT exponent FROM currencies WHERE code = $1", code);
    n.commit();
    if (r.empty()) throw StoreError(StoreError::Kind::NotFound, "currency " + code + " is not in currencies");
    return r[0][0].as<int>();
  }

  std::shared_ptr<const Policy> cached_policy(std::int64_t version, std::int64_t id) {
    if (auto p = cache_.policy(version, id)) return p;
    pqxx::nontransaction n(c_);
    auto p = std::make_shared<const Policy>(read_policy(n, id));
    n.commit();
    cache_.put(version, id, p);
    return p;
  }

  /// This request's element of ocs_charge_apply_batch's array: every effect
  /// of the decision.
  std::string apply_json(const Account& account, const ChargeResult& result) const {
    const CreditDecision& d = result.decision;
    if (is_event() && !d.reservations.empty())
      throw StoreError(StoreError::Kind::Invalid, "an event request cannot hold a reservation");
    // The rating groups refused for lack of credit: a re-authorisation after
    // a top-up names them (policy rating_group_in_disconnect).
    std::string refused;
    for (const auto& r : d.results)
      if (r.status == RgStatus::CreditLimitReached || r.status == RgStatus::Hotlined)
        refused += (refused.empty() ? "" : ",") + std::to_string(r.rating_group);
    std::string released;
    // An Event has no session: only its debits are applied. A rating group
    // that gets a new hold is not released: its reservation is replaced in
    // place, with one ledger row for the difference (schema version 8).
    const auto renewed = [&](std::uint32_t rg) {
      for (const auto& r : d.reservations)
        if (r.rating_group == rg) return true;
      return false;
    };
    if (!is_event())
      for (std::uint32_t rg : d.released)
        if (!renewed(rg)) released += (released.empty() ? "" : ",") + std::to_string(rg);
    std::string close_reason = "null";
    if (!is_event() && d.session_closed)
      close_reason =
          json_string(kind() == RequestKind::Terminate ? std::string("terminate") : sql_name(kOutcomes, d.outcome));
    const char* session_write = is_event() ? "null" : kind() == RequestKind::Initial ? "\"open\"" : "\"touch\"";
    const auto& o = req_.origin;
    const std::int64_t expires = epoch(now_) + result.policy.effective_supervision_time();
    return "{\"subscriber\":" + number(account.subscriber_id) + ",\"currency\":" + json_string(account.currency) +
           ",\"session\":" + json_string(req_.session_id) + ",\"key\":" + json_string(req_.request_key) +
           ",\"kind\":" + json_string(sql_name(kRequestKinds, kind())) + ",\"session_write\":" + session_write +
           ",\"protocol\":" + json_string(o.protocol) + ",\"credit_state\":\"" +
           (d.credit_exhausted ? "exhausted" : "ok") + "\",\"origin_host\":" + json_string_or_null(o.origin_host) +
           ",\"origin_realm\":" + json_string_or_null(o.origin_realm) +
           ",\"nas_address\":" + json_string_or_null(o.nas_address) + ",\"now\":" + number(epoch(now_)) +
           ",\"expires\":" + number(expires) + ",\"refused\":[" + refused + "],\"debits\":" +
           debits_json(d.debits) + ",\"released\":[" + released + "],\"reservations\":" +
           reservations_json(d.reservations) + ",\"close_reason\":" + close_reason +
           ",\"outcome\":" + json_string(encode_outcome(result)) + ",\"client\":" + client_json() + "}";
  }

  /// The client's session details, merged into client_info by the Initial
  /// that opens the session (null when there are none).
  std::string client_json() const {
    if (kind() != RequestKind::Initial || req_.origin.client.empty()) return "null";
    return client_object(req_.origin.client);
  }

  pqxx::connection& c_;
  ChargingConfigCache& cache_;
  const ChargeRequest& req_;
  TimePoint now_;
};

void validate(const ChargeRequest& req) {
  if (req.session_id.empty()) throw StoreError(StoreError::Kind::Invalid, "empty session id");
  if (req.request_key.empty()) throw StoreError(StoreError::Kind::Invalid, "empty request key");
  // What PostgreSQL would refuse fails here, before it can fail a batch's
  // statement (the front-ends check first: Diameter answers 5004, RADIUS
  // escapes or leaves out such values).
  const auto text = [](const std::string& v, const char* what) {
    if (!is_text(v)) throw StoreError(StoreError::Kind::Invalid, std::string(what) + " is not UTF-8 text");
  };
  text(req.session_id, "session id");
  text(req.request_key, "request key");
  for (const auto& id : req.identities) text(id.value, "identity");
  text(req.origin.origin_host, "origin host");
  text(req.origin.origin_realm, "origin realm");
  text(req.origin.nas_address, "NAS address");
  for (const auto& [key, value] : req.origin.client) {
    text(key, "client detail");
    text(value, "client detail");
  }
}

ChargeResult charge_once(ConnectionPool& pool, ChargingConfigCache& cache, const ChargeRequest& req,
                         TimePoint now) {
  ChargeResult result;
  run_transaction(pool, [&](pqxx::connection& c) {
    forbid_reconnect(c);
    try {
      result = ChargeTx(c, cache, req, now).run();
    } catch (const pqxx::in_doubt_error&) {
      throw;  // run_transaction drops the connection: StoreError(Unknown)
    } catch (const pqxx::broken_connection&) {
      throw;  // the server rolled back; run_transaction may try again
    } catch (...) {
      rollback_quietly(c);  // also after a failed COMMIT: then a no-op
      throw;
    }
  });
  return result;
}

/// An attach_only request as element `idx` of ocs_attach_clients' array.
std::string attach_json(const ChargeRequest& req, std::size_t idx, TimePoint now) {
  std::string user = "null";
  for (const auto& id : req.identities)
    if (id.kind == IdentityKind::Username) {
      user = json_string(id.value);
      break;
    }
  return "{\"idx\":" + std::to_string(idx) + ",\"session\":" + json_string(req.session_id) +
         ",\"user_name\":" + user + ",\"client\":" + client_object(req.origin.client) +
         ",\"now\":" + std::to_string(epoch(now)) + "}";
}

/// ocs_attach_clients in ocs_charge_load_batch's columns: a row tagged
/// 'attached' for each element attached.
std::string attach_sql(pqxx::connection& c, const std::string& elements) {
  return "SELECT a, 'attached'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, "
         "NULL::bigint, NULL::text, NULL::text FROM ocs_attach_clients(" +
         c.quote("[" + elements + "]") + "::jsonb) AS a";
}

/// attach_only requests with no charge to ride with: their elements (idx 1
/// to `count`) in one statement, committed on its own; which were attached.
/// (Not prepared with the others: a connection is prepared before the
/// schema version is checked, and ocs_attach_clients is schema 14's.)
std::vector<bool> attach_alone(pqxx::connection& c, const std::string& elements, std::size_t count) {
  std::vector<bool> attached(count, false);
  pqxx::nontransaction n(c);
  for (const auto& row : n.exec_params("SELECT a FROM ocs_attach_clients($1::jsonb) AS a", "[" + elements + "]"))
    mark_attached(attached, row[0].as<std::size_t>());
  n.commit();
  return attached;
}

/// The result an attach_only request gets.
ChargeResult attach_result(bool attached) {
  ChargeResult r;
  r.status = attached ? ChargeStatus::Ok : ChargeStatus::UnknownSession;
  return r;
}

// ---------------------------------------------------------------------------
// A batch: many requests in one transaction and one commit.
//
//   1. "BEGIN; SELECT * FROM ocs_charge_load_batch(...)"  every account
//      locked in subscriber_id order, then (a)-(d) of each request
//   2. "SELECT ocs_charge_apply_batch(...); COMMIT"        (f)-(h) of all
//
// with (e), ocs::evaluate, for each request in between: the same decisions
// and writes as charge() request after request, because a round holds at
// most one request per session, and at most one writing request per
// subscriber (each reads the state its predecessors left). The others wait
// for the next round.
// ---------------------------------------------------------------------------
bool by_session(const ChargeRequest& req) {
  return req.credit.kind == RequestKind::Update || req.credit.kind == RequestKind::Terminate;
}

std::string load_batch_sql(pqxx::connection& c, std::span<const ChargeRequest> reqs,
                           const std::vector<std::size_t>& round) {
  std::string kinds, sessions, keys, id_req, id_kinds, id_values;
  const auto add = [](std::string& list, const std::string& item) {
    if (!list.empty()) list += ',';
    list += item;
  };
  for (std::size_t n = 0; n < round.size(); ++n) {
    const ChargeRequest& req = reqs[round[n]];
    add(kinds, c.quote(sql_name(kRequestKinds, req.credit.kind)));
    add(sessions, c.quote(req.session_id));
    add(keys, c.quote(req.request_key));
    if (by_session(req)) continue;
    for (const auto& id : req.identities) {
      add(id_req, std::to_string(n + 1));
      add(id_kinds, c.quote(sql_name(kIdentityKinds, id.kind)));
      add(id_values, c.quote(id.value));
    }
  }
  // The running-totals requests' charged sums: one branch for all of them
  // (ocs_charged_usage_batch, schema 17), since this statement is planned
  // at every call.
  std::string charged_idx, charged_sessions;
  for (std::size_t n = 0; n < round.size(); ++n) {
    if (!reqs[round[n]].running_totals) continue;
    add(charged_idx, std::to_string(n + 1));
    add(charged_sessions, c.quote(reqs[round[n]].session_id));
  }
  const std::string charged = charged_idx.empty() ? std::string()
                                                  : " UNION ALL SELECT * FROM ocs_charged_usage_batch(ARRAY[" +
                                                        charged_idx + "]::int[], ARRAY[" + charged_sessions +
                                                        "]::text[])";
  return "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT * FROM ocs_charge_load_batch(ARRAY[" + kinds +
         "]::text[], ARRAY[" + sessions + "]::text[], ARRAY[" + keys + "]::text[], ARRAY[" + id_req +
         "]::int[], ARRAY[" + id_kinds + "]::text[], ARRAY[" + id_values + "]::text[])" + charged;
}

/// One round of a batch in one transaction. Sets out[i] for every request
/// of `round` it answers (a StoreError for one that must fail) once the
/// transaction committed, and returns, in order, those left for a later
/// round. Throws when the transaction as a whole failed: nothing of the
/// round was then answered, and nothing committed unless the error is
/// StoreError::Kind::Unknown.
std::vector<std::size_t> charge_round(ConnectionPool& pool, ChargingConfigCache& cache,
                                      std::span<const ChargeRequest> reqs, const std::vector<std::size_t>& round,
                                      TimePoint now, std::vector<std::optional<ChargeOutcome>>& out) {
  std::vector<std::size_t> later;
  std::vector<std::pair<std::size_t, ChargeOutcome>> answered;
  run_transaction(pool, [&](pqxx::connection& c) {
    later.clear();
    answered.clear();
    forbid_reconnect(c);
    try {
      // Attaches (RADIUS Starts, attach_only) ride along: their UPDATE runs
      // after the load in round trip 1 and commits with the charges; with no
      // charge in the round, it is the round.
      std::vector<std::size_t> charges, attaches;  // positions in reqs
      for (std::size_t i : round) (reqs[i].attach_only ? attaches : charges).push_back(i);
      std::string attach_elements;
      for (std::size_t n = 0; n < attaches.size(); ++n)
        attach_elements += (n == 0 ? "" : ",") + attach_json(reqs[attaches[n]], n + 1, now);
      if (charges.empty()) {
        const auto attached = attach_alone(c, attach_elements, attaches.size());
        for (std::size_t n = 0; n < attaches.size(); ++n) answered.emplace_back(attaches[n], attach_result(attached[n]));
        return;
      }
      std::vector<bool> attached(attaches.size(), false);
      std::string sql = load_batch_sql(c, reqs, charges);
      if (!attaches.empty()) sql += " UNION ALL " + attach_sql(c, attach_elements);
      const auto loaded = parse_loaded_batch(round_trip(c, sql), charges.size(), attached);  // 1
      for (std::size_t n = 0; n < attaches.size(); ++n) answered.emplace_back(attaches[n], attach_result(attached[n]));
      std::set<std::int64_t> writing;  // subscribers whose account this round changes
      std::string apply;
      for (std::size_t n = 0; n < charges.size(); ++n) {
        const std::size_t i = charges[n];
        try {
          Prepared p = ChargeTx(c, cache, reqs[i], now).prepare(loaded[n]);
          if (!p.apply.empty()) {
            // A second writer of one account would have decided on the state
            // before the first one's writes: it waits for the next round.
            if (!writing.insert(p.subscriber_id).second) {
              later.push_back(i);
              continue;
            }
            apply += (apply.empty() ? "" : ",") + p.apply;
          }
          answered.emplace_back(i, std::move(p.result));
        } catch (const StoreError& e) {
          answered.emplace_back(i, e);  // as charge() would throw it; the round goes on
        }
      }
      if (!apply.empty())
        commit(c, apply_call(c, apply) + "; COMMIT");  // 2
      else if (std::find(attached.begin(), attached.end(), true) != attached.end())
        commit(c, "COMMIT");
      else
        round_trip(c, "ROLLBACK");
    } catch (const pqxx::in_doubt_error&) {
      throw;
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (...) {
      rollback_quietly(c);
      throw;
    }
  });
  for (auto& [i, outcome] : answered) out[i] = std::move(outcome);
  return later;
}

/// Releases an open session's reservations and closes it, taking the account
/// lock first as charge does. With `only_if_expired`, a session a charge has
/// renewed since it was listed is left alone.
std::optional<ExpiredSession> release_and_close(ConnectionPool& pool, const std::string& session_id,
                                                std::int64_t subscriber_id, TimePoint now,
                                                const std::string& reason, bool only_if_expired) {
  std::optional<ExpiredSession> done;
  run_transaction(pool, [&](pqxx::connection& c) {
    done.reset();
    pqxx::work tx(c);
    const auto account = lock_account(tx, subscriber_id);  // the same order as charge
    if (!account) return;
    // A charge may have renewed or closed the session since we listed it.
    const auto still = only_if_expired ? tx.exec_prepared(stmt::kLockExpired, session_id, subscriber_id, epoch(now))
                                       : tx.exec_prepared(stmt::kLockOpen, session_id, subscriber_id);
    if (still.empty()) return;
    const Money released = release_all(tx, *account, session_id, std::nullopt);
    close_session(tx, session_id, now, reason);
    tx.commit();
    done = ExpiredSession{session_id, subscriber_id, released, {}};
  });
  return done;
}

std::optional<ExpiredSession> expire_one(ConnectionPool& pool, const std::string& session_id,
                                         std::int64_t subscriber_id, TimePoint now) {
  return release_and_close(pool, session_id, subscriber_id, now, "supervision", true);
}

}  // namespace

PgChargingStore::PgChargingStore(ConnectionPool& pool)
    : pool_(pool), config_(std::make_unique<ChargingConfigCache>()) {}

PgChargingStore::~PgChargingStore() = default;

void PgChargingStore::prepare_statements(pqxx::connection& c) {
  pg::prepare_all(c, kStatements);
}

ChargeResult PgChargingStore::charge(const ChargeRequest& req, TimePoint now) {
  validate(req);
  if (req.attach_only) {
    return pg::guarded([&] {
      bool attached = false;
      run_transaction(pool_, [&](pqxx::connection& c) { attached = attach_alone(c, attach_json(req, 1, now), 1)[0]; });
      return attach_result(attached);
    });
  }
  // A lost race on the request key, or a commit whose outcome is unknown, is
  // retried once: the request key makes the second attempt a replay if the
  // first one committed.
  std::optional<StoreError> unknown;
  for (int attempt = 1;; ++attempt) {
    try {
      return charge_once(pool_, *config_, req, now);
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

std::vector<ChargeOutcome> PgChargingStore::charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) {
  if (reqs.size() <= 1) return ChargingStore::charge_batch(reqs, now);
  const auto alone = [&](std::size_t i) -> ChargeOutcome {
    try {
      return charge(reqs[i], now);
    } catch (const StoreError& e) {
      return e;
    }
  };
  std::vector<std::optional<ChargeOutcome>> out(reqs.size());
  std::vector<std::size_t> pending;  // positions in reqs, ascending
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    try {
      validate(reqs[i]);
      pending.push_back(i);
    } catch (const StoreError& e) {
      out[i] = e;
    }
  }
  while (!pending.empty()) {
    // The first request of each session; a later one of the same session
    // (its next request, or a retransmission) must see this one's effects.
    std::vector<std::size_t> round, later;
    std::set<std::string_view> sessions;
    for (std::size_t i : pending) (sessions.insert(reqs[i].session_id).second ? round : later).push_back(i);
    if (round.size() == 1) {
      out[round[0]] = alone(round[0]);
    } else {
      try {
        const auto waiting = charge_round(pool_, *config_, reqs, round, now, out);
        later.insert(later.end(), waiting.begin(), waiting.end());
      } catch (const std::exception&) {
        // The round failed as a whole (a statement error of one request, a
        // lost race on a request key, a lost connection): nothing of it was
        // answered. One by one, so that only the culprit fails; a request
        // whose commit was in doubt becomes a replay there.
        for (std::size_t i : round) out[i] = alone(i);
      }
    }
    std::sort(later.begin(), later.end());
    pending = std::move(later);
  }
  std::vector<ChargeOutcome> result;
  result.reserve(reqs.size());
  for (auto& o : out) result.push_back(std::move(*o));
  return result;
}

std::vector<ExpiredSession> PgChargingStore::expire_sessions(TimePoint now, std::size_t limit) {
  return guarded([&] {
    std::vector<ExpiredSession> candidates;
    run_transaction(pool_, [&](pqxx::connection& c) {
      candidates.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_prepared(stmt::kExpiredSessions, epoch(now), limit))
        candidates.push_back(ExpiredSession{row[0].as<std::string>(), row[1].as<std::int64_t>(), 0,
                                            row[2].as<std::string>()});
      tx.commit();
    });
    std::vector<ExpiredSession> expired;
    for (const auto& c : candidates)
      if (auto e = expire_one(pool_, c.session_id, c.subscriber_id, now)) {
        e->protocol = c.protocol;
        expired.push_back(std::move(*e));
      }
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
                               row[3].as<std::string>(""), {}};
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

std::optional<ExpiredSession> PgChargingStore::close_session(const std::string& session_id,
                                                             const std::string& reason, TimePoint now) {
  return guarded([&] {
    std::optional<std::int64_t> owner;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::read_transaction tx(c);
      const auto r = tx.exec_prepared(stmt::kOpenOwner, session_id);
      owner = r.empty() ? std::nullopt : std::optional(r[0][0].as<std::int64_t>());
      tx.commit();
    });
    if (!owner) return std::optional<ExpiredSession>{};
    return release_and_close(pool_, session_id, *owner, now, reason, false);
  });
}

}  // namespace ocs::store
