#include "test_nas.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

#include "ocs/radius/auth.hpp"

namespace ocs::test {

namespace rad = ocs::radius;

namespace {
constexpr std::uint8_t kErrorCause = 101;
}

namespace {
/// A UDP socket bound to the loopback address of `family`, on a free port;
/// -1 when that fails.
int bind_loopback(TestNas::Family family, std::uint16_t& port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (family == TestNas::Family::Ipv6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  }
  const int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(family == TestNas::Family::Ipv6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}
}  // namespace

bool TestNas::ipv6_loopback() {
  std::uint16_t port = 0;
  const int fd = bind_loopback(Family::Ipv6, port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

TestNas::TestNas(std::string secret, Family family) : secret_(std::move(secret)) {
  fd_ = bind_loopback(family, port_);
  if (fd_ < 0 || ::pipe(stop_pipe_) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error(std::string("TestNas: cannot bind a UDP socket on ") +
                             (family == Family::Ipv6 ? "::1" : "127.0.0.1"));
  }
  thread_ = std::thread([this] { loop(); });
}

TestNas::~TestNas() {
  const char c = 'x';
  (void)!::write(stop_pipe_[1], &c, 1);
  thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  ::close(fd_);
}

void TestNas::set_behaviour(Behaviour b) {
  std::lock_guard lock(mu_);
  behaviour_ = std::move(b);
}

std::vector<TestNas::Received> TestNas::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool TestNas::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

void TestNas::loop() {
  std::array<std::uint8_t, 8192> buf{};
  for (;;) {
    std::array<pollfd, 2> p{{{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}}};
    if (::poll(p.data(), p.size(), -1) < 0) continue;
    if (p[1].revents) return;
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;

    Received r;
    r.wire.assign(buf.begin(), buf.begin() + n);
    const rad::DecodeResult d = rad::decode(r.wire);
    r.decoded = d.ok();
    if (r.decoded) r.packet = d.packet;
    const bool is_request =
        r.decoded && (d.packet.code == rad::code::CoaRequest || d.packet.code == rad::code::DisconnectRequest);
    r.verified = is_request && rad::verify_request(r.wire, secret_) == rad::VerifyResult::Ok;

    std::vector<std::uint8_t> answer;
    {
      std::lock_guard lock(mu_);
      if (r.verified) {
        if (behaviour_.drop_next > 0) {
          --behaviour_.drop_next;
        } else {
          rad::Packet a;
          a.code = static_cast<std::uint8_t>(d.packet.code + (behaviour_.ack ? 1 : 2));
          a.identifier = d.packet.identifier;
          a.authenticator = d.packet.authenticator;
          if (behaviour_.error_cause) rad::add_integer(a, kErrorCause, *behaviour_.error_cause);
          rad::EncodeResult e = rad::encode(a);
          if (e.ok() &&
              rad::finish_response(e.bytes, d.packet.authenticator, behaviour_.answer_secret.value_or(secret_))) {
            answer = std::move(e.bytes);
            r.answered = true;
          }
        }
      }
      received_.push_back(std::move(r));
    }
    cv_.notify_all();
    if (!answer.empty())
      ::sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

}  // namespace ocs::test
