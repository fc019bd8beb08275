// A bounded queue drained by a fixed set of worker threads. ocs.fdx's
// freeDiameter dispatch callbacks (Gy, Gx) only push and never block on the
// database; workers run the transactions and send the answers themselves.
// (ocs-radiusd used it too until 2026-11-24; its requests are now
// coroutines batched by src/radiusd/pipeline.hpp.)
//
// With a batch handler, a worker takes up to `batch_max` queued items at
// once (never waiting for more to arrive), and hands them over together:
// the Gy workers charge them in one database transaction. So that the
// other workers are not left idle while one of them takes everything, a
// worker takes its share: the queued items divided among itself and the
// workers still waiting, rounded up.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace ocs {

template <typename Item>
class WorkQueue {
 public:
  using Handler = std::function<void(Item&)>;
  /// Gets 1 to batch_max items, in queue order.
  using BatchHandler = std::function<void(std::span<Item>)>;
  /// Called for items still queued at shutdown.
  using Discard = std::function<void(Item&)>;

  WorkQueue(std::size_t workers, std::size_t limit, Handler handler, Discard discard)
      : WorkQueue(
            workers, limit, 1,
            [h = std::move(handler)](std::span<Item> items) {
              for (auto& item : items) h(item);
            },
            std::move(discard)) {}

  WorkQueue(std::size_t workers, std::size_t limit, std::size_t batch_max, BatchHandler handler, Discard discard)
      : limit_(limit),
        batch_max_(batch_max ? batch_max : 1),
        handler_(std::move(handler)),
        discard_(std::move(discard)) {
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
  }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue() { stop(); }

  /// False when the queue is full or stopping: the caller answers "busy".
  bool try_push(Item item) {
    {
      std::lock_guard g(mu_);
      if (stopping_ || items_.size() >= limit_) return false;
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
    return true;
  }

  std::size_t depth() const {
    std::lock_guard g(mu_);
    return items_.size();
  }

  /// Stops taking work, lets running items finish, discards the rest.
  void stop() {
    {
      std::lock_guard g(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    for (auto& item : items_) discard_(item);
    items_.clear();
  }

 private:
  void run() {
    std::vector<Item> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu_);
        ++waiting_;
        cv_.wait(lock, [&] { return stopping_ || !items_.empty(); });
        --waiting_;
        if (stopping_) return;
        const std::size_t share = (items_.size() + waiting_) / (waiting_ + 1);
        const std::size_t n = std::min(std::max<std::size_t>(share, 1), batch_max_);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(items_.front()));
          items_.pop_front();
        }
        if (!items_.empty() && waiting_ > 0) cv_.notify_one();  // the rest is someone else's share
      }
      handler_(std::span<Item>(batch));
    }
  }

  const std::size_t limit_;
  const std::size_t batch_max_;
  BatchHandler handler_;
  Discard discard_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  std::size_t waiting_ = 0;  // workers waiting for an item
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ocs
