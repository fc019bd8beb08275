// The RADIUS packet codec (RFC 2865 section 3 and 5, RFC 2866, RFC 5176):
// bytes in, Packet out and back. No sockets, no secrets, no dictionary: the
// authenticators live in auth.hpp and attribute names in dictionary.hpp.
//
// decode() validates the whole datagram before it builds anything, and
// reports the first problem as one of a fixed set of reasons. It never
// throws on wire input and never reads outside the span it is given.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocs::radius {

inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::size_t kMaxPacketSize = 4096;
inline constexpr std::size_t kMaxAttributeValue = 253;  // 255 - type - length
inline constexpr std::size_t kMaxVendorValue = 247;     // 255 - 2 - vendor id - 2

using Authenticator = std::array<std::uint8_t, 16>;

/// Packet codes (RFC 2865, 2866, 5176). decode() accepts only these.
namespace code {
inline constexpr std::uint8_t AccessRequest = 1;
inline constexpr std::uint8_t AccessAccept = 2;
inline constexpr std::uint8_t AccessReject = 3;
inline constexpr std::uint8_t AccountingRequest = 4;
inline constexpr std::uint8_t AccountingResponse = 5;
inline constexpr std::uint8_t AccessChallenge = 11;
inline constexpr std::uint8_t StatusServer = 12;
inline constexpr std::uint8_t StatusClient = 13;
inline constexpr std::uint8_t DisconnectRequest = 40;
inline constexpr std::uint8_t DisconnectAck = 41;
inline constexpr std::uint8_t DisconnectNak = 42;
inline constexpr std::uint8_t CoaRequest = 43;
inline constexpr std::uint8_t CoaAck = 44;
inline constexpr std::uint8_t CoaNak = 45;
}  // namespace code

bool is_known_code(std::uint8_t c);

/// Standard attribute numbers the codec itself needs (the rest is in the
/// dictionary, dict/radius/).
namespace attr {
inline constexpr std::uint8_t UserName = 1;
inline constexpr std::uint8_t UserPassword = 2;
inline constexpr std::uint8_t ChapPassword = 3;
inline constexpr std::uint8_t VendorSpecific = 26;
inline constexpr std::uint8_t ChapChallenge = 60;
inline constexpr std::uint8_t MessageAuthenticator = 80;
}  // namespace attr

/// Vendors whose Vendor-Specific attributes are known to use the RFC 2865
/// layout (1-octet type, 1-octet length). A VSA of one of these vendors whose
/// sub-attributes do not add up rejects the packet; see decode().
inline constexpr std::array<std::uint32_t, 4> kRfcLayoutVendors = {9, 14122, 14559, 14988};

/// One attribute. `vendor` 0 is a standard attribute; otherwise `type` is the
/// vendor's sub-attribute number inside a Vendor-Specific (26). A
/// Vendor-Specific whose contents could not be split (an unknown vendor with
/// its own layout) is kept whole as {vendor 0, type 26, value = Vendor-Id and
/// the rest}.
struct Attribute {
  std::uint32_t vendor = 0;
  std::uint8_t type = 0;
  std::vector<std::uint8_t> value;

  bool operator==(const Attribute&) const = default;
};

struct Packet {
  std::uint8_t code = 0;
  std::uint8_t identifier = 0;
  Authenticator authenticator{};
  std::vector<Attribute> attributes;

  bool operator==(const Packet&) const = default;

  /// The first attribute of that type and vendor, or nullptr.
  const Attribute* find(std::uint8_t type, std::uint32_t vendor = 0) const;
  /// How many attributes of that type and vendor.
  std::size_t count(std::uint8_t type, std::uint32_t vendor = 0) const;
};

/// Why a datagram was refused. The list is fixed: the front-end counts
/// discarded packets by reason.
enum class DecodeError {
  TooShort,                 // fewer than 20 octets
  LengthMismatch,           // Length < 20, > 4096 or > the datagram
  UnknownCode,              // not one of the codes above
  AttributeTooShort,        // an attribute's Length is 0 or 1
  AttributeOverrun,         // an attribute runs past the packet's Length
  VendorSpecificMalformed,  // Length < 7, or sub-attributes inconsistent (RFC layout vendors)
};

std::string_view to_string(DecodeError e);

struct DecodeResult {
  Packet packet;                      // meaningful only when ok()
  std::optional<DecodeError> error;   // set when the datagram was refused
  std::size_t offset = 0;             // octet where the problem was found

  bool ok() const { return !error.has_value(); }
};

/// Validates, then decodes one datagram. Octets after the header's Length
/// are ignored (RFC 2865 section 3). Each sub-attribute of a Vendor-Specific
/// becomes its own Attribute, in order.
DecodeResult decode(std::span<const std::uint8_t> datagram);

enum class EncodeError {
  ValueTooLong,             // > 253 octets (> 247 for a vendor attribute)
  VendorSpecificMalformed,  // a raw Vendor-Specific (vendor 0, type 26) shorter than 5 octets
  PacketTooLong,            // the packet would exceed 4096 octets
};

std::string_view to_string(EncodeError e);

struct EncodeResult {
  std::vector<std::uint8_t> bytes;    // meaningful only when ok()
  std::optional<EncodeError> error;

  bool ok() const { return !error.has_value(); }
};

/// The wire form, Length filled in and the authenticator copied as it is
/// (auth.hpp computes the real one). Each vendor attribute gets its own
/// Vendor-Specific.
EncodeResult encode(const Packet& packet);

// Typed values. The getters read the first matching attribute and return
// nothing when it is absent or has the wrong size.

void add_octets(Packet& p, std::uint8_t type, std::span<const std::uint8_t> value,
                std::uint32_t vendor = 0);
void add_string(Packet& p, std::uint8_t type, std::string_view value, std::uint32_t vendor = 0);
/// integer: 32-bit unsigned, network order.
void add_integer(Packet& p, std::uint8_t type, std::uint32_t value, std::uint32_t vendor = 0);
/// ipaddr: `address` in host order (0xC0A80110 is 192.168.1.16).
void add_ipaddr(Packet& p, std::uint8_t type, std::uint32_t address, std::uint32_t vendor = 0);
/// date: seconds since 1970-01-01 UTC, 32-bit unsigned.
void add_date(Packet& p, std::uint8_t type, std::chrono::sys_seconds when,
              std::uint32_t vendor = 0);

std::optional<std::string> get_string(const Packet& p, std::uint8_t type, std::uint32_t vendor = 0);
std::optional<std::uint32_t> get_integer(const Packet& p, std::uint8_t type,
                                         std::uint32_t vendor = 0);
std::optional<std::uint32_t> get_ipaddr(const Packet& p, std::uint8_t type,
                                        std::uint32_t vendor = 0);
std::optional<std::chrono::sys_seconds> get_date(const Packet& p, std::uint8_t type,
                                                 std::uint32_t vendor = 0);

/// A 4-octet value as a network-order u32, or nothing when the size is not 4.
std::optional<std::uint32_t> as_u32(const Attribute& a);
std::string as_string(const Attribute& a);

}  // namespace ocs::radius
