// The PostgreSQL RadiusStore.
#pragma once

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/radius_store.hpp"

namespace ocs::store {

class PgRadiusStore : public RadiusStore {
 public:
  /// `pool` must outlive the store and prepare prepare_statements (as part
  /// of its Preparer) on each connection.
  explicit PgRadiusStore(ConnectionPool& pool);

  /// Prepares the statements of the hot paths (names start with "rad_").
  static void prepare_statements(pqxx::connection& c);

  std::vector<NasClient> nas_clients() override;
  std::optional<RadiusUser> find_user(const std::string& user_name, const std::string& vendor) override;
  std::vector<std::string> open_sessions_of_nas(const std::string& nas_address) override;
  std::vector<CoaSessionInfo> coa_sessions(std::int64_t subscriber_id) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace ocs::store
