// The Gx mapping without freeDiameter: CCR validation, answers per state,
// RAR contents.
#include "ocs/diameter/gx_model.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace ocs::gx {
namespace {

Ccr initial() {
  Ccr c;
  c.session_id = "pcef;1;1";
  c.origin_host = "pcef.localdomain";
  c.origin_realm = "localdomain";
  c.request_type = 1;
  c.request_number = 0;
  c.subscription_ids = {{0, "+491700000001"}, {1, "262010000000001"}};
  return c;
}

PolicyDecision normal_decision() {
  PolicyDecision d;
  d.policy.id = 7;
  d.policy.name = "normal";
  d.policy.qci = 8;
  d.policy.arp_priority = 3;
  d.policy.arp_may_preempt = true;
  d.policy.arp_preemptable = false;
  d.policy.rule_names = {"internet"};
  d.policy.event_triggers = {26};
  d.apn_ambr_ul = 1000;
  d.apn_ambr_dl = 2000;
  d.monitoring = {{"fup", 500}};
  return d;
}

struct RejectCase {
  const char* what;
  Ccr ccr;
  std::uint32_t code;
  std::uint32_t failed;
};

TEST(GxMapping, RejectsBadRequests) {
  const auto with = [](auto change) {
    Ccr c = initial();
    change(c);
    return c;
  };
  const std::vector<RejectCase> cases = {
      {"no CC-Request-Type", with([](Ccr& c) { c.request_type.reset(); }), 5005, 416},
      {"no CC-Request-Number", with([](Ccr& c) { c.request_number.reset(); }), 5005, 415},
      {"EVENT", with([](Ccr& c) { c.request_type = 4; }), 5004, 416},
      {"type 0", with([](Ccr& c) { c.request_type = 0; }), 5004, 416},
      {"no Subscription-Id", with([](Ccr& c) { c.subscription_ids.clear(); }), 5005, 443},
      {"bad Subscription-Id-Type", with([](Ccr& c) { c.subscription_ids = {{9, "x"}}; }), 5004, 450},
      {"empty Subscription-Id-Data", with([](Ccr& c) { c.subscription_ids = {{0, ""}}; }), 5004, 444},
      {"usage without key", with([](Ccr& c) { c.usage = {UsageMonitoring{std::nullopt, true, 5, {}, {}}}; }), 5004,
       1066},
      {"Subscription-Id-Data not UTF-8", with([](Ccr& c) { c.subscription_ids = {{1, "26201\xff"}}; }), 5004, 444},
      {"Session-Id not UTF-8", with([](Ccr& c) { c.session_id = "pgw;1;\xc0\xaf"; }), 5004, 263},
      {"Monitoring-Key not UTF-8",
       with([](Ccr& c) { c.usage = {UsageMonitoring{std::string("k\xff"), true, 5, {}, {}}}; }), 5004, 1066},
  };
  for (const auto& c : cases) {
    auto r = to_policy_request(c.ccr);
    ASSERT_TRUE(std::holds_alternative<Rejection>(r)) << c.what;
    EXPECT_EQ(std::get<Rejection>(r).answer.result_code, c.code) << c.what;
    EXPECT_EQ(std::get<Rejection>(r).answer.failed_avp, c.failed) << c.what;
  }
}

TEST(GxMapping, InitialBecomesAPolicyRequest) {
  auto r = to_policy_request(initial());
  ASSERT_TRUE(std::holds_alternative<store::PolicyRequest>(r));
  const auto& req = std::get<store::PolicyRequest>(r);
  EXPECT_EQ(req.kind, RequestKind::Initial);
  EXPECT_EQ(req.request_key, "0");
  ASSERT_EQ(req.identities.size(), 2u);
  EXPECT_EQ(req.identities[0].value, "491700000001");  // '+' dropped
  EXPECT_EQ(req.origin.protocol, "gx");
  EXPECT_EQ(req.origin.origin_host, "pcef.localdomain");
}

TEST(GxMapping, UsageReportsAddTheDirectionsWhenThereIsNoTotal) {
  Ccr c = initial();
  c.request_type = 2;
  c.request_number = 4;
  c.subscription_ids.clear();  // not needed on UPDATE
  c.usage = {UsageMonitoring{"fup", true, std::nullopt, 100, 50}, UsageMonitoring{"video", true, 7, 1, 1},
             UsageMonitoring{"idle", false, {}, {}, {}}};
  const auto req = std::get<store::PolicyRequest>(to_policy_request(c));
  EXPECT_EQ(req.kind, RequestKind::Update);
  ASSERT_EQ(req.usage.size(), 2u);
  EXPECT_EQ(req.usage[0].monitoring_key, "fup");
  EXPECT_EQ(req.usage[0].octets, 150u);
  EXPECT_EQ(req.usage[1].octets, 7u);
}

TEST(GxMapping, InitialAnswerCarriesTheWholePolicy) {
  store::PolicyResult r;
  r.decision = normal_decision();
  const Cca a = to_cca(initial(), r);
  EXPECT_EQ(a.result_code, 2001u);
  EXPECT_EQ(a.request_type, 1u);
  EXPECT_EQ(a.supported_features, kSupportedFeatures);
  ASSERT_TRUE(a.install);
  EXPECT_EQ(a.install->qci, 8u);
  EXPECT_EQ(a.install->arp_priority, 3u);
  EXPECT_EQ(a.install->preemption_capability, 0u);
  EXPECT_EQ(a.install->preemption_vulnerability, 1u);
  EXPECT_EQ(a.install->apn_ambr_dl, 2000u);
  EXPECT_EQ(a.install->rule_names, std::vector<std::string>{"internet"});
  EXPECT_EQ(a.install->event_triggers, (std::vector<std::uint32_t>{26, kTriggerUsageReport}));
  EXPECT_EQ(a.monitoring, (std::vector<MonitoringGrant>{{"fup", 500}}));
}

TEST(GxMapping, FeaturesAreWhatBothSidesSupport) {
  Ccr c = initial();
  EXPECT_EQ(negotiated_features(c), kSupportedFeatures);
  c.feature_list_id = 1;
  c.feature_list = 0x3;
  EXPECT_EQ(negotiated_features(c), 0x3u);
  c.feature_list = 0xffffffff;
  EXPECT_EQ(negotiated_features(c), kSupportedFeatures);
}

TEST(GxMapping, UpdateAnswersOnlyWhatChanged) {
  Ccr u = initial();
  u.request_type = 2;
  u.request_number = 1;
  store::PolicyResult r;
  r.decision = normal_decision();
  Cca a = to_cca(u, r);
  EXPECT_FALSE(a.install);
  EXPECT_TRUE(a.monitoring.empty());
  EXPECT_FALSE(a.supported_features);

  u.usage = {UsageMonitoring{"fup", true, 10, {}, {}}};  // a report gets a new grant
  a = to_cca(u, r);
  EXPECT_FALSE(a.install);
  EXPECT_EQ(a.monitoring, (std::vector<MonitoringGrant>{{"fup", 500}}));

  r.changed = true;
  r.remove.names = {"video"};
  a = to_cca(u, r);
  ASSERT_TRUE(a.install);
  EXPECT_EQ(a.remove.names, std::vector<std::string>{"video"});
}

TEST(GxMapping, AThrottleCarriesRevalidationTimeWithItsTrigger) {
  PolicyDecision d = normal_decision();
  d.state = PolicyState::Throttled;
  d.revalidate_at = TimePoint{std::chrono::seconds{1711929600}};  // 2024-04-01 00:00:00 UTC
  const std::uint32_t ntp = 1711929600u + 2208988800u;
  const PolicyInstall p = to_install(d);
  EXPECT_EQ(p.revalidation_time, ntp);
  EXPECT_EQ(p.event_triggers, (std::vector<std::uint32_t>{26, kTriggerUsageReport, kTriggerRevalidationTimeout}));
  // A policy that already asks for REVALIDATION_TIMEOUT gets it once.
  d.policy.event_triggers = {kTriggerRevalidationTimeout};
  EXPECT_EQ(to_install(d).event_triggers, (std::vector<std::uint32_t>{kTriggerRevalidationTimeout, kTriggerUsageReport}));
  d.policy.event_triggers = {26};

  // Still throttled at a CCR-U that changes nothing: no install, but the
  // time again with the whole trigger list (it replaces the gateway's).
  Ccr u = initial();
  u.request_type = 2;
  u.request_number = 1;
  store::PolicyResult r;
  r.decision = d;
  Cca a = to_cca(u, r);
  EXPECT_FALSE(a.install);
  ASSERT_TRUE(a.revalidation);
  EXPECT_EQ(a.revalidation->time, ntp);
  EXPECT_EQ(a.revalidation->event_triggers, (std::vector<std::uint32_t>{26, kTriggerUsageReport, kTriggerRevalidationTimeout}));

  // A change installs it with the policy; a normal decision has none.
  r.changed = true;
  a = to_cca(u, r);
  ASSERT_TRUE(a.install);
  EXPECT_EQ(a.install->revalidation_time, ntp);
  EXPECT_FALSE(a.revalidation);
  r.decision = normal_decision();
  a = to_cca(u, r);
  ASSERT_TRUE(a.install);
  EXPECT_FALSE(a.install->revalidation_time);
  EXPECT_EQ(a.install->event_triggers, (std::vector<std::uint32_t>{26, kTriggerUsageReport}));
  r.changed = false;
  EXPECT_FALSE(to_cca(u, r).revalidation);
}

TEST(GxMapping, StatusesAndReleaseMapToResultCodes) {
  store::PolicyResult r;
  r.status = store::ChargeStatus::UserUnknown;
  EXPECT_EQ(to_cca(initial(), r).result_code, 5030u);
  r.status = store::ChargeStatus::UnknownSession;
  EXPECT_EQ(to_cca(initial(), r).result_code, 5002u);
  r.status = store::ChargeStatus::Ok;
  r.decision.release = true;
  const Cca a = to_cca(initial(), r);
  EXPECT_EQ(a.result_code, kServiceDenied);
  EXPECT_FALSE(a.install);
  Ccr t = initial();
  t.request_type = 3;
  EXPECT_EQ(to_cca(t, r).result_code, 2001u);  // a terminate is always acknowledged
}

TEST(GxMapping, RarInstallsOrReleases) {
  store::PolicyChange change;
  change.decision = normal_decision();
  change.remove.names = {"hotline-redirect"};
  Rar rar = to_rar(change);
  ASSERT_TRUE(rar.install);
  EXPECT_FALSE(rar.release_cause);
  EXPECT_EQ(rar.remove.names, std::vector<std::string>{"hotline-redirect"});
  EXPECT_EQ(rar.monitoring.size(), 1u);
  change.decision.release = true;
  rar = to_rar(change);
  EXPECT_FALSE(rar.install);
  EXPECT_EQ(rar.release_cause, kReleaseUeSubscription);
}

}  // namespace
}  // namespace ocs::gx
