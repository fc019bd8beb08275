// The PostgreSQL policy store (Gx): reads the subscriber's status, credit,
// fair-usage counters and the plan's policies, asks the core which policy
// applies (ocs::decide_policy) and records what each Gx session enforces.
// See docs/gx.md and sql/migrations/0004_gx.sql.
#pragma once

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

class PgPolicyStore : public PolicyStore {
 public:
  /// `pool` must have been created with a preparer that calls
  /// prepare_statements, and must outlive the store.
  explicit PgPolicyStore(ConnectionPool& pool) : pool_(pool) {}

  /// Prepares every statement the store uses (names start with "gx_").
  static void prepare_statements(pqxx::connection& c);

  PolicyResult decide(const PolicyRequest& req, TimePoint now) override;
  std::optional<PolicyChange> reevaluate(const std::string& session_id, TimePoint now) override;
  std::vector<std::int64_t> subscribers_with_policy_sessions() override;
  std::vector<SilentPolicySession> silent_policy_sessions(TimePoint seen_before, std::size_t limit) override;
  bool policy_session_seen(const std::string& session_id, TimePoint now) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace ocs::store
