// Command-line options of ocs-bench, parsed once into a plain struct. The
// defaults below are the only place defaults live.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ocs::bench {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Protocol { Gy, Radius };

struct Options {
  /// gy: Diameter credit control (CCR-I/U/T); radius: Access-Request then
  /// Accounting Start / Interim-Update / Stop (tools/bench/radius_load.hpp).
  Protocol protocol = Protocol::Gy;

  // Target: loopback only (ocs-bench refuses any other address).
  std::string host = "127.0.0.1";
  int port = 3868;
  /// Diameter connections (one Peer each), Origin-Host <prefix>1.<realm>, ...
  /// For radius: UDP sockets (each has its own 256 identifiers).
  int connections = 2;
  std::string origin_prefix = "bench";
  std::string origin_realm = "localdomain";
  std::string destination_realm = "localdomain";

  /// Concurrent simulated PGW sessions (each has at most one CCR in flight).
  int sessions = 64;
  /// CCR-U per session between its CCR-I and CCR-T.
  int updates = 3;

  /// Measured time in seconds, after the warm-up. With --ccrs and no
  /// explicit --duration, the run stops at the count (or after kMaxSeconds).
  double duration_s = 10;
  bool duration_given = false;
  /// Stop after this many CCRs sent in total (warm-up included); 0: no limit.
  std::uint64_t ccrs = 0;
  double warmup_s = 1;
  /// CCR/s for an open loop; 0: closed loop (each session sends its next CCR
  /// when the previous answer arrives).
  double rate = 0;
  /// A CCR unanswered for this long counts as a timeout and its session
  /// starts again with a new Session-Id.
  int timeout_ms = 5000;

  /// Subscriber i (0 <= i < subscribers) has MSISDN msisdn_base + i.
  std::uint64_t subscribers = 100000;
  std::uint64_t msisdn_base = 491600000000;
  /// Pick subscribers at random instead of round-robin.
  bool random_subscribers = false;
  std::uint64_t seed = 1;

  std::uint32_t rating_group = 100;
  /// CC-Total-Octets reported in each CCR-U and in the CCR-T.
  std::uint64_t usage_octets = 1000000;
  /// Expected charge: ceil(usage / block) * price per report, minor units.
  std::int64_t price_per_block = 2;
  std::uint64_t block = 1048576;

  // RADIUS (--protocol radius). Users are <user-prefix><i> with the
  // cleartext password <password-prefix><i>, i as for --subscribers (the
  // MSISDN options are not used).
  int auth_port = 1812;
  int acct_port = 1813;
  std::string secret = "testing123";
  std::string user_prefix = "benchuser";
  std::string password_prefix = "pw";
  std::string nas_ip = "127.0.0.1";
  /// An unanswered packet is sent again (same identifier and authenticator)
  /// after --retransmit-ms, at most --retries times; then it is a timeout.
  int retransmit_ms = 1000;
  int retries = 2;
  /// Every N-th session also reports 5 GiB of download in its first
  /// Interim-Update, so its totals need Acct-Output-Gigawords; 0: never.
  std::uint64_t gigaword_every = 10;

  /// Printed in the report, to tell runs apart.
  std::string label;
  /// Machine-readable last line as JSON instead of key=value pairs.
  bool json = false;

  static constexpr double kMaxSeconds = 3600;
};

/// Parses argv (without argv[0]). Throws UsageError with a message naming the
/// option. Returns nullopt when help was asked for (after printing it).
std::optional<Options> parse_options(const std::vector<std::string>& args);

/// The --help text.
const char* usage_text();

}  // namespace ocs::bench
