// PostgreSQL side of ocs-radiusd's reads (include/ocs/store/radius_store.hpp).
#include "ocs/store/pg_radius.hpp"

#include <array>

#include <pqxx/pqxx>

#include "ocs/common/utf8.hpp"
#include "pg_util.hpp"

namespace ocs::store {

namespace {

using pg::guarded;
using pg::opt;

constexpr const char* kFindUsers = "rad_find_users";

// The user lookup of every Access-Request, for one user or for the batch of
// those asked for at once (PgRadiusStore::find_users): prepared once per
// connection (planning the four-way join cost more than running it).
constexpr pg::NamedSql kStatements[] = {
    // Each user, once per template of its policy for the query's vendor (or
    // once with no template), tagged with the query's position (from 1).
    {kFindUsers,
     "SELECT q.n, s.id, s.external_id, i.password, s.status, s.account_type, p.name, "
     "p.radius_on_blocked, p.radius_on_no_credit, p.radius_address_pool, p.radius_hotline_pool, "
     "p.acct_interim_interval, p.rate_limit_up_kbps, p.rate_limit_down_kbps, "
     "p.rate_limit_scaling_percent, p.hotline_url, p.restriction_filter_id, p.hotline_validity_time, "
     "t.kind, t.line "
     "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(name, vendor, n) "
     "JOIN subscriber_identities i ON i.kind = 'username' AND i.value = q.name "
     "JOIN subscribers s ON s.id = i.subscriber_id "
     "JOIN plans pl ON pl.id = s.plan_id "
     "JOIN policies p ON p.id = coalesce(s.policy_id, pl.policy_id) "
     "LEFT JOIN radius_templates t ON t.policy_id = p.id AND t.vendor IN (q.vendor, 'any') "
     "ORDER BY q.n, t.position, t.id"},
};

/// A text[] literal: {"a","b\\c"}. (Sent as one parameter, so that the
/// statement stays prepared whatever the batch's size.)
std::string text_array(std::span<const std::string> values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

RadiusUser user_from(const pqxx::row& r) {
  RadiusUser u;
  u.subscriber_id = r[1].as<std::int64_t>();
  u.external_id = r[2].as<std::string>();
  u.password = opt<std::string>(r[3]);
  u.status = subscriber_status_from_string(r[4].as<std::string>()).value_or(SubscriberStatus::Blocked);
  u.account_type = r[5].as<std::string>();
  RadiusPolicy& p = u.policy;
  p.name = r[6].as<std::string>();
  p.hotline_when_blocked = r[7].as<std::string>() == "hotline";
  p.hotline_when_no_credit = r[8].as<std::string>() == "hotline";
  p.address_pool = opt<std::string>(r[9]);
  p.hotline_pool = r[10].as<std::string>();
  p.acct_interim_interval = opt<std::uint32_t>(r[11]);
  p.rate_limit_up_kbps = opt<std::uint64_t>(r[12]);
  p.rate_limit_down_kbps = opt<std::uint64_t>(r[13]);
  p.rate_limit_scaling_percent = r[14].as<std::uint32_t>();
  p.hotline_url = opt<std::string>(r[15]);
  p.restriction_filter_id = opt<std::string>(r[16]);
  p.hotline_validity_time = r[17].as<std::uint32_t>();
  return u;
}

}  // namespace

void PgRadiusStore::prepare_statements(pqxx::connection& c) {
  // One plan per connection for its prepared statements, made at their
  // first execution. Under PostgreSQL's default (auto), the lookup's custom
  // plans, which see how many names an array holds, looked cheaper than
  // the generic one, so the six-way join was planned again at nearly every
  // Access-Request: a tenth of PostgreSQL's CPU under the RADIUS benchmark
  // (perf and pg_stat_statements' track_planning, docs/benchmarks.md). The
  // setting is the connection's: the charging store's prepared statements
  // on it (key lookups) keep generic plans too.
  pqxx::nontransaction(c).exec("SET plan_cache_mode = force_generic_plan");
  pg::prepare_all(c, kStatements);
}

std::vector<NasClient> PgRadiusStore::nas_clients() {
  return guarded([&] {
    std::vector<NasClient> out;
    run_transaction(pool_, [&](pqxx::connection& c) {
      out.clear();
      pqxx::read_transaction tx(c);
      for (const auto& r : tx.exec("SELECT name, host(address), secret, vendor, coa_port, "
                                   "require_message_authenticator FROM nas_clients ORDER BY id")) {
        NasClient n;
        n.name = r[0].as<std::string>();
        n.address = r[1].as<std::string>();
        n.secret = r[2].as<std::string>();
        n.vendor = r[3].as<std::string>();
        n.coa_port = r[4].as<int>();
        n.require_message_authenticator = opt<bool>(r[5]);
        out.push_back(std::move(n));
      }
      tx.commit();
    });
    return out;
  });
}

// One prepared statement each, sent without BEGIN/COMMIT
// (pqxx::nontransaction): one round trip. (What a session was already
// charged is read by the charge itself: ChargeRequest::running_totals.)

std::optional<RadiusUser> PgRadiusStore::find_user(const std::string& user_name, const std::string& vendor) {
  return find_users(std::span<const UserQuery>(std::array{UserQuery{user_name, vendor}})).front();
}

std::vector<std::optional<RadiusUser>> PgRadiusStore::find_users(std::span<const UserQuery> queries) {
  std::vector<std::optional<RadiusUser>> out(queries.size());
  // A name that is not UTF-8 text (or holds a NUL) is no identity's, and
  // would fail the statement for every name in it: left out, as the
  // charging store refuses such text (pg_charging.cpp, validate).
  std::vector<std::size_t> asked;  // positions in `queries`
  std::vector<std::string> names, vendors;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (!is_text(queries[i].user_name)) continue;
    asked.push_back(i);
    names.push_back(queries[i].user_name);
    vendors.push_back(queries[i].vendor);
  }
  if (asked.empty()) return out;
  return guarded([&] {
    run_transaction(pool_, [&](pqxx::connection& c) {
      for (auto& u : out) u.reset();
      pqxx::nontransaction tx(c);
      const auto rows = tx.exec_prepared(kFindUsers, text_array(names), text_array(vendors));
      tx.commit();
      for (const auto& r : rows) {
        auto& user = out[asked[r[0].as<std::size_t>() - 1]];
        if (!user) user = user_from(r);
        if (!r[18].is_null()) user->templates.push_back(RadiusTemplate{r[18].as<std::string>(), r[19].as<std::string>()});
      }
    });
    return out;
  });
}

std::vector<std::string> PgRadiusStore::open_sessions_of_nas(const std::string& nas_address) {
  return guarded([&] {
    std::vector<std::string> out;
    run_transaction(pool_, [&](pqxx::connection& c) {
      out.clear();
      pqxx::read_transaction tx(c);
      for (const auto& r : tx.exec_params("SELECT id FROM charging_sessions WHERE state = 'open' "
                                          "AND protocol = 'radius' AND nas_address = $1 ORDER BY id",
                                          nas_address))
        out.push_back(r[0].as<std::string>());
      tx.commit();
    });
    return out;
  });
}

std::vector<CoaSessionInfo> PgRadiusStore::sessions_where(const char* where,
                                                          std::optional<std::int64_t> subscriber_id) {
  const std::string sql =
      std::string("SELECT s.id, s.subscriber_id, s.credit_state, s.client_info ->> 'acct_session_id', "
                  "coalesce(s.client_info ->> 'user_name', (SELECT i.value FROM subscriber_identities i "
                  "  WHERE i.subscriber_id = s.subscriber_id AND i.kind = 'username' ORDER BY i.id LIMIT 1)), "
                  "s.client_info ->> 'framed_ip', s.client_info ->> 'rate_digest', "
                  "n.name, host(n.address), n.secret, n.vendor, n.coa_port "
                  "FROM charging_sessions s JOIN nas_clients n ON host(n.address) = s.nas_address "
                  "WHERE s.protocol = 'radius' AND s.state = 'open' AND ") +
      where + " ORDER BY s.created_at, s.id";
  return guarded([&] {
    std::vector<CoaSessionInfo> out;
    run_transaction(pool_, [&](pqxx::connection& c) {
      out.clear();
      pqxx::read_transaction tx(c);
      const pqxx::result rows = subscriber_id ? tx.exec_params(sql, *subscriber_id) : tx.exec(sql);
      for (const auto& r : rows) {
        CoaSessionInfo info;
        info.session_id = r[0].as<std::string>();
        info.subscriber_id = r[1].as<std::int64_t>();
        info.credit_exhausted = r[2].as<std::string>() == "exhausted";
        info.acct_session_id = r[3].as<std::string>("");
        info.user_name = r[4].as<std::string>("");
        info.framed_ip = opt<std::string>(r[5]);
        info.rate_digest = opt<std::string>(r[6]);
        info.nas.name = r[7].as<std::string>();
        info.nas.address = r[8].as<std::string>();
        info.nas.secret = r[9].as<std::string>();
        info.nas.vendor = r[10].as<std::string>();
        info.nas.coa_port = r[11].as<int>();
        out.push_back(std::move(info));
      }
      tx.commit();
    });
    return out;
  });
}

std::vector<CoaSessionInfo> PgRadiusStore::coa_sessions(std::int64_t subscriber_id) {
  return sessions_where("s.subscriber_id = $1", subscriber_id);
}

std::vector<CoaSessionInfo> PgRadiusStore::rate_limited_sessions() {
  // No index of its own: it filters the open sessions, once per plan or
  // policy edit.
  return sessions_where("s.client_info ? 'rate_digest' AND s.credit_state <> 'exhausted'", std::nullopt);
}

bool PgRadiusStore::record_rate_digest(const std::string& session_id, const std::string& digest) {
  return guarded([&] {
    bool updated = false;
    run_transaction(pool_, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      updated = tx.exec_params("UPDATE charging_sessions SET client_info = client_info || jsonb_build_object("
                               "'rate_digest', $2::text) WHERE id = $1 AND state = 'open' AND protocol = 'radius'",
                               session_id, digest)
                    .affected_rows() == 1;
      tx.commit();
    });
    return updated;
  });
}

}  // namespace ocs::store
