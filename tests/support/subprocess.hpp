// Child processes for test helpers (freeDiameterd, tshark): start with the
// output in a file, run to completion capturing the output, stop politely.
// Only libstdc++ and POSIX.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ocs::test {

/// Starts argv[0] (an absolute path) with stdin from /dev/null and stdout
/// and stderr appended to `log_path` (stderr to `err_path` when given).
/// The child is killed if the thread that started it dies (PR_SET_PDEATHSIG),
/// so a crashed test leaves no daemons behind. Throws on failure to fork.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path, const std::string& err_path = "");

/// Reaps `pid` if it has exited. Returns true while it is still running.
bool still_running(pid_t pid, int* status = nullptr);

/// Sends `sig`, waits up to `timeout`, then SIGKILL. Returns the wait status.
int terminate(pid_t pid, int sig, std::chrono::milliseconds timeout);

struct RunResult {
  int status = -1;  ///< raw wait status; see exited_ok()
  std::string out;  ///< stdout
  std::string err;  ///< stderr
  bool exited_ok() const;
};

/// Runs a command to completion (killed after `timeout`) and returns its output.
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace ocs::test
