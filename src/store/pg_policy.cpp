// PgPolicyStore: one transaction per Gx request or re-evaluation, in the lock
// order of charging (the account row first), so a Gx decision never reads a
// half-applied Gy charge:
//
//   (a) find the subscriber (identities, or the Gx session row)
//   (b) SELECT ... FROM accounts ... FOR UPDATE
//   (c) replay? (charging_events of (session, CC-Request-Number))
//   (d) status, plan, policies, holds, buckets, linked Gy sessions' credit
//       state, allowances and this period's counters; add reported usage
//   (e) ocs::decide_policy
//   (f) session row, gx_sessions (what the session enforces), the event row
//   (g) commit; the front-end answers after it
#include "ocs/store/pg_policy.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "pg_util.hpp"

namespace ocs::store {
namespace {

namespace stmt {
constexpr const char* kFindIdentity = "gx_find_identity";
constexpr const char* kSessionRow = "gx_session_row";
constexpr const char* kLockAccount = "gx_lock_account";
constexpr const char* kReplayed = "gx_replayed";
constexpr const char* kSubscriber = "gx_subscriber";
constexpr const char* kPolicy = "gx_policy";
constexpr const char* kPolicyRules = "gx_policy_rules";
constexpr const char* kAllowances = "gx_allowances";
constexpr const char* kUsage = "gx_usage";
constexpr const char* kAddUsage = "gx_add_usage";
constexpr const char* kSessionState = "gx_session_state";
constexpr const char* kOpenSession = "gx_open_session";
constexpr const char* kTouchSession = "gx_touch_session";
constexpr const char* kCloseSession = "gx_close_session";
constexpr const char* kStoreState = "gx_store_state";
constexpr const char* kEvent = "gx_event";
constexpr const char* kNotify = "gx_notify";
constexpr const char* kSubscribersWithSessions = "gx_subscribers_with_sessions";
constexpr const char* kSilentSessions = "gx_silent_sessions";
constexpr const char* kSessionSeen = "gx_session_seen";
}  // namespace stmt

using pg::NamedSql;
using pg::epoch;
using pg::opt;
using pg::guarded;

// Arrays travel as newline-joined text (names and IPFilterRules hold none).
constexpr NamedSql kStatements[] = {
    {stmt::kFindIdentity, "SELECT subscriber_id FROM subscriber_identities WHERE kind = $1 AND value = $2"},
    {stmt::kSessionRow,
     "SELECT subscriber_id, state, coalesce(origin_host, ''), coalesce(origin_realm, '') "
     "FROM charging_sessions WHERE id = $1 AND protocol = 'gx'"},
    {stmt::kLockAccount, "SELECT balance, credit_limit FROM accounts WHERE subscriber_id = $1 FOR UPDATE"},
    {stmt::kReplayed, "SELECT 1 FROM charging_events WHERE session_id = $1 AND request_key = $2"},
    {stmt::kSubscriber,
     "SELECT s.external_id, s.status, s.plan_id, coalesce(s.policy_id, p.policy_id), p.gx_hotline_policy_id, "
     "p.gx_blocked_policy_id, p.gx_throttled_policy_id, p.gx_release_on_block, "
     "coalesce((SELECT sum(r.money) FROM reservations r WHERE r.subscriber_id = s.id), 0), "
     "EXISTS (SELECT 1 FROM buckets b WHERE b.subscriber_id = s.id AND b.remaining > 0 "
     "        AND (b.valid_from IS NULL OR b.valid_from <= to_timestamp($2)) "
     "        AND (b.valid_until IS NULL OR to_timestamp($2) < b.valid_until)), "
     "EXISTS (SELECT 1 FROM charging_sessions g WHERE g.subscriber_id = s.id AND g.protocol = 'gy' "
     "        AND g.state = 'open' AND g.credit_state = 'exhausted') "
     "FROM subscribers s JOIN plans p ON p.id = s.plan_id WHERE s.id = $1"},
    {stmt::kPolicy,
     "SELECT id, name, qci, arp_priority, arp_may_preempt, arp_preemptable, rate_limit_up_kbps, "
     "rate_limit_down_kbps, rate_limit_scaling_percent, array_to_string(gx_rule_names, E'\\n'), "
     "array_to_string(gx_rule_base_names, E'\\n'), array_to_string(gx_event_triggers, ','), "
     "gy_exhausted_action FROM policies WHERE id = $1"},
    {stmt::kPolicyRules,
     "SELECT name, precedence, rating_group, monitoring_key, array_to_string(flows, E'\\n'), redirect_url, "
     "online, offline FROM gx_rules WHERE policy_id = $1 ORDER BY precedence, name"},
    {stmt::kAllowances,
     "SELECT monitoring_key, octets, period FROM usage_allowances WHERE plan_id = $1 ORDER BY monitoring_key"},
    {stmt::kUsage,
     "SELECT octets FROM usage_counters WHERE subscriber_id = $1 AND monitoring_key = $2 "
     "AND period_start = to_timestamp($3)"},
    {stmt::kAddUsage,
     "INSERT INTO usage_counters (subscriber_id, monitoring_key, period_start, octets) "
     "VALUES ($1, $2, to_timestamp($3), $4) ON CONFLICT (subscriber_id, monitoring_key, period_start) "
     "DO UPDATE SET octets = usage_counters.octets + EXCLUDED.octets RETURNING octets"},
    {stmt::kSessionState,
     "SELECT policy_state, policy_id, array_to_string(rule_names, E'\\n'), "
     "array_to_string(rule_base_names, E'\\n'), enforced_digest FROM gx_sessions WHERE session_id = $1"},
    {stmt::kOpenSession,
     "INSERT INTO charging_sessions (id, subscriber_id, protocol, origin_host, origin_realm, last_request_key, "
     "created_at, last_seen) VALUES ($1, $2, 'gx', $3, $4, $5, to_timestamp($6), to_timestamp($6)) "
     "ON CONFLICT (id) DO UPDATE SET state = 'open', closed_at = NULL, close_reason = NULL, "
     "origin_host = EXCLUDED.origin_host, origin_realm = EXCLUDED.origin_realm, "
     "last_request_key = EXCLUDED.last_request_key, last_seen = EXCLUDED.last_seen "
     "WHERE charging_sessions.subscriber_id = EXCLUDED.subscriber_id AND charging_sessions.protocol = 'gx' "
     "RETURNING 1"},
    {stmt::kTouchSession,
     "UPDATE charging_sessions SET last_request_key = $2, last_seen = to_timestamp($3) WHERE id = $1"},
    {stmt::kCloseSession,
     "UPDATE charging_sessions SET state = 'closed', closed_at = to_timestamp($2), close_reason = $3, "
     "last_request_key = coalesce($4, last_request_key), last_seen = to_timestamp($2) WHERE id = $1"},
    {stmt::kStoreState,
     "INSERT INTO gx_sessions (session_id, policy_state, policy_id, rule_names, rule_base_names, updated_at, "
     "enforced_digest) "
     "VALUES ($1, $2, $3, string_to_array($4, E'\\n'), string_to_array($5, E'\\n'), to_timestamp($6), $7) "
     "ON CONFLICT (session_id) DO UPDATE SET policy_state = EXCLUDED.policy_state, "
     "policy_id = EXCLUDED.policy_id, rule_names = EXCLUDED.rule_names, "
     "rule_base_names = EXCLUDED.rule_base_names, updated_at = EXCLUDED.updated_at, "
     "enforced_digest = EXCLUDED.enforced_digest"},
    {stmt::kEvent,
     "INSERT INTO charging_events (session_id, request_key, subscriber_id, kind, outcome) "
     "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"},
    {stmt::kNotify,
     "SELECT pg_notify('ocs_account', json_build_object('subscriber_id', $1::bigint, 'event', 'usage', "
     "'policy_state', $2::text)::text)"},
    {stmt::kSubscribersWithSessions,
     "SELECT DISTINCT subscriber_id FROM charging_sessions WHERE protocol = 'gx' AND state = 'open' "
     "ORDER BY subscriber_id"},
    {stmt::kSilentSessions,
     "SELECT id, subscriber_id, coalesce(origin_host, ''), coalesce(origin_realm, ''), "
     "extract(epoch FROM last_seen)::bigint FROM charging_sessions "
     "WHERE protocol = 'gx' AND state = 'open' AND last_seen < to_timestamp($1) "
     "ORDER BY last_seen, id LIMIT $2"},
    {stmt::kSessionSeen,
     "UPDATE charging_sessions SET last_seen = greatest(last_seen, to_timestamp($2)) "
     "WHERE id = $1 AND protocol = 'gx' AND state = 'open'"},
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : "\n") + i;
  return out;
}

const char* kind_name(RequestKind k) {
  switch (k) {
    case RequestKind::Initial: return "initial";
    case RequestKind::Update: return "update";
    case RequestKind::Terminate: return "terminate";
    case RequestKind::Event: return "event";
  }
  return "event";
}

GxPolicy read_policy(pqxx::transaction_base& tx, std::int64_t id) {
  const auto r = tx.exec_prepared(stmt::kPolicy, id);
  if (r.empty()) throw StoreError(StoreError::Kind::NotFound, "policy " + std::to_string(id) + " not found");
  const auto& row = r[0];
  GxPolicy p;
  p.id = row[0].as<std::int64_t>();
  p.name = row[1].as<std::string>();
  p.qci = row[2].as<std::uint32_t>();
  p.arp_priority = row[3].as<std::uint32_t>();
  p.arp_may_preempt = row[4].as<bool>();
  p.arp_preemptable = row[5].as<bool>();
  p.rate_limit_up_kbps = opt<std::uint64_t>(row[6]);
  p.rate_limit_down_kbps = opt<std::uint64_t>(row[7]);
  p.rate_limit_scaling_percent = row[8].as<std::uint32_t>();
  p.rule_names = split(row[9].as<std::string>(), '\n');
  p.rule_base_names = split(row[10].as<std::string>(), '\n');
  for (const auto& t : split(row[11].as<std::string>(), ','))
    p.event_triggers.push_back(static_cast<std::uint32_t>(std::stoul(t)));
  p.gy_exhausted_action =
      row[12].as<std::string>() == "throttle" ? GyExhaustedAction::Throttle : GyExhaustedAction::None;
  for (const auto& rr : tx.exec_prepared(stmt::kPolicyRules, id)) {
    DynamicRule d;
    d.name = rr[0].as<std::string>();
    d.precedence = rr[1].as<std::uint32_t>();
    d.rating_group = opt<std::uint32_t>(rr[2]);
    d.monitoring_key = opt<std::string>(rr[3]);
    d.flows = split(rr[4].as<std::string>(), '\n');
    d.redirect_url = opt<std::string>(rr[5]);
    d.online = rr[6].as<bool>();
    d.offline = rr[7].as<bool>();
    p.dynamic_rules.push_back(std::move(d));
  }
  return p;
}

struct Loaded {
  std::string external_id;
  PolicyInputs in;
  GxPlanPolicies plan;
};

/// (d), after the account lock.
Loaded load(pqxx::transaction_base& tx, std::int64_t subscriber_id, Money balance, Money credit_limit,
            TimePoint now) {
  const auto r = tx.exec_prepared(stmt::kSubscriber, subscriber_id, epoch(now));
  if (r.empty())
    throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(subscriber_id) + " not found");
  const auto& row = r[0];
  Loaded l;
  l.external_id = row[0].as<std::string>();
  const auto status = subscriber_status_from_string(row[1].as<std::string>());
  if (!status) throw StoreError(StoreError::Kind::Schema, "unexpected subscriber status " + row[1].as<std::string>());
  l.in.status = *status;
  const auto plan_id = row[2].as<std::int64_t>();
  l.plan.normal = read_policy(tx, row[3].as<std::int64_t>());
  if (!row[4].is_null()) l.plan.out_of_credit = read_policy(tx, row[4].as<std::int64_t>());
  if (!row[5].is_null()) l.plan.blocked = read_policy(tx, row[5].as<std::int64_t>());
  if (!row[6].is_null()) l.plan.throttled = read_policy(tx, row[6].as<std::int64_t>());
  l.plan.release_on_block = row[7].as<bool>();
  l.in.available = balance + credit_limit - row[8].as<Money>();
  l.in.has_usable_bucket = row[9].as<bool>();
  l.in.gy_credit_exhausted = row[10].as<bool>();
  l.in.now = now;
  for (const auto& a : tx.exec_prepared(stmt::kAllowances, plan_id)) {
    Allowance allowance;
    allowance.monitoring_key = a[0].as<std::string>();
    allowance.octets = a[1].as<std::uint64_t>();
    allowance.period = allowance_period_from_string(a[2].as<std::string>()).value_or(AllowancePeriod::Month);
    const TimePoint start = period_start(allowance.period, now);
    const auto used = tx.exec_prepared(stmt::kUsage, subscriber_id, allowance.monitoring_key, epoch(start));
    allowance.used = used.empty() ? 0 : used[0][0].as<std::uint64_t>();
    l.in.allowances.push_back(std::move(allowance));
  }
  return l;
}

/// Adds reported usage to this period's counters (reports for keys the plan
/// has no allowance for are not counted).
void add_usage(pqxx::transaction_base& tx, std::int64_t subscriber_id, Loaded& l,
               const std::vector<UsageReport>& usage) {
  for (const auto& u : usage) {
    if (u.octets == 0) continue;
    for (auto& a : l.in.allowances) {
      if (a.monitoring_key != u.monitoring_key) continue;
      // The period load() read it for (l.in.now).
      const auto r = tx.exec_prepared(stmt::kAddUsage, subscriber_id, a.monitoring_key,
                                      epoch(period_start(a.period, l.in.now)),
                                      static_cast<std::int64_t>(std::min<std::uint64_t>(u.octets, INT64_MAX)));
      a.used = r[0][0].as<std::uint64_t>();
    }
  }
}

struct Enforced {
  PolicyState state = PolicyState::Normal;
  std::optional<std::int64_t> policy_id;
  InstalledRules rules;
  /// enforcement_digest() of what was sent; nullopt for a session stored
  /// before schema 19, which is then sent its policy again.
  std::optional<std::string> digest;
};

std::optional<Enforced> enforced(pqxx::transaction_base& tx, const std::string& session_id) {
  const auto r = tx.exec_prepared(stmt::kSessionState, session_id);
  if (r.empty()) return std::nullopt;
  Enforced e;
  e.state = policy_state_from_string(r[0][0].as<std::string>()).value_or(PolicyState::Normal);
  e.policy_id = opt<std::int64_t>(r[0][1]);
  e.rules.names = split(r[0][2].as<std::string>(), '\n');
  e.rules.base_names = split(r[0][3].as<std::string>(), '\n');
  e.digest = opt<std::string>(r[0][4]);
  return e;
}

std::optional<std::int64_t> policy_id_of(const PolicyDecision& d) {
  return d.release ? std::nullopt : std::optional(d.policy.id);
}

/// `digest` is enforcement_digest(d). It covers every rule name, so an edit
/// of the policy's rules, as of its QoS, rates, definitions or triggers,
/// shows there.
bool differs(const std::optional<Enforced>& before, const PolicyDecision& d, const std::string& digest) {
  return !before || before->state != d.state || before->policy_id != policy_id_of(d) || before->digest != digest;
}

void store_state(pqxx::transaction_base& tx, const std::string& session_id, const PolicyDecision& d,
                 const std::string& digest, TimePoint now) {
  const InstalledRules rules = installed_rules(d);
  tx.exec_prepared(stmt::kStoreState, session_id, to_string(d.state), policy_id_of(d), join(rules.names),
                   join(rules.base_names), epoch(now), digest);
}

std::optional<std::pair<Money, Money>> lock_account(pqxx::transaction_base& tx, std::int64_t subscriber_id) {
  const auto r = tx.exec_prepared(stmt::kLockAccount, subscriber_id);
  if (r.empty()) return std::nullopt;
  return std::pair{r[0][0].as<Money>(), r[0][1].as<Money>()};
}

PolicyResult decide_once(pqxx::connection& c, const PolicyRequest& req, TimePoint now) {
  pqxx::work tx(c);
  PolicyResult result;
  const bool initial = req.kind == RequestKind::Initial;
  std::optional<std::int64_t> owner;
  bool open = false;
  if (initial) {
    for (const auto& id : req.identities) {
      const auto r = tx.exec_prepared(stmt::kFindIdentity, to_string(id.kind), id.value);
      if (!r.empty()) {
        owner = r[0][0].as<std::int64_t>();
        break;
      }
    }
    if (!owner) {
      result.status = ChargeStatus::UserUnknown;
      return result;  // nothing written: the transaction is rolled back
    }
  } else {
    const auto r = tx.exec_prepared(stmt::kSessionRow, req.session_id);
    if (r.empty()) {
      result.status = ChargeStatus::UnknownSession;
      return result;
    }
    owner = r[0][0].as<std::int64_t>();
    open = r[0][1].as<std::string>() == "open";
  }
  const auto account = lock_account(tx, *owner);  // (b): after it, every read sees committed charges
  if (!account) throw StoreError(StoreError::Kind::NotFound, "subscriber " + std::to_string(*owner) + " has no account");
  result.replayed = !tx.exec_prepared(stmt::kReplayed, req.session_id, req.request_key).empty();
  if (!initial && !result.replayed) {
    // Re-read under the lock: a terminate or a RAA 5002 may have closed it.
    const auto r = tx.exec_prepared(stmt::kSessionRow, req.session_id);
    open = !r.empty() && r[0][1].as<std::string>() == "open";
    if (!open) {
      result.status = ChargeStatus::UnknownSession;
      return result;
    }
  }
  Loaded l = load(tx, *owner, account->first, account->second, now);
  result.subscriber_id = *owner;
  result.subscriber = l.external_id;
  if (!result.replayed) add_usage(tx, *owner, l, req.usage);
  result.decision = decide_policy(l.in, l.plan);
  const auto before = initial ? std::nullopt : enforced(tx, req.session_id);
  if (before) {
    result.previous_state = before->state;
    result.remove = rules_to_remove(before->rules, installed_rules(result.decision));
  }
  const std::string digest = enforcement_digest(result.decision);
  result.changed = differs(before, result.decision, digest);
  if (result.replayed) {
    tx.commit();
    return result;
  }
  const std::string& sid = req.session_id;
  if (initial) {
    const auto r = tx.exec_prepared(stmt::kOpenSession, sid, *owner, req.origin.origin_host, req.origin.origin_realm,
                                    req.request_key, epoch(now));
    if (r.empty()) throw StoreError(StoreError::Kind::Invalid, "session " + sid + " belongs to another subscriber");
  } else {
    tx.exec_prepared(stmt::kTouchSession, sid, req.request_key, epoch(now));
  }
  if (req.kind == RequestKind::Terminate) {
    tx.exec_prepared(stmt::kCloseSession, sid, epoch(now), "terminate", req.request_key);
  } else if (result.decision.release) {
    tx.exec_prepared(stmt::kCloseSession, sid, epoch(now), "denied", req.request_key);
  }
  store_state(tx, sid, result.decision, digest, now);
  tx.exec_prepared(stmt::kEvent, sid, req.request_key, *owner, kind_name(req.kind),
                   std::string("gx ") + to_string(result.decision.state));
  // Usage reported here moved the subscriber into another state: the other
  // Gx sessions learn it through the listener (RAR).
  if (req.kind == RequestKind::Update && result.changed && result.decision.state == PolicyState::Throttled)
    tx.exec_prepared(stmt::kNotify, *owner, to_string(result.decision.state));
  tx.commit();
  return result;
}

std::optional<PolicyChange> reevaluate_once(pqxx::connection& c, const std::string& session_id, TimePoint now) {
  pqxx::work tx(c);
  auto r = tx.exec_prepared(stmt::kSessionRow, session_id);
  if (r.empty() || r[0][1].as<std::string>() != "open") return std::nullopt;
  const auto owner = r[0][0].as<std::int64_t>();
  const auto account = lock_account(tx, owner);
  if (!account) return std::nullopt;
  r = tx.exec_prepared(stmt::kSessionRow, session_id);  // still open after the lock?
  if (r.empty() || r[0][1].as<std::string>() != "open") return std::nullopt;
  PolicyChange change;
  change.session_id = session_id;
  change.subscriber_id = owner;
  change.origin = SessionOrigin{"gx", r[0][2].as<std::string>(), r[0][3].as<std::string>(), "", {}};
  const Loaded l = load(tx, owner, account->first, account->second, now);
  change.decision = decide_policy(l.in, l.plan);
  const auto before = enforced(tx, session_id);
  const std::string digest = enforcement_digest(change.decision);
  if (!differs(before, change.decision, digest)) return std::nullopt;
  if (before) {
    change.previous_state = before->state;
    change.remove = rules_to_remove(before->rules, installed_rules(change.decision));
  }
  store_state(tx, session_id, change.decision, digest, now);
  tx.commit();
  return change;
}

}  // namespace

void PgPolicyStore::prepare_statements(pqxx::connection& c) {
  pg::prepare_all(c, kStatements);
}

PolicyResult PgPolicyStore::decide(const PolicyRequest& req, TimePoint now) {
  if (req.session_id.empty()) throw StoreError(StoreError::Kind::Invalid, "empty session id");
  if (req.request_key.empty()) throw StoreError(StoreError::Kind::Invalid, "empty request key");
  if (req.kind == RequestKind::Event) throw StoreError(StoreError::Kind::Invalid, "Gx has no event requests");
  return guarded([&] {
    PolicyResult result;
    run_transaction(pool_, [&](pqxx::connection& c) { result = decide_once(c, req, now); });
    return result;
  });
}

std::optional<PolicyChange> PgPolicyStore::reevaluate(const std::string& session_id, TimePoint now) {
  return guarded([&] {
    std::optional<PolicyChange> change;
    run_transaction(pool_, [&](pqxx::connection& c) { change = reevaluate_once(c, session_id, now); });
    return change;
  });
}

std::vector<std::int64_t> PgPolicyStore::subscribers_with_policy_sessions() {
  return guarded([&] {
    std::vector<std::int64_t> ids;
    run_transaction(pool_, [&](pqxx::connection& c) {
      ids.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_prepared(stmt::kSubscribersWithSessions)) ids.push_back(row[0].as<std::int64_t>());
      tx.commit();
    });
    return ids;
  });
}

std::vector<SilentPolicySession> PgPolicyStore::silent_policy_sessions(TimePoint seen_before, std::size_t limit) {
  return guarded([&] {
    std::vector<SilentPolicySession> out;
    run_transaction(pool_, [&](pqxx::connection& c) {
      out.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_prepared(stmt::kSilentSessions, epoch(seen_before),
                                              static_cast<long long>(std::min<std::size_t>(limit, 1000000)))) {
        SilentPolicySession s;
        s.session_id = row[0].as<std::string>();
        s.subscriber_id = row[1].as<std::int64_t>();
        s.origin.protocol = "gx";
        s.origin.origin_host = row[2].as<std::string>();
        s.origin.origin_realm = row[3].as<std::string>();
        s.last_seen = pg::from_epoch(row[4].as<std::int64_t>());
        out.push_back(std::move(s));
      }
      tx.commit();
    });
    return out;
  });
}

bool PgPolicyStore::policy_session_seen(const std::string& session_id, TimePoint now) {
  return guarded([&] {
    bool updated = false;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      updated = tx.exec_prepared(stmt::kSessionSeen, session_id, epoch(now)).affected_rows() == 1;
      tx.commit();
    });
    return updated;
  });
}

}  // namespace ocs::store
