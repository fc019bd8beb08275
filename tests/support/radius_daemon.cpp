#include "radius_daemon.hpp"

#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "subprocess.hpp"

namespace ocs::test {

namespace fs = std::filesystem;

RadiusDaemon::RadiusDaemon(const RadiusDaemonOptions& o) {
  std::string tmpl = (fs::temp_directory_path() / "ocs-radiusd-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("RadiusDaemon: mkdtemp failed: " + std::string(std::strerror(errno)));
  dir_ = tmpl;
  const std::string config = dir_ + "/ocs.toml";
  {
    std::ofstream f(config);
    f << "[database]\ndsn = \"" << o.dsn << "\"\npool_size = 4\n"
      << "[log]\nlevel = \"debug\"\nfile = \"" << dir_ << "/radiusd.log\"\n"
      << "[radius]\nlisten = \"" << o.listen << "\"\nauth_port = 0\nacct_port = 0\nworkers = 8\n"
      << "dictionary = \"" << o.dictionary << "\"\n"
      << o.radius_toml << "\n";
  }
  pid_ = spawn({o.executable, "--config", config}, dir_ + "/stdout.log");
  const std::regex started(R"(radius\.started .*auth_port=(\d+) acct_port=(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string text = log();
    if (std::regex_search(text, m, started)) {
      auth_port_ = std::stoi(m[1]);
      acct_port_ = std::stoi(m[2]);
      return;
    }
    if (!still_running(pid_)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string tail = log_tail();
  stop();
  throw std::runtime_error("ocs-radiusd did not start:\n" + tail);
}

RadiusDaemon::~RadiusDaemon() {
  stop();
  if (!::getenv("OCS_KEEP_TEST_DIRS")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

int RadiusDaemon::stop() {
  if (pid_ <= 0) return 0;
  const int status = terminate(pid_, SIGTERM, std::chrono::seconds(10));
  pid_ = -1;
  return status;
}

std::string RadiusDaemon::log() const {
  std::ostringstream out;
  for (const char* name : {"/radiusd.log", "/stdout.log"}) {
    std::ifstream f(dir_ + name);
    out << f.rdbuf();
  }
  return out.str();
}

std::string RadiusDaemon::log_tail(std::size_t lines) const {
  const std::string text = log();
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

}  // namespace ocs::test
