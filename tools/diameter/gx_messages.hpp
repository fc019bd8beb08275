// Builders and readers for Gx (TS 29.212) messages with the independent
// client codec: a PCEF's CCR-I/U/T and the PCRF's answers and RARs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "codec.hpp"
#include "gy_messages.hpp"

namespace ocs::dia::gx {

inline constexpr std::uint32_t kApp = 16777238;
inline constexpr std::uint32_t kInitial = 1, kUpdate = 2, kTermination = 3;

// TS 29.212 / 29.214 / 29.229 codes (vendor 10415).
namespace code {
inline constexpr std::uint32_t SupportedFeatures = 628, FeatureListId = 629, FeatureList = 630,
                               ChargingRuleInstall = 1001, ChargingRuleRemove = 1002,
                               ChargingRuleDefinition = 1003, ChargingRuleBaseName = 1004,
                               ChargingRuleName = 1005, EventTrigger = 1006, Offline = 1008, Online = 1009,
                               Precedence = 1010, QosInformation = 1016, Qci = 1028, Arp = 1034,
                               ApnAmbrDl = 1040, ApnAmbrUl = 1041, SessionReleaseCause = 1045,
                               PriorityLevel = 1046, PreemptionCapability = 1047, PreemptionVulnerability = 1048,
                               DefaultEpsBearerQos = 1049, FlowInformation = 1058, FlowDescription = 507,
                               MonitoringKey = 1066, UsageMonitoringInformation = 1067,
                               UsageMonitoringLevel = 1068, RedirectInformation = 1085, RedirectSupport = 1086,
                               IpCanType = 1027, RatType = 1032, RevalidationTime = 1042;
}  // namespace code

/// A Gx CCR as a PCEF (Open5GS' SMF) sends it: Auth-Application-Id
/// 16777238, no Service-Context-Id.
inline Message ccr(const std::string& session_id, const std::string& origin_host, const std::string& origin_realm,
                   std::uint32_t type, std::uint32_t number, const std::string& destination_realm = "localdomain") {
  Message m;
  m.flags = kFlagRequest | kFlagProxiable;
  m.code = dia::code::CCR;
  m.app_id = kApp;
  m.add(Avp::str(dia::code::SessionId, session_id))
      .add(Avp::u32(dia::code::AuthApplicationId, kApp))
      .add(Avp::str(dia::code::OriginHost, origin_host))
      .add(Avp::str(dia::code::OriginRealm, origin_realm))
      .add(Avp::str(dia::code::DestinationRealm, destination_realm))
      .add(Avp::u32(dia::code::CcRequestType, type))
      .add(Avp::u32(dia::code::CcRequestNumber, number));
  return m;
}

/// A CCR-I with Subscription-Id (E.164 and IMSI, as Open5GS sends them),
/// Supported-Features, IP-CAN-Type 3GPP-EPS and RAT-Type EUTRAN.
inline Message initial(const std::string& session_id, const std::string& origin_host, const std::string& msisdn,
                       const std::optional<std::string>& imsi = std::nullopt) {
  Message m = ccr(session_id, origin_host, "localdomain", kInitial, 0);
  m.add(gy::subscription_id(0, msisdn));
  if (imsi) m.add(gy::subscription_id(1, *imsi));
  m.add(Avp::grouped(code::SupportedFeatures,
                     {Avp::u32(dia::code::VendorId, kVendor3gpp), Avp::u32(code::FeatureListId, 1, kVendor3gpp),
                      Avp::u32(code::FeatureList, 0x3, kVendor3gpp)},
                     kVendor3gpp));
  m.add(Avp::u32(code::IpCanType, 5, kVendor3gpp));  // 3GPP-EPS
  m.add(Avp::u32(code::RatType, 1004, kVendor3gpp));  // EUTRAN
  return m;
}

/// Usage-Monitoring-Information {Monitoring-Key, Used-Service-Unit
/// {CC-Input-Octets, CC-Output-Octets}} as a PCEF reports it.
inline Avp usage_report(const std::string& key, std::uint64_t input, std::uint64_t output) {
  return Avp::grouped(code::UsageMonitoringInformation,
                      {Avp::str(code::MonitoringKey, key, kVendor3gpp),
                       Avp::grouped(dia::code::Usu, {Avp::u64(dia::code::CcInputOctets, input),
                                                     Avp::u64(dia::code::CcOutputOctets, output)})},
                      kVendor3gpp);
}

/// The names a message installs (Charging-Rule-Install: names, base names
/// and the names of the definitions), or removes.
inline std::vector<std::string> rule_names(const Message& m, std::uint32_t group_code) {
  std::vector<std::string> out;
  for (const Avp* g : m.find_all(group_code, kVendor3gpp))
    for (const Avp& c : g->children()) {
      if (c.vendor != kVendor3gpp) continue;
      if (c.code == code::ChargingRuleName || c.code == code::ChargingRuleBaseName) out.push_back(c.as_str());
      if (c.code == code::ChargingRuleDefinition)
        if (auto n = c.child(code::ChargingRuleName, kVendor3gpp)) out.push_back(n->as_str());
    }
  return out;
}
inline std::vector<std::string> installed(const Message& m) { return rule_names(m, code::ChargingRuleInstall); }
inline std::vector<std::string> removed(const Message& m) { return rule_names(m, code::ChargingRuleRemove); }

/// APN-AMBR downlink in QoS-Information, if any.
inline std::optional<std::uint32_t> ambr_dl(const Message& m) {
  const Avp* q = m.find(code::QosInformation, kVendor3gpp);
  if (!q) return std::nullopt;
  auto dl = q->child(code::ApnAmbrDl, kVendor3gpp);
  return dl ? std::optional(dl->as_u32()) : std::nullopt;
}

/// Event-Trigger values at the top level, in order.
inline std::vector<std::uint32_t> event_triggers(const Message& m) {
  std::vector<std::uint32_t> out;
  for (const Avp* t : m.find_all(code::EventTrigger, kVendor3gpp)) out.push_back(t->as_u32());
  return out;
}

/// Revalidation-Time (Time: NTP seconds), if any.
inline std::optional<std::uint32_t> revalidation_time(const Message& m) {
  const Avp* t = m.find(code::RevalidationTime, kVendor3gpp);
  return t ? std::optional(t->as_u32()) : std::nullopt;
}

/// Granted octets per monitoring key.
inline std::vector<std::pair<std::string, std::uint64_t>> monitoring_grants(const Message& m) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const Avp* u : m.find_all(code::UsageMonitoringInformation, kVendor3gpp)) {
    auto key = u->child(code::MonitoringKey, kVendor3gpp);
    auto gsu = u->child(dia::code::Gsu);
    auto total = gsu ? gsu->child(dia::code::CcTotalOctets) : std::nullopt;
    out.emplace_back(key ? key->as_str() : "", total ? total->as_u64() : 0);
  }
  return out;
}

}  // namespace ocs::dia::gx
