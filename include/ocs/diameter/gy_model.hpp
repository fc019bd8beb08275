// Gy (RFC 4006 / TS 32.299) messages as plain data, and their mapping to and
// from the store's protocol-neutral requests and results. Nothing here
// touches freeDiameter: the extension glue fills a Ccr from the wire and
// writes a Cca back, so this layer is unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ocs/core/credit.hpp"
#include "ocs/store/store.hpp"

namespace ocs::gy {

// AVP codes (RFC 4006 section 8, TS 32.299 section 7) the mapping names in
// Failed-AVP; the glue has the complete set.
namespace avp_code {
inline constexpr std::uint32_t kCcRequestType = 416, kCcRequestNumber = 415, kSubscriptionId = 443,
                               kSubscriptionIdData = 444, kSubscriptionIdType = 450, kRequestedAction = 436,
                               kMscc = 456, kRatingGroup = 432, kUsedServiceUnit = 446, kCcTime = 420,
                               kTariffChangeUsage = 452, kSessionId = 263;
}

enum class RequestType : std::uint32_t { Initial = 1, Update = 2, Termination = 3, Event = 4 };

/// Requested-Action (RFC 4006 8.41) of an EVENT_REQUEST. REFUND_ACCOUNT (1)
/// is not offered.
enum class RequestedAction : std::uint32_t { DirectDebiting = 0, RefundAccount = 1, CheckBalance = 2, PriceEnquiry = 3 };

/// Check-Balance-Result (RFC 4006 8.6).
inline constexpr std::uint32_t kEnoughCredit = 0, kNoCredit = 1;

/// ISO 4217 numeric code of an alphabetic currency code (Currency-Code,
/// RFC 4006 8.11), for the currencies in common use; nullopt otherwise.
std::optional<std::uint32_t> iso4217_numeric(std::string_view alpha);

/// Subscription-Id-Type (RFC 4006 8.47).
enum class SubscriptionIdType : std::uint32_t { E164 = 0, Imsi = 1, SipUri = 2, Nai = 3, Private = 4 };

struct SubscriptionId {
  std::uint32_t type = 0;
  std::string data;
};

/// The unit AVPs of an RSU, USU or GSU.
struct ServiceUnits {
  std::optional<std::uint64_t> total_octets;
  std::optional<std::uint64_t> input_octets;
  std::optional<std::uint64_t> output_octets;
  std::optional<std::uint32_t> time;
  std::optional<std::uint64_t> service_specific_units;
};

struct UsedServiceUnit {
  ServiceUnits units;
  std::optional<std::uint32_t> tariff_change_usage;
  std::optional<std::uint32_t> reporting_reason;
};

struct CcrMscc {
  std::optional<std::uint32_t> rating_group;
  std::optional<std::uint32_t> service_identifier;
  /// Requested-Service-Unit present (possibly empty).
  std::optional<ServiceUnits> requested;
  std::vector<UsedServiceUnit> used;
  std::optional<std::uint32_t> reporting_reason;
};

/// What every credit-control request carries (RFC 4006 3.1), Gy's and Gx's
/// alike; gy::read_ccr_header reads it for both.
struct CcrHeader {
  std::string session_id;
  std::string origin_host;
  std::string origin_realm;
  std::optional<std::uint32_t> request_type;
  std::optional<std::uint32_t> request_number;
  std::vector<SubscriptionId> subscription_ids;
  /// The T flag: the client says this may be a retransmission.
  bool retransmission = false;
};

struct Ccr : CcrHeader {
  std::optional<std::uint32_t> requested_action;
  std::vector<CcrMscc> mscc;
  std::optional<std::uint32_t> termination_cause;
};

inline constexpr std::uint32_t kSuccess = 2001;
inline constexpr std::uint32_t kTooBusy = 3004;
inline constexpr std::uint32_t kUnknownSessionId = 5002;
inline constexpr std::uint32_t kInvalidAvpValue = 5004;
inline constexpr std::uint32_t kMissingAvp = 5005;
inline constexpr std::uint32_t kUnableToComply = 5012;
inline constexpr std::uint32_t kUserUnknown = 5030;
inline constexpr std::uint32_t kRatingFailed = 5031;

/// Redirect-Address-Type (RFC 4006 8.38).
inline constexpr std::uint32_t kRedirectUrl = 2;

struct FinalUnitIndication {
  FinalUnitAction action = FinalUnitAction::Terminate;
  std::optional<std::string> redirect_url;  // REDIRECT: Redirect-Server {URL}
  std::optional<std::string> filter_id;     // RESTRICT_ACCESS: Filter-Id
};

struct CcaMscc {
  std::optional<std::uint32_t> rating_group;
  std::optional<std::uint32_t> service_identifier;
  std::uint32_t result_code = kSuccess;
  std::optional<ServiceUnits> granted;
  /// NTP seconds (RFC 4006 Time) of the tariff change inside the GSU.
  std::optional<std::uint32_t> tariff_time_change;
  std::optional<std::uint32_t> validity_time;
  std::optional<std::uint32_t> volume_quota_threshold;
  std::optional<std::uint32_t> time_quota_threshold;
  std::optional<std::uint32_t> quota_holding_time;
  std::optional<std::uint32_t> quota_consumption_time;
  std::optional<FinalUnitIndication> final_unit;
};

struct Cca {
  std::uint32_t result_code = kSuccess;
  /// For 5004/5005: the offending AVP's code (the glue copies the AVP
  /// from the request when it has it, else builds an empty one).
  std::optional<std::uint32_t> failed_avp;
  /// Echoed.
  std::uint32_t request_type = 0;
  std::uint32_t request_number = 0;
  std::vector<CcaMscc> mscc;
  std::optional<std::uint32_t> credit_control_failure_handling;
  /// CHECK_BALANCE: kEnoughCredit or kNoCredit.
  std::optional<std::uint32_t> check_balance_result;
  /// PRICE_ENQUIRY: Cost-Information {Unit-Value {Value-Digits, Exponent},
  /// Currency-Code}: the price is value_digits x 10^exponent.
  struct CostInformation {
    std::int64_t value_digits = 0;
    std::int32_t exponent = 0;
    std::uint32_t currency_code = 0;
  };
  std::optional<CostInformation> cost_information;
};

struct Options {
  /// Rating group for an MSCC without Rating-Group (Open5GS sends none).
  std::uint32_t default_rating_group = 1;
};

/// A request that cannot be charged: the answer to send as it is.
struct Rejection {
  Cca answer;
};

/// Validates a CCR and turns it into a charging request, or a rejection
/// (5005 with the missing AVP, 5004 with the bad one).
std::variant<store::ChargeRequest, Rejection> to_charge_request(const Ccr& ccr, const Options& opt);

/// The answer for a charging result.
Cca to_cca(const Ccr& ccr, const store::ChargeResult& result, const Options& opt);

/// The store identity of a Subscription-Id (E.164 without a leading '+'),
/// nullopt for PRIVATE and unknown types. Shared with Gx.
std::optional<store::Identity> to_identity(const SubscriptionId& s);

/// Converts a Unix time to the NTP seconds of a Diameter Time AVP.
std::uint32_t to_ntp(TimePoint t);

}  // namespace ocs::gy
