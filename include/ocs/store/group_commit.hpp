// Group commit for front-ends whose threads charge one request at a time
// (ocs-radiusd: a worker thread handles a packet from start to finish, its
// charge one step among others, such as the user lookup before it).
// Requests that arrive while others
// are being charged wait, and go together in the next charge_batch of the
// wrapped store: one transaction, two round trips and one WAL flush for
// many requests, instead of one each, and no answer before the commit.
//
// There is no timer and no waiting for a batch to fill: a request that
// arrives while fewer than `parallel` batches are running starts one at
// once, with every request waiting at that moment (at most `batch_max`). A
// lone request costs what charge() costs; under load, batches grow by
// themselves to the number of requests that arrived during the previous
// one.
//
// The thread that starts a batch runs it and hands every waiting caller its
// own outcome; a caller's StoreError is thrown in its own thread, as charge()
// would. Two requests of one session waiting at once (the RADIUS workers
// never send them: one session, one worker) are charged one after the
// other in the order they arrived: charge_batch never puts them in the same
// round.
#pragma once

#include <cstddef>

#include "ocs/common/coalescer.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

class GroupCommitStore final : public ChargingStore {
 public:
  /// `inner` must outlive this store and be safe to call from `parallel`
  /// threads at once (PgChargingStore is, with a pool that large).
  GroupCommitStore(ChargingStore& inner, std::size_t batch_max, std::size_t parallel);

  /// Joins the next batch; returns (or throws) once it committed.
  ChargeResult charge(const ChargeRequest& req, TimePoint now) override;

  /// Passed through (already a batch).
  std::vector<ChargeOutcome> charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) override {
    return inner_.charge_batch(reqs, now);
  }
  std::vector<ExpiredSession> expire_sessions(TimePoint now, std::size_t limit) override {
    return inner_.expire_sessions(now, limit);
  }
  std::optional<ExpiredSession> close_session(const std::string& session_id, const std::string& reason,
                                              TimePoint now) override {
    return inner_.close_session(session_id, reason, now);
  }
  std::vector<std::int64_t> subscribers_awaiting_credit(const std::string& protocol) override {
    return inner_.subscribers_awaiting_credit(protocol);
  }
  std::vector<OpenSession> open_sessions(std::int64_t subscriber_id, const std::string& protocol) override {
    return inner_.open_sessions(subscriber_id, protocol);
  }

  /// For logs and tests: batches run and requests charged so far.
  using Stats = BatchStats;
  Stats stats() const { return batches_.stats(); }

 private:
  struct Item {
    const ChargeRequest* request = nullptr;
    TimePoint now{};
  };
  std::vector<ChargeOutcome> run_batch(std::vector<Item>& batch);

  ChargingStore& inner_;
  Coalescer<Item, ChargeOutcome> batches_;
};

}  // namespace ocs::store
