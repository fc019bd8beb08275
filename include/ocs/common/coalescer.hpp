// Batching for callers that block, one request per thread: requests that
// arrive while others are being served wait, and go together in the next
// call of `run`. There is no timer and no waiting for a batch to fill: a
// request that arrives while fewer than `parallel` batches are running
// starts one at once, with every request waiting at that moment (at most
// `batch_max`). A lone request is served alone at once; under load, batches
// grow by themselves to the number of requests that arrived during the
// previous one.
//
// The thread that starts a batch runs it and hands every waiting caller its
// own result. An exception thrown by `run` fails every caller of that batch
// (each rethrows it in its own thread); a per-request failure belongs in
// `Out` (GroupCommitStore: a StoreError in the ChargeOutcome).
//
// Used by ocs-radiusd for its charges (store::GroupCommitStore: one
// transaction and one WAL flush for many) and for its user lookups
// (store::PgRadiusStore::find_user: one statement for many).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ocs {

/// Batches run and requests served so far (for logs and tests).
struct BatchStats {
  std::size_t batches = 0;
  std::size_t requests = 0;
  std::size_t largest = 0;
};

template <typename In, typename Out>
class Coalescer {
 public:
  /// Serves a batch, in order: one result per input. May be called from
  /// `parallel` threads at once.
  using Run = std::function<std::vector<Out>(std::vector<In>& inputs)>;

  Coalescer(std::size_t batch_max, std::size_t parallel, Run run)
      : batch_max_(std::max<std::size_t>(batch_max, 1)),
        parallel_(std::max<std::size_t>(parallel, 1)),
        run_(std::move(run)) {}

  /// Joins the next batch; returns (or throws) once it was served.
  Out call(In in) {
    const auto self = std::make_shared<Waiter>();
    self->in = &in;
    std::unique_lock lock(mu_);
    queue_.push_back(self);
    for (;;) {
      // Whoever finds a free slot serves what is waiting, its own request
      // or, when the queue is longer than a batch, the oldest ones first.
      if (running_ < parallel_ && !queue_.empty()) run_batch(lock);
      lock.unlock();
      {
        std::unique_lock own(self->mu);
        self->wake.wait(own, [&] { return self->done || self->lead; });
        if (self->done) break;
        self->lead = false;
      }
      lock.lock();
    }
    if (self->error) std::rethrow_exception(self->error);
    return std::move(*self->out);
  }

  BatchStats stats() const {
    std::lock_guard g(mu_);
    return stats_;
  }

 private:
  /// One caller. Its own mutex and condition variable carry its result, so
  /// that a batch's end wakes each of its callers once, without every one
  /// of them then queueing for `mu_`. Shared with the thread that serves
  /// it, which may still be notifying after the caller has returned.
  struct Waiter {
    In* in = nullptr;  // the caller's, moved from once its batch starts
    std::mutex mu;
    std::condition_variable wake;
    // Under `mu`:
    std::optional<Out> out;
    std::exception_ptr error;
    bool done = false;
    /// Asked to lead the next batch: one waiter at a time, not every thread
    /// (a batch's end would otherwise wake all callers, each to find
    /// nothing to do).
    bool lead = false;
  };
  using WaiterPtr = std::shared_ptr<Waiter>;

  /// Under `mu_`: the oldest waiter should start a batch.
  void wake_next_leader() {
    const WaiterPtr& w = queue_.front();
    {
      std::lock_guard g(w->mu);
      w->lead = true;
    }
    w->wake.notify_one();
  }

  /// Called and returns with `lock` held; serves the batch without it.
  void run_batch(std::unique_lock<std::mutex>& lock) {
    std::vector<WaiterPtr> batch;
    while (!queue_.empty() && batch.size() < batch_max_) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    ++running_;
    // More waiting than this batch holds, and a slot still free: the next
    // oldest waiter starts another batch at once.
    if (!queue_.empty() && running_ < parallel_) wake_next_leader();
    lock.unlock();

    std::vector<Out> outs;
    std::exception_ptr error;
    try {
      std::vector<In> inputs;
      inputs.reserve(batch.size());
      for (const WaiterPtr& w : batch) inputs.push_back(std::move(*w->in));
      outs = run_(inputs);
      if (outs.size() != batch.size()) throw std::logic_error("a batch was answered with a different number of results");
    } catch (...) {
      error = std::current_exception();
    }

    lock.lock();
    --running_;
    ++stats_.batches;
    stats_.requests += batch.size();
    stats_.largest = std::max(stats_.largest, batch.size());
    // A slot is free: the oldest waiter leads the next batch.
    if (!queue_.empty()) wake_next_leader();
    lock.unlock();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Waiter& w = *batch[i];
      {
        std::lock_guard g(w.mu);
        if (error)
          w.error = error;
        else
          w.out.emplace(std::move(outs[i]));
        w.done = true;
      }
      w.wake.notify_one();
    }
    lock.lock();
  }

  const std::size_t batch_max_;
  const std::size_t parallel_;
  const Run run_;
  mutable std::mutex mu_;
  std::deque<WaiterPtr> queue_;  // waiting, in arrival order
  std::size_t running_ = 0;    // batches being served
  BatchStats stats_;
};

}  // namespace ocs
