// What goes into an Access-Accept: the vendor dialects (rate limits and
// quotas in the attributes each NAS understands) and the PortaBilling
// templates (radius_response lines and addr-pool-mask). Pure code: no I/O,
// no database, no clock. See docs/radius.md, "Authorization".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocs/radius/dictionary.hpp"
#include "ocs/radius/packet.hpp"

namespace ocs::radius {

/// The dialect a NAS speaks (nas_clients.vendor).
enum class NasVendor { Generic, Mikrotik, Cisco, Chillispot, Wispr };

std::string_view to_string(NasVendor v);
std::optional<NasVendor> nas_vendor_from_string(std::string_view s);

namespace vendor_id {
inline constexpr std::uint32_t Cisco = 9;
inline constexpr std::uint32_t Wispr = 14122;
inline constexpr std::uint32_t Chillispot = 14559;
inline constexpr std::uint32_t Mikrotik = 14988;
}  // namespace vendor_id

/// Standard attributes the daemon reads or writes (RFC 2865/2866/2869).
namespace attr {
inline constexpr std::uint8_t NasIpAddress = 4;
inline constexpr std::uint8_t FilterId = 11;
inline constexpr std::uint8_t ReplyMessage = 18;
inline constexpr std::uint8_t Class = 25;
inline constexpr std::uint8_t SessionTimeout = 27;
inline constexpr std::uint8_t AcctStatusType = 40;
inline constexpr std::uint8_t AcctInputOctets = 42;
inline constexpr std::uint8_t AcctOutputOctets = 43;
inline constexpr std::uint8_t AcctSessionId = 44;
inline constexpr std::uint8_t AcctSessionTime = 46;
inline constexpr std::uint8_t AcctInputGigawords = 52;
inline constexpr std::uint8_t AcctOutputGigawords = 53;
inline constexpr std::uint8_t AcctInterimInterval = 85;
inline constexpr std::uint8_t FramedPool = 88;
}  // namespace attr

/// Acct-Status-Type values.
namespace acct_status {
inline constexpr std::uint32_t Start = 1;
inline constexpr std::uint32_t Stop = 2;
inline constexpr std::uint32_t InterimUpdate = 3;
inline constexpr std::uint32_t AccountingOn = 7;
inline constexpr std::uint32_t AccountingOff = 8;
}  // namespace acct_status

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

/// Template variables: `type`, `name`, `hotlining` (set to "1" only when the
/// subscriber is hotlined, otherwise absent), `rate_up`, `rate_down` (kbit/s
/// after scaling)... A variable is "defined" when present and non-empty.
using TemplateVars = std::map<std::string, std::string, std::less<>>;

/// Expands `${var}`, `${var:-val}` (var, or val if undefined),
/// `${var:=val}` (if undefined: set var to val; outputs nothing),
/// `${var:?val}` (val if undefined, else nothing), `${var:+val}` (val if
/// defined, else nothing). `val` is literal text; a leading `$` in it is
/// dropped (PortaBilling's own example writes `${hotlining:?$NORMAL}`).
/// Anything else is copied. Nothing when a `${` is not closed or the
/// operator is unknown; `error` then says why.
std::optional<std::string> expand_template(std::string_view text, TemplateVars& vars,
                                           std::string* error = nullptr);

/// One radius_response line: `Attr=tmpl` (add if absent), `Attr+=tmpl` (add
/// another), `Attr:=tmpl` (replace every one).
struct ResponseLine {
  enum class Op { AddIfAbsent, Append, Override };
  std::string attribute;
  Op op = Op::AddIfAbsent;
  std::string value_template;
  bool operator==(const ResponseLine&) const = default;
};

std::optional<ResponseLine> parse_response_line(std::string_view line, std::string* error = nullptr);

/// The value of `text` for attribute `def`: integer (decimal, or a VALUE
/// name), ipaddr (dotted quad), date (seconds), string/octets as is.
std::optional<std::vector<std::uint8_t>> encode_value(const Dictionary& dict, const AttributeDef& def,
                                                      std::string_view text);

/// Applies radius_response lines to `reply` in order. A line naming an
/// unknown attribute, or whose template or value does not parse, is skipped
/// and described in the returned list (the daemon logs it).
std::vector<std::string> apply_response_lines(Packet& reply, const std::vector<std::string>& lines,
                                              TemplateVars& vars, const Dictionary& dict);

// ---------------------------------------------------------------------------
// Vendor dialects
// ---------------------------------------------------------------------------

/// Everything an Access-Accept says, before the templates.
struct Authorization {
  NasVendor vendor = NasVendor::Generic;
  /// Time quota (Session-Timeout) and volume quota (octets, total).
  std::optional<std::uint64_t> quota_seconds;
  std::optional<std::uint64_t> quota_octets;
  /// Rate limits in kbit/s before scaling; percent from the policy (BQN).
  std::optional<std::uint64_t> rate_up_kbps;
  std::optional<std::uint64_t> rate_down_kbps;
  std::uint32_t rate_scaling_percent = 100;
  std::optional<std::uint32_t> acct_interim_interval;
  /// Hotlined: no quota, the pool below, redirect and filter, and a
  /// Session-Timeout of the hotline period.
  bool hotlining = false;
  std::optional<std::string> redirect_url;
  std::optional<std::string> filter_id;
  std::optional<std::uint32_t> hotline_session_timeout;
  /// Address pool (from addr-pool-mask or the policy); empty = none.
  std::string address_pool;
  /// Class (25), echoed in accounting.
  std::string class_value;
  /// Cisco CRB prepaid: write quotas as crb-total-volume / crb-duration.
  bool cisco_crb = false;
};

/// Scales a rate by percent (integer arithmetic, rounded down, at least 1
/// when the rate is non-zero).
std::uint64_t scale_rate(std::uint64_t kbps, std::uint32_t percent);

/// The attributes of an Access-Accept in the NAS's dialect (without
/// Message-Authenticator, which the daemon puts first when it signs).
std::vector<Attribute> authorization_attributes(const Authorization& a);

/// A rate-limit attribute: Mikrotik-Rate-Limit, ChilliSpot-Bandwidth-Max-
/// Up/Down, WISPr-Bandwidth-Max-Up/Down, or a Cisco-AVPair
/// "lcp:interface-config=rate-limit ...".
bool is_rate_limit_attribute(const Attribute& a);

/// The rate-limit attributes an Access-Accept for `a` carries: those of
/// authorization_attributes(a) after the radius_response lines (which may
/// override them, e.g. a Mikrotik-Rate-Limit with bursts), rate-limit
/// attributes only, in order. Lines that do not parse are skipped here (the
/// Access-Request path logs them).
std::vector<Attribute> rate_limit_attributes(const Authorization& a, const std::vector<std::string>& response_lines,
                                             TemplateVars vars, const Dictionary& dict);

/// What lifts every rate limit, for a CoA after a policy lost its limits:
/// Mikrotik-Rate-Limit "0/0", ChilliSpot and WISPr bandwidths of 0. Empty
/// for Cisco and generic NASes, which have no such value.
std::vector<Attribute> unlimited_rate_attributes(NasVendor vendor);

/// A digest of rate-limit attributes (ocs::fnv1a_hex over type, vendor and
/// value), "" for none: what ocs-radiusd records of a session's limits.
std::string rate_limit_digest(const std::vector<Attribute>& attributes);

// ---------------------------------------------------------------------------
// Cisco-AVPair
// ---------------------------------------------------------------------------

/// The value of the first Cisco-AVPair "name=value" (or "name#n=value")
/// whose name is `name`.
std::optional<std::string> cisco_avpair(const Packet& p, std::string_view name);

/// A Cisco-AVPair attribute "name=value".
Attribute cisco_avpair_attribute(std::string_view name, std::string_view value);

}  // namespace ocs::radius
