// A bounded queue drained by a fixed set of worker threads. The front-ends'
// I/O (freeDiameter's dispatch callback, ocs-radiusd's Asio thread) only
// pushes and never blocks on the database; workers run the charging
// transactions and send the answers themselves.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ocs {

template <typename Item>
class WorkQueue {
 public:
  using Handler = std::function<void(Item&)>;
  /// Called for items still queued at shutdown.
  using Discard = std::function<void(Item&)>;

  WorkQueue(std::size_t workers, std::size_t limit, Handler handler, Discard discard)
      : limit_(limit), handler_(std::move(handler)), discard_(std::move(discard)) {
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
    for (;;) {
      Item item;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !items_.empty(); });
        if (stopping_) return;
        item = std::move(items_.front());
        items_.pop_front();
      }
      handler_(item);
    }
  }

  const std::size_t limit_;
  Handler handler_;
  Discard discard_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ocs
