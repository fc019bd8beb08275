// Gx (TS 29.212, PCRF side) messages as plain data, and their mapping to and
// from the store's policy requests and results. No freeDiameter here: the
// glue (src/diameter/gx/wire.cpp) reads a Ccr and writes a Cca or Rar, so
// this layer is unit-tested on its own (tests/gx/gx_mapping_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ocs/core/policy.hpp"
#include "ocs/diameter/gy_model.hpp"
#include "ocs/store/store.hpp"

namespace ocs::gx {

inline constexpr std::uint32_t kAppId = 16777238;
inline constexpr std::uint32_t kVendor3gpp = 10415;

namespace avp_code {
inline constexpr std::uint32_t kCcRequestType = 416, kCcRequestNumber = 415, kSubscriptionId = 443,
                               kSubscriptionIdData = 444, kSubscriptionIdType = 450,
                               kUsageMonitoringInformation = 1067, kMonitoringKey = 1066,
                               kUsedServiceUnit = 446, kSessionId = 263;
}

/// Event-Trigger (TS 29.212 5.3.7) values the PCRF asks for itself.
inline constexpr std::uint32_t kTriggerUsageReport = 33;
inline constexpr std::uint32_t kTriggerRevalidationTimeout = 17;
/// Session-Release-Cause (5.3.44): UE_SUBSCRIPTION_REASON.
inline constexpr std::uint32_t kReleaseUeSubscription = 1;
/// Usage-Monitoring-Level (5.3.61): SESSION_LEVEL.
inline constexpr std::uint32_t kSessionLevel = 0;
/// The Gx feature list 1 bits the PCRF supports (5.4.1): Rel8, Rel9, Rel10.
inline constexpr std::uint32_t kFeatureListId = 1;
inline constexpr std::uint32_t kSupportedFeatures = 0x0000000b;
/// DIAMETER_END_USER_SERVICE_DENIED: CCR refused for a blocked subscriber
/// whose plan releases the session.
inline constexpr std::uint32_t kServiceDenied = 4010;

/// Usage-Monitoring-Information in a CCR.
struct UsageMonitoring {
  std::optional<std::string> monitoring_key;
  /// Used-Service-Unit present.
  bool has_used = false;
  std::optional<std::uint64_t> total_octets;
  std::optional<std::uint64_t> input_octets;
  std::optional<std::uint64_t> output_octets;
};

struct Ccr : gy::CcrHeader {
  std::vector<UsageMonitoring> usage;
  /// Supported-Features {Feature-List-ID, Feature-List} of the client.
  std::optional<std::uint32_t> feature_list_id;
  std::optional<std::uint32_t> feature_list;
};

/// What to install, as the wire carries it (CCA or RAR).
struct PolicyInstall {
  std::vector<std::string> rule_names;
  std::vector<std::string> rule_base_names;
  std::vector<DynamicRule> rule_definitions;
  std::optional<std::uint32_t> apn_ambr_ul;
  std::optional<std::uint32_t> apn_ambr_dl;
  /// Default-EPS-Bearer-QoS: QCI and a complete ARP, always together.
  std::uint32_t qci = 9;
  std::uint32_t arp_priority = 8;
  std::uint32_t preemption_capability = 1;     // 0 ENABLED, 1 DISABLED
  std::uint32_t preemption_vulnerability = 0;  // 0 ENABLED, 1 DISABLED
  std::vector<std::uint32_t> event_triggers;
  /// Revalidation-Time (AVP 1042, NTP seconds); event_triggers then has
  /// REVALIDATION_TIMEOUT.
  std::optional<std::uint32_t> revalidation_time;
};

/// Revalidation-Time and the whole Event-Trigger list, for an answer that
/// installs nothing (the list replaces the gateway's, so it is complete).
struct Revalidation {
  std::uint32_t time = 0;  // NTP seconds
  std::vector<std::uint32_t> event_triggers;
};

struct Cca {
  std::uint32_t result_code = gy::kSuccess;
  std::optional<std::uint32_t> failed_avp;
  std::uint32_t request_type = 0;
  std::uint32_t request_number = 0;
  /// Supported-Features to send (CCA-I), the Feature-List value.
  std::optional<std::uint32_t> supported_features;
  std::optional<PolicyInstall> install;
  InstalledRules remove;
  /// Usage-Monitoring-Information grants (also without a policy change).
  std::vector<MonitoringGrant> monitoring;
  /// Still throttled without a change (a CCR-U at the Revalidation-Time
  /// that came early, or a second allowance used up): ask again later.
  std::optional<Revalidation> revalidation;
};

/// A server-initiated policy change.
struct Rar {
  std::optional<PolicyInstall> install;
  InstalledRules remove;
  std::vector<MonitoringGrant> monitoring;
  /// Session-Release-Cause: end the IP-CAN session instead.
  std::optional<std::uint32_t> release_cause;
};

struct Rejection {
  Cca answer;
};

/// Validates a CCR and turns it into a policy request, or a rejection:
/// 5005 (missing CC-Request-Type, CC-Request-Number, Subscription-Id on
/// INITIAL) or 5004 (CC-Request-Type not 1-3, a bad Subscription-Id, a usage
/// report without Monitoring-Key) with the offending AVP's code.
std::variant<store::PolicyRequest, Rejection> to_policy_request(const Ccr& ccr);

/// The answer to a decided request: CCA-I carries the whole policy,
/// CCA-U only a change (or new monitoring grants), CCA-T nothing.
Cca to_cca(const Ccr& ccr, const store::PolicyResult& result);

/// What a decision installs on the wire.
PolicyInstall to_install(const PolicyDecision& d);

/// The RAR for a change.
Rar to_rar(const store::PolicyChange& change);

/// The Feature-List to answer with: what both sides support.
std::uint32_t negotiated_features(const Ccr& ccr);

}  // namespace ocs::gx
