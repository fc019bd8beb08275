#include "ocs/core/policy.hpp"

#include <gtest/gtest.h>

#include "test_clock.hpp"

namespace ocs {
namespace {

GxPolicy named(const std::string& name, std::uint64_t down_kbps, std::vector<std::string> rules) {
  GxPolicy p;
  p.name = name;
  p.rate_limit_up_kbps = down_kbps / 2;
  p.rate_limit_down_kbps = down_kbps;
  p.rule_names = std::move(rules);
  return p;
}

GxPlanPolicies plan_with_all() {
  GxPlanPolicies plan;
  plan.normal = named("normal", 100000, {"internet"});
  plan.normal.gy_exhausted_action = GyExhaustedAction::Throttle;
  plan.out_of_credit = named("hotline", 256, {"hotline-redirect"});
  plan.blocked = named("blocked", 64, {"walled-garden"});
  plan.throttled = named("throttled", 1000, {"internet"});
  return plan;
}

PolicyInputs active(Money available = 100) {
  PolicyInputs in;
  in.available = available;
  return in;
}

struct StateCase {
  const char* what;
  PolicyInputs in;
  PolicyState expected;
};

TEST(PolicySelection, StateTable) {
  const auto with = [](auto change) {
    PolicyInputs in = active();
    change(in);
    return in;
  };
  const std::vector<StateCase> cases = {
      {"active with money", active(), PolicyState::Normal},
      {"blocked", with([](PolicyInputs& i) { i.status = SubscriberStatus::Blocked; }), PolicyState::Blocked},
      {"suspended", with([](PolicyInputs& i) { i.status = SubscriberStatus::Suspended; }), PolicyState::Blocked},
      {"blocked beats out of credit", with([](PolicyInputs& i) {
         i.status = SubscriberStatus::Blocked;
         i.gy_credit_exhausted = true;
       }),
       PolicyState::Blocked},
      {"gy refused credit", with([](PolicyInputs& i) { i.gy_credit_exhausted = true; }), PolicyState::OutOfCredit},
      {"no money, no bucket", active(0), PolicyState::OutOfCredit},
      {"no money but a bucket", with([](PolicyInputs& i) {
         i.available = 0;
         i.has_usable_bucket = true;
       }),
       PolicyState::Normal},
      {"allowance used up", with([](PolicyInputs& i) { i.allowances = {{"fup", 100, AllowancePeriod::Day, 100}}; }),
       PolicyState::Throttled},
      {"allowance not used up", with([](PolicyInputs& i) { i.allowances = {{"fup", 100, AllowancePeriod::Day, 99}}; }),
       PolicyState::Normal},
      {"out of credit beats throttled", with([](PolicyInputs& i) {
         i.gy_credit_exhausted = true;
         i.allowances = {{"fup", 100, AllowancePeriod::Day, 200}};
       }),
       PolicyState::OutOfCredit},
  };
  for (const auto& c : cases) EXPECT_EQ(select_state(c.in, plan_with_all()), c.expected) << c.what;
}

TEST(PolicySelection, OutOfCreditOnlyWhenThePolicyHandsItToGx) {
  GxPlanPolicies plan = plan_with_all();
  plan.normal.gy_exhausted_action = GyExhaustedAction::None;
  PolicyInputs in = active(0);
  in.gy_credit_exhausted = true;
  EXPECT_EQ(select_state(in, plan), PolicyState::Normal);
}

TEST(PolicySelection, DecisionCarriesThePolicyOfTheState) {
  const GxPlanPolicies plan = plan_with_all();
  PolicyInputs in = active();
  in.allowances = {{"fup", 1000, AllowancePeriod::Month, 400}, {"video", 50, AllowancePeriod::Day, 0}};
  PolicyDecision d = decide_policy(in, plan);
  EXPECT_EQ(d.state, PolicyState::Normal);
  EXPECT_FALSE(d.release);
  EXPECT_EQ(d.policy.name, "normal");
  EXPECT_EQ(d.apn_ambr_dl, 100000000u);
  EXPECT_EQ(d.apn_ambr_ul, 50000000u);
  EXPECT_EQ(d.monitoring, (std::vector<MonitoringGrant>{{"fup", 600}, {"video", 50}}));

  in.allowances[0].used = 1000;  // fair usage exhausted: throttled, still monitoring "video"
  d = decide_policy(in, plan);
  EXPECT_EQ(d.state, PolicyState::Throttled);
  EXPECT_EQ(d.policy.name, "throttled");
  EXPECT_EQ(d.apn_ambr_dl, 1000000u);
  EXPECT_EQ(d.monitoring, (std::vector<MonitoringGrant>{{"video", 50}}));

  in.gy_credit_exhausted = true;  // hotline: no monitoring
  d = decide_policy(in, plan);
  EXPECT_EQ(d.policy.name, "hotline");
  EXPECT_TRUE(d.monitoring.empty());
}

TEST(PolicySelection, BlockedReleasesWithoutABlockedPolicyOrWhenThePlanSaysSo) {
  GxPlanPolicies plan = plan_with_all();
  PolicyInputs in = active();
  in.status = SubscriberStatus::Blocked;
  PolicyDecision d = decide_policy(in, plan);
  EXPECT_FALSE(d.release);
  EXPECT_EQ(d.policy.name, "blocked");
  plan.release_on_block = true;
  EXPECT_TRUE(decide_policy(in, plan).release);
  plan.release_on_block = false;
  plan.blocked.reset();
  d = decide_policy(in, plan);
  EXPECT_TRUE(d.release);
  EXPECT_EQ(installed_rules(d), InstalledRules{});
}

TEST(PolicySelection, MissingStatePoliciesKeepTheNormalOne) {
  GxPlanPolicies plan;
  plan.normal = named("only", 1000, {"internet"});
  plan.normal.gy_exhausted_action = GyExhaustedAction::Throttle;
  PolicyInputs in = active(0);
  PolicyDecision d = decide_policy(in, plan);
  EXPECT_EQ(d.state, PolicyState::OutOfCredit);
  EXPECT_EQ(d.policy.name, "only");
  in = active();
  in.allowances = {{"fup", 1, AllowancePeriod::Day, 5}};
  d = decide_policy(in, plan);
  EXPECT_EQ(d.state, PolicyState::Throttled);
  EXPECT_EQ(d.policy.name, "only");
}

TEST(PolicySelection, ScaledBitrates) {
  struct Case {
    std::uint64_t kbps;
    std::uint32_t percent;
    std::uint32_t bps;
  };
  const Case cases[] = {
      {1000, 100, 1000000}, {1000, 50, 500000}, {1000, 110, 1100000}, {1, 1, 10},
      {5000000, 100, 4294967295u},  // 5 Gbit/s does not fit: capped
      {~0ull, 100, 4294967295u},
  };
  for (const auto& c : cases) EXPECT_EQ(scaled_bitrate(c.kbps, c.percent), c.bps) << c.kbps << "x" << c.percent;
}

TEST(PolicySelection, RulesToRemoveAreThoseNoLongerInstalled) {
  GxPolicy normal = named("n", 1, {"internet", "voip"});
  DynamicRule video;
  video.name = "dyn-video";
  video.rating_group = 30;
  video.flows = {"permit out ip from any to assigned"};
  normal.dynamic_rules = {video};
  normal.rule_base_names = {"base-a"};
  PolicyDecision a;
  a.policy = normal;
  PolicyDecision b;
  b.policy = named("t", 1, {"internet", "throttle"});
  const InstalledRules before = installed_rules(a);
  EXPECT_EQ(before.names, (std::vector<std::string>{"internet", "voip", "dyn-video"}));
  const InstalledRules removed = rules_to_remove(before, installed_rules(b));
  EXPECT_EQ(removed.names, (std::vector<std::string>{"voip", "dyn-video"}));
  EXPECT_EQ(removed.base_names, (std::vector<std::string>{"base-a"}));
}

TEST(PolicySelection, AllowancePeriodsStartAtUtcMidnightAndTheFirstOfTheMonth) {
  const TimePoint t = test::at("2024-03-15 13:45:10");
  EXPECT_EQ(period_start(AllowancePeriod::Day, t), test::at("2024-03-15 00:00:00"));
  EXPECT_EQ(period_start(AllowancePeriod::Month, t), test::at("2024-03-01 00:00:00"));
}

TEST(PolicySelection, PeriodsEndAtTheNextUtcMidnightAndTheFirstOfTheNextMonth) {
  EXPECT_EQ(period_end(AllowancePeriod::Day, test::at("2024-03-15 13:45:10")), test::at("2024-03-16 00:00:00"));
  EXPECT_EQ(period_end(AllowancePeriod::Day, test::at("2024-03-15 00:00:00")), test::at("2024-03-16 00:00:00"));
  EXPECT_EQ(period_end(AllowancePeriod::Day, test::at("2024-02-28 23:59:59")), test::at("2024-02-29 00:00:00"));
  EXPECT_EQ(period_end(AllowancePeriod::Month, test::at("2024-01-31 23:00:00")), test::at("2024-02-01 00:00:00"));
  EXPECT_EQ(period_end(AllowancePeriod::Month, test::at("2024-12-31 23:59:59")), test::at("2025-01-01 00:00:00"));
  EXPECT_EQ(period_end(AllowancePeriod::Month, test::at("2024-03-01 00:00:00")), test::at("2024-04-01 00:00:00"));
}

TEST(PolicySelection, AThrottleAsksToBeRevalidatedWhenTheFirstUsedUpPeriodEnds) {
  const GxPlanPolicies plan = plan_with_all();
  PolicyInputs in = active();
  in.now = test::at("2024-03-15 13:45:10");
  in.allowances = {{"fup", 1000, AllowancePeriod::Month, 400}, {"video", 50, AllowancePeriod::Day, 10}};
  EXPECT_FALSE(decide_policy(in, plan).revalidate_at);  // normal: nothing to wait for

  in.allowances[0].used = 1000;  // the monthly one used up
  PolicyDecision d = decide_policy(in, plan);
  ASSERT_EQ(d.state, PolicyState::Throttled);
  EXPECT_EQ(d.revalidate_at, test::at("2024-04-01 00:00:00"));

  in.allowances[1].used = 50;  // and the daily one: the earlier end first
  EXPECT_EQ(decide_policy(in, plan).revalidate_at, test::at("2024-03-16 00:00:00"));

  in.gy_credit_exhausted = true;  // hotlined: credit, not a period, ends it
  d = decide_policy(in, plan);
  EXPECT_EQ(d.state, PolicyState::OutOfCredit);
  EXPECT_FALSE(d.revalidate_at);
}

TEST(PolicySelection, TheEnforcementDigestChangesWithWhatTheGatewayEnforcesOnly) {
  GxPlanPolicies plan = plan_with_all();
  DynamicRule video;
  video.name = "video";
  video.precedence = 20;
  video.rating_group = 30;
  video.flows = {"permit out 17 from any to assigned 5000"};
  plan.normal.dynamic_rules = {video};
  plan.normal.event_triggers = {26};
  PolicyInputs in = active();
  in.now = test::at("2024-03-15 13:45:10");
  in.allowances = {{"fup", 1000, AllowancePeriod::Month, 400}};
  const std::string base = enforcement_digest(decide_policy(in, plan));
  ASSERT_EQ(base.size(), 16u);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos);

  // Not what moves with consumption or time, nor the policy's other columns.
  PolicyInputs later = in;
  later.allowances[0].used = 900;  // a smaller grant, same key
  later.now = test::at("2024-03-30 00:00:00");
  later.available = 5;
  EXPECT_EQ(enforcement_digest(decide_policy(later, plan)), base);
  GxPlanPolicies renamed = plan;
  renamed.normal.name = "renamed";
  renamed.normal.id = 99;  // compared apart, as policy_id
  EXPECT_EQ(enforcement_digest(decide_policy(in, renamed)), base);

  // Every edit an operator can make to what the PCEF enforces.
  const std::vector<std::pair<const char*, void (*)(GxPlanPolicies&)>> edits = {
      {"qci", [](GxPlanPolicies& p) { p.normal.qci = 8; }},
      {"arp priority", [](GxPlanPolicies& p) { p.normal.arp_priority = 2; }},
      {"may pre-empt", [](GxPlanPolicies& p) { p.normal.arp_may_preempt = true; }},
      {"pre-emptable", [](GxPlanPolicies& p) { p.normal.arp_preemptable = false; }},
      {"rate down", [](GxPlanPolicies& p) { p.normal.rate_limit_down_kbps = 200000; }},
      {"rate up removed", [](GxPlanPolicies& p) { p.normal.rate_limit_up_kbps.reset(); }},
      {"scaling", [](GxPlanPolicies& p) { p.normal.rate_limit_scaling_percent = 90; }},
      {"predefined rule", [](GxPlanPolicies& p) { p.normal.rule_names.push_back("extra"); }},
      {"base name", [](GxPlanPolicies& p) { p.normal.rule_base_names = {"base-svc"}; }},
      {"flow", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].flows = {"permit out 17 from any to assigned 6000"}; }},
      {"precedence", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].precedence = 21; }},
      {"rating group", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].rating_group.reset(); }},
      {"monitoring key", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].monitoring_key = "video"; }},
      {"redirect", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].redirect_url = "http://portal/"; }},
      {"online", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].online = true; }},
      {"offline", [](GxPlanPolicies& p) { p.normal.dynamic_rules[0].offline = true; }},
      {"event trigger", [](GxPlanPolicies& p) { p.normal.event_triggers = {26, 13}; }},
  };
  for (const auto& [what, edit] : edits) {
    GxPlanPolicies edited = plan;
    edit(edited);
    EXPECT_NE(enforcement_digest(decide_policy(in, edited)), base) << what;
  }
  // An allowance added or removed changes the monitoring keys.
  PolicyInputs more = in;
  more.allowances.push_back({"video", 50, AllowancePeriod::Day, 0});
  EXPECT_NE(enforcement_digest(decide_policy(more, plan)), base);
  // Moving a value from one field to the next is not the same decision.
  GxPlanPolicies a = plan, b = plan;
  a.normal.rule_names = {"ab"};
  a.normal.rule_base_names = {};
  b.normal.rule_names = {"a"};
  b.normal.rule_base_names = {"b"};
  EXPECT_NE(enforcement_digest(decide_policy(in, a)), enforcement_digest(decide_policy(in, b)));
  // A release enforces nothing.
  PolicyInputs blocked = in;
  blocked.status = SubscriberStatus::Blocked;
  GxPlanPolicies releasing = plan;
  releasing.release_on_block = true;
  EXPECT_EQ(enforcement_digest(decide_policy(blocked, releasing)), "");
}

TEST(PolicySelection, StateNamesRoundTrip) {
  for (auto s : {PolicyState::Normal, PolicyState::OutOfCredit, PolicyState::Blocked, PolicyState::Throttled})
    EXPECT_EQ(policy_state_from_string(to_string(s)), s);
  EXPECT_FALSE(policy_state_from_string("bogus"));
  EXPECT_EQ(allowance_period_from_string("day"), AllowancePeriod::Day);
  EXPECT_FALSE(allowance_period_from_string("week"));
}

}  // namespace
}  // namespace ocs
