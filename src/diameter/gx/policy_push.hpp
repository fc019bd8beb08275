// Gx RAR on account changes: a top-up, a block or unblock, a plan or policy
// change, a Gy session refused credit or given credit again, or fair usage
// used up on another session (all NOTIFY ocs_account) re-decide the
// subscriber's open Gx sessions; each whose policy changes gets a RAR with
// Charging-Rule-Remove/-Install, QoS and monitoring grants, or with
// Session-Release-Cause when it must end. An operator's edit of plans,
// policies, rules or allowances (event "config", schema 19) re-decides every
// open Gx session, once per burst of edits. Runs on the Gy Reauthorizer's
// listener thread (one LISTEN connection for both).
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "../gy/reauth.hpp"
#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gx {

class PolicyPusher : public gy::AccountEventSink {
 public:
  /// `sessions` lists and closes sessions (shared with Gy).
  PolicyPusher(const Dict& dict, store::PolicyStore& policies, store::ChargingStore& sessions,
               int answer_timeout_ms, std::shared_ptr<spdlog::logger> log)
      : dict_(dict), policies_(policies), sessions_(sessions), timeout_ms_(answer_timeout_ms), log_(std::move(log)) {}

  void on_event(const store::AccountEvent& e) override;
  /// Re-decides every session after configuration edits; closes the
  /// sessions whose PCEF answered a RAR with 5002.
  void idle() override;

  /// Re-decides every open Gx session of one subscriber, RAR to those that
  /// change; returns how many RARs were sent.
  std::size_t reevaluate_subscriber(std::int64_t subscriber_id);

 private:
  bool send_rar(const store::PolicyChange& change);
  /// Every subscriber with an open Gx session; `why` goes to the log.
  void reevaluate_all(const char* why);

  const Dict& dict_;
  store::PolicyStore& policies_;
  store::ChargingStore& sessions_;
  const int timeout_ms_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<gy::UnknownSessions> unknown_ = std::make_shared<gy::UnknownSessions>();
  /// A "config" event came since the last sweep (listener thread only).
  bool config_changed_ = false;
};

}  // namespace ocs::gx
