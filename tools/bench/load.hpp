// The load itself: simulated PGW sessions over a few Diameter connections.
//
// Each session is a small state machine - CCR-I, `updates` CCR-U with usage,
// CCR-T with the last usage, then a new session (new Session-Id, next
// subscriber) - with at most one CCR in flight. A closed loop sends a
// session's next CCR from the answer callback; an open loop has a pacer
// thread hand the next CCR to an idle session at the target rate, and counts
// a tick that finds no idle session as missed.
//
// Answers run on each connection's reader thread, so every session belongs to
// one connection and its statistics live with that connection.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codec.hpp"
#include "histogram.hpp"
#include "options.hpp"
#include "peer.hpp"

namespace ocs::bench {

using Clock = std::chrono::steady_clock;

enum class CcrType : std::uint8_t { Initial = 1, Update = 2, Termination = 3 };

/// What one run measured. "Measured" counts cover CCRs sent inside the
/// measurement window (after the warm-up, before the stop); the
/// reconciliation covers every CCR of the run, warm-up included, because the
/// database saw them all.
struct Results {
  double window_s = 0;   ///< length of the measurement window
  double elapsed_s = 0;  ///< whole run, warm-up and drain included

  std::uint64_t sent_total = 0;
  std::uint64_t answered_total = 0;
  std::uint64_t sent_measured = 0;
  std::uint64_t answered_measured = 0;
  Histogram latency;                                         ///< measured CCRs, every type
  std::array<Histogram, 3> by_type;                          ///< I, U, T
  std::map<std::uint32_t, std::uint64_t> result_codes;       ///< command level, measured
  std::map<std::uint32_t, std::uint64_t> mscc_result_codes;  ///< inside the MSCC, measured
  std::uint64_t missing_result_code = 0;
  std::uint64_t timeouts = 0;  ///< unanswered within --timeout-ms (or at the end)
  std::uint64_t closed = 0;    ///< connection closed before the answer
  std::uint64_t send_errors = 0;
  std::uint64_t late_answers = 0;        ///< arrived after their timeout
  std::uint64_t missed_ticks = 0;        ///< open loop: no idle session when due
  std::uint64_t sessions_completed = 0;  ///< CCR-T answered 2001
  std::uint64_t sessions_abandoned = 0;  ///< ended by an error or timeout

  // Reconciliation, whole run.
  std::uint64_t charged_reports = 0;  ///< usage reports answered 2001
  std::uint64_t charged_octets = 0;
  std::int64_t expected_charge = 0;     ///< sum of ceil(usage / block) * price
  std::uint64_t uncertain_reports = 0;  ///< usage sent, outcome unknown (timeout, close)

  std::uint64_t errors() const;
};

class LoadRun {
 public:
  explicit LoadRun(const Options& opts);
  ~LoadRun();
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  /// Connects every connection (throws when one fails), runs the load until
  /// the duration or the CCR count is reached, drains, closes.
  Results run();

 private:
  struct Session;
  struct Connection;

  void start_session(Session& s);
  void send_next(Session& s);
  void on_answer(Session& s, std::uint64_t gen, Clock::time_point t0, CcrType type, std::uint64_t usage,
                 std::optional<dia::Message> answer);
  /// After an answer or a failure: the session's next step (lock held).
  void advance(Session& s, bool ok, CcrType type);
  void after_idle(Session& s);
  void pacer();
  void expire(Clock::time_point now, bool all);
  dia::Message build(const Session& s, CcrType type, std::uint64_t usage) const;
  std::string next_msisdn();
  bool measured(Clock::time_point t0) const;

  const Options opts_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Session>> sessions_;

  Clock::time_point start_;
  Clock::time_point warm_end_;
  std::atomic<Clock::rep> stop_at_{Clock::time_point::max().time_since_epoch().count()};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> subscriber_seq_{0};

  std::mutex ready_mu_;
  std::deque<Session*> ready_;  // open loop: idle sessions
  std::uint64_t missed_ticks_ = 0;
};

/// Throws UsageError unless every address `host` resolves to is a loopback
/// address: the generator is for this machine only.
void require_loopback(const std::string& host);

/// The subscriber index (0 <= i < --subscribers) of the seq-th session:
/// round robin, or a pseudo-random pick from --seed with --random.
std::uint64_t pick_subscriber(const Options& opts, std::uint64_t seq);

/// A duration in whole microseconds, 0 if negative (for the histograms).
std::uint64_t micros(Clock::duration d);

}  // namespace ocs::bench
