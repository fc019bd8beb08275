// Server-initiated requests (Gy RAR/ASR, Gx RAR): send with an answer
// deadline and hand the outcome to a callback, on whatever freeDiameter
// thread delivers it. Shared by gy/reauth.cpp and gx/policy_push.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "fdx_util.hpp"

namespace ocs::diameter {

/// The answer's Result-Code, else its Experimental-Result-Code, else nullopt.
std::optional<std::uint32_t> result_of(msg* answer);

/// Called once: with the answer's code (nullopt: an answer without one), or
/// with timed_out = true when no answer came before the deadline (a peer
/// that is gone). Must not throw; it runs on a freeDiameter thread and must
/// not block (no database work there: hand it to another thread).
using AnswerHandler = std::function<void(std::optional<std::uint32_t> code, bool timed_out)>;

/// Sends *m (consumed in every case). False when freeDiameter refused to
/// send it; the handler is then never called.
bool send_request(msg** m, int timeout_ms, AnswerHandler on_answer);

/// Outgoing routing for our server-initiated requests of `application`:
/// freeDiameter scores every open peer of the realm as a candidate, so
/// without this a RAR for a client that is gone would reach another client.
/// Registered, requests (258 RAR, 274 ASR) of these applications go to
/// Destination-Host's own connection only.
class DestinationHostRouting {
 public:
  DestinationHostRouting() = default;
  ~DestinationHostRouting() { unregister(); }
  DestinationHostRouting(const DestinationHostRouting&) = delete;
  DestinationHostRouting& operator=(const DestinationHostRouting&) = delete;

  /// Restricts requests of `application` (call once per application).
  void register_for(application_id_t application);
  void unregister() noexcept;

 private:
  std::vector<fd_rt_out_hdl*> handles_;
  std::vector<std::unique_ptr<application_id_t>> apps_;
};

}  // namespace ocs::diameter
