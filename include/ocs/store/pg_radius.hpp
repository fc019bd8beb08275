// The PostgreSQL RadiusStore.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/radius_store.hpp"

namespace ocs::store {

class PgRadiusStore : public RadiusStore {
 public:
  /// `pool` must outlive the store and prepare prepare_statements (as part
  /// of its Preparer) on each connection.
  /// (ocs-radiusd batches its requests' lookups itself, in its Pipeline,
  /// through find_users.)
  explicit PgRadiusStore(ConnectionPool& pool) : pool_(pool) {}

  /// Prepares the statements of the hot paths (names start with "rad_").
  static void prepare_statements(pqxx::connection& c);

  std::vector<NasClient> nas_clients() override;
  std::optional<RadiusUser> find_user(const std::string& user_name, const std::string& vendor) override;
  std::vector<std::string> open_sessions_of_nas(const std::string& nas_address) override;
  std::vector<CoaSessionInfo> coa_sessions(std::int64_t subscriber_id) override;
  std::vector<CoaSessionInfo> rate_limited_sessions() override;
  bool record_rate_digest(const std::string& session_id, const std::string& digest) override;

  /// A name that is not UTF-8 text (ocs::is_text) is unknown without being
  /// sent. Throws StoreError when the statement fails.
  std::vector<std::optional<RadiusUser>> find_users(std::span<const UserQuery> queries) override;

 private:
  /// The open RADIUS sessions (with a known NAS) that `where` selects;
  /// $1 is `subscriber_id` when it is set.
  std::vector<CoaSessionInfo> sessions_where(const char* where, std::optional<std::int64_t> subscriber_id);

  ConnectionPool& pool_;
};

}  // namespace ocs::store
