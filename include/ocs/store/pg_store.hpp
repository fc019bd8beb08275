// The PostgreSQL charging store: every charging request is one transaction
// that locks the subscriber's account row, checks the request's idempotency
// key, asks the core for a decision and applies it. See docs/data-model.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

class ChargingConfigCache;

class PgChargingStore : public ChargingStore {
 public:
  /// `pool` must have been created with prepare_statements (alone or inside
  /// a preparer that also calls it) and must outlive the store.
  explicit PgChargingStore(ConnectionPool& pool);
  ~PgChargingStore() override;

  /// Prepares every statement the store uses (names start with "chg_").
  /// Pass it to ConnectionPool as (part of) its Preparer.
  static void prepare_statements(pqxx::connection& c);

  /// Decides and applies one request in one transaction, serialised per
  /// subscriber by the account row lock. A request whose (session_id,
  /// request_key) was already charged returns the stored answer with
  /// replayed = true and changes nothing, also when the first attempt's
  /// commit outcome was unknown to its caller. Event requests create no
  /// session row. Throws StoreError only: Invalid for an empty session id or
  /// request key, an unknown protocol, or an Initial that reuses the id of
  /// another subscriber's open session; Unavailable when the database cannot
  /// be used; Unknown when a commit's outcome stays unknown (retrying with
  /// the same key is then safe).
  ChargeResult charge(const ChargeRequest& req, TimePoint now) override;

  /// The requests of `reqs` in as few transactions as their order allows,
  /// each in two round trips and one commit (ocs_charge_load_batch, then
  /// one ocs_charge_apply_batch for all of them and COMMIT). A
  /// transaction holds at most one request per session and one writing
  /// request per subscriber; the others follow in the next one, so the
  /// answers and effects are those of charge() on each request in order.
  /// Accounts are locked in subscriber_id order. When a transaction fails as
  /// a whole (a statement error, a lost race on a request key, a commit in
  /// doubt), its requests are charged one by one with charge(), so only the
  /// culprit fails and a committed request is answered as a replay. Returns
  /// after every commit.
  std::vector<ChargeOutcome> charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) override;

  /// Each expired session is released and closed in its own transaction,
  /// taking the account lock first as charge does.
  std::vector<ExpiredSession> expire_sessions(TimePoint now, std::size_t limit) override;

  std::optional<ExpiredSession> close_session(const std::string& session_id, const std::string& reason,
                                              TimePoint now) override;
  std::vector<std::int64_t> subscribers_awaiting_credit(const std::string& protocol) override;
  std::vector<OpenSession> open_sessions(std::int64_t subscriber_id,
                                         const std::string& protocol) override;

 private:
  ConnectionPool& pool_;
  /// Plans and policies, valid while the database's config_version is
  /// unchanged (its triggers bump it on any change, also by plain SQL).
  std::unique_ptr<ChargingConfigCache> config_;
};

}  // namespace ocs::store
