#include "radius_packets.hpp"

#include "ocs/radius/auth.hpp"

namespace ocs::bench::radius {

namespace rad = ocs::radius;

namespace {

// RFC 2865 / 2866 attribute numbers used here (the codec names only the
// ones it needs itself).
constexpr std::uint8_t kNasIpAddress = 4;
constexpr std::uint8_t kNasPort = 5;
constexpr std::uint8_t kServiceType = 6;
constexpr std::uint8_t kFramedIpAddress = 8;
constexpr std::uint8_t kClass = 25;
constexpr std::uint8_t kAcctStatusType = 40;
constexpr std::uint8_t kAcctInputOctets = 42;
constexpr std::uint8_t kAcctOutputOctets = 43;
constexpr std::uint8_t kAcctSessionId = 44;
constexpr std::uint8_t kAcctSessionTime = 46;
constexpr std::uint8_t kAcctInputGigawords = 52;
constexpr std::uint8_t kAcctOutputGigawords = 53;
constexpr std::uint32_t kServiceFramed = 2;

std::optional<std::vector<std::uint8_t>> sign(const rad::Packet& p, const std::string& secret) {
  rad::EncodeResult e = rad::encode(p);
  if (!e.ok() || !rad::finish_request(e.bytes, secret)) return std::nullopt;
  return std::move(e.bytes);
}

void add_identity(rad::Packet& p, const SessionIdentity& s) {
  rad::add_string(p, rad::attr::UserName, s.user_name);
  rad::add_ipaddr(p, kNasIpAddress, s.nas_ip);
  rad::add_integer(p, kNasPort, s.nas_port);
  rad::add_string(p, kAcctSessionId, s.acct_session_id);
}

}  // namespace

SplitOctets split_octets(std::uint64_t total) {
  return {static_cast<std::uint32_t>(total & 0xffffffffULL), static_cast<std::uint32_t>(total >> 32)};
}

const char* to_string(PacketKind k) {
  switch (k) {
    case PacketKind::Access:
      return "Access";
    case PacketKind::Start:
      return "Start";
    case PacketKind::Interim:
      return "Interim";
    case PacketKind::Stop:
      return "Stop";
  }
  return "?";
}

Totals totals_after(std::uint64_t reports, std::uint64_t step, bool big) {
  Totals t{reports * step, reports * step * 3};
  if (big && reports > 0) t.output += kBigSessionExtra;
  return t;
}

std::optional<std::vector<std::uint8_t>> access_request(const SessionIdentity& s, std::uint8_t id,
                                                        const rad::Authenticator& authenticator,
                                                        const std::string& secret) {
  rad::Packet p;
  p.code = rad::code::AccessRequest;
  p.identifier = id;
  p.authenticator = authenticator;
  rad::add_message_authenticator(p);
  const auto hidden = rad::hide_password(s.password, authenticator, secret);
  if (!hidden) return std::nullopt;
  rad::add_string(p, rad::attr::UserName, s.user_name);
  rad::add_octets(p, rad::attr::UserPassword, *hidden);
  rad::add_ipaddr(p, kNasIpAddress, s.nas_ip);
  rad::add_integer(p, kNasPort, s.nas_port);
  rad::add_integer(p, kServiceType, kServiceFramed);
  rad::add_string(p, kAcctSessionId, s.acct_session_id);
  return sign(p, secret);
}

std::optional<std::vector<std::uint8_t>> accounting_request(const SessionIdentity& s, std::uint8_t id,
                                                            std::uint32_t status, const Totals& totals,
                                                            std::uint32_t session_time,
                                                            const std::string& secret) {
  rad::Packet p;
  p.code = rad::code::AccountingRequest;
  p.identifier = id;
  rad::add_integer(p, kAcctStatusType, status);
  add_identity(p, s);
  rad::add_ipaddr(p, kFramedIpAddress, s.framed_ip);
  for (const auto& c : s.classes) rad::add_octets(p, kClass, c);
  rad::add_integer(p, kAcctSessionTime, session_time);
  if (status != kStatusStart) {
    const SplitOctets in = split_octets(totals.input);
    const SplitOctets out = split_octets(totals.output);
    rad::add_integer(p, kAcctInputOctets, in.octets);
    rad::add_integer(p, kAcctOutputOctets, out.octets);
    if (in.gigawords) rad::add_integer(p, kAcctInputGigawords, in.gigawords);
    if (out.gigawords) rad::add_integer(p, kAcctOutputGigawords, out.gigawords);
  }
  return sign(p, secret);
}

void Results::merge(const Results& o) {
  for (std::size_t i = 0; i < kPacketKinds; ++i) {
    sent_measured[i] += o.sent_measured[i];
    answered_measured[i] += o.answered_measured[i];
    by_kind[i].merge(o.by_kind[i]);
  }
  latency.merge(o.latency);
  packets_sent_total += o.packets_sent_total;
  accepts += o.accepts;
  rejects += o.rejects;
  timeouts += o.timeouts;
  retransmissions += o.retransmissions;
  bad_answers += o.bad_answers;
  send_errors += o.send_errors;
  sessions_completed += o.sessions_completed;
  sessions_rejected += o.sessions_rejected;
  big_sessions_completed += o.big_sessions_completed;
  classes_echoed += o.classes_echoed;
  accounted_octets += o.accounted_octets;
  accounted_sessions += o.accounted_sessions;
  uncertain_stops += o.uncertain_stops;
}

std::uint64_t Results::sent() const {
  std::uint64_t n = 0;
  for (const auto v : sent_measured) n += v;
  return n;
}

std::uint64_t Results::answered() const {
  std::uint64_t n = 0;
  for (const auto v : answered_measured) n += v;
  return n;
}

double Results::sessions_per_s() const {
  return window_s > 0 ? static_cast<double>(sessions_completed) / window_s : 0;
}

double Results::packets_per_s() const { return window_s > 0 ? static_cast<double>(answered()) / window_s : 0; }

}  // namespace ocs::bench::radius
