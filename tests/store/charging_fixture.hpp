// Helpers for the charging store tests: requests, and SQL read-backs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/store/store.hpp"

namespace ocs::test {

inline TimePoint at(std::int64_t unix_seconds) { return TimePoint(std::chrono::seconds(unix_seconds)); }

/// One rating group of a request: ask for quota and/or report usage.
inline RatingGroupRequest rg(std::uint32_t rating_group, bool wants_grant,
                             std::optional<std::uint64_t> used_octets = std::nullopt,
                             std::optional<std::uint64_t> requested = std::nullopt) {
  RatingGroupRequest r;
  r.rating_group = rating_group;
  r.wants_grant = wants_grant;
  r.requested_units = requested;
  if (used_octets) {
    UsageReport u;
    u.amount.total_octets = *used_octets;
    r.used.push_back(u);
  }
  return r;
}

inline store::ChargeRequest request(RequestKind kind, const std::string& session, const std::string& key,
                                    std::vector<RatingGroupRequest> groups,
                                    std::vector<store::Identity> ids = {}) {
  store::ChargeRequest req;
  req.session_id = session;
  req.request_key = key;
  req.identities = std::move(ids);
  req.origin.protocol = "gy";
  req.origin.origin_host = "pgw.example";
  req.origin.origin_realm = "example";
  req.credit.kind = kind;
  req.credit.rating_groups = std::move(groups);
  return req;
}

inline store::Identity msisdn(const std::string& v) { return {store::IdentityKind::Msisdn, v}; }

/// The first column of the first row of `sql`, as an integer (NULL -> 0).
inline std::int64_t scalar(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction n(c);
  const auto r = n.exec(sql);
  return r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<std::int64_t>();
}

inline std::string text(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction n(c);
  const auto r = n.exec(sql);
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
}

}  // namespace ocs::test
