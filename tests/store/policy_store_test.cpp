// PgPolicyStore (Gx) against a real PostgreSQL: usage counted once under
// concurrent duplicates, re-evaluation reports only changes, the "usage"
// notification, and requests that must write nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "charging_fixture.hpp"
#include "ocs/store/notifications.hpp"
#include "ocs/store/pg_policy.hpp"
#include "ocs/store/pg_pool.hpp"
#include "pg_test_db.hpp"

namespace ocs::test {
namespace {

const char* kSetup = R"SQL(
INSERT INTO policies (name, gx_rule_names) VALUES ('p-normal', '{internet,video}'), ('p-slow', '{internet}');
INSERT INTO plans (name, policy_id, gx_throttled_policy_id)
SELECT 'p', n.id, s.id FROM policies n, policies s WHERE n.name = 'p-normal' AND s.name = 'p-slow';
INSERT INTO usage_allowances (plan_id, monitoring_key, octets, period) SELECT id, 'fup', 100, 'day' FROM plans;
INSERT INTO subscribers (external_id, plan_id) SELECT 'sam', id FROM plans;
INSERT INTO subscriber_identities (subscriber_id, kind, value) SELECT id, 'msisdn', '491730000001' FROM subscribers;
INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', 100 FROM subscribers;
)SQL";

class PolicyStoreTest : public ::testing::Test {
 protected:
  PolicyStoreTest() : pool_(db_.dsn(), 8, store::PgPolicyStore::prepare_statements), store_(pool_) {
    db_.exec(kSetup);
  }

  static store::PolicyRequest req(RequestKind kind, const std::string& key,
                                  std::vector<store::UsageReport> usage = {}) {
    store::PolicyRequest r;
    r.session_id = "pcef;1";
    r.request_key = key;
    r.kind = kind;
    r.identities = {msisdn("491730000001")};
    r.origin = store::SessionOrigin{"gx", "pcef.example", "example", "", {}};
    r.usage = std::move(usage);
    return r;
  }
  std::int64_t used() { return db_.query_long("SELECT coalesce(sum(octets), 0) FROM usage_counters"); }

  const TimePoint now_ = at(1790000000);
  TestDatabase db_;
  store::ConnectionPool pool_;
  store::PgPolicyStore store_;
};

TEST_F(PolicyStoreTest, ConcurrentDuplicatesCountUsageOnce) {
  ASSERT_EQ(store_.decide(req(RequestKind::Initial, "0"), now_).status, store::ChargeStatus::Ok);
  std::atomic<int> replays{0}, fresh{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      const auto r = store_.decide(req(RequestKind::Update, "1", {{"fup", 60}}), now_);
      (r.replayed ? replays : fresh)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(replays.load(), 7);
  EXPECT_EQ(used(), 60);
}

TEST_F(PolicyStoreTest, UsageCrossingTheAllowanceThrottlesAndNotifies) {
  store::AccountEvents events(db_.dsn());
  ASSERT_EQ(store_.decide(req(RequestKind::Initial, "0"), now_).status, store::ChargeStatus::Ok);
  auto r = store_.decide(req(RequestKind::Update, "1", {{"fup", 99}, {"unknown-key", 1000}}), now_);
  EXPECT_EQ(r.decision.state, PolicyState::Normal);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(used(), 99);  // a key without an allowance is not counted
  r = store_.decide(req(RequestKind::Update, "2", {{"fup", 1}}), now_);
  EXPECT_EQ(r.decision.state, PolicyState::Throttled);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.previous_state, PolicyState::Normal);
  EXPECT_EQ(r.remove.names, std::vector<std::string>{"video"});
  bool notified = false;
  for (int i = 0; i < 20 && !notified; ++i)
    for (const auto& e : events.wait(std::chrono::milliseconds(100)))
      notified = notified || (e.event == "usage" && e.payload.find("throttled") != std::string::npos);
  EXPECT_TRUE(notified);
  // The next day is a new period.
  r = store_.decide(req(RequestKind::Update, "3"), now_ + std::chrono::hours(24));
  EXPECT_EQ(r.decision.state, PolicyState::Normal);
  EXPECT_TRUE(r.changed);
}

TEST_F(PolicyStoreTest, ReevaluateReportsOnlyChanges) {
  ASSERT_EQ(store_.decide(req(RequestKind::Initial, "0"), now_).status, store::ChargeStatus::Ok);
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
  db_.exec("UPDATE subscribers SET status = 'blocked'");
  auto change = store_.reevaluate("pcef;1", now_);
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->decision.release);  // no blocked policy: release
  EXPECT_EQ(change->origin.origin_host, "pcef.example");
  EXPECT_EQ(change->remove.names, (std::vector<std::string>{"internet", "video"}));
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));  // stored: no second RAR
  EXPECT_EQ(store_.subscribers_with_policy_sessions().size(), 1u);
  EXPECT_EQ(store_.decide(req(RequestKind::Terminate, "1"), now_).status, store::ChargeStatus::Ok);
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
  EXPECT_TRUE(store_.subscribers_with_policy_sessions().empty());
}

// The session audit's two queries: open Gx sessions silent since before a
// time, the longest silent first, and a PCEF's answer counting as activity.
TEST_F(PolicyStoreTest, SilentSessionsAreListedAndAnAnswerCountsAsSeen) {
  ASSERT_EQ(store_.decide(req(RequestKind::Initial, "0"), now_).status, store::ChargeStatus::Ok);
  auto second = req(RequestKind::Initial, "0");
  second.session_id = "pcef;2";
  ASSERT_EQ(store_.decide(second, now_ + std::chrono::seconds(10)).status, store::ChargeStatus::Ok);
  // Not listed: a Gy session, and a closed Gx session, both as old.
  db_.exec("INSERT INTO charging_sessions (id, subscriber_id, protocol, state, last_seen) "
           "SELECT 'gy;1', id, 'gy', 'open', to_timestamp(1) FROM subscribers;"
           "INSERT INTO charging_sessions (id, subscriber_id, protocol, state, last_seen) "
           "SELECT 'pcef;closed', id, 'gx', 'closed', to_timestamp(1) FROM subscribers");

  EXPECT_TRUE(store_.silent_policy_sessions(now_, 10).empty());  // before: not silent yet
  auto silent = store_.silent_policy_sessions(now_ + std::chrono::seconds(60), 10);
  ASSERT_EQ(silent.size(), 2u);
  EXPECT_EQ(silent[0].session_id, "pcef;1");  // the longest silent first
  EXPECT_EQ(silent[1].session_id, "pcef;2");
  EXPECT_EQ(silent[0].origin.origin_host, "pcef.example");
  EXPECT_EQ(silent[0].origin.origin_realm, "example");
  EXPECT_EQ(silent[0].last_seen, now_);
  EXPECT_GT(silent[0].subscriber_id, 0);
  EXPECT_EQ(store_.silent_policy_sessions(now_ + std::chrono::seconds(60), 1).size(), 1u);

  EXPECT_TRUE(store_.policy_session_seen("pcef;1", now_ + std::chrono::seconds(30)));
  silent = store_.silent_policy_sessions(now_ + std::chrono::seconds(20), 10);
  ASSERT_EQ(silent.size(), 1u);
  EXPECT_EQ(silent[0].session_id, "pcef;2");
  // Never earlier than it was; only open Gx sessions.
  EXPECT_TRUE(store_.policy_session_seen("pcef;1", now_));
  EXPECT_EQ(db_.query_long("SELECT extract(epoch FROM last_seen)::bigint FROM charging_sessions WHERE id = 'pcef;1'"),
            1790000030);
  EXPECT_FALSE(store_.policy_session_seen("gy;1", now_));
  EXPECT_FALSE(store_.policy_session_seen("pcef;closed", now_));
  EXPECT_FALSE(store_.policy_session_seen("nope", now_));
  ASSERT_EQ(store_.decide(req(RequestKind::Terminate, "1"), now_ + std::chrono::seconds(40)).status,
            store::ChargeStatus::Ok);
  EXPECT_FALSE(store_.policy_session_seen("pcef;1", now_ + std::chrono::seconds(50)));
}

TEST_F(PolicyStoreTest, AnEditOfThePolicyInForceIsAChangeAndNotifiesOnce) {
  store::AccountEvents events(db_.dsn());
  ASSERT_EQ(store_.decide(req(RequestKind::Initial, "0"), now_).status, store::ChargeStatus::Ok);
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
  // One transaction of two statements on two tables: one notification.
  db_.exec("BEGIN; UPDATE policies SET qci = 8 WHERE name = 'p-normal'; "
           "UPDATE usage_allowances SET octets = 200; COMMIT");
  int config_events = 0;
  for (int i = 0; i < 10; ++i)
    for (const auto& e : events.wait(std::chrono::milliseconds(100)))
      if (e.event == "config") {
        ++config_events;
        EXPECT_EQ(e.subscriber_id, 0);
      }
  EXPECT_EQ(config_events, 1);
  // A price change is no concern of Gx: no notification.
  db_.exec("INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant) "
           "SELECT id, 10, 'octets_total', 1048576, 10485760, 104857600 FROM plans");
  db_.exec("INSERT INTO tariff_periods (plan_rating_group_id, price_per_block) SELECT id, 2 FROM plan_rating_groups");
  db_.exec("UPDATE tariff_periods SET price_per_block = 3");
  for (int i = 0; i < 5; ++i)
    for (const auto& e : events.wait(std::chrono::milliseconds(100))) EXPECT_NE(e.event, "config");
  auto change = store_.reevaluate("pcef;1", now_);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->decision.state, PolicyState::Normal);  // same state, same policy
  EXPECT_EQ(change->previous_state, PolicyState::Normal);
  EXPECT_EQ(change->decision.policy.qci, 8u);
  EXPECT_TRUE(change->remove.names.empty());
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));  // stored: no second RAR

  // Columns the gateway does not see (Gy's validity time) change nothing.
  db_.exec("UPDATE policies SET validity_time = 900 WHERE name = 'p-normal'");
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
  // A CCR-U after an edit gets the change in its answer.
  db_.exec("UPDATE policies SET rate_limit_down_kbps = 5000 WHERE name = 'p-normal'");
  const auto r = store_.decide(req(RequestKind::Update, "1"), now_);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.decision.apn_ambr_dl, 5000000u);
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
  // A session stored before schema 19 (no digest) is sent its policy once.
  db_.exec("UPDATE gx_sessions SET enforced_digest = NULL");
  EXPECT_TRUE(store_.reevaluate("pcef;1", now_));
  EXPECT_FALSE(store_.reevaluate("pcef;1", now_));
}

TEST_F(PolicyStoreTest, UnknownUserAndSessionWriteNothing) {
  auto r = req(RequestKind::Initial, "0");
  r.identities = {msisdn("491739999999")};
  EXPECT_EQ(store_.decide(r, now_).status, store::ChargeStatus::UserUnknown);
  EXPECT_EQ(store_.decide(req(RequestKind::Update, "1", {{"fup", 5}}), now_).status,
            store::ChargeStatus::UnknownSession);
  EXPECT_EQ(db_.query_long("SELECT count(*) FROM charging_sessions"), 0);
  EXPECT_EQ(db_.query_long("SELECT count(*) FROM charging_events"), 0);
  EXPECT_EQ(used(), 0);
  EXPECT_THROW(store_.decide(req(RequestKind::Event, "0"), now_), store::StoreError);
}

}  // namespace
}  // namespace ocs::test
