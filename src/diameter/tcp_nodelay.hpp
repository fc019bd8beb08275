// TCP_NODELAY on freeDiameterd's Diameter sockets ([gy] tcp_nodelay).
//
// freeDiameter 1.2.1 clears TCP_NODELAY on every TCP socket it creates (its
// source cites RFC 3539 section 3.2), so Nagle's algorithm holds an answer
// back while the previous one on the connection is unacknowledged. A
// worker answers a whole batch at once, and the client delays its ACK when
// it has nothing to send: answers then wait for the next request or for
// the client's delayed-ACK timer (40 ms on Linux). Measured on loopback
// (docs/benchmarks.md, "Nagle"): the OCS at 300 CCR/s answered in p50
// 6.85 ms with Nagle and 2.5-2.7 ms without it.
//
// freeDiameter exposes no socket to an extension, and a socket accepted by
// Linux inherits TCP_NODELAY from its listening socket. So the extension
// finds the process's TCP sockets bound to the Diameter ports and sets the
// option on them: on the listening ones, for every connection accepted
// afterwards, and on those already accepted.
#pragma once

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace ocs::fdx {

/// What one pass over the process's file descriptors found.
struct NodelayPass {
  std::size_t listening = 0;  ///< listening TCP sockets on the ports
  std::size_t connected = 0;  ///< accepted TCP connections on the ports
  std::size_t changed = 0;    ///< of those, the ones that had Nagle on
};

/// getsockopt of an int option (SO_PROTOCOL, SO_ACCEPTCONN, TCP_NODELAY...);
/// -1 when it fails.
int int_option(int fd, int level, int name) noexcept;

/// The local port of a bound IPv4 or IPv6 socket; 0 otherwise.
std::uint16_t local_port(int fd) noexcept;

/// Sets TCP_NODELAY on every TCP socket of this process whose local port is
/// one of `ports` (IPv4 or IPv6, listening or connected). Other sockets and
/// other descriptors are left alone; a descriptor closed meanwhile is
/// skipped. Never throws.
NodelayPass set_tcp_nodelay(std::span<const std::uint16_t> ports) noexcept;

/// Runs set_tcp_nodelay on a thread of its own until freeDiameter's
/// listening sockets exist (they are created after the extensions are
/// loaded) and their number has not changed for a second, then logs what
/// it did once and ends. Stops early when destroyed.
class ListenerNodelay {
 public:
  ListenerNodelay(std::vector<std::uint16_t> ports, std::shared_ptr<spdlog::logger> log);
  ~ListenerNodelay();
  ListenerNodelay(const ListenerNodelay&) = delete;
  ListenerNodelay& operator=(const ListenerNodelay&) = delete;

 private:
  void run();

  std::vector<std::uint16_t> ports_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ocs::fdx
