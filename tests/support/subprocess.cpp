#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace ocs::test {

namespace {

using Clock = std::chrono::steady_clock;

// Builds the argv array before fork(): afterwards only async-signal-safe
// calls are allowed in the child (the test process may have threads).
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void exec_child(char* const* argv, int in_fd, int out_fd, int err_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  if (in_fd >= 0) ::dup2(in_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  ::execv(argv[0], argv);
  ::_exit(127);
}

}  // namespace

bool RunResult::exited_ok() const { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path, const std::string& err_path) {
  std::vector<char*> args = c_argv(argv);
  const int out_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) throw std::runtime_error("spawn: cannot open " + log_path + ": " + std::strerror(errno));
  int err_fd = out_fd;
  if (!err_path.empty()) {
    err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0) {
      ::close(out_fd);
      throw std::runtime_error("spawn: cannot open " + err_path + ": " + std::strerror(errno));
    }
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(args.data(), null_fd, out_fd, err_fd, parent);
  const int fork_errno = errno;
  ::close(out_fd);
  if (err_fd != out_fd) ::close(err_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) throw std::runtime_error(std::string("spawn: fork failed: ") + std::strerror(fork_errno));
  return pid;
}

bool still_running(pid_t pid, int* status) {
  if (pid <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid) {
    if (status) *status = st;
    return false;
  }
  return !(r < 0 && errno == ECHILD);
}

int terminate(pid_t pid, int sig, std::chrono::milliseconds timeout) {
  if (pid <= 0) return -1;
  int status = 0;
  ::kill(pid, sig);
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;  // not our child any more
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<char*> args = c_argv(argv);
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("run: pipe failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error("run: pipe failed");
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(args.data(), null_fd, out_pipe[1], err_pipe[1], parent);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("run: fork failed");
  }

  RunResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = Clock::now() + timeout;
  char buf[8192];
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left));
    if (n <= 0) continue;  // EINTR or timeout: the deadline check above decides
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {  // EOF (or error): this stream is done
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      sinks[i]->append(buf, static_cast<std::size_t>(got));
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  while (::waitpid(pid, &result.status, 0) < 0) {
    if (errno != EINTR) break;
  }
  return result;
}

}  // namespace ocs::test
