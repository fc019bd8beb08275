// Policy selection for Gx (the PCRF role): from a subscriber's status, credit
// and fair-usage consumption to the policy state, and from the policy of
// that state to what the gateway must enforce (QoS, PCC rules, event
// triggers, usage-monitoring grants) or to a session release.
//
// Pure: no Diameter, no SQL, no clock (callers pass `now`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ocs/core/model.hpp"

namespace ocs {

/// Which of the plan's policies is in force.
enum class PolicyState { Normal, OutOfCredit, Blocked, Throttled };
const char* to_string(PolicyState s);
std::optional<PolicyState> policy_state_from_string(std::string_view s);

/// What Gx does when the subscriber's Gy sessions run out of credit.
enum class GyExhaustedAction {
  None,      // nothing on Gx: Gy alone handles it (FUI, 4012)
  Throttle,  // install the plan's hotline policy through Gx
};

/// A dynamic PCC rule (Charging-Rule-Definition, TS 29.212 5.3.4).
struct DynamicRule {
  std::string name;
  std::uint32_t precedence = 0;
  std::optional<std::uint32_t> rating_group;
  std::optional<std::string> monitoring_key;
  /// Flow-Description IPFilterRules, e.g. "permit out ip from any to assigned".
  std::vector<std::string> flows;
  /// Redirect-Information with this URL (a hotline rule).
  std::optional<std::string> redirect_url;
  bool online = false;
  bool offline = false;
  bool operator==(const DynamicRule&) const = default;
};

/// The Gx side of a policy (the columns added by sql/migrations/0004_gx.sql).
struct GxPolicy {
  std::int64_t id = 0;
  std::string name;
  std::uint32_t qci = 9;
  /// Allocation-Retention-Priority (TS 29.212 5.3.32).
  std::uint32_t arp_priority = 8;  // 1 (highest) .. 15
  bool arp_may_preempt = false;    // Pre-emption-Capability
  bool arp_preemptable = true;     // Pre-emption-Vulnerability
  /// Rate limits in kbit/s before scaling (policies.rate_limit_*).
  std::optional<std::uint64_t> rate_limit_up_kbps;
  std::optional<std::uint64_t> rate_limit_down_kbps;
  std::uint32_t rate_limit_scaling_percent = 100;
  std::vector<std::string> rule_names;       // predefined on the PCEF
  std::vector<std::string> rule_base_names;  // predefined groups
  std::vector<DynamicRule> dynamic_rules;
  std::vector<std::uint32_t> event_triggers;
  GyExhaustedAction gy_exhausted_action = GyExhaustedAction::None;
};

/// How a plan maps states to policies. A state without a policy keeps the
/// normal one, except Blocked, which then releases the session.
struct GxPlanPolicies {
  GxPolicy normal;
  std::optional<GxPolicy> out_of_credit;  // the hotline policy
  std::optional<GxPolicy> blocked;
  std::optional<GxPolicy> throttled;
  /// Blocked releases the session (RAR with Session-Release-Cause) even
  /// when a blocked policy exists.
  bool release_on_block = false;
};

enum class AllowancePeriod { Day, Month };
const char* to_string(AllowancePeriod p);
std::optional<AllowancePeriod> allowance_period_from_string(std::string_view s);

/// A fair-usage allowance of the plan and what was used of it this period.
struct Allowance {
  std::string monitoring_key;
  std::uint64_t octets = 0;
  AllowancePeriod period = AllowancePeriod::Month;
  std::uint64_t used = 0;  // in the current period
};

/// The start (UTC) of the period containing `now`.
TimePoint period_start(AllowancePeriod p, TimePoint now);
/// The start (UTC) of the period after the one containing `now`.
TimePoint period_end(AllowancePeriod p, TimePoint now);

struct PolicyInputs {
  SubscriberStatus status = SubscriberStatus::Active;
  /// An open Gy session of the subscriber was refused credit or hotlined.
  bool gy_credit_exhausted = false;
  /// Money left (balance + credit limit - holds) and whether a usable
  /// bucket remains: with neither, the subscriber is out of credit too.
  Money available = 0;
  bool has_usable_bucket = false;
  std::vector<Allowance> allowances;
  /// When the allowances' usage was read: their periods are the ones
  /// containing it.
  TimePoint now{};
};

struct MonitoringGrant {
  std::string monitoring_key;
  std::uint64_t octets = 0;
  bool operator==(const MonitoringGrant&) const = default;
};

/// What the gateway must enforce.
struct PolicyDecision {
  PolicyState state = PolicyState::Normal;
  /// End the IP-CAN session (CCA-I: refused; mid-session: RAR with
  /// Session-Release-Cause). No policy applies then.
  bool release = false;
  GxPolicy policy;
  /// APN-AMBR in bit/s: rate limit x scaling; nullopt when the policy has none.
  std::optional<std::uint32_t> apn_ambr_ul;
  std::optional<std::uint32_t> apn_ambr_dl;
  std::vector<MonitoringGrant> monitoring;
  /// Throttled: when the first used-up allowance's period ends, the time at
  /// which the gateway should ask again (Gx Revalidation-Time), since
  /// nothing else happens then that would lift the throttle.
  std::optional<TimePoint> revalidate_at;
};

/// The state: Blocked (status not active) before OutOfCredit (only for a
/// normal policy with gy_exhausted_action Throttle) before Throttled (an
/// allowance used up) before Normal.
PolicyState select_state(const PolicyInputs& in, const GxPlanPolicies& plan);

/// The state and what it means on the wire.
PolicyDecision decide_policy(const PolicyInputs& in, const GxPlanPolicies& plan);

/// kbit/s x percent / 100 in bit/s, capped at the largest Unsigned32.
std::uint32_t scaled_bitrate(std::uint64_t kbps, std::uint32_t percent);

/// The PCC rule names a policy installs (predefined, base names and dynamic
/// rule names are all "rules" to remove later).
struct InstalledRules {
  std::vector<std::string> names;
  std::vector<std::string> base_names;
  bool operator==(const InstalledRules&) const = default;
};
InstalledRules installed_rules(const PolicyDecision& d);

/// Rules of `before` that `after` no longer installs (Charging-Rule-Remove).
InstalledRules rules_to_remove(const InstalledRules& before, const InstalledRules& after);

/// A digest (16 hex digits) of what the gateway enforces under `d`: QoS,
/// APN-AMBR, the rules with their definitions, the event triggers and the
/// monitoring keys. Not what varies with time or consumption (the grants'
/// octets, the revalidation time), nor the state or policy id, which are
/// compared apart. Two decisions with one digest need no RAR between them;
/// an operator's edit of a policy in force changes it. "" for a release.
std::string enforcement_digest(const PolicyDecision& d);

}  // namespace ocs
