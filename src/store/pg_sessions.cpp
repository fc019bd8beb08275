// Session queries used outside the charging path (rare: after a LISTEN
// reconnect), kept apart from the charging transaction's statement table.
#include <pqxx/pqxx>

#include "ocs/store/pg_store.hpp"

namespace ocs::store {

std::vector<std::int64_t> PgChargingStore::subscribers_awaiting_credit(const std::string& protocol) {
  std::vector<std::int64_t> ids;
  try {
    run_transaction(pool_, [&](pqxx::connection& c) {
      ids.clear();
      pqxx::read_transaction tx(c);
      for (const auto& row : tx.exec_params("SELECT DISTINCT subscriber_id FROM charging_sessions "
                                            "WHERE state = 'open' AND protocol = $1 AND credit_state = 'exhausted' "
                                            "ORDER BY subscriber_id",
                                            protocol))
        ids.push_back(row[0].as<std::int64_t>());
      tx.commit();
    });
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    throw StoreError(StoreError::Kind::Internal, e.what());
  }
  return ids;
}

}  // namespace ocs::store
