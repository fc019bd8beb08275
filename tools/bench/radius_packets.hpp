// The pure parts of ocs-bench's RADIUS load: the
// packets a simulated NAS sends (built with the project's codec, ocs_radius),
// the running totals of a session, and the report arithmetic. No sockets,
// no clock: radius_load.cpp does the I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "ocs/radius/identifiers.hpp"
#include "ocs/radius/packet.hpp"

namespace ocs::bench::radius {

/// Identifiers per UDP socket: the project's allocator.
using ocs::radius::IdAllocator;

/// A 64-bit counter as RADIUS carries it: the low 32 bits in Acct-*-Octets,
/// the high 32 in Acct-*-Gigawords (RFC 2869 5.1, 5.2).
struct SplitOctets {
  std::uint32_t octets = 0;
  std::uint32_t gigawords = 0;
};
SplitOctets split_octets(std::uint64_t total);

enum class PacketKind : std::uint8_t { Access = 0, Start = 1, Interim = 2, Stop = 3 };
inline constexpr std::size_t kPacketKinds = 4;
const char* to_string(PacketKind k);

/// Acct-Status-Type values (RFC 2866 5.1).
inline constexpr std::uint32_t kStatusStart = 1;
inline constexpr std::uint32_t kStatusStop = 2;
inline constexpr std::uint32_t kStatusInterim = 3;

/// One simulated NAS session: who, where, and what it has counted so far.
struct SessionIdentity {
  std::string user_name;
  std::string password;
  std::string acct_session_id;
  std::uint32_t nas_ip = 0;  ///< host order
  std::uint32_t nas_port = 0;
  std::uint32_t framed_ip = 0;  ///< host order
  /// The Class attributes of the Access-Accept, echoed in accounting.
  std::vector<std::vector<std::uint8_t>> classes;
};

/// Running totals after `reports` usage reports (interims, then the Stop):
/// each report adds `step` octets of upload and 3 x `step` of download; a
/// "big" session also gets 5 GiB of download in its first report, so that
/// its totals exceed 32 bits.
struct Totals {
  std::uint64_t input = 0;
  std::uint64_t output = 0;
  std::uint64_t sum() const { return input + output; }
};
Totals totals_after(std::uint64_t reports, std::uint64_t step, bool big);
inline constexpr std::uint64_t kBigSessionExtra = 5ULL << 32;

/// Access-Request: Message-Authenticator (first), User-Name, User-Password,
/// NAS-IP-Address, NAS-Port, Service-Type Framed, Acct-Session-Id; signed.
/// `authenticator` is the random Request Authenticator. Nothing if the
/// password is too long or the packet does not encode.
std::optional<std::vector<std::uint8_t>> access_request(const SessionIdentity& s, std::uint8_t id,
                                                        const ocs::radius::Authenticator& authenticator,
                                                        const std::string& secret);

/// Accounting-Request with Acct-Status-Type `status`, the session's
/// identification, the Class values, Acct-Session-Time, and for Interim and
/// Stop the totals split into octets and gigawords; signed.
std::optional<std::vector<std::uint8_t>> accounting_request(const SessionIdentity& s, std::uint8_t id,
                                                            std::uint32_t status, const Totals& totals,
                                                            std::uint32_t session_time,
                                                            const std::string& secret);

/// What a RADIUS run measured. "Measured" counts cover packets first sent in
/// the measurement window; the octet reconciliation covers the whole run.
struct Results {
  double window_s = 0;
  double elapsed_s = 0;

  std::array<std::uint64_t, kPacketKinds> sent_measured{};
  std::array<std::uint64_t, kPacketKinds> answered_measured{};
  std::array<Histogram, kPacketKinds> by_kind;  ///< first send to the verified answer
  Histogram latency;                            ///< every kind
  std::uint64_t packets_sent_total = 0;         ///< first sends, whole run (not retransmissions)
  std::uint64_t accepts = 0;                    ///< measured
  std::uint64_t rejects = 0;                    ///< measured
  std::uint64_t timeouts = 0;                   ///< whole run: unanswered after every retry
  std::uint64_t retransmissions = 0;
  std::uint64_t bad_answers = 0;  ///< undecodable, unknown identifier or authenticator mismatch
  std::uint64_t send_errors = 0;
  std::uint64_t sessions_completed = 0;  ///< Stop answered, Stop sent in the window
  std::uint64_t sessions_rejected = 0;   ///< measured
  std::uint64_t big_sessions_completed = 0;
  std::uint64_t classes_echoed = 0;  ///< accounting packets that carried a Class, whole run

  // Reconciliation: total octets (input + output) of the sessions whose Stop
  // was answered, whole run; Stops that timed out are uncertain.
  std::uint64_t accounted_octets = 0;
  std::uint64_t accounted_sessions = 0;
  std::uint64_t uncertain_stops = 0;

  void merge(const Results& other);
  std::uint64_t sent() const;
  std::uint64_t answered() const;
  /// Timeouts, bad answers and send errors (a Reject is an answer, not an error).
  std::uint64_t errors() const { return timeouts + bad_answers + send_errors; }
  double sessions_per_s() const;
  double packets_per_s() const;
};

}  // namespace ocs::bench::radius
