// The test harness itself: a daemon that cannot start is reported with the
// end of its log, and a stopped daemon leaves nothing behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>

#include "baseline_fixture.hpp"
#include "fd_daemon.hpp"

namespace ocs::test {
namespace {

using ::testing::HasSubstr;

TEST(FdDaemonTest, StartupFailureIsReportedWithTheLogTail) {
  FdDaemonOptions o = baseline_daemon_options();
  o.extensions.push_back({"/nonexistent/missing.fdx", {}});
  try {
    FdDaemon d(o);
    FAIL() << "the daemon should not have started";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("exited during start-up"));
    EXPECT_THAT(what, HasSubstr("/nonexistent/missing.fdx")) << "the log tail names the culprit";
  }
}

TEST(FdDaemonTest, StopTerminatesTheProcessAndRemovesTheDirectory) {
  std::string dir;
  pid_t pid = -1;
  {
    FdDaemon d(baseline_daemon_options());
    dir = d.dir();
    pid = d.pid();
    EXPECT_GT(d.port(), 0);
    EXPECT_TRUE(std::filesystem::exists(d.log_path()));
    EXPECT_TRUE(d.running());
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still exists";
}

TEST(FdDaemonTest, TwoDaemonsGetDifferentPorts) {
  FdDaemon a(baseline_daemon_options());
  FdDaemon b(baseline_daemon_options());
  EXPECT_NE(a.port(), b.port());
}

}  // namespace
}  // namespace ocs::test
