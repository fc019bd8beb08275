// Session supervision: a thread that periodically closes sessions silent
// past their supervision time and releases what they hold
// (ChargingStore::expire_sessions). Used by ocs.fdx and ocs-radiusd; two
// processes supervising the same database are safe (each expiry re-checks
// the session under the account lock).
//
// With an AnswerRetention, the same thread also purges the stored answers older
// than `keep` (AdminStore::purge_answers_once, invariant 6 of
// docs/data-model.md): a pass every `every`, at most `chunks_per_tick`
// transactions of `chunk` answers per tick, so that a backlog (the first
// pass on a database that was never purged) is worked off over several
// ticks without holding up the expiry. Two processes purging one database
// are safe too (a row another deleted is skipped).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "ocs/common/clock.hpp"
#include "ocs/config/config.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

/// What Supervisor purges, and how much at a time.
struct AnswerRetention {
  /// Answers created longer ago than this are purged; 0 = no purging.
  std::chrono::seconds keep{0};
  /// One transaction of the purge (AdminStore::purge_answers_once).
  std::function<std::uint64_t(TimePoint before, std::size_t chunk)> purge_once;
  std::size_t chunk = 10000;
  std::size_t chunks_per_tick = 10;
  /// Between two passes (a pass ends when a transaction purges less than
  /// a chunk).
  std::chrono::seconds every{3600};
};

class Supervisor {
 public:
  /// `name` starts each log line ("gy", "radius").
  Supervisor(ChargingStore& store, std::chrono::milliseconds every, std::shared_ptr<spdlog::logger> log,
             std::string name, AnswerRetention retention = {})
      : store_(store), every_(every), log_(std::move(log)), name_(std::move(name)),
        retention_(std::move(retention)) {
    if (retention_.keep.count() > 0 && retention_.purge_once)
      log_->info("{}.retention stored answers of closed sessions are purged after {} s", name_,
                 retention_.keep.count());
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
        const auto now = seconds_now();
        for (const auto& e : store_.expire_sessions(now, 100))
          log_->warn("{}.supervision closed protocol={} session={} subscriber_id={} released={}: silent past its "
                     "supervision time",
                     name_, e.protocol, e.session_id, e.subscriber_id, e.released);
      } catch (const std::exception& e) {
        log_->error("{} supervision: {}", name_, e.what());
      }
      purge();
      lock.lock();
    }
  }

  /// A tick's share of the purge pass that is due or under way.
  void purge() {
    if (retention_.keep.count() <= 0 || !retention_.purge_once) return;
    const auto now = Clock::now();
    if (!purging_ && now < next_purge_) return;
    if (!purging_) {
      purging_ = true;
      purged_ = 0;
      pass_started_ = std::chrono::steady_clock::now();
      cutoff_ = std::chrono::time_point_cast<std::chrono::seconds>(now) - retention_.keep;
    }
    try {
      for (std::size_t i = 0; i < retention_.chunks_per_tick; ++i) {
        const std::uint64_t deleted = retention_.purge_once(cutoff_, retention_.chunk);
        purged_ += deleted;
        if (deleted < retention_.chunk) {
          purging_ = false;
          next_purge_ = now + retention_.every;
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - pass_started_)
                              .count();
          log_->info("{}.retention purged={} stored answers created before {} (unix) in {} ms", name_, purged_,
                     cutoff_.time_since_epoch().count(), ms);
          return;
        }
      }
      log_->debug("{}.retention purged={} so far; going on at the next tick", name_, purged_);
    } catch (const std::exception& e) {
      // Tried again at the next tick, from where it stopped.
      log_->error("{}.retention purge failed after purged={}: {}", name_, purged_, e.what());
    }
  }

  ChargingStore& store_;
  const std::chrono::milliseconds every_;
  std::shared_ptr<spdlog::logger> log_;
  const std::string name_;
  const AnswerRetention retention_;
  // The supervision thread only.
  bool purging_ = false;
  Clock::time_point next_purge_{};
  TimePoint cutoff_{};
  std::uint64_t purged_ = 0;
  std::chrono::steady_clock::time_point pass_started_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// The AnswerRetention `database.answer_retention_days` asks for, purging through
/// `admin` (which must outlive the supervisor).
inline AnswerRetention answer_retention(const config::DatabaseConfig& database, AdminStore& admin) {
  AnswerRetention r;
  r.keep = std::chrono::hours(24) * database.answer_retention_days;
  r.purge_once = [&admin](TimePoint before, std::size_t chunk) { return admin.purge_answers_once(before, chunk); };
  return r;
}

}  // namespace ocs::store
