// A small, independent Diameter codec (RFC 6733 framing) for the project's
// test client and load generator. It shares no code with freeDiameter or the
// server, so end-to-end tests check the server against a second opinion.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ocs::dia {

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint8_t kAvpVendor = 0x80;
inline constexpr std::uint8_t kAvpMandatory = 0x40;

inline constexpr std::uint8_t kFlagRequest = 0x80;
inline constexpr std::uint8_t kFlagProxiable = 0x40;
inline constexpr std::uint8_t kFlagError = 0x20;
inline constexpr std::uint8_t kFlagRetransmit = 0x10;

inline constexpr std::uint32_t kVendor3gpp = 10415;
/// Seconds between the NTP epoch (1900) and the Unix epoch.
inline constexpr std::uint32_t kNtpOffset = 2208988800u;

struct Avp {
  std::uint32_t code = 0;
  std::uint8_t flags = kAvpMandatory;
  std::uint32_t vendor = 0;
  std::vector<std::uint8_t> data;

  static Avp u32(std::uint32_t code, std::uint32_t v, std::uint32_t vendor = 0);
  static Avp u64(std::uint32_t code, std::uint64_t v, std::uint32_t vendor = 0);
  static Avp str(std::uint32_t code, std::string_view s, std::uint32_t vendor = 0);
  static Avp grouped(std::uint32_t code, const std::vector<Avp>& children, std::uint32_t vendor = 0);
  static Avp ipv4(std::uint32_t code, std::uint32_t host_order_addr);

  std::uint32_t as_u32() const;
  std::uint64_t as_u64() const;
  std::string as_str() const;
  /// Decodes the data of a grouped AVP.
  std::vector<Avp> children() const;
  /// First child with this code (and vendor).
  std::optional<Avp> child(std::uint32_t code, std::uint32_t vendor_id = 0) const;
};

struct Message {
  std::uint8_t flags = kFlagRequest | kFlagProxiable;
  std::uint32_t code = 0;
  std::uint32_t app_id = 0;
  std::uint32_t hop_by_hop = 0;
  std::uint32_t end_to_end = 0;
  std::vector<Avp> avps;

  bool is_request() const { return (flags & kFlagRequest) != 0; }
  const Avp* find(std::uint32_t code, std::uint32_t vendor = 0) const;
  std::vector<const Avp*> find_all(std::uint32_t code, std::uint32_t vendor = 0) const;
  /// Result-Code, or Experimental-Result's code, or nullopt.
  std::optional<std::uint32_t> result_code() const;
  Message& add(Avp a) {
    avps.push_back(std::move(a));
    return *this;
  }
};

std::vector<std::uint8_t> encode(const Message& m);
std::vector<std::uint8_t> encode_avps(const std::vector<Avp>& avps);
/// Decodes one whole message; throws DecodeError when malformed.
Message decode(const std::uint8_t* data, std::size_t size);
std::vector<Avp> decode_avps(const std::uint8_t* data, std::size_t size);
/// Length of the message whose header starts at `data` (needs 4 bytes).
std::uint32_t frame_length(const std::uint8_t* data);

// Base protocol codes used by the clients.
namespace code {
inline constexpr std::uint32_t CER = 257, DWR = 280, DPR = 282, CCR = 272, RAR = 258, ASR = 274;
inline constexpr std::uint32_t SessionId = 263, OriginHost = 264, OriginRealm = 296, DestinationHost = 293,
                               DestinationRealm = 283, HostIpAddress = 257, VendorId = 266, ProductName = 269,
                               ResultCode = 268, ExperimentalResult = 297, ExperimentalResultCode = 298,
                               AuthApplicationId = 258, VendorSpecificApplicationId = 260,
                               SupportedVendorId = 265, DisconnectCause = 273, FailedAvp = 279,
                               OriginStateId = 278, ReAuthRequestType = 285, TerminationCause = 295;
// RFC 4006 credit control.
inline constexpr std::uint32_t CcRequestType = 416, CcRequestNumber = 415, ServiceContextId = 461,
                               SubscriptionId = 443, SubscriptionIdType = 450, SubscriptionIdData = 444,
                               MultipleServicesIndicator = 455, Mscc = 456, Rsu = 437, Usu = 446, Gsu = 431,
                               CcTotalOctets = 421, CcInputOctets = 412, CcOutputOctets = 414, CcTime = 420,
                               CcServiceSpecificUnits = 417, RatingGroup = 432, ServiceIdentifier = 439,
                               ValidityTime = 448, Fui = 430, FinalUnitAction = 449,
                               RestrictionFilterRule = 438, FilterId = 11, RedirectServer = 434,
                               RedirectAddressType = 433, RedirectServerAddress = 435, TariffTimeChange = 451,
                               TariffChangeUsage = 452, CcFailureHandling = 427, RequestedAction = 436;
// 3GPP TS 32.299 (vendor 10415).
inline constexpr std::uint32_t TimeQuotaThreshold = 868, VolumeQuotaThreshold = 869, QuotaHoldingTime = 871,
                               QuotaConsumptionTime = 881, ReportingReason = 872;
}  // namespace code

}  // namespace ocs::dia
