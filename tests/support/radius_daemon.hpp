// Runs the real ocs-radiusd for a test: writes its TOML into a temporary
// directory (ports 0: the kernel picks free ones), starts it and waits for
// its "radius.started" log line, which names the ports it bound.
#pragma once

#include <sys/types.h>

#include <string>

namespace ocs::test {

struct RadiusDaemonOptions {
  std::string executable;  // build/bin/ocs-radiusd
  std::string dsn;
  std::string dictionary;  // dict/radius/dictionary
  /// Extra lines for the [radius] table.
  std::string radius_toml;
  /// [radius] listen.
  std::string listen = "127.0.0.1";
};

class RadiusDaemon {
 public:
  explicit RadiusDaemon(const RadiusDaemonOptions& options);
  /// SIGTERM (clean shutdown is checked: exit status 0), then removes the
  /// temp dir (kept when OCS_KEEP_TEST_DIRS is set).
  ~RadiusDaemon();
  RadiusDaemon(const RadiusDaemon&) = delete;
  RadiusDaemon& operator=(const RadiusDaemon&) = delete;

  int auth_port() const { return auth_port_; }
  int acct_port() const { return acct_port_; }
  /// The whole log so far.
  std::string log() const;
  std::string log_tail(std::size_t lines = 40) const;
  /// Stops the daemon now; returns its wait status.
  int stop();

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int auth_port_ = 0;
  int acct_port_ = 0;
};

}  // namespace ocs::test
