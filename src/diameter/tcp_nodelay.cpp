#include "tcp_nodelay.hpp"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace ocs::fdx {

int int_option(int fd, int level, int name) noexcept {
  int value = 0;
  socklen_t len = sizeof value;
  return ::getsockopt(fd, level, name, &value, &len) == 0 ? value : -1;
}

std::uint16_t local_port(int fd) noexcept {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

NodelayPass set_tcp_nodelay(std::span<const std::uint16_t> ports) noexcept {
  NodelayPass pass;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return pass;
  const int own = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own) continue;
    const int s = static_cast<int>(fd);
    struct stat st {};
    if (::fstat(s, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (int_option(s, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP) continue;
    const std::uint16_t port = local_port(s);
    if (port == 0 || std::find(ports.begin(), ports.end(), port) == ports.end()) continue;
    (int_option(s, SOL_SOCKET, SO_ACCEPTCONN) == 1 ? pass.listening : pass.connected)++;
    if (int_option(s, IPPROTO_TCP, TCP_NODELAY) != 0) continue;
    const int one = 1;
    if (::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++pass.changed;
  }
  ::closedir(dir);
  return pass;
}

ListenerNodelay::ListenerNodelay(std::vector<std::uint16_t> ports, std::shared_ptr<spdlog::logger> log)
    : ports_(std::move(ports)), log_(std::move(log)), thread_([this] { run(); }) {}

ListenerNodelay::~ListenerNodelay() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ListenerNodelay::run() {
  using namespace std::chrono_literals;
  constexpr auto kEvery = 100ms;
  constexpr int kStablePasses = 10;  // a second without a new listening socket
  constexpr auto kGiveUp = 60s;
  const auto started = std::chrono::steady_clock::now();
  NodelayPass total;
  std::size_t listening = 0;
  int stable = 0;
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const NodelayPass pass = set_tcp_nodelay(ports_);
    total.changed += pass.changed;
    total.connected = std::max(total.connected, pass.connected);
    stable = pass.listening > 0 && pass.listening == listening ? stable + 1 : 0;
    listening = pass.listening;
    if (stable >= kStablePasses) {
      log_->info("gy.tcp_nodelay listening_sockets={} connections={} sockets_changed={}", listening,
                 total.connected, total.changed);
      return;
    }
    if (std::chrono::steady_clock::now() - started > kGiveUp) {
      log_->warn("gy.tcp_nodelay no listening socket on the Diameter ports after {}s; Nagle stays on",
                 std::chrono::duration_cast<std::chrono::seconds>(kGiveUp).count());
      return;
    }
    wake_.wait_for(lock, kEvery, [this] { return stop_; });
  }
}

}  // namespace ocs::fdx
