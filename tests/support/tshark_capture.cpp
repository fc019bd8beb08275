#include "tshark_capture.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "subprocess.hpp"

namespace ocs::test {

namespace {

constexpr const char* kTshark = "/usr/bin/tshark";
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

TsharkCapture::TsharkCapture(int port, std::string iface, std::chrono::milliseconds start_timeout) : port_(port) {
  namespace fs = std::filesystem;
  if (::access(kTshark, X_OK) != 0) throw CaptureUnavailable("tshark is not installed (apt-get install tshark)");
  std::string tmpl = (fs::temp_directory_path() / "ocs-cap-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("TsharkCapture: mkdtemp failed");
  dir_ = tmpl;
  pcap_path_ = dir_ + "/capture.pcapng";
  log_path_ = dir_ + "/tshark.log";

  // -q: no per-packet output. tshark prints "Capturing on '<iface>'" before
  // dumpcap really captures; packets sent right after that line can be
  // missed. "Capture started." comes once dumpcap reports it is capturing.
  pid_ = spawn({kTshark, "-q", "-n", "-i", iface, "-f", "tcp port " + std::to_string(port), "-w", pcap_path_},
               log_path_);
  const auto deadline = Clock::now() + start_timeout;
  std::string log;
  for (;;) {
    log = read_file(log_path_);
    if (contains(log, "Capture started")) break;
    int status = 0;
    const bool alive = still_running(pid_, &status);
    if (!alive || Clock::now() >= deadline) {
      if (alive) terminate(pid_, SIGKILL, std::chrono::seconds(1));
      pid_ = -1;
      std::error_code ec;
      fs::remove_all(dir_, ec);
      if (contains(log, "ermission") || contains(log, "not permitted") || contains(log, "Operation not permitted"))
        throw CaptureUnavailable("tshark may not capture on " + iface + ": " + log);
      throw std::runtime_error("tshark did not start capturing on " + iface + ":\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

TsharkCapture::~TsharkCapture() {
  stop();
  if (!std::getenv("OCS_KEEP_CAPTURE")) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void TsharkCapture::stop() {
  if (pid_ <= 0) return;
  // Loopback packets are in the kernel's capture buffer almost at once; give
  // dumpcap a moment to write them before asking it to finish.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  terminate(pid_, SIGINT, std::chrono::seconds(10));
  pid_ = -1;
}

std::string TsharkCapture::read(const std::vector<std::string>& args) {
  stop();
  std::vector<std::string> argv = {kTshark, "-n", "-r", pcap_path_, "-d",
                                   "tcp.port==" + std::to_string(port_) + ",diameter"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run(argv);
  if (!r.exited_ok()) throw std::runtime_error("tshark -r failed:\n" + r.err + r.out);
  return r.out;
}

std::vector<std::string> TsharkCapture::problems() {
  std::vector<std::string> out;
  // 1. The expert summary: every error (malformed packets are errors) and
  //    Diameter's own warnings (bad AVP flags or lengths, unknown request...).
  //    TCP notes about the capture's first segments are not our concern.
  const std::string expert = read({"-q", "-z", "expert,warn"});
  std::string section;
  for (const std::string& line : lines_of(expert)) {
    if (line.rfind("Errors", 0) == 0 || line.rfind("Warns", 0) == 0) {
      section = line.substr(0, line.find(' '));
      continue;
    }
    if (line.rfind("Notes", 0) == 0 || line.rfind("Chats", 0) == 0 || line.rfind("Comments", 0) == 0) {
      section.clear();
      continue;
    }
    if (section.empty() || line.find_first_not_of(" =") == std::string::npos) continue;
    if (contains(line, "Frequency")) continue;
    if (section == "Errors" || contains(line, "DIAMETER") || contains(line, "Diameter"))
      out.push_back(section + ": " + line.substr(line.find_first_not_of(' ')));
  }
  // 2. Malformed packets, one line each with what the dissector said.
  const std::string malformed =
      read({"-Y", "_ws.malformed || _ws.expert.severity == error", "-T", "fields", "-e", "frame.number", "-e",
            "_ws.expert.message", "-E", "separator=/s"});
  for (const std::string& line : lines_of(malformed))
    if (!line.empty()) out.push_back("frame " + line);
  return out;
}

std::size_t TsharkCapture::count(const std::string& display_filter) {
  const std::string text = read({"-Y", display_filter, "-T", "fields", "-e", "frame.number"});
  std::size_t n = 0;
  for (const std::string& line : lines_of(text))
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos) ++n;
  return n;
}

}  // namespace ocs::test
