// Gx end to end: Debian's freeDiameterd with dict_ocs.fdx and ocs.fdx, a real
// PostgreSQL, and the project's independent client (tools/diameter) as the
// PCEF (and, for the Gy <-> Gx link, as the Gy client too).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include <pqxx/pqxx>

#include "codec.hpp"
#include "fd_daemon.hpp"
#include "gx_messages.hpp"
#include "gy_messages.hpp"
#include "ocs_daemon.hpp"
#include "peer.hpp"
#include "pg_test_db.hpp"
#include "tshark_capture.hpp"

namespace ocs::test {
namespace {

using dia::Avp;
using dia::Message;
namespace code = dia::code;
namespace gx = dia::gx;
namespace gy = dia::gy;
using Names = std::vector<std::string>;
constexpr std::uint32_t V = dia::kVendor3gpp;
constexpr std::uint64_t MiB = 1024 * 1024;

// Plan 'gx': normal (gx-normal), out of credit (gx-hotline), blocked
// (gx-blocked), throttled past 100 MiB a month on key 'fup' (gx-throttled).
// Plan 'gx-release' releases on block; plan 'gx-plain' has another policy.
const char* kSetupSql = R"SQL(
INSERT INTO policies (name, validity_time, rate_limit_up_kbps, rate_limit_down_kbps, rate_limit_scaling_percent,
                      qci, arp_priority, arp_may_preempt, arp_preemptable, gx_rule_names, gx_rule_base_names,
                      gx_event_triggers, gy_exhausted_action, final_unit_action, hotline_url)
VALUES ('gx-normal', 600, 10000, 50000, 80, 9, 5, true, false, '{internet}', '{base-svc}', '{26}', 'throttle',
        'redirect', 'http://portal.localdomain/topup');
INSERT INTO gx_rules (policy_id, name, precedence, rating_group, monitoring_key, flows, online)
SELECT id, 'video', 20, 30, 'video', '{"permit out 17 from any to assigned 5000"}', true
FROM policies WHERE name = 'gx-normal';
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, qci, arp_priority)
VALUES ('gx-hotline', 256, 512, 9, 15);
INSERT INTO gx_rules (policy_id, name, precedence, flows, redirect_url)
SELECT id, 'hotline-redirect', 10, '{"permit out 6 from any to assigned 80"}', 'http://portal.localdomain/topup'
FROM policies WHERE name = 'gx-hotline';
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, gx_rule_names)
VALUES ('gx-blocked', 64, 64, '{walled-garden}');
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, gx_rule_names)
VALUES ('gx-throttled', 1000, 1000, '{internet}');
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, gx_rule_names)
VALUES ('gx-plain', 2000, 4000, '{plain-internet}');

INSERT INTO plans (name, policy_id, gx_hotline_policy_id, gx_blocked_policy_id, gx_throttled_policy_id)
SELECT 'gx', n.id, h.id, b.id, t.id FROM policies n, policies h, policies b, policies t
WHERE n.name = 'gx-normal' AND h.name = 'gx-hotline' AND b.name = 'gx-blocked' AND t.name = 'gx-throttled';
INSERT INTO plans (name, policy_id, gx_blocked_policy_id, gx_release_on_block)
SELECT 'gx-release', n.id, b.id, true FROM policies n, policies b WHERE n.name = 'gx-normal' AND b.name = 'gx-blocked';
INSERT INTO plans (name, policy_id) SELECT 'gx-plain', id FROM policies WHERE name = 'gx-plain';
INSERT INTO usage_allowances (plan_id, monitoring_key, octets, period)
SELECT id, 'fup', 104857600, 'month' FROM plans WHERE name = 'gx';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant)
SELECT id, 10, 'octets_total', 1048576, 10485760, 104857600 FROM plans WHERE name = 'gx';
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block)
SELECT g.id, 2 FROM plan_rating_groups g JOIN plans p ON p.id = g.plan_id WHERE p.name = 'gx';
)SQL";

class GxEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->exec(kSetupSql);
    const std::string toml = "[database]\ndsn = \"" + db_->dsn() +
                             "\"\npool_size = 4\n[log]\nlevel = \"info\"\n"
                             "[gy]\ndefault_rating_group = 10\npeer_answer_timeout_ms = 2000\n"
                             "[gx]\nworkers = 2\n";
    daemon_ = new FdDaemon(ocs_daemon(toml));
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    dia::PeerConfig c;
    c.port = daemon_->port();
    c.origin_host = "pcef.localdomain";
    c.auth_apps = {4};
    c.vendor_apps = {{V, gx::kApp}};
    peer_ = std::make_unique<dia::Peer>(c);
    peer_->connect_retrying();
  }
  void TearDown() override {
    peer_->close();
    if (HasFailure()) std::cerr << "--- freeDiameterd log tail ---\n" << daemon_->log_tail(60) << "\n";
  }

  static void subscriber(const std::string& id, const std::string& msisdn, long balance,
                         const std::string& plan = "gx", const std::string& status = "active") {
    db_->exec("INSERT INTO subscribers (external_id, plan_id, status) SELECT '" + id + "', id, '" + status +
              "' FROM plans WHERE name = '" + plan +
              "';"
              "INSERT INTO subscriber_identities (subscriber_id, kind, value) SELECT id, 'msisdn', '" +
              msisdn + "' FROM subscribers WHERE external_id = '" + id +
              "';"
              "INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', " +
              std::to_string(balance) + " FROM subscribers WHERE external_id = '" + id + "';");
  }
  static std::string sub(const std::string& id) {
    return "(SELECT id FROM subscribers WHERE external_id = '" + id + "')";
  }
  /// The plan's monthly 'fup' allowance (100 MiB) used up this month.
  static void use_up_this_months_allowance(const std::string& id) {
    db_->exec("INSERT INTO usage_counters (subscriber_id, monitoring_key, period_start, octets) SELECT " + sub(id) +
              ", 'fup', date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', 104857600");
  }
  static void topup(const std::string& id, long amount) {
    db_->exec("UPDATE accounts SET balance = balance + " + std::to_string(amount) +
              " WHERE subscriber_id = " + sub(id));
  }
  static long query_long(const std::string& sql) { return db_->query_long(sql); }
  static std::string query_text(const std::string& sql) { return db_->query_value(sql).value_or(""); }
  /// 00:00 UTC on the first of next month (the database's clock), in NTP
  /// seconds as a Time AVP carries it.
  static std::uint32_t next_month_ntp() {
    return static_cast<std::uint32_t>(query_long(
        "SELECT extract(epoch FROM (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') "
        "AT TIME ZONE 'UTC')::bigint + 2208988800"));
  }

  Message send(Message m) {
    auto a = peer_->request(std::move(m), std::chrono::seconds(10));
    if (!a) throw std::runtime_error("no answer");
    return *a;
  }
  Message initial(const std::string& sid, const std::string& msisdn) {
    return send(gx::initial(sid, peer_->config().origin_host, msisdn));
  }
  Message update(const std::string& sid, std::uint32_t number, std::vector<Avp> extra = {}) {
    Message m = gx::ccr(sid, peer_->config().origin_host, "localdomain", gx::kUpdate, number);
    for (auto& x : extra) m.add(std::move(x));
    return send(m);
  }
  Message terminate(const std::string& sid, std::uint32_t number) {
    return send(gx::ccr(sid, peer_->config().origin_host, "localdomain", gx::kTermination, number));
  }

  /// The next Gx RAR for `sid` after the first `skip` ones, waiting up to 10 s.
  std::optional<Message> rar_for(const std::string& sid, std::size_t skip = 0) {
    for (int i = 0; i < 100; ++i) {
      std::size_t seen = 0;
      for (const auto& r : peer_->received_requests())
        if (r.code == code::RAR && r.app_id == gx::kApp && r.find(code::SessionId)->as_str() == sid && seen++ == skip)
          return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }
  std::size_t rar_count(const std::string& sid) {
    std::size_t n = 0;
    for (const auto& r : peer_->received_requests())
      if (r.code == code::RAR && r.app_id == gx::kApp && r.find(code::SessionId)->as_str() == sid) ++n;
    return n;
  }
  static Names sorted(Names n) {
    std::sort(n.begin(), n.end());
    return n;
  }
  /// `n` subscribers of plan 'gx' named `prefix`-i, each with an open Gx
  /// session `prefix`;<id> that has no PCEF to send to (an empty
  /// Origin-Host): they make a configuration sweep last seconds.
  static void idle_gx_sessions(const std::string& prefix, int n) {
    db_->exec("INSERT INTO subscribers (external_id, plan_id) SELECT '" + prefix +
              "-' || i, (SELECT id FROM plans WHERE name = 'gx') FROM generate_series(1, " + std::to_string(n) +
              ") i;"
              "INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', 1000 FROM subscribers "
              "WHERE external_id LIKE '" + prefix + "-%';"
              "INSERT INTO charging_sessions (id, subscriber_id, protocol, origin_host, origin_realm, "
              "last_request_key) SELECT '" + prefix + ";' || id, id, 'gx', '', '', '0' FROM subscribers "
              "WHERE external_id LIKE '" + prefix + "-%'");
  }
  static void close_gx_sessions(const std::string& prefix) {
    db_->exec("UPDATE charging_sessions SET state = 'closed' WHERE id LIKE '" + prefix + ";%'");
  }
  /// How often `what` occurs in `text` (log lines).
  static std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  static TestDatabase* db_;
  static FdDaemon* daemon_;
  std::unique_ptr<dia::Peer> peer_;
};

TestDatabase* GxEndToEnd::db_ = nullptr;
FdDaemon* GxEndToEnd::daemon_ = nullptr;

TEST_F(GxEndToEnd, CapabilitiesExchangeAdvertisesGx) {
  bool gx = false;
  for (const Avp* v : peer_->capabilities_answer().find_all(code::VendorSpecificApplicationId)) {
    auto app = v->child(code::AuthApplicationId);
    auto vendor = v->child(code::VendorId);
    if (app && vendor && app->as_u32() == gx::kApp && vendor->as_u32() == V) gx = true;
  }
  EXPECT_TRUE(gx) << "Vendor-Specific-Application-Id {10415, 16777238} in CEA";
}

TEST_F(GxEndToEnd, InitialAnswerHasTheShapeOpen5gsAccepts) {
  subscriber("shape", "491720000001", 1000);
  const std::string sid = peer_->new_session_id("shape");
  const Message a = initial(sid, "491720000001");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(a.app_id, gx::kApp);
  EXPECT_EQ(a.find(code::AuthApplicationId)->as_u32(), gx::kApp);
  EXPECT_EQ(a.find(code::CcRequestType)->as_u32(), 1u);
  EXPECT_EQ(a.find(code::CcRequestNumber)->as_u32(), 0u);
  // APN-AMBR: the policy's rate limits x 80 %.
  const Avp* qos = a.find(gx::code::QosInformation, V);
  ASSERT_TRUE(qos);
  EXPECT_EQ(qos->child(gx::code::ApnAmbrUl, V)->as_u32(), 8000000u);
  EXPECT_EQ(qos->child(gx::code::ApnAmbrDl, V)->as_u32(), 40000000u);
  // A complete Default-EPS-Bearer-QoS.
  const Avp* def = a.find(gx::code::DefaultEpsBearerQos, V);
  ASSERT_TRUE(def);
  EXPECT_EQ(def->child(gx::code::Qci, V)->as_u32(), 9u);
  auto arp = def->child(gx::code::Arp, V);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->child(gx::code::PriorityLevel, V)->as_u32(), 5u);
  EXPECT_EQ(arp->child(gx::code::PreemptionCapability, V)->as_u32(), 0u);    // may pre-empt
  EXPECT_EQ(arp->child(gx::code::PreemptionVulnerability, V)->as_u32(), 1u);  // not pre-emptable
  const Avp* sf = a.find(gx::code::SupportedFeatures, V);
  ASSERT_TRUE(sf);
  EXPECT_EQ(sf->child(code::VendorId)->as_u32(), V);
  EXPECT_EQ(sf->child(gx::code::FeatureListId, V)->as_u32(), 1u);
  EXPECT_EQ(sf->child(gx::code::FeatureList, V)->as_u32(), 3u);  // what both support
  // Rules: the dynamic one with its flow, predefined name and base name.
  EXPECT_EQ(sorted(gx::installed(a)), (Names{"base-svc", "internet", "video"}));
  const Avp* install = a.find(gx::code::ChargingRuleInstall, V);
  auto defn = install->child(gx::code::ChargingRuleDefinition, V);
  ASSERT_TRUE(defn);
  EXPECT_EQ(defn->child(code::RatingGroup)->as_u32(), 30u);
  EXPECT_EQ(defn->child(gx::code::Precedence, V)->as_u32(), 20u);
  EXPECT_EQ(defn->child(gx::code::MonitoringKey, V)->as_str(), "video");
  EXPECT_EQ(defn->child(gx::code::FlowInformation, V)->child(gx::code::FlowDescription, V)->as_str(),
            "permit out 17 from any to assigned 5000");
  EXPECT_EQ(defn->child(gx::code::Online, V)->as_u32(), 1u);
  // Event triggers: the policy's, plus USAGE_REPORT for the allowance.
  Names triggers;
  for (const Avp* t : a.find_all(gx::code::EventTrigger, V)) triggers.push_back(std::to_string(t->as_u32()));
  EXPECT_EQ(sorted(triggers), (Names{"26", "33"}));
  EXPECT_EQ(gx::monitoring_grants(a), (std::vector<std::pair<std::string, std::uint64_t>>{{"fup", 100 * MiB}}));

  // CCR-U without news: 2001, nothing installed.
  Message u = update(sid, 1);
  EXPECT_EQ(u.result_code(), 2001u);
  EXPECT_TRUE(gx::installed(u).empty());
  EXPECT_FALSE(u.find(gx::code::DefaultEpsBearerQos, V));
  // CCR-T closes the session.
  EXPECT_EQ(terminate(sid, 2).result_code(), 2001u);
  EXPECT_EQ(query_text("SELECT state || '/' || close_reason FROM charging_sessions WHERE id = '" + sid + "'"),
            "closed/terminate");
  EXPECT_EQ(query_text("SELECT protocol FROM charging_sessions WHERE id = '" + sid + "'"), "gx");
  // After it, the session is unknown.
  EXPECT_EQ(update(sid, 3).result_code(), 5002u);
}

TEST_F(GxEndToEnd, EachStateHasItsAnswer) {
  // Out of credit: no money, no bucket -> the hotline policy.
  subscriber("broke", "491720000010", 0);
  Message a = initial(peer_->new_session_id(), "491720000010");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gx::installed(a), (Names{"hotline-redirect"}));
  EXPECT_EQ(gx::ambr_dl(a), 512000u);
  auto redirect = a.find(gx::code::ChargingRuleInstall, V)
                      ->child(gx::code::ChargingRuleDefinition, V)
                      ->child(gx::code::RedirectInformation, V);
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->child(gx::code::RedirectSupport, V)->as_u32(), 1u);
  EXPECT_EQ(redirect->child(code::RedirectServerAddress)->as_str(), "http://portal.localdomain/topup");
  EXPECT_TRUE(gx::monitoring_grants(a).empty());
  ASSERT_TRUE(a.find(gx::code::DefaultEpsBearerQos, V));
  EXPECT_EQ(a.find(gx::code::DefaultEpsBearerQos, V)->child(gx::code::Arp, V)->child(gx::code::PriorityLevel, V)->as_u32(),
            15u);

  // Blocked -> the blocked policy.
  subscriber("blocked", "491720000011", 1000, "gx", "blocked");
  a = initial(peer_->new_session_id(), "491720000011");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gx::installed(a), (Names{"walled-garden"}));
  EXPECT_EQ(gx::ambr_dl(a), 64000u);

  // Blocked on a plan that releases: refused.
  subscriber("released", "491720000012", 1000, "gx-release", "blocked");
  const std::string rsid = peer_->new_session_id();
  a = initial(rsid, "491720000012");
  EXPECT_EQ(a.result_code(), 4010u);
  EXPECT_TRUE(gx::installed(a).empty());
  EXPECT_EQ(query_text("SELECT state FROM charging_sessions WHERE id = '" + rsid + "'"), "closed");

  // Allowance already used up this month -> throttled.
  subscriber("heavy", "491720000013", 1000);
  use_up_this_months_allowance("heavy");
  a = initial(peer_->new_session_id(), "491720000013");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gx::installed(a), (Names{"internet"}));
  EXPECT_EQ(gx::ambr_dl(a), 1000000u);
  EXPECT_TRUE(gx::monitoring_grants(a).empty());
}

TEST_F(GxEndToEnd, UsageMonitoringThrottlesThisSessionAndRarsTheOthers) {
  subscriber("fup", "491720000020", 1000);
  const std::string one = peer_->new_session_id("fup1");
  const std::string two = peer_->new_session_id("fup2");
  ASSERT_EQ(initial(one, "491720000020").result_code(), 2001u);
  ASSERT_EQ(initial(two, "491720000020").result_code(), 2001u);

  // 60 MiB used: still normal, a new grant for what is left.
  Message u = update(one, 1, {gx::usage_report("fup", 20 * MiB, 40 * MiB)});
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_TRUE(gx::installed(u).empty());
  EXPECT_EQ(gx::monitoring_grants(u), (std::vector<std::pair<std::string, std::uint64_t>>{{"fup", 40 * MiB}}));
  // The same request again (a retransmission) is not counted twice.
  u = update(one, 1, {gx::usage_report("fup", 20 * MiB, 40 * MiB)});
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_EQ(query_long("SELECT octets FROM usage_counters WHERE subscriber_id = " + sub("fup")), 60 * static_cast<long>(MiB));

  // 50 MiB more: past the allowance. This answer throttles directly.
  u = update(one, 2, {gx::usage_report("fup", 10 * MiB, 40 * MiB)});
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_EQ(gx::installed(u), (Names{"internet"}));
  EXPECT_EQ(sorted(gx::removed(u)), (Names{"base-svc", "video"}));
  EXPECT_EQ(gx::ambr_dl(u), 1000000u);
  EXPECT_TRUE(u.find(gx::code::DefaultEpsBearerQos, V));
  EXPECT_TRUE(gx::monitoring_grants(u).empty());
  EXPECT_EQ(query_text("SELECT policy_state FROM gx_sessions WHERE session_id = '" + one + "'"), "throttled");
  // Back when the month turns (Revalidation-Time, NTP seconds).
  const std::uint32_t next_month = next_month_ntp();
  EXPECT_EQ(gx::revalidation_time(u), next_month);

  // The other session gets a RAR with the same policy; this one none.
  auto rar = rar_for(two);
  ASSERT_TRUE(rar);
  EXPECT_EQ(rar->find(code::AuthApplicationId)->as_u32(), gx::kApp);
  EXPECT_EQ(rar->find(code::ReAuthRequestType)->as_u32(), 0u);
  EXPECT_EQ(rar->find(code::DestinationHost)->as_str(), "pcef.localdomain");
  EXPECT_EQ(gx::installed(*rar), (Names{"internet"}));
  EXPECT_EQ(sorted(gx::removed(*rar)), (Names{"base-svc", "video"}));
  EXPECT_EQ(gx::ambr_dl(*rar), 1000000u);
  EXPECT_TRUE(rar->find(gx::code::DefaultEpsBearerQos, V));
  EXPECT_EQ(gx::revalidation_time(*rar), next_month);
  EXPECT_EQ(gx::event_triggers(*rar), (std::vector<std::uint32_t>{17}));
  EXPECT_EQ(rar_count(one), 0u);
  EXPECT_EQ(query_text("SELECT policy_state FROM gx_sessions WHERE session_id = '" + two + "'"), "throttled");
}

// Nothing happens at the turn of the month that would lift a fair-usage
// throttle, so the throttled answer asks the PCEF to come back then
// (Revalidation-Time with Event-Trigger REVALIDATION_TIMEOUT); its CCR-U in
// the new period gets the normal policy back.
TEST_F(GxEndToEnd, AThrottleAsksForRevalidationAtThePeriodEndWhichLiftsIt) {
  constexpr std::uint32_t kRevalidationTimeout = 17;
  subscriber("monthend", "491720000065", 1000);
  use_up_this_months_allowance("monthend");
  const std::uint32_t next_month = next_month_ntp();
  const std::string sid = peer_->new_session_id("monthend");
  Message a = initial(sid, "491720000065");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gx::installed(a), (Names{"internet"}));  // throttled
  EXPECT_EQ(gx::revalidation_time(a), next_month);
  EXPECT_EQ(gx::event_triggers(a), (std::vector<std::uint32_t>{kRevalidationTimeout}));

  // A CCR-U that comes before the period ends (a clock ahead of ours):
  // still throttled, nothing to install, the same time asked again.
  Message u = update(sid, 1, {Avp::u32(gx::code::EventTrigger, kRevalidationTimeout, V)});
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_TRUE(gx::installed(u).empty());
  EXPECT_EQ(gx::revalidation_time(u), next_month);
  EXPECT_EQ(gx::event_triggers(u), (std::vector<std::uint32_t>{kRevalidationTimeout}));

  // The month turns (the counter becomes last month's): the CCR-U at the
  // Revalidation-Time lifts the throttle, and asks for nothing more.
  db_->exec("UPDATE usage_counters SET period_start = period_start - interval '1 month' WHERE subscriber_id = " +
            sub("monthend"));
  u = update(sid, 2, {Avp::u32(gx::code::EventTrigger, kRevalidationTimeout, V)});
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_EQ(sorted(gx::installed(u)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(gx::ambr_dl(u), 40000000u);
  EXPECT_FALSE(gx::revalidation_time(u));
  // The normal policy's own trigger and USAGE_REPORT for the new grant.
  EXPECT_EQ(gx::event_triggers(u), (std::vector<std::uint32_t>{26, 33}));
  EXPECT_EQ(gx::monitoring_grants(u), (std::vector<std::pair<std::string, std::uint64_t>>{{"fup", 100 * MiB}}));
  EXPECT_EQ(query_text("SELECT policy_state FROM gx_sessions WHERE session_id = '" + sid + "'"), "normal");
}

TEST_F(GxEndToEnd, TopUpLiftsTheHotlineWithRar) {
  subscriber("topup", "491720000030", 0);
  const std::string sid = peer_->new_session_id("topup");
  ASSERT_EQ(gx::installed(initial(sid, "491720000030")), (Names{"hotline-redirect"}));
  topup("topup", 500);
  auto rar = rar_for(sid);
  ASSERT_TRUE(rar);
  EXPECT_EQ(sorted(gx::installed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(gx::removed(*rar), (Names{"hotline-redirect"}));
  EXPECT_EQ(gx::ambr_dl(*rar), 40000000u);
  EXPECT_EQ(gx::monitoring_grants(*rar), (std::vector<std::pair<std::string, std::uint64_t>>{{"fup", 100 * MiB}}));
}

TEST_F(GxEndToEnd, BlockAndUnblockSendRars) {
  subscriber("toblock", "491720000040", 1000);
  const std::string sid = peer_->new_session_id("toblock");
  ASSERT_EQ(initial(sid, "491720000040").result_code(), 2001u);
  db_->exec("UPDATE subscribers SET status = 'blocked' WHERE external_id = 'toblock'");
  auto rar = rar_for(sid);
  ASSERT_TRUE(rar);
  EXPECT_EQ(gx::installed(*rar), (Names{"walled-garden"}));
  EXPECT_EQ(sorted(gx::removed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_FALSE(rar->find(gx::code::SessionReleaseCause, V));
  db_->exec("UPDATE subscribers SET status = 'active' WHERE external_id = 'toblock'");
  rar = rar_for(sid, 1);
  ASSERT_TRUE(rar);
  EXPECT_EQ(sorted(gx::installed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(gx::removed(*rar), (Names{"walled-garden"}));
}

TEST_F(GxEndToEnd, BlockOnAReleasingPlanEndsTheSession) {
  subscriber("release", "491720000050", 1000, "gx-release");
  const std::string sid = peer_->new_session_id("release");
  ASSERT_EQ(initial(sid, "491720000050").result_code(), 2001u);
  db_->exec("UPDATE subscribers SET status = 'blocked' WHERE external_id = 'release'");
  auto rar = rar_for(sid);
  ASSERT_TRUE(rar);
  ASSERT_TRUE(rar->find(gx::code::SessionReleaseCause, V));
  EXPECT_EQ(rar->find(gx::code::SessionReleaseCause, V)->as_u32(), 1u);  // UE_SUBSCRIPTION_REASON
  EXPECT_TRUE(gx::installed(*rar).empty());
  // The PCEF ends the session with CCR-T.
  EXPECT_EQ(terminate(sid, 1).result_code(), 2001u);
  EXPECT_EQ(query_text("SELECT state FROM charging_sessions WHERE id = '" + sid + "'"), "closed");
}

TEST_F(GxEndToEnd, GyRunningOutOfCreditThrottlesThroughGx) {
  // Money only in a bucket of another rating group: Gx starts normal, Gy
  // finds nothing for rating group 10 and hotlines it.
  subscriber("link", "491720000060", 0);
  db_->exec("INSERT INTO buckets (subscriber_id, rating_group, unit_family, initial_units, remaining) SELECT " +
            sub("link") + ", 99, 'octets', 1000, 1000");
  const std::string gx_sid = peer_->new_session_id("link-gx");
  ASSERT_EQ(sorted(gx::installed(initial(gx_sid, "491720000060"))), (Names{"base-svc", "internet", "video"}));

  const std::string gy_sid = peer_->new_session_id("link-gy");
  Message ccr = gy::ccr(gy_sid, "pcef.localdomain", "localdomain", gy::kInitial, 0);
  ccr.add(gy::subscription_id(0, "491720000060"));
  ccr.add(gy::mscc(10));
  Message a = send(ccr);
  ASSERT_EQ(a.result_code(), 2001u);  // hotlined (FUI redirect), the Gy session stays open
  ASSERT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '" + gy_sid + "'"), "exhausted");

  auto rar = rar_for(gx_sid);
  ASSERT_TRUE(rar) << "Gy refused credit: Gx installs the hotline";
  EXPECT_EQ(gx::installed(*rar), (Names{"hotline-redirect"}));
  EXPECT_EQ(gx::ambr_dl(*rar), 512000u);

  // A top-up: Gy re-authorises (its own RAR), the client comes back, gets
  // quota, and Gx lifts the hotline.
  topup("link", 500);
  Message u = gy::ccr(gy_sid, "pcef.localdomain", "localdomain", gy::kUpdate, 1);
  u.add(gy::mscc(10));
  ASSERT_EQ(send(u).result_code(), 2001u);
  rar = rar_for(gx_sid, 1);
  ASSERT_TRUE(rar);
  EXPECT_EQ(sorted(gx::installed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(gx::removed(*rar), (Names{"hotline-redirect"}));
}

TEST_F(GxEndToEnd, PlanChangeSendsTheNewPolicy) {
  subscriber("mover", "491720000070", 1000);
  const std::string sid = peer_->new_session_id("mover");
  ASSERT_EQ(initial(sid, "491720000070").result_code(), 2001u);
  db_->exec("UPDATE subscribers SET plan_id = (SELECT id FROM plans WHERE name = 'gx-plain') "
            "WHERE external_id = 'mover'");
  auto rar = rar_for(sid);
  ASSERT_TRUE(rar);
  EXPECT_EQ(gx::installed(*rar), (Names{"plain-internet"}));
  EXPECT_EQ(sorted(gx::removed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(gx::ambr_dl(*rar), 4000000u);
  EXPECT_TRUE(gx::monitoring_grants(*rar).empty());  // the new plan has no allowance
}

TEST_F(GxEndToEnd, AnOperatorsEditOfThePolicyInForceReachesTheSessionByRar) {
  // A plan and policy of its own: the edits below must not move the other
  // tests' sessions.
  db_->exec(R"SQL(
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, qci, gx_rule_names)
VALUES ('gx-edit', 1000, 2000, 9, '{edit-internet}');
INSERT INTO gx_rules (policy_id, name, precedence, flows, online)
SELECT id, 'edit-video', 20, '{"permit out 17 from any to assigned 5000"}', true FROM policies WHERE name = 'gx-edit';
INSERT INTO plans (name, policy_id) SELECT 'gx-edit', id FROM policies WHERE name = 'gx-edit';
)SQL");
  subscriber("edited", "491720000086", 1000, "gx-edit");
  const std::string sid = peer_->new_session_id("edited");
  Message a = initial(sid, "491720000086");
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gx::ambr_dl(a), 2000000u);
  const auto qci = [](const Message& m) {
    const Avp* def = m.find(gx::code::DefaultEpsBearerQos, V);
    return def ? std::optional(def->child(gx::code::Qci, V)->as_u32()) : std::nullopt;
  };
  const auto flow = [](const Message& m) -> std::string {
    const Avp* install = m.find(gx::code::ChargingRuleInstall, V);
    auto defn = install ? install->child(gx::code::ChargingRuleDefinition, V) : std::nullopt;
    return defn ? defn->child(gx::code::FlowInformation, V)->child(gx::code::FlowDescription, V)->as_str() : "";
  };

  // The operator raises the rate and the QoS class, in plain SQL: no
  // account event, the same state and the same policy id.
  db_->exec("UPDATE policies SET rate_limit_down_kbps = 8000, qci = 8 WHERE name = 'gx-edit'");
  auto rar = rar_for(sid);
  ASSERT_TRUE(rar);
  EXPECT_EQ(gx::ambr_dl(*rar), 8000000u);
  EXPECT_EQ(qci(*rar), 8u);
  EXPECT_EQ(sorted(gx::installed(*rar)), (Names{"edit-internet", "edit-video"}));
  EXPECT_TRUE(gx::removed(*rar).empty());

  // A column the PCEF does not see (Gy's validity time): no RAR. Then a
  // dynamic rule's flow: the next RAR is that one, with the new flow.
  db_->exec("UPDATE policies SET validity_time = 900 WHERE name = 'gx-edit'");
  db_->exec("UPDATE gx_rules SET flows = '{\"permit out 17 from any to assigned 6000\"}' WHERE name = 'edit-video'");
  rar = rar_for(sid, 1);
  ASSERT_TRUE(rar);
  EXPECT_EQ(flow(*rar), "permit out 17 from any to assigned 6000");
  EXPECT_EQ(gx::ambr_dl(*rar), 8000000u);
  EXPECT_EQ(query_text("SELECT policy_state FROM gx_sessions WHERE session_id = '" + sid + "'"), "normal");

  // Nothing new: a CCR-U installs nothing, and no third RAR came.
  Message u = update(sid, 1);
  ASSERT_EQ(u.result_code(), 2001u);
  EXPECT_TRUE(gx::installed(u).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(rar_count(sid), 2u);
  EXPECT_NE(daemon_->log_tail(400).find("configuration changed"), std::string::npos);
}

TEST_F(GxEndToEnd, ATopUpDuringALongSweepIsNotKeptWaitingForIt) {
  // 3,000 other open Gx sessions (no PCEF to send to: an empty Origin-Host)
  // make a configuration sweep last seconds. A top-up that comes during it
  // is handled between two of its slices, not after it.
  idle_gx_sessions("sweep", 3000);
  subscriber("swept", "491720000087", 0);  // the last id: the sweep reaches it last
  const std::string sid = peer_->new_session_id("swept");
  ASSERT_EQ(gx::installed(initial(sid, "491720000087")), (Names{"hotline-redirect"}));
  const auto count = occurrences;
  const std::string started = "gx configuration changed: re-checking the Gx sessions of";
  const std::string finished = "gx configuration changed: 30";  // "3001 subscriber(s) re-checked", or more

  db_->exec("UPDATE policies SET validity_time = validity_time + 1 WHERE name = 'gx-normal'");
  for (int i = 0; i < 100 && count(daemon_->log(), started + " 30") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  topup("swept", 500);
  auto rar = rar_for(sid);
  const std::string log = daemon_->log();
  ASSERT_TRUE(rar);
  EXPECT_EQ(sorted(gx::installed(*rar)), (Names{"base-svc", "internet", "video"}));
  EXPECT_EQ(count(log, started + " 30"), 1u);
  EXPECT_EQ(count(log, finished), 0u) << "the RAR waited for the whole sweep";
  // The sweep goes on to its end.
  for (int i = 0; i < 600 && count(daemon_->log(), finished) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count(daemon_->log(), finished), 1u);
  close_gx_sessions("sweep");
}

TEST_F(GxEndToEnd, ASweepTheDatabaseCannotServePausesAndResumes) {
  // A sweep over 3,000 Gx sessions loses its database: it pauses (one log
  // line a second, no busy loop), and finishes once the database is back.
  idle_gx_sessions("outage", 3000);
  const auto count = occurrences;
  const auto admin = [](const std::string& sql) {
    pqxx::connection c(admin_dsn());
    pqxx::nontransaction(c).exec(sql);
  };
  const std::size_t finished_before = count(daemon_->log(), "subscriber(s) re-checked");
  const std::size_t started_before = count(daemon_->log(), "re-checking the Gx sessions of 30");
  db_->exec("UPDATE policies SET validity_time = validity_time + 1 WHERE name = 'gx-normal'");
  for (int i = 0; i < 100 && count(daemon_->log(), "re-checking the Gx sessions of 30") == started_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // No new connection, and the daemon's are cut.
  admin("ALTER DATABASE " + db_->name() + " ALLOW_CONNECTIONS false");
  admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_->name() + "'");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string during = daemon_->log();
  admin("ALTER DATABASE " + db_->name() + " ALLOW_CONNECTIONS true");
  const std::size_t paused = count(during, "sweep paused");
  EXPECT_GE(paused, 1u) << daemon_->log_tail(40);
  EXPECT_LE(paused, 6u) << "a busy loop while the database is down";
  EXPECT_EQ(count(during, "subscriber(s) re-checked"), finished_before) << "the sweep skipped everyone";
  // Back: the sweep ends (restarted by the listener's reconnection).
  for (int i = 0; i < 600 && count(daemon_->log(), "subscriber(s) re-checked") == finished_before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(count(daemon_->log(), "subscriber(s) re-checked"), finished_before) << daemon_->log_tail(40);
  close_gx_sessions("outage");
}

TEST_F(GxEndToEnd, RarAnsweredUnknownSessionClosesIt) {
  subscriber("forgot", "491720000080", 1000);
  const std::string sid = peer_->new_session_id("forgot");
  ASSERT_EQ(initial(sid, "491720000080").result_code(), 2001u);
  peer_->forget_session(sid);
  db_->exec("UPDATE subscribers SET status = 'blocked' WHERE external_id = 'forgot'");
  const std::string closed = "SELECT count(*) FROM charging_sessions WHERE id = '" + sid +
                             "' AND state = 'closed' AND close_reason = 'client: unknown session'";
  for (int i = 0; i < 100 && query_long(closed) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(query_long(closed), 1);
}

TEST_F(GxEndToEnd, RarToAPcefThatIsGoneIsLoggedAndHarmless) {
  subscriber("gone", "491720000085", 1000);
  {
    dia::PeerConfig c;
    c.port = daemon_->port();
    c.origin_host = "pcef-gone.localdomain";
    c.vendor_apps = {{V, gx::kApp}};
    dia::Peer gone(c);
    gone.connect_retrying();
    auto a = gone.request(gx::initial(gone.new_session_id(), "pcef-gone.localdomain", "491720000085"),
                          std::chrono::seconds(10));
    ASSERT_TRUE(a);
    ASSERT_EQ(a->result_code(), 2001u);
    gone.close();
  }
  db_->exec("UPDATE subscribers SET status = 'blocked' WHERE external_id = 'gone'");
  // No other PCEF may receive it: freeDiameter answers 3002 locally.
  const auto logged = [&] {
    const std::string log = daemon_->log();
    const auto at = log.find("gx RAR session=pcef-gone.localdomain");
    return at != std::string::npos && log.find("refused with 3002", at) != std::string::npos;
  };
  for (int i = 0; i < 100 && !logged(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(logged()) << "the undeliverable RAR is logged with 3002 UNABLE_TO_DELIVER";
  for (const auto& r : peer_->received_requests())
    EXPECT_EQ(r.find(code::SessionId)->as_str().rfind("pcef-gone.localdomain", 0), std::string::npos)
        << "a RAR for another PCEF's session reached this one";
  EXPECT_TRUE(daemon_->running());
}

// gx.audit_after_seconds: a Gx session no request touched for that long is
// sent a RAR that changes nothing. 2001 keeps it (last_seen moves), 5002
// closes it, and a PCEF that cannot be reached twice in a row closes it.
// Its own database and daemon (audit after 1 s), so that the suite's other
// sessions are not audited.
TEST_F(GxEndToEnd, SilentSessionsAreAuditedByRar) {
  TestDatabase db;
  db.exec(kSetupSql);
  const auto add = [&](const std::string& id, const std::string& msisdn) {
    db.exec("INSERT INTO subscribers (external_id, plan_id) SELECT '" + id + "', id FROM plans WHERE name = 'gx';"
            "INSERT INTO subscriber_identities (subscriber_id, kind, value) SELECT id, 'msisdn', '" + msisdn +
            "' FROM subscribers WHERE external_id = '" + id + "';"
            "INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', 1000 FROM subscribers "
            "WHERE external_id = '" + id + "'");
  };
  add("kept", "491720000090");
  add("forgotten", "491720000091");
  add("orphan", "491720000092");
  const std::string toml = "[database]\ndsn = \"" + db.dsn() +
                           "\"\npool_size = 2\n[log]\nlevel = \"info\"\n"
                           "[gy]\ndefault_rating_group = 10\npeer_answer_timeout_ms = 1000\n"
                           "[gx]\naudit_after_seconds = 1\n";
  FdDaemon auditing(ocs_daemon(toml));
  const auto connect = [&](const std::string& host) {
    dia::PeerConfig c;
    c.port = auditing.port();
    c.origin_host = host;
    c.vendor_apps = {{V, gx::kApp}};
    auto p = std::make_unique<dia::Peer>(c);
    p->connect_retrying();
    return p;
  };
  const auto open = [&](dia::Peer& p, const std::string& sid, const std::string& msisdn) {
    auto a = p.request(gx::initial(sid, p.config().origin_host, msisdn), std::chrono::seconds(10));
    ASSERT_TRUE(a);
    ASSERT_EQ(a->result_code(), 2001u);
  };
  auto pcef = connect("pcef-audit.localdomain");
  const std::string kept = pcef->new_session_id("kept");
  const std::string forgotten = pcef->new_session_id("forgotten");
  pcef->forget_session(forgotten);
  open(*pcef, kept, "491720000090");
  open(*pcef, forgotten, "491720000091");
  std::string orphan;
  {
    auto gone = connect("pcef-audit-gone.localdomain");
    orphan = gone->new_session_id("orphan");
    open(*gone, orphan, "491720000092");
    gone->close();
  }
  const auto closed_as = [&](const std::string& sid, const std::string& reason) {
    return db.query_long("SELECT count(*) FROM charging_sessions WHERE id = '" + sid +
                         "' AND state = 'closed' AND close_reason = '" + reason + "'") == 1;
  };
  for (int i = 0; i < 150 && !(closed_as(forgotten, "client: unknown session") &&
                               closed_as(orphan, "client: unreachable"));
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(closed_as(forgotten, "client: unknown session")) << auditing.log_tail(40);
  EXPECT_TRUE(closed_as(orphan, "client: unreachable")) << auditing.log_tail(40);
  // Closed at its second failed RAR: asked again once.
  EXPECT_EQ(occurrences(auditing.log(), orphan + ": no answer, or refused; asking again"), 1u) << auditing.log_tail(40);
  // The PCEF that still has its session keeps it, asked with a RAR that
  // installs, removes and changes nothing; its answer counts as activity.
  EXPECT_EQ(db.query_long("SELECT count(*) FROM charging_sessions WHERE id = '" + kept + "' AND state = 'open' "
                          "AND last_seen > created_at"),
            1);
  std::size_t asked = 0;
  for (const auto& r : pcef->received_requests()) {
    if (r.code != code::RAR || r.find(code::SessionId)->as_str() != kept) continue;
    ++asked;
    EXPECT_EQ(r.app_id, gx::kApp);
    EXPECT_EQ(r.find(code::ReAuthRequestType)->as_u32(), 0u);
    EXPECT_FALSE(r.find(gx::code::ChargingRuleInstall, V));
    EXPECT_FALSE(r.find(gx::code::ChargingRuleRemove, V));
    EXPECT_FALSE(r.find(gx::code::QosInformation, V));
    EXPECT_FALSE(r.find(gx::code::SessionReleaseCause, V));
  }
  EXPECT_GE(asked, 1u);
  pcef->close();
  EXPECT_TRUE(auditing.running());
}

TEST_F(GxEndToEnd, BadInputIsAnsweredNeverCrashes) {
  // No Subscription-Id: 5005 naming it.
  Message m = gx::ccr(peer_->new_session_id(), "pcef.localdomain", "localdomain", gx::kInitial, 0);
  Message a = send(m);
  EXPECT_EQ(a.result_code(), 5005u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  EXPECT_TRUE(a.find(code::FailedAvp)->child(code::SubscriptionId));
  // CC-Request-Type 4 (EVENT) does not exist in Gx: 5004 naming it.
  m = gx::ccr(peer_->new_session_id(), "pcef.localdomain", "localdomain", 4, 0);
  m.add(gy::subscription_id(0, "491720000090"));
  a = send(m);
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  EXPECT_EQ(a.find(code::FailedAvp)->child(code::CcRequestType)->as_u32(), 4u);
  // Empty Subscription-Id-Data: 5004.
  m = gx::ccr(peer_->new_session_id(), "pcef.localdomain", "localdomain", gx::kInitial, 0);
  m.add(gy::subscription_id(0, ""));
  a = send(m);  // freeDiameter 1.2.1's own Failed-AVP copy could not encode this one: no answer at all
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  ASSERT_TRUE(a.find(code::FailedAvp)->child(code::SubscriptionIdData));
  EXPECT_EQ(a.find(code::FailedAvp)->child(code::SubscriptionIdData)->as_str(), "");
  // A Session-Id that is not UTF-8 (a UTF8String, RFC 6733 4.3.1): 5004 naming it.
  const std::string bad_sid = "pcef.localdomain;\xff\xfe;1";
  a = initial(bad_sid, "491720000090");
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  ASSERT_TRUE(a.find(code::FailedAvp)->child(code::SessionId));
  EXPECT_EQ(a.find(code::FailedAvp)->child(code::SessionId)->as_str(), bad_sid);
  // Unknown subscriber: 5030.
  EXPECT_EQ(initial(peer_->new_session_id(), "491729999999").result_code(), 5030u);
  // CCR-U for a session never opened: 5002.
  EXPECT_EQ(update(peer_->new_session_id(), 1).result_code(), 5002u);
  // A usage report without Monitoring-Key: 5004.
  subscriber("badusage", "491720000091", 1000);
  const std::string sid = peer_->new_session_id();
  ASSERT_EQ(initial(sid, "491720000091").result_code(), 2001u);
  a = update(sid, 1,
             {Avp::grouped(gx::code::UsageMonitoringInformation,
                           {Avp::grouped(code::Usu, {Avp::u64(code::CcTotalOctets, 5)})}, V)});
  EXPECT_EQ(a.result_code(), 5004u);
  // Missing CC-Request-Number: freeDiameter's dictionary rule answers 5005.
  m = gx::ccr(peer_->new_session_id(), "pcef.localdomain", "localdomain", gx::kInitial, 0);
  m.avps.erase(std::remove_if(m.avps.begin(), m.avps.end(),
                              [](const Avp& x) { return x.code == code::CcRequestNumber; }),
               m.avps.end());
  m.add(gy::subscription_id(0, "491720000091"));
  EXPECT_EQ(send(m).result_code(), 5005u);
  EXPECT_TRUE(daemon_->running());
}

TEST_F(GxEndToEnd, TsharkSeesNoMalformedAvp) {
  std::unique_ptr<TsharkCapture> cap;
  try {
    cap = std::make_unique<TsharkCapture>(daemon_->port());
  } catch (const CaptureUnavailable& e) {
    GTEST_SKIP() << e.what();
  }
  subscriber("wire", "491720000100", 0);
  const std::string sid = peer_->new_session_id("wire");
  ASSERT_EQ(initial(sid, "491720000100").result_code(), 2001u);  // hotline: a Redirect-Information
  topup("wire", 1000);
  ASSERT_TRUE(rar_for(sid));  // normal: flows, AMBR, monitoring
  ASSERT_EQ(update(sid, 1, {gx::usage_report("fup", MiB, MiB)}).result_code(), 2001u);
  db_->exec("UPDATE subscribers SET status = 'blocked' WHERE external_id = 'wire'");
  ASSERT_TRUE(rar_for(sid, 1));
  ASSERT_EQ(terminate(sid, 2).result_code(), 2001u);
  // Throttled: Revalidation-Time with its trigger, in a CCA-I and again in
  // a CCA-U that installs nothing.
  subscriber("wire-fup", "491720000101", 1000);
  use_up_this_months_allowance("wire-fup");
  const std::string fup = peer_->new_session_id("wire-fup");
  ASSERT_EQ(initial(fup, "491720000101").result_code(), 2001u);
  ASSERT_EQ(update(fup, 1, {Avp::u32(gx::code::EventTrigger, 17, V)}).result_code(), 2001u);
  ASSERT_EQ(terminate(fup, 2).result_code(), 2001u);
  cap->stop();
  EXPECT_EQ(cap->problems(), std::vector<std::string>{});
  EXPECT_EQ(cap->count("diameter.cmd.code == 272 && diameter.flags.request == 0"), 6u);
  EXPECT_EQ(cap->count("diameter.Revalidation-Time"), 2u);
  EXPECT_EQ(cap->count("diameter.cmd.code == 258 && diameter.flags.request == 1"), 2u);
  EXPECT_GE(cap->count("diameter.Default-EPS-Bearer-QoS"), 1u);
  EXPECT_GE(cap->count("diameter.Charging-Rule-Definition"), 1u);
}

}  // namespace
}  // namespace ocs::test
