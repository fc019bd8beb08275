// AccountEvents: the schema's triggers reach a LISTENing connection, and the
// listener survives its connection being killed.
#include "ocs/store/notifications.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "charging_fixture.hpp"
#include "pg_test_db.hpp"

namespace ocs::store {
namespace {

using namespace std::chrono_literals;

const char* const kSetup = R"SQL(
INSERT INTO policies (id, name) VALUES (1, 'default');
INSERT INTO plans (id, name, policy_id) VALUES (1, 'basic', 1);
INSERT INTO subscribers (id, external_id, plan_id) VALUES (7, 'dora', 1);
INSERT INTO accounts (subscriber_id, currency, balance) VALUES (7, 'EUR', 1000);
)SQL";

class AccountEventsTest : public ::testing::Test {
 protected:
  AccountEventsTest() { db_.exec(kSetup); }

  /// Waits until at least one event came or `limit` passed.
  std::vector<AccountEvent> next(AccountEvents& events, std::chrono::milliseconds limit = 3000ms) {
    return events.wait(limit);
  }

  test::TestDatabase db_;
};

TEST_F(AccountEventsTest, TopUpAndStatusChangeNotifyDecreaseDoesNot) {
  AccountEvents events(db_.dsn());
  EXPECT_TRUE(events.wait(50ms).empty());

  db_.exec("UPDATE accounts SET balance = balance + 500 WHERE subscriber_id = 7");
  auto got = next(events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].subscriber_id, 7);
  EXPECT_EQ(got[0].event, "credit");
  EXPECT_NE(got[0].payload.find("1500"), std::string::npos) << got[0].payload;

  db_.exec("UPDATE subscribers SET status = 'blocked' WHERE id = 7");
  got = next(events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].subscriber_id, 7);
  EXPECT_EQ(got[0].event, "status");

  db_.exec("UPDATE accounts SET balance = balance - 100 WHERE subscriber_id = 7");
  EXPECT_TRUE(events.wait(300ms).empty());
}

TEST_F(AccountEventsTest, EventsOfOneTransactionArriveTogether) {
  AccountEvents events(db_.dsn());
  db_.exec("UPDATE accounts SET credit_limit = 100 WHERE subscriber_id = 7;"
           "UPDATE subscribers SET policy_id = 1 WHERE id = 7;");
  auto got = next(events);
  if (got.size() == 1) {
    const auto more = next(events);
    got.insert(got.end(), more.begin(), more.end());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event, "credit");
  EXPECT_EQ(got[1].event, "plan");
}

TEST_F(AccountEventsTest, ReconnectsAfterTheConnectionIsKilled) {
  AccountEvents events(db_.dsn());
  const auto killed = test::scalar(
      db_.dsn(), "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'");
  ASSERT_EQ(killed, 1);

  auto got = next(events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event, "resync");
  EXPECT_EQ(got[0].subscriber_id, 0);

  db_.exec("UPDATE accounts SET balance = balance + 1 WHERE subscriber_id = 7");
  got = next(events);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event, "credit");
}

TEST(AccountEventPayload, ParsesTheTriggersJson) {
  AccountEvent e;
  ASSERT_TRUE(parse_account_event(R"({"subscriber_id" : 12, "event" : "credit", "balance" : -5})", e));
  EXPECT_EQ(e.subscriber_id, 12);
  EXPECT_EQ(e.event, "credit");
  ASSERT_TRUE(parse_account_event(R"({"subscriber_id":3,"event":"status","status":"blocked"})", e));
  EXPECT_EQ(e.subscriber_id, 3);
  EXPECT_EQ(e.event, "status");
  EXPECT_FALSE(parse_account_event("", e));
  EXPECT_FALSE(parse_account_event(R"({"event" : "credit"})", e));
  EXPECT_FALSE(parse_account_event(R"({"subscriber_id" : "x", "event" : "credit"})", e));
  EXPECT_FALSE(parse_account_event(R"({"subscriber_id" : 1, "event" : 5})", e));
  EXPECT_FALSE(parse_account_event(R"({"subscriber_id" : 1, "event" : ""})", e));
}

}  // namespace
}  // namespace ocs::store
