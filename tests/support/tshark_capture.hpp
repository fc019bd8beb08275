// Captures the Diameter traffic of one TCP port with tshark (Debian package
// `tshark`) and checks it with Wireshark's dissector: a second, independent
// opinion on what our server and our test client put on the wire.
//
//   TsharkCapture cap(daemon.port());   // starts capturing on lo
//   ... exchange messages ...
//   cap.stop();
//   EXPECT_THAT(cap.problems(), IsEmpty());
//   EXPECT_EQ(cap.count("diameter.cmd.code == 272 && diameter.flags.request == 0"), 1);
//
// Capturing needs root or CAP_NET_RAW/CAP_NET_ADMIN; without them the
// constructor throws CaptureUnavailable (tests may skip on exactly that).
// Only libstdc++ and POSIX.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace ocs::test {

/// tshark is missing or may not capture (permissions).
class CaptureUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TsharkCapture {
 public:
  /// Starts `tshark -i <iface> -f "tcp port <port>" -w <dir>/capture.pcapng`
  /// and waits until it is capturing.
  explicit TsharkCapture(int port, std::string iface = "lo",
                         std::chrono::milliseconds start_timeout = std::chrono::seconds(15));
  /// Stops the capture and removes its temp dir (kept when OCS_KEEP_CAPTURE
  /// is set).
  ~TsharkCapture();
  TsharkCapture(const TsharkCapture&) = delete;
  TsharkCapture& operator=(const TsharkCapture&) = delete;

  /// Lets in-flight packets reach the file, then stops tshark. Idempotent;
  /// the analysis functions below call it.
  void stop();

  const std::string& pcap_path() const { return pcap_path_; }
  int port() const { return port_; }

  /// Expert-info lines of severity error (malformed packets among them) and
  /// Diameter warnings, as tshark prints them, plus every packet the
  /// dissector marks malformed. Empty means the capture looks clean.
  std::vector<std::string> problems();
  /// Number of packets that match a Wireshark display filter, with the port
  /// decoded as Diameter (e.g. "diameter.cmd.code == 272").
  std::size_t count(const std::string& display_filter);
  /// `tshark -r <file> -d tcp.port==<port>,diameter <args...>` output.
  std::string read(const std::vector<std::string>& args);

 private:
  std::string dir_;
  std::string pcap_path_;
  std::string log_path_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace ocs::test
