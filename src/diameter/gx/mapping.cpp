#include "ocs/diameter/gx_model.hpp"

#include <algorithm>

#include "ocs/common/utf8.hpp"

namespace ocs::gx {

namespace {

Rejection reject(const Ccr& ccr, std::uint32_t code, std::uint32_t failed_avp) {
  Rejection r;
  r.answer.result_code = code;
  r.answer.failed_avp = failed_avp;
  r.answer.request_type = ccr.request_type.value_or(0);
  r.answer.request_number = ccr.request_number.value_or(0);
  return r;
}

std::uint64_t octets_of(const UsageMonitoring& u) {
  if (u.total_octets) return *u.total_octets;
  return u.input_octets.value_or(0) + u.output_octets.value_or(0);
}

}  // namespace

std::variant<store::PolicyRequest, Rejection> to_policy_request(const Ccr& ccr) {
  using namespace avp_code;
  if (!ccr.request_type) return reject(ccr, gy::kMissingAvp, kCcRequestType);
  if (!ccr.request_number) return reject(ccr, gy::kMissingAvp, kCcRequestNumber);
  // UTF8String values that are not UTF-8 (RFC 6733 4.3.1): DIAMETER_INVALID_AVP_VALUE.
  if (!is_text(ccr.session_id)) return reject(ccr, gy::kInvalidAvpValue, kSessionId);
  store::PolicyRequest req;
  switch (*ccr.request_type) {
    case 1: req.kind = RequestKind::Initial; break;
    case 2: req.kind = RequestKind::Update; break;
    case 3: req.kind = RequestKind::Terminate; break;
    default: return reject(ccr, gy::kInvalidAvpValue, kCcRequestType);  // Gx has no EVENT
  }
  req.session_id = ccr.session_id;
  req.request_key = std::to_string(*ccr.request_number);
  req.origin = store::SessionOrigin{"gx", ccr.origin_host, ccr.origin_realm, "", {}};
  if (req.kind == RequestKind::Initial) {
    if (ccr.subscription_ids.empty()) return reject(ccr, gy::kMissingAvp, kSubscriptionId);
    for (const auto& s : ccr.subscription_ids) {
      if (s.type > static_cast<std::uint32_t>(gy::SubscriptionIdType::Private))
        return reject(ccr, gy::kInvalidAvpValue, kSubscriptionIdType);
      if (s.data.empty() || !is_text(s.data)) return reject(ccr, gy::kInvalidAvpValue, kSubscriptionIdData);
      if (auto id = gy::to_identity(s)) req.identities.push_back(std::move(*id));
    }
  }
  for (const auto& u : ccr.usage) {
    // Monitoring-Key is an OctetString, but the keys are the policy's own
    // (text) names, echoed back: other bytes name nothing.
    if (!u.monitoring_key || u.monitoring_key->empty() || !is_text(*u.monitoring_key))
      return reject(ccr, gy::kInvalidAvpValue, kMonitoringKey);
    if (!u.has_used) continue;  // a key without a report: nothing to count
    req.usage.push_back(store::UsageReport{*u.monitoring_key, octets_of(u)});
  }
  return req;
}

PolicyInstall to_install(const PolicyDecision& d) {
  PolicyInstall p;
  const GxPolicy& pol = d.policy;
  p.rule_names = pol.rule_names;
  p.rule_base_names = pol.rule_base_names;
  p.rule_definitions = pol.dynamic_rules;
  p.apn_ambr_ul = d.apn_ambr_ul;
  p.apn_ambr_dl = d.apn_ambr_dl;
  p.qci = pol.qci;
  p.arp_priority = pol.arp_priority;
  p.preemption_capability = pol.arp_may_preempt ? 0 : 1;
  p.preemption_vulnerability = pol.arp_preemptable ? 0 : 1;
  p.event_triggers = pol.event_triggers;
  // Monitoring needs usage reports: ask for them.
  if (!d.monitoring.empty() &&
      std::find(p.event_triggers.begin(), p.event_triggers.end(), kTriggerUsageReport) == p.event_triggers.end())
    p.event_triggers.push_back(kTriggerUsageReport);
  // Throttled: nothing tells the gateway when the allowance's period rolls
  // over, so it asks again then (CCR-U with REVALIDATION_TIMEOUT).
  if (d.revalidate_at) {
    p.revalidation_time = gy::to_ntp(*d.revalidate_at);
    if (std::find(p.event_triggers.begin(), p.event_triggers.end(), kTriggerRevalidationTimeout) ==
        p.event_triggers.end())
      p.event_triggers.push_back(kTriggerRevalidationTimeout);
  }
  return p;
}

std::uint32_t negotiated_features(const Ccr& ccr) {
  if (ccr.feature_list_id == kFeatureListId && ccr.feature_list) return *ccr.feature_list & kSupportedFeatures;
  return kSupportedFeatures;
}

Cca to_cca(const Ccr& ccr, const store::PolicyResult& result) {
  Cca a;
  a.request_type = ccr.request_type.value_or(0);
  a.request_number = ccr.request_number.value_or(0);
  switch (result.status) {
    case store::ChargeStatus::UserUnknown: a.result_code = gy::kUserUnknown; return a;
    case store::ChargeStatus::UnknownSession: a.result_code = gy::kUnknownSessionId; return a;
    case store::ChargeStatus::Ok: break;
  }
  const bool initial = a.request_type == 1;
  if (initial) a.supported_features = negotiated_features(ccr);
  if (a.request_type == 3) return a;  // CCA-T: the session is over
  const PolicyDecision& d = result.decision;
  if (d.release) {
    a.result_code = kServiceDenied;
    return a;
  }
  if (initial || result.changed) {
    a.install = to_install(d);
    a.remove = result.remove;
  } else if (d.revalidate_at) {
    PolicyInstall again = to_install(d);
    a.revalidation = Revalidation{*again.revalidation_time, std::move(again.event_triggers)};
  }
  // A usage report consumed the previous grant: grant again.
  if (initial || result.changed || !ccr.usage.empty()) a.monitoring = d.monitoring;
  return a;
}

Rar to_rar(const store::PolicyChange& change) {
  Rar r;
  if (change.decision.release) {
    r.release_cause = kReleaseUeSubscription;
    return r;
  }
  r.install = to_install(change.decision);
  r.remove = change.remove;
  r.monitoring = change.decision.monitoring;
  return r;
}

}  // namespace ocs::gx
