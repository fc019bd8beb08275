#include "fd_daemon.hpp"

#include "subprocess.hpp"
#include "tcp_nodelay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ocs::test {

std::vector<std::string> default_environment() {
  std::vector<std::string> out;
#ifdef OCS_FD_SANITIZER_ENV
  std::istringstream words(OCS_FD_SANITIZER_ENV);
  for (std::string w; words >> w;) out.push_back(w);
#endif
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

// A string literal for freeDiameter's configuration grammar.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << contents;
  if (!f.flush()) throw std::runtime_error("FdDaemon: cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Binds `port` (0: any) on the wildcard address of `family`; returns the
// bound port or -1.
int bind_probe(int family, int port) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int result = -1;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      result = ntohs(a.sin_port);
  } else {
    int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      result = ntohs(a.sin6_port);
  }
  ::close(fd);
  return result;
}

// Whether some socket listens on IPv4 TCP `port`, from /proc/net/tcp:
// unlike a test connection this leaves no "connection closed before CER"
// error in the daemon's log. nullopt when /proc is not available. IPv4 only:
// the tests connect to 127.0.0.1, and freeDiameter opens its IPv4 and IPv6
// listeners one after the other; counting the IPv6 one was once followed
// by "connection refused" on 127.0.0.1 (CI, BaselineTest).
std::optional<bool> listening(int port) {
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", static_cast<unsigned>(port));
  bool any_file = false;
  for (const char* path : {"/proc/net/tcp"}) {
    std::ifstream f(path);
    if (!f) continue;
    any_file = true;
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      // "  sl  local_address rem_address   st ..."; 0A is TCP_LISTEN.
      std::istringstream in(line);
      std::string sl, local, remote, state;
      in >> sl >> local >> remote >> state;
      if (state == "0A" && local.size() >= 5 && local.compare(local.size() - 5, 5, want) == 0) return true;
    }
  }
  if (!any_file) return std::nullopt;
  return false;
}

bool accepts_connections(int port) {
  if (auto l = listening(port)) return *l;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string tail_of(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  while (lines > 0 && pos > 0) {
    const std::size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    --lines;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace

int free_tcp_port() {
  // freeDiameter binds the port on both 0.0.0.0 and [::]: it must be free on
  // both. There is a window between this check and the daemon's bind; the
  // caller retries with another port when the daemon fails to bind.
  static const bool ipv6 = bind_probe(AF_INET6, 0) > 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int port = bind_probe(AF_INET, 0);
    if (port <= 0) continue;
    if (!ipv6 || bind_probe(AF_INET6, port) == port) return port;
  }
  throw std::runtime_error("free_tcp_port: no free port found");
}

std::vector<FdExtension> FdDaemon::stock_dictionaries(const std::string& dir) {
  return {{dir + "/dict_nasreq.fdx", {}}, {dir + "/dict_dcca.fdx", {}}, {dir + "/dict_dcca_3gpp.fdx", {}}};
}

FdDaemon::FdDaemon(FdDaemonOptions opts) : opts_(std::move(opts)) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "ocs-fd-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("FdDaemon: mkdtemp failed: " + std::string(std::strerror(errno)));
  dir_ = tmpl;
  conf_path_ = dir_ + "/freeDiameter.conf";
  log_path_ = dir_ + "/freeDiameterd.log";

  std::string failure;
  try {
    // A port that looked free can be taken before the daemon binds it: retry.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_tcp_port();
      write_config();
      if (try_start(failure)) return;
      if (log().find("Address already in use") == std::string::npos) break;
    }
  } catch (...) {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
  stop();
  const std::string message = "FdDaemon: " + failure + "\n--- " + log_path_ + " (last lines) ---\n" + log_tail(30);
  if (!std::getenv("OCS_KEEP_FD_DIR")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  throw std::runtime_error(message);
}

FdDaemon::~FdDaemon() {
  stop();
  if (!std::getenv("OCS_KEEP_FD_DIR")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void FdDaemon::write_config() {
  if (!opts_.config_template.empty()) {
    write_file(dir_ + "/acl_wl.conf", opts_.acl);
    std::string text = opts_.config_template;
    std::vector<std::pair<std::string, std::string>> subst = {{"@PORT@", std::to_string(port_)},
                                                              {"@IDENTITY@", opts_.identity},
                                                              {"@REALM@", opts_.realm},
                                                              {"@APP_THREADS@", std::to_string(opts_.app_threads)},
                                                              {"@FD_EXT_DIR@", opts_.extension_dir},
                                                              {"@CONF_DIR@", dir_}};
    subst.insert(subst.end(), opts_.substitutions.begin(), opts_.substitutions.end());
    for (const auto& [key, value] : subst)
      for (std::size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size()))
        text.replace(pos, key.size(), value);
    write_file(conf_path_, text);
    return;
  }
  std::ostringstream c;
  c << "# Generated by ocs::test::FdDaemon\n"
    << "Identity = " << quoted(opts_.identity) << ";\n"
    << "Realm = " << quoted(opts_.realm) << ";\n"
    << "Port = " << port_ << ";\n"
    << "SecPort = 0;\n"  // no TLS listener, so no TLS_Cred needed
    << "No_SCTP;\n"
    << "NoRelay;\n"
    << "AppServThreads = " << opts_.app_threads << ";\n"
    << "TwTimer = " << opts_.tw_timer_s << ";\n";
  if (!opts_.acl.empty()) {
    const std::string acl_path = dir_ + "/acl_wl.conf";
    write_file(acl_path, opts_.acl);
    c << "LoadExtension = " << quoted(opts_.extension_dir + "/acl_wl.fdx") << " : " << quoted(acl_path) << ";\n";
  }
  for (std::size_t i = 0; i < opts_.extensions.size(); ++i) {
    const FdExtension& e = opts_.extensions[i];
    c << "LoadExtension = " << quoted(e.path);
    if (!e.conf.empty()) {
      const std::string path = dir_ + "/ext" + std::to_string(i) + ".conf";
      write_file(path, e.conf);
      c << " : " << quoted(path);
    }
    c << ";\n";
  }
  c << opts_.extra_config << "\n";
  write_file(conf_path_, c.str());
}

bool FdDaemon::try_start(std::string& failure) {
  std::filesystem::remove(log_path_);
  std::vector<std::string> argv;
  if (!opts_.environment.empty()) {
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), opts_.environment.begin(), opts_.environment.end());
  }
  argv.insert(argv.end(), {opts_.executable, "-c", conf_path_});
  pid_ = spawn(argv, log_path_);

  const auto deadline = Clock::now() + opts_.start_timeout;
  while (Clock::now() < deadline) {
    if (!running()) {
      failure = "freeDiameterd exited during start-up (port " + std::to_string(port_) + ")";
      return false;
    }
    // A failed start logs this, then exits; but 1.2.1 can hang in that
    // shutdown (seen with the ASan runtime preloaded): do not wait for it.
    if (log().find("Initiating freeDiameter shutdown sequence") != std::string::npos) {
      failure = "freeDiameterd exited during start-up (it began its shutdown sequence; port " +
                std::to_string(port_) + ")";
      return false;
    }
    // The listening sockets open after every extension has loaded.
    if (accepts_connections(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  failure = "freeDiameterd did not accept connections on port " + std::to_string(port_) + " within " +
            std::to_string(opts_.start_timeout.count()) + " ms";
  return false;
}

bool FdDaemon::running() {
  if (!still_running(pid_)) pid_ = -1;
  return pid_ > 0;
}

int FdDaemon::stop() {
  if (pid_ <= 0) return -1;
  // freeDiameterd shuts down cleanly on SIGTERM (DPR to its peers first).
  const int status = terminate(pid_, SIGTERM, opts_.stop_timeout);
  pid_ = -1;
  return status;
}

std::string FdDaemon::log() const { return read_file(log_path_); }

std::vector<int> FdDaemon::tcp_nodelay_of_connections() const {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
  std::vector<int> out;
  std::string failure;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd")) {
    const int target = std::stoi(entry.path().filename().string());
    const int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target, 0));
    if (fd < 0) {
      if (errno != EBADF) failure = std::string("pidfd_getfd: ") + std::strerror(errno);
      continue;  // EBADF: closed meanwhile
    }
    using ocs::fdx::int_option;
    if (int_option(fd, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP && int_option(fd, SOL_SOCKET, SO_ACCEPTCONN) == 0 &&
        ocs::fdx::local_port(fd) == port_) {
      const int nodelay = int_option(fd, IPPROTO_TCP, TCP_NODELAY);
      if (nodelay >= 0) out.push_back(nodelay);
    }
    ::close(fd);
  }
  ::close(pidfd);
  if (!failure.empty()) throw std::runtime_error(failure);
  return out;
}

std::string FdDaemon::log_tail(std::size_t lines) const { return tail_of(log(), lines); }

}  // namespace ocs::test
