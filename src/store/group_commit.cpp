#include "ocs/store/group_commit.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <vector>

namespace ocs::store {

struct GroupCommitStore::Waiter {
  const ChargeRequest* request = nullptr;
  TimePoint now{};
  std::optional<ChargeOutcome> outcome;
  /// The batch failed as a whole with something other than a per-request
  /// StoreError (charge_batch answers each request; this is the rest).
  std::exception_ptr error;
  bool done = false;
  /// Woken when done, or when it should lead the next batch: one waiter at
  /// a time, not every thread (a batch's completion would otherwise wake
  /// all workers, each to find nothing to do).
  std::condition_variable wake;
};

GroupCommitStore::GroupCommitStore(ChargingStore& inner, std::size_t batch_max, std::size_t parallel)
    : inner_(inner), batch_max_(std::max<std::size_t>(batch_max, 1)), parallel_(std::max<std::size_t>(parallel, 1)) {}

ChargeResult GroupCommitStore::charge(const ChargeRequest& req, TimePoint now) {
  Waiter self;
  self.request = &req;
  self.now = now;
  {
    std::unique_lock lock(mu_);
    queue_.push_back(&self);
    while (!self.done) {
      // Whoever finds a free slot charges what is waiting, its own request
      // or, when the queue is longer than a batch, the oldest ones first.
      if (running_ < parallel_ && !queue_.empty())
        run_batch(lock);
      else
        self.wake.wait(lock);
    }
  }
  if (self.error) std::rethrow_exception(self.error);
  if (auto* e = std::get_if<StoreError>(&*self.outcome)) throw *e;
  return std::move(std::get<ChargeResult>(*self.outcome));
}

void GroupCommitStore::run_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<Waiter*> batch;
  while (!queue_.empty() && batch.size() < batch_max_) {
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  ++running_;
  // More waiting than this batch holds, and a slot still free: the next
  // oldest waiter starts another batch at once.
  if (!queue_.empty() && running_ < parallel_) queue_.front()->wake.notify_one();
  lock.unlock();

  std::vector<ChargeOutcome> outcomes;
  std::exception_ptr error;
  try {
    if (batch.size() == 1) {
      try {
        outcomes.emplace_back(inner_.charge(*batch.front()->request, batch.front()->now));
      } catch (const StoreError& e) {
        outcomes.emplace_back(e);
      }
    } else {
      // One clock for the batch: the latest of its requests' (they arrived
      // while the previous batch ran, within milliseconds of each other).
      std::vector<ChargeRequest> requests;
      requests.reserve(batch.size());
      TimePoint now = batch.front()->now;
      for (const Waiter* w : batch) {
        requests.push_back(*w->request);
        now = std::max(now, w->now);
      }
      outcomes = inner_.charge_batch(requests, now);
      if (outcomes.size() != batch.size()) throw std::logic_error("charge_batch answered a different number of requests");
    }
  } catch (...) {
    error = std::current_exception();
  }

  lock.lock();
  --running_;
  ++stats_.batches;
  stats_.requests += batch.size();
  stats_.largest = std::max(stats_.largest, batch.size());
  // A slot is free: the oldest waiter leads the next batch. Woken first, so
  // that it is no longer in `batch` below (a Waiter lives on its caller's
  // stack and may be gone once marked done).
  if (!queue_.empty()) queue_.front()->wake.notify_one();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Waiter* w = batch[i];
    if (error)
      w->error = error;
    else
      w->outcome = std::move(outcomes[i]);
    w->done = true;
    w->wake.notify_one();  // under the lock: w cannot return before this
  }
}

GroupCommitStore::Stats GroupCommitStore::stats() const {
  std::lock_guard g(mu_);
  return stats_;
}

}  // namespace ocs::store
