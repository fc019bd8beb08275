// Gx session audit. A PCEF that loses a session without CCR-T (a restart, a
// crash, a bearer torn down while the link was down) leaves it open here:
// it keeps counting in every configuration sweep and in the subscriber's
// sessions. A Gx session that no request has touched for
// gx.audit_after_seconds is sent a RAR that changes nothing (the mandatory
// AVPs only, Re-Auth-Request-Type AUTHORIZE_ONLY):
//
//   2001                      the session is alive: last_seen = now, and it
//                             is not asked again for another period;
//   5002 UNKNOWN_SESSION_ID   closed ("client: unknown session") by the
//                             Reauthorizer, as after any RAR;
//   no answer in time, no route to the PCEF, another code
//                             asked again one period later; a second failure
//                             in a row closes it ("client: unreachable").
//
// So a session whose PCEF is gone is closed after about two audit periods
// of silence (one before the first RAR, one between the two). Runs on the
// Gy Reauthorizer's listener thread (idle(), at most once a minute, or once
// per audit period when that is shorter); the
// answers arrive on freeDiameter's threads and are handled at the next
// idle(). The probes in flight live in memory: after a restart, a silent
// session is simply asked again.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "../gy/reauth.hpp"
#include "ocs/store/store.hpp"
#include "wire.hpp"

namespace ocs::gx {

class SessionAuditor : public gy::AccountEventSink {
 public:
  /// `audit_after` > 0. `sessions` closes the unreachable (shared with
  /// Gy); a session whose PCEF answers 5002 goes to `unknown`
  /// (Reauthorizer::unknown_sessions), which closes it.
  SessionAuditor(const Dict& dict, store::PolicyStore& policies, store::ChargingStore& sessions,
                 std::shared_ptr<gy::SessionIds> unknown, std::chrono::seconds audit_after, int answer_timeout_ms,
                 std::shared_ptr<spdlog::logger> log);

  /// Most silent sessions asked per audit run.
  static constexpr std::size_t kBatch = 1000;
  /// Failed probes in a row that close a session.
  static constexpr int kFailuresToClose = 2;

  void on_event(const store::AccountEvent&) override {}
  /// Handles the answers that came, and runs an audit when one is due.
  void idle() override;

 private:
  struct Probe {
    std::chrono::steady_clock::time_point sent;
    int failures = 0;
  };
  /// What the answer callbacks report back to the listener thread.
  struct Answers {
    gy::SessionIds alive, failed;
  };

  void handle_answers();
  void audit();
  void probe(const store::SilentPolicySession& s);
  /// A probe failed; the second failure in a row closes the session.
  void failed(const std::string& session_id, const char* why);

  const Dict& dict_;
  store::PolicyStore& policies_;
  store::ChargingStore& sessions_;
  const std::shared_ptr<gy::SessionIds> unknown_;
  const std::chrono::seconds audit_after_;
  const std::chrono::seconds every_;
  const int timeout_ms_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Answers> answers_ = std::make_shared<Answers>();
  // Listener thread only.
  std::unordered_map<std::string, Probe> probes_;
  std::chrono::steady_clock::time_point next_audit_{};
};

}  // namespace ocs::gx
