// A throwaway freeDiameterd for tests: writes a configuration into a fresh
// temporary directory, starts Debian's /usr/bin/freeDiameterd on a free TCP
// port with the given extensions, waits until it accepts connections and
// stops it again (SIGTERM, then SIGKILL) when destroyed.
//
// Only libstdc++ and POSIX: no gtest, no project libraries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace ocs::test {

struct FdExtension {
  std::string path;
  /// Contents of the extension's configuration file (written into the temp
  /// dir and passed as `LoadExtension = "path" : "file"`); empty: none.
  std::string conf;
};

/// OCS_FD_SANITIZER_ENV (set by the build when OCS_SANITIZE is on), split
/// at spaces; empty otherwise.
std::vector<std::string> default_environment();

struct FdDaemonOptions {
  /// Loaded in this order, after acl_wl.fdx. Start with stock_dictionaries().
  std::vector<FdExtension> extensions;
  std::string identity = "ocs.localdomain";
  std::string realm = "localdomain";
  /// acl_wl.fdx rules that let unknown peers in (plain TCP needs
  /// ALLOW_IPSEC); an empty string leaves acl_wl out.
  std::string acl = "ALLOW_IPSEC *.localdomain\n";
  int app_threads = 4;
  /// Watchdog timer in seconds; freeDiameter refuses values below 6.
  int tw_timer_s = 30;
  /// Appended verbatim to the generated configuration.
  std::string extra_config;
  /// When set, used instead of the generated configuration (e.g. the text of
  /// config/freediameter/ocs.conf.in). FdDaemon replaces @PORT@, @IDENTITY@,
  /// @REALM@, @APP_THREADS@, @FD_EXT_DIR@ and @CONF_DIR@ (the temp dir, into
  /// which it writes acl_wl.conf from `acl`), then each pair of
  /// `substitutions`; `extensions` and `extra_config` are not used.
  std::string config_template;
  std::vector<std::pair<std::string, std::string>> substitutions;
  std::chrono::milliseconds start_timeout{15000};
  std::chrono::milliseconds stop_timeout{10000};
  std::string executable = "/usr/bin/freeDiameterd";
  /// Extra environment ("NAME=value") for the daemon only. Sanitized builds
  /// default it to preloading the ASan runtime, so that Debian's plain
  /// daemon can load our instrumented extensions.
  std::vector<std::string> environment = default_environment();
  /// Where acl_wl.fdx and the stock dict_*.fdx live.
  std::string extension_dir = "/usr/lib/freeDiameter";
};

class FdDaemon {
 public:
  /// Starts the daemon; throws std::runtime_error (with the end of its log)
  /// when it exits or does not accept connections within start_timeout.
  explicit FdDaemon(FdDaemonOptions opts);
  /// Stops the daemon and removes the temp dir (kept when the environment
  /// variable OCS_KEEP_FD_DIR is set, for post-mortems).
  ~FdDaemon();
  FdDaemon(const FdDaemon&) = delete;
  FdDaemon& operator=(const FdDaemon&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return conf_path_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

  /// The daemon's output so far, or its last `lines` lines.
  std::string log() const;
  std::string log_tail(std::size_t lines = 40) const;
  /// TCP_NODELAY (0 or 1) of each of the daemon's accepted TCP connections
  /// on port(), read from copies of its sockets (pidfd_getfd: the test
  /// process is the daemon's parent). Throws std::runtime_error when the
  /// sockets cannot be copied.
  std::vector<int> tcp_nodelay_of_connections() const;
  /// Whether the process is still alive (reaps it when it has exited).
  bool running();
  /// SIGTERM, wait up to stop_timeout, then SIGKILL. Returns the raw wait
  /// status (or -1 when already stopped). Safe to call twice.
  int stop();

  /// dict_nasreq, dict_dcca and dict_dcca_3gpp from `dir`, in load order.
  static std::vector<FdExtension> stock_dictionaries(const std::string& dir = "/usr/lib/freeDiameter");

 private:
  void write_config();
  bool try_start(std::string& failure);

  FdDaemonOptions opts_;
  std::string dir_;
  std::string conf_path_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

/// A TCP port that is free right now on 0.0.0.0 and [::] (freeDiameter 1.2.1
/// listens on all addresses: ListenOn ignores loopback addresses).
int free_tcp_port();

}  // namespace ocs::test
