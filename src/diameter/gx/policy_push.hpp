// Gx RAR on account changes: a top-up, a block or unblock, a plan or policy
// change, a Gy session refused credit or given credit again, or fair usage
// used up on another session (all NOTIFY ocs_account) re-decide the
// subscriber's open Gx sessions; each whose policy changes gets a RAR with
// Charging-Rule-Remove/-Install, QoS and monitoring grants, or with
// Session-Release-Cause when it must end. An operator's edit of plans,
// policies, rules or allowances (event "config", schema 19) re-decides every
// open Gx session, once per burst of edits, in slices of kSweepSlice so that
// the events that come meanwhile (a top-up's RAR, a block's ASR) wait for one
// slice, not for the whole sweep. Runs on the Gy Reauthorizer's listener
// thread (one LISTEN connection for both).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "../gy/reauth.hpp"
#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gx {

class PolicyPusher : public gy::AccountEventSink {
 public:
  /// `sessions` lists sessions (shared with Gy); a session whose PCEF
  /// answers 5002 goes to `unknown` (Reauthorizer::unknown_sessions), which
  /// closes it.
  PolicyPusher(const Dict& dict, store::PolicyStore& policies, store::ChargingStore& sessions,
               std::shared_ptr<gy::SessionIds> unknown, int answer_timeout_ms, std::shared_ptr<spdlog::logger> log)
      : dict_(dict), policies_(policies), sessions_(sessions), unknown_(std::move(unknown)),
        timeout_ms_(answer_timeout_ms), log_(std::move(log)) {}

  /// At most this long re-deciding sessions of a sweep per idle().
  static constexpr std::chrono::milliseconds kSweepSlice{100};
  /// A sweep the database could not serve waits this long before trying
  /// again (no busy loop, one log line per try).
  static constexpr std::chrono::seconds kSweepRetry{1};

  void on_event(const store::AccountEvent& e) override;
  /// Starts a sweep after configuration edits, and runs a slice of it.
  void idle() override;
  /// A sweep is under way and not paused.
  bool has_work() const override {
    return (!sweep_.empty() || pending_sweep_ != nullptr) && std::chrono::steady_clock::now() >= paused_until_;
  }

  /// Re-decides every open Gx session of one subscriber, RAR to those that
  /// change; returns how many RARs were sent.
  std::size_t reevaluate_subscriber(std::int64_t subscriber_id);

 private:
  bool send_rar(const store::PolicyChange& change);
  /// Queues every subscriber with an open Gx session (replacing a sweep
  /// under way); `why` goes to the log. Throws StoreError.
  void start_sweep(const char* why);
  /// Re-decides queued subscribers for up to kSweepSlice.
  void sweep_slice();
  /// The database is unavailable: the sweep waits kSweepRetry.
  void pause_sweep(const std::exception& e);

  const Dict& dict_;
  store::PolicyStore& policies_;
  store::ChargingStore& sessions_;
  const std::shared_ptr<gy::SessionIds> unknown_;
  const int timeout_ms_;
  std::shared_ptr<spdlog::logger> log_;
  // Listener thread only.
  /// Why a sweep must start at the next idle() ("config" or "resync" came).
  const char* pending_sweep_ = nullptr;
  std::deque<std::int64_t> sweep_;
  const char* sweep_why_ = "";
  std::size_t sweep_total_ = 0, sweep_rars_ = 0;
  std::chrono::steady_clock::time_point sweep_started_;
  std::chrono::steady_clock::time_point paused_until_{};
};

}  // namespace ocs::gx
