#include "ocs/core/policy.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string_view>

#include "ocs/common/digest.hpp"

namespace ocs {

const char* to_string(PolicyState s) {
  switch (s) {
    case PolicyState::Normal: return "normal";
    case PolicyState::OutOfCredit: return "out_of_credit";
    case PolicyState::Blocked: return "blocked";
    case PolicyState::Throttled: return "throttled";
  }
  return "normal";
}

std::optional<PolicyState> policy_state_from_string(std::string_view s) {
  for (auto st : {PolicyState::Normal, PolicyState::OutOfCredit, PolicyState::Blocked, PolicyState::Throttled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

const char* to_string(AllowancePeriod p) { return p == AllowancePeriod::Day ? "day" : "month"; }

std::optional<AllowancePeriod> allowance_period_from_string(std::string_view s) {
  if (s == "day") return AllowancePeriod::Day;
  if (s == "month") return AllowancePeriod::Month;
  return std::nullopt;
}

TimePoint period_start(AllowancePeriod p, TimePoint now) {
  using namespace std::chrono;
  const auto day = floor<days>(now);
  if (p == AllowancePeriod::Day) return time_point_cast<seconds>(day);
  const year_month_day ymd{day};
  return time_point_cast<seconds>(sys_days{ymd.year() / ymd.month() / 1});
}

TimePoint period_end(AllowancePeriod p, TimePoint now) {
  using namespace std::chrono;
  const TimePoint start = period_start(p, now);
  if (p == AllowancePeriod::Day) return start + days{1};
  return time_point_cast<seconds>(sys_days{year_month_day{floor<days>(start)} + months{1}});
}

namespace {
bool allowance_used_up(const Allowance& a) { return a.used >= a.octets; }

bool out_of_credit(const PolicyInputs& in, const GxPlanPolicies& plan) {
  if (plan.normal.gy_exhausted_action != GyExhaustedAction::Throttle) return false;
  return in.gy_credit_exhausted || (in.available <= 0 && !in.has_usable_bucket);
}
}  // namespace

PolicyState select_state(const PolicyInputs& in, const GxPlanPolicies& plan) {
  if (in.status != SubscriberStatus::Active) return PolicyState::Blocked;
  if (out_of_credit(in, plan)) return PolicyState::OutOfCredit;
  if (std::any_of(in.allowances.begin(), in.allowances.end(), allowance_used_up)) return PolicyState::Throttled;
  return PolicyState::Normal;
}

std::uint32_t scaled_bitrate(std::uint64_t kbps, std::uint32_t percent) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  // kbps fits in 63 bits; guard the multiplications instead of overflowing.
  if (kbps > kMax) return static_cast<std::uint32_t>(kMax);
  const std::uint64_t bps = kbps * 1000u;
  if (percent != 0 && bps > std::numeric_limits<std::uint64_t>::max() / percent) return static_cast<std::uint32_t>(kMax);
  return static_cast<std::uint32_t>(std::min(bps * percent / 100u, kMax));
}

PolicyDecision decide_policy(const PolicyInputs& in, const GxPlanPolicies& plan) {
  PolicyDecision d;
  d.state = select_state(in, plan);
  const GxPolicy* policy = &plan.normal;
  switch (d.state) {
    case PolicyState::Normal: break;
    case PolicyState::OutOfCredit:
      if (plan.out_of_credit) policy = &*plan.out_of_credit;
      break;
    case PolicyState::Throttled:
      if (plan.throttled) policy = &*plan.throttled;
      break;
    case PolicyState::Blocked:
      if (plan.release_on_block || !plan.blocked) {
        d.release = true;
        return d;
      }
      policy = &*plan.blocked;
      break;
  }
  d.policy = *policy;
  if (policy->rate_limit_up_kbps)
    d.apn_ambr_ul = scaled_bitrate(*policy->rate_limit_up_kbps, policy->rate_limit_scaling_percent);
  if (policy->rate_limit_down_kbps)
    d.apn_ambr_dl = scaled_bitrate(*policy->rate_limit_down_kbps, policy->rate_limit_scaling_percent);
  // Monitoring only where it can still change something: a blocked or
  // hotlined subscriber's consumption does not move the policy.
  // Throttled: ask again when the first used-up allowance's period ends.
  if (d.state == PolicyState::Normal || d.state == PolicyState::Throttled)
    for (const auto& a : in.allowances) {
      if (!allowance_used_up(a)) {
        d.monitoring.push_back({a.monitoring_key, a.octets - a.used});
      } else if (d.state == PolicyState::Throttled) {
        const TimePoint end = period_end(a.period, in.now);
        if (!d.revalidate_at || end < *d.revalidate_at) d.revalidate_at = end;
      }
    }
  return d;
}

InstalledRules installed_rules(const PolicyDecision& d) {
  InstalledRules r;
  if (d.release) return r;
  r.names = d.policy.rule_names;
  for (const auto& dyn : d.policy.dynamic_rules) r.names.push_back(dyn.name);
  r.base_names = d.policy.rule_base_names;
  return r;
}

namespace {
/// Length-prefixed fields, so that no two decisions serialise alike.
class Canonical {
 public:
  Canonical& operator<<(std::string_view s) {
    text_ += std::to_string(s.size());
    text_ += ':';
    text_ += s;
    return *this;
  }
  Canonical& operator<<(std::uint64_t n) { return *this << std::string_view(std::to_string(n)); }
  template <class T>
  Canonical& operator<<(const std::optional<T>& v) {
    if (!v) return *this << std::string_view("-");
    *this << std::string_view("+");
    return *this << *v;
  }
  template <class T>
  Canonical& operator<<(const std::vector<T>& v) {
    *this << static_cast<std::uint64_t>(v.size());
    for (const auto& x : v) *this << x;
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

std::string enforcement_digest(const PolicyDecision& d) {
  if (d.release) return "";
  const GxPolicy& p = d.policy;
  Canonical c;
  c << std::uint64_t{p.qci} << std::uint64_t{p.arp_priority} << std::uint64_t{p.arp_may_preempt}
    << std::uint64_t{p.arp_preemptable};
  c << d.apn_ambr_ul << d.apn_ambr_dl << p.rule_names << p.rule_base_names;
  c << static_cast<std::uint64_t>(p.dynamic_rules.size());
  for (const auto& r : p.dynamic_rules)
    c << r.name << std::uint64_t{r.precedence} << r.rating_group << r.monitoring_key << r.flows << r.redirect_url
      << std::uint64_t{r.online} << std::uint64_t{r.offline};
  c << p.event_triggers;
  std::vector<std::string> keys;
  for (const auto& m : d.monitoring) keys.push_back(m.monitoring_key);
  c << keys;
  return fnv1a_hex(c.text());
}

InstalledRules rules_to_remove(const InstalledRules& before, const InstalledRules& after) {
  const auto missing = [](const std::vector<std::string>& from, const std::vector<std::string>& keep) {
    std::vector<std::string> out;
    for (const auto& n : from)
      if (std::find(keep.begin(), keep.end(), n) == keep.end() && std::find(out.begin(), out.end(), n) == out.end())
        out.push_back(n);
    return out;
  };
  return InstalledRules{missing(before.names, after.names), missing(before.base_names, after.base_names)};
}

}  // namespace ocs
