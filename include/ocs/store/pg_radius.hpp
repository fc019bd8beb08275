// The PostgreSQL RadiusStore.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/common/coalescer.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/radius_store.hpp"

namespace ocs::store {

class PgRadiusStore : public RadiusStore {
 public:
  /// `pool` must outlive the store and prepare prepare_statements (as part
  /// of its Preparer) on each connection.
  ///
  /// With `batch_max` > 1, find_user calls from concurrent threads are
  /// coalesced (ocs/common/coalescer.hpp): at most `parallel` lookups run at
  /// once, and the users asked for meanwhile are read together by the next,
  /// in one statement (ocs-radiusd passes its [radius] batch_max and
  /// batch_parallel). With 1, every call reads at once on its own.
  explicit PgRadiusStore(ConnectionPool& pool, std::size_t batch_max = 1, std::size_t parallel = 1);

  /// Prepares the statements of the hot paths (names start with "rad_").
  static void prepare_statements(pqxx::connection& c);

  std::vector<NasClient> nas_clients() override;
  std::optional<RadiusUser> find_user(const std::string& user_name, const std::string& vendor) override;
  std::vector<std::string> open_sessions_of_nas(const std::string& nas_address) override;
  std::vector<CoaSessionInfo> coa_sessions(std::int64_t subscriber_id) override;
  std::vector<CoaSessionInfo> rate_limited_sessions() override;
  bool record_rate_digest(const std::string& session_id, const std::string& digest) override;

  /// A name that is not UTF-8 text (ocs::is_text) is unknown without being
  /// sent. Throws StoreError when the statement fails; the coalesced
  /// find_user then fails every caller of that batch at once.
  std::vector<std::optional<RadiusUser>> find_users(std::span<const UserQuery> queries) override;

  BatchStats lookup_stats() const;

 private:
  /// The open RADIUS sessions (with a known NAS) that `where` selects;
  /// $1 is `subscriber_id` when it is set.
  std::vector<CoaSessionInfo> sessions_where(const char* where, std::optional<std::int64_t> subscriber_id);

  ConnectionPool& pool_;
  std::optional<Coalescer<UserQuery, std::optional<RadiusUser>>> lookups_;
};

}  // namespace ocs::store
