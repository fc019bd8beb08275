// set_tcp_nodelay (src/diameter/tcp_nodelay.hpp) on sockets of the test
// process: which sockets it changes, and that a connection accepted after
// its listening socket was changed inherits the option (Linux), which the
// extension relies on.
#include "tcp_nodelay.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {
    if (fd < 0) throw std::runtime_error("socket");
  }
  ~Fd() { ::close(fd); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int nodelay(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
  return v;
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A socket of `type` bound to 127.0.0.1:`port` (0: any free port).
int bound(int type, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  const sockaddr_in a = loopback(port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) throw std::runtime_error("getsockname");
  return ntohs(a.sin_port);
}

int listening(std::uint16_t port) {
  const int fd = bound(SOCK_STREAM, port);
  if (::listen(fd, 8) != 0) throw std::runtime_error("listen");
  return fd;
}

int connected_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in a = loopback(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("connect");
  return fd;
}

TEST(TcpNodelay, ChangesOnlyTcpSocketsOnTheGivenPorts) {
  Fd server(listening(0));
  const std::uint16_t port = port_of(server.fd);
  Fd other_server(listening(0));
  Fd client(connected_to(port));
  Fd accepted(::accept(server.fd, nullptr, nullptr));
  Fd udp(bound(SOCK_DGRAM, port));  // the same number, another protocol
  ASSERT_EQ(nodelay(server.fd), 0);
  ASSERT_EQ(nodelay(accepted.fd), 0);

  const std::array<std::uint16_t, 2> ports{0, port};  // 0: a disabled port (SecPort = 0)
  const auto pass = ocs::fdx::set_tcp_nodelay(ports);
  EXPECT_EQ(pass.listening, 1u);
  EXPECT_EQ(pass.connected, 1u);  // the client's local port is another one
  EXPECT_EQ(pass.changed, 2u);
  EXPECT_EQ(nodelay(server.fd), 1);
  EXPECT_EQ(nodelay(accepted.fd), 1);
  EXPECT_EQ(nodelay(client.fd), 0);
  EXPECT_EQ(nodelay(other_server.fd), 0);

  const auto again = ocs::fdx::set_tcp_nodelay(ports);
  EXPECT_EQ(again.listening, 1u);
  EXPECT_EQ(again.connected, 1u);
  EXPECT_EQ(again.changed, 0u);
}

TEST(TcpNodelay, AConnectionAcceptedLaterInheritsItFromTheListeningSocket) {
  Fd server(listening(0));
  const std::uint16_t port = port_of(server.fd);
  const std::array<std::uint16_t, 1> ports{port};
  ASSERT_EQ(ocs::fdx::set_tcp_nodelay(ports).changed, 1u);
  Fd client(connected_to(port));
  Fd accepted(::accept(server.fd, nullptr, nullptr));
  EXPECT_EQ(nodelay(accepted.fd), 1);
}

TEST(TcpNodelay, NoSocketOnThePortsChangesNothing) {
  Fd server(listening(0));
  const std::array<std::uint16_t, 1> ports{static_cast<std::uint16_t>(port_of(server.fd) ^ 1)};
  const auto pass = ocs::fdx::set_tcp_nodelay(ports);
  EXPECT_EQ(pass.listening + pass.connected + pass.changed, 0u);
  EXPECT_EQ(nodelay(server.fd), 0);
}

}  // namespace
