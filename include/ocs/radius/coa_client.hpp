// The CoA/Disconnect sender (RFC 5176): Boost.Asio, one UDP socket, any
// number of NAS. The codec (packet.hpp, auth.hpp) builds and checks the
// packets; this class only does the I/O, the identifiers and the timers.
//
// send() may be called from any thread; the work runs on the io_context.
// Each NAS endpoint has its own 256 identifiers; a request that finds none
// free waits until one is. An unanswered request is sent again unchanged
// (same identifier, same authenticator, so the NAS can tell a duplicate)
// after `initial_timeout`, then after twice that, ... up to `max_timeout`,
// until `max_attempts` sends; then the outcome is Timeout. Answers are
// matched by NAS address, port and identifier and count only when their
// Response Authenticator verifies and their code answers the request's
// (41/42 for a Disconnect-Request, 44/45 for a CoA-Request).
//
// Every outcome is logged on the "radius.coa" logger (coa_ack, coa_nak with
// the Error-Cause, coa_timeout, coa_retry, coa_bad_answer) and passed to the
// callback, on the io_context's thread. A callback that throws is logged,
// never propagated into the io_context.
//
// Destroy the client on the io_context's thread or while it is not running;
// requests still in flight then get no callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "ocs/radius/packet.hpp"

namespace ocs::radius {

struct CoaRetryPolicy {
  std::chrono::milliseconds initial_timeout{1000};
  std::chrono::milliseconds max_timeout{8000};
  int max_attempts = 4;  ///< sends in all, the first one included (>= 1)
};

struct CoaTarget {
  boost::asio::ip::udp::endpoint nas;  ///< NAS address, its coa_port (3799)
  std::string secret;
};

enum class CoaOutcome { Ack, Nak, Timeout, Error };
std::string_view to_string(CoaOutcome o);

struct CoaResult {
  CoaOutcome outcome = CoaOutcome::Error;
  std::uint8_t request_code = 0;
  std::uint8_t identifier = 0;
  int attempts = 0;
  std::chrono::milliseconds elapsed{0};
  std::optional<std::uint32_t> error_cause;  ///< Error-Cause (101) of the answer
  std::optional<Packet> answer;              ///< the ACK or NAK
  std::string error;                         ///< for Error: what went wrong
};

class CoaClient {
 public:
  using Callback = std::function<void(const CoaResult&)>;

  /// Opens a UDP socket bound to `local` (default: any IPv4 address, a port
  /// the system picks). Throws boost::system::system_error when it cannot.
  /// A NAS of the other address family is reached through a second socket,
  /// opened at its first request (any address, any port); when that fails,
  /// the request ends with an Error result.
  explicit CoaClient(boost::asio::io_context& io, CoaRetryPolicy policy = {},
                     const boost::asio::ip::udp::endpoint& local = {boost::asio::ip::udp::v4(), 0});
  ~CoaClient();
  CoaClient(const CoaClient&) = delete;
  CoaClient& operator=(const CoaClient&) = delete;

  /// Sends `request` (code 40 or 43 with its attributes; the identifier and
  /// authenticator are set here). `done` gets exactly one result, unless
  /// the client is destroyed first. Any other code is an Error result.
  void send(CoaTarget target, Packet request, Callback done);

  /// Requests sent and not yet finished, waiting ones included.
  std::size_t pending() const;

  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ocs::radius
