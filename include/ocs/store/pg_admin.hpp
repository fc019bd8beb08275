// PostgreSQL implementation of AdminStore: what ocsctl does to subscribers,
// balances and plans. Every write is one transaction through run_transaction.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

class PgAdminStore final : public AdminStore {
 public:
  /// The pool must outlive the store.
  explicit PgAdminStore(ConnectionPool& pool) : pool_(pool) {}

  /// Plan by name; identities are validated before any SQL runs. The opening
  /// balance is written as the balance and, when positive, as a ledger top-up.
  /// Throws NotFound (plan), Duplicate (id or identity, named), Invalid.
  SubscriberInfo add_subscriber(const NewSubscriber& s) override;
  std::optional<SubscriberInfo> find_subscriber(const std::string& external_id) override;
  /// Ordered by external id.
  std::vector<SubscriberInfo> list_subscribers() override;
  /// Active clears the reason. Throws NotFound.
  SubscriberInfo set_status(const std::string& external_id, SubscriberStatus status,
                            const std::optional<std::string>& reason) override;
  /// Throws Invalid (amount <= 0, empty reference, overflow), NotFound, and
  /// Duplicate when the reference was credited to another subscriber or with
  /// another amount.
  TopupResult topup(const std::string& external_id, Money amount,
                    const std::optional<std::string>& reference) override;
  /// Open sessions, oldest first. Throws NotFound for an unknown subscriber.
  std::vector<SessionInfo> sessions(const std::optional<std::string>& external_id) override;
  /// Ordered by name; catch-all rating group last, periods by priority.
  std::vector<PlanInfo> plans() override;
  std::uint64_t purge_answers(TimePoint before, std::size_t chunk) override;
  std::uint64_t purge_answers_once(TimePoint before, std::size_t chunk) override;

 private:
  ConnectionPool& pool_;
};

/// The keywords of a libpq connection string, keyword/value or
/// postgresql:// URI (URI parts map to host, port, user, password, dbname).
/// Lenient: what cannot be parsed is skipped, libpq reports it on connect.
std::map<std::string, std::string> dsn_parameters(const std::string& dsn);

/// The parts of a libpq connection string that say where it points
/// ("host=db.example port=5432 dbname=ocs user=ocs"), never the password or
/// any other option. Accepts keyword/value strings and postgresql:// URIs.
std::string describe_dsn(const std::string& dsn);

/// The validation add_subscriber applies, for callers that want to check
/// early. Each returns an error message, or nullopt when the value is fine.
/// MSISDN: E.164, 5 to 15 digits (an optional leading '+' is dropped by
/// add_subscriber); IMSI: 6 to 15 digits.
std::optional<std::string> check_msisdn(const std::string& msisdn);
std::optional<std::string> check_imsi(const std::string& imsi);

}  // namespace ocs::store
