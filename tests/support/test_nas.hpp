// A NAS for tests of the CoA/Disconnect sender (RFC 5176): listens on
// 127.0.0.1 (or ::1) on a free UDP port, checks the Request Authenticator of what
// arrives with its secret, records every datagram, and answers as the test
// says: ACK, or NAK with an Error-Cause, or nothing for the next N verified
// requests (to exercise retries). A request that does not verify is
// recorded and silently discarded, as RFC 5176 3.5 says.
//
// Its own thread, plain POSIX sockets, only the project's codec: it shares
// no code with the sender under test beyond packet.hpp and auth.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ocs/radius/packet.hpp"

namespace ocs::test {

class TestNas {
 public:
  struct Received {
    std::vector<std::uint8_t> wire;
    radius::Packet packet;  ///< meaningful when decoded
    bool decoded = false;
    bool verified = false;  ///< Request Authenticator checked with the secret
    bool answered = false;
  };

  /// How to answer verified requests.
  struct Behaviour {
    bool ack = true;                           ///< false: NAK
    std::optional<std::uint32_t> error_cause;  ///< Error-Cause (101) in the answer
    int drop_next = 0;                         ///< ignore this many first
    /// Sign answers with this secret instead (a NAS with the wrong secret).
    std::optional<std::string> answer_secret;
  };

  enum class Family { Ipv4, Ipv6 };
  /// Listens on 127.0.0.1, or on ::1 for Ipv6. Throws std::runtime_error
  /// when it cannot (a machine without IPv6: see ipv6_loopback()).
  explicit TestNas(std::string secret, Family family = Family::Ipv4);
  /// Whether a UDP socket can be bound to ::1 here (containers often have
  /// IPv6 off).
  static bool ipv6_loopback();
  ~TestNas();
  TestNas(const TestNas&) = delete;
  TestNas& operator=(const TestNas&) = delete;

  std::uint16_t port() const { return port_; }
  void set_behaviour(Behaviour b);

  std::vector<Received> received() const;
  /// Waits until at least `n` datagrams have arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  void loop();

  const std::string secret_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Behaviour behaviour_;
  std::vector<Received> received_;
  std::thread thread_;
};

}  // namespace ocs::test
