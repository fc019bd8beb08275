// Session supervision: a thread that periodically closes sessions silent
// past their supervision time and releases what they hold
// (ChargingStore::expire_sessions). Used by ocs.fdx and ocs-radiusd; two
// processes supervising the same database are safe (each expiry re-checks
// the session under the account lock).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "ocs/store/store.hpp"

namespace ocs::store {

class Supervisor {
 public:
  /// `name` starts each log line ("gy", "radius").
  Supervisor(ChargingStore& store, std::chrono::milliseconds every, std::shared_ptr<spdlog::logger> log,
             std::string name)
      : store_(store), every_(every), log_(std::move(log)), name_(std::move(name)) {
    thread_ = std::thread([this] { run(); });
  }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;
  ~Supervisor() {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every_, [&] { return stop_; })) {
      lock.unlock();
      try {
        const auto now = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
        for (const auto& e : store_.expire_sessions(now, 100))
          log_->warn("{}.supervision closed protocol={} session={} subscriber_id={} released={}: silent past its "
                     "supervision time",
                     name_, e.protocol, e.session_id, e.subscriber_id, e.released);
      } catch (const std::exception& e) {
        log_->error("{} supervision: {}", name_, e.what());
      }
      lock.lock();
    }
  }

  ChargingStore& store_;
  const std::chrono::milliseconds every_;
  std::shared_ptr<spdlog::logger> log_;
  const std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ocs::store
