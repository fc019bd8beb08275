// ocs-radiusd's database work, for request coroutines (Service): a request
// awaits a user lookup, a charge or a blocking job; a runner thread serves
// it together with whatever else of its kind is waiting, then resumes every
// request of the batch in turn, on the runner thread, each until its next
// await or its end.
//
// Batching is the group commit's (before 2026-11-24 GroupCommitStore, over a
// thread per request): no timer and no waiting for a batch to fill. A kind
// whose `parallel` batches are not all running is served at once, up to
// `batch_max` at a time, oldest first; under load, batches grow by themselves
// to what arrived during the previous one.
//
//   - find_user: one statement for the batch (RadiusStore::find_users);
//   - charge: one transaction for the batch (ChargingStore::charge_batch;
//     a lone request, ChargingStore::charge), one clock for it: the latest
//     of its requests'. A StoreError is the request's own (thrown at its
//     co_await), as are a lookup's;
//   - run: any other blocking call (closing a NAS's sessions, a CoA, the
//     NAS reload), one at a time, on a runner of its own: a slow one holds
//     up no lookup or charge.
//
// A runner wakes only when a request arrives for a kind with a free slot,
// or another runner frees one: requests arriving while the slots are busy
// are taken by the runner that frees one, without sleeping (the thread
// hand-offs are what ocs-radiusd's CPU went to; docs/benchmarks.md).
#pragma once

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "ocs/store/radius_store.hpp"
#include "ocs/store/store.hpp"

namespace ocs::radiusd {

/// Batches run and requests served so far (for logs and tests).
struct BatchStats {
  std::size_t batches = 0;
  std::size_t requests = 0;
  std::size_t largest = 0;
};

class Pipeline {
 public:
  /// `charging` and `users` must be safe to call from the runners at once
  /// (the Pg stores are, with a connection pool of 2 × parallel + 1).
  /// Starts 2 × parallel + 1 runner threads.
  Pipeline(store::ChargingStore& charging, store::RadiusStore& users, std::size_t batch_max, std::size_t parallel);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Serves what is queued, and what the requests it resumes queue, then
  /// joins the runners. Call once no new request can start.
  void stop();

  struct Op;
  /// What a request co_awaits.
  template <typename T>
  struct Awaitable;

  Awaitable<std::optional<store::RadiusUser>> find_user(const std::string& user_name, const std::string& vendor);
  Awaitable<store::ChargeResult> charge(const store::ChargeRequest& request, TimePoint now);
  Awaitable<void> run(std::function<void()> job);

  struct Stats {
    BatchStats charges;
    BatchStats lookups;
    std::size_t jobs = 0;
  };
  Stats stats() const;

  /// Runner threads (for logs).
  std::size_t runners() const { return runners_; }

 private:
  enum class Kind { Lookup, Charge, Job };
  void push(Op* op);
  void runner();
  bool startable(Kind k) const;
  /// Stopping, and nothing queued or being served: the runners may end.
  bool drained() const;
  void serve_lookups(std::vector<Op*>& ops);
  void serve_charges(std::vector<Op*>& ops);

  store::ChargingStore& charging_;
  store::RadiusStore& users_;
  const std::size_t batch_max_;
  const std::size_t parallel_;
  const std::size_t runners_;  // 2 × parallel + 1; threads_ grows while the first ones already run

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Op*> lookups_;
  std::deque<Op*> charges_;
  std::deque<Op*> jobs_;
  std::size_t lookups_running_ = 0;
  std::size_t charges_running_ = 0;
  std::size_t jobs_running_ = 0;
  std::size_t busy_ = 0;  // runners serving something
  bool stopping_ = false;
  Stats stats_;
  std::vector<std::thread> threads_;
};

/// One awaited operation: lives in the awaiting coroutine's frame.
struct Pipeline::Op {
  Kind kind = Kind::Job;
  std::coroutine_handle<> resume;
  std::exception_ptr error;
  // Lookup
  store::RadiusStore::UserQuery query;
  std::optional<store::RadiusUser> user;
  // Charge
  const store::ChargeRequest* request = nullptr;
  TimePoint now{};
  std::optional<store::ChargeResult> result;
  // Job
  std::function<void()> job;
};

template <typename T>
struct Pipeline::Awaitable {
  Pipeline* pipeline;
  Op op;

  bool await_ready() const noexcept { return false; }
  // After push() a runner may resume the coroutine at once, on its thread:
  // nothing here touches the frame after it.
  void await_suspend(std::coroutine_handle<> h) {
    op.resume = h;
    pipeline->push(&op);
  }
  T await_resume() {
    if (op.error) std::rethrow_exception(op.error);
    if constexpr (std::is_same_v<T, store::ChargeResult>) {
      return std::move(*op.result);
    } else if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return std::move(op.user);
    }
  }
};

}  // namespace ocs::radiusd
