// The RADIUS load: simulated NAS sessions over a few UDP sockets.
//
// Each session is a small state machine with at most one packet in flight:
// Access-Request (PAP); on Access-Accept, Accounting Start, `updates`
// Interim-Update with running totals, Stop (echoing the Accept's Class
// attributes, as a NAS does); then a new session for the next user. An
// Access-Reject or a timeout ends the session and starts the next one.
//
// Every socket has its own thread, its own sessions (at most 256: one
// identifier each) and its own statistics, so there is no locking on the
// hot path. An unanswered packet is sent again unchanged (same identifier,
// same authenticator: RFC 5080 2.2.1 lets the server recognise it) after
// --retransmit-ms, at most --retries times. Answers are matched by
// identifier and verified with the Response Authenticator before they count.
#pragma once

#include <memory>
#include <vector>

#include "options.hpp"
#include "radius_packets.hpp"

namespace ocs::bench::radius {

class LoadRun {
 public:
  explicit LoadRun(const Options& opts);
  ~LoadRun();
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  /// Opens the sockets (throws when it cannot), runs the closed loop for the
  /// warm-up and the duration, lets what is in flight finish or time out.
  Results run();

 private:
  struct Socket;
  const Options opts_;
  std::vector<std::unique_ptr<Socket>> sockets_;
};

}  // namespace ocs::bench::radius
