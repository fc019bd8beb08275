// What to send a NAS when the charging state of one of its sessions changes
// (RFC 5176 Change-of-Authorization and Disconnect): a pure function from
// the session, the event and the operator's policy to nothing, a
// CoA-Request or a Disconnect-Request. No I/O: coa_client.hpp sends it.
//
// Session identification (RFC 5176 3): User-Name, Acct-Session-Id,
// Framed-IP-Address when known, NAS-IP-Address (NAS-IPv6-Address for a NAS
// at an IPv6 address). The NAS must match all of them, so a CoA never
// reaches another session.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocs/radius/packet.hpp"
#include "ocs/radius/reply.hpp"  // NasVendor

namespace ocs::radius {

enum class CoaEvent {
  TopupWhileHotlined,  ///< credit came back while the session is restricted
  Blocked,             ///< the subscriber or account was blocked
  Exhausted,           ///< no funds left for the session
  RateChanged,         ///< the session's rate limits are no longer those of its policy
};
std::string_view to_string(CoaEvent e);

struct CoaPolicy {
  /// On exhaustion: end the session, or restrict it (hotline) until a top-up.
  enum class OnExhausted { Disconnect, Hotline } on_exhausted = OnExhausted::Disconnect;
  /// Filter-Id that restricts a hotlined session to the portal (generic,
  /// Cisco, Mikrotik NAS).
  std::string hotline_filter_id;
  /// Filter-Id that gives full access again after a top-up. Empty: there is
  /// no filter to put back, so the session is disconnected instead and the
  /// NAS re-authenticates the user, who then gets full access.
  std::string normal_filter_id;
  /// Captive portal for WISPr and ChilliSpot hotspots
  /// (WISPr-Redirection-URL).
  std::string redirect_url;
  /// RateChanged: the rate-limit attributes the session must now enforce,
  /// in the NAS's dialect (rate_limit_attributes, or
  /// unlimited_rate_attributes when the policy has none left).
  std::vector<Attribute> rate_limits;
};

struct CoaSession {
  std::string user_name;
  std::string acct_session_id;
  std::uint32_t nas_ip = 0;                ///< host order; unused when nas_ipv6 is set
  /// A NAS at an IPv6 address: NAS-IPv6-Address (RFC 3162) instead of
  /// NAS-IP-Address.
  std::optional<std::array<std::uint8_t, 16>> nas_ipv6;
  std::optional<std::uint32_t> framed_ip;  ///< host order
  NasVendor vendor = NasVendor::Generic;
};

struct CoaAction {
  enum class Kind { None, Coa, Disconnect } kind = Kind::None;
  /// CoA-Request (43) or Disconnect-Request (40) with its attributes; the
  /// sender assigns the identifier and signs it. Empty for None.
  Packet request;
  /// Why, for the log: "hotline", "lift-hotline", "blocked", ...
  std::string reason;
};

/// Blocked: Disconnect. Exhausted: Disconnect, or with the Hotline policy a
/// CoA that restricts (Filter-Id for generic, Cisco and Mikrotik;
/// WISPr-Redirection-URL for WISPr and ChilliSpot), or a Disconnect when the
/// policy names no restriction for that vendor. TopupWhileHotlined: a CoA
/// with the normal Filter-Id for generic, Cisco and Mikrotik; a Disconnect
/// otherwise (no Filter-Id configured, or a hotspot, where a CoA cannot
/// remove a redirection) so that the user logs in again unrestricted.
/// RateChanged: a CoA with policy.rate_limits; nothing when there are none
/// (the NAS has no attribute for the change).
CoaAction plan_coa(const CoaSession& session, CoaEvent event, const CoaPolicy& policy);

/// Error-Cause (101) values of RFC 5176 3.6, e.g. 503
/// "Session-Context-Not-Found"; "Unknown" for others.
std::string_view error_cause_name(std::uint32_t value);

}  // namespace ocs::radius
