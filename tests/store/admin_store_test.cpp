// PgAdminStore against a fresh PostgreSQL database per test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/store/pg_admin.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/pg_store.hpp"
#include "ocs/store/supervisor.hpp"
#include "pg_test_db.hpp"

namespace ocs::store {
namespace {

// Two plans: 'basic' in EUR (rating group 10 with two periods, written in
// reverse priority order, and a catch-all) and 'yen' in JPY.
constexpr const char* kFixture = R"SQL(
INSERT INTO policies (name, validity_time) VALUES ('std', 600);
INSERT INTO plans (name, currency, utc_offset_minutes, policy_id)
  SELECT 'basic', 'EUR', 60, id FROM policies WHERE name = 'std';
INSERT INTO plans (name, currency, policy_id)
  SELECT 'yen', 'JPY', id FROM policies WHERE name = 'std';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
  SELECT id, NULL, 'octets_total', 1024, 'up', 2048, 4096 FROM plans WHERE name = 'basic';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
  SELECT id, 10, 'seconds', 60, 'nearest', 300, 600 FROM plans WHERE name = 'basic';
INSERT INTO tariff_periods (plan_rating_group_id, name, priority, days_mask, start_minute, end_minute, price_per_block)
  SELECT rg.id, 'off-peak', 2, 127, 0, 1440, 1 FROM plan_rating_groups rg WHERE rg.rating_group = 10;
INSERT INTO tariff_periods (plan_rating_group_id, name, priority, days_mask, start_minute, end_minute, price_per_block)
  SELECT rg.id, 'peak', 1, 31, 480, 1200, 3 FROM plan_rating_groups rg WHERE rg.rating_group = 10;
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block)
  SELECT rg.id, 2 FROM plan_rating_groups rg WHERE rg.rating_group IS NULL;
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, default_grant, max_grant)
  SELECT id, 1, 'events', 1, 1 FROM plans WHERE name = 'yen';
)SQL";

class AdminStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_.exec(kFixture); }

  /// The first column of the first row of `sql`, as text ("" for NULL).
  std::string scalar(const std::string& sql) {
    pqxx::connection c(db_.dsn());
    pqxx::nontransaction n(c);
    const auto r = n.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
  }
  long count(const std::string& table_and_where) { return std::stol(scalar("SELECT count(*) FROM " + table_and_where)); }

  /// Alice, three sessions and eight stored answers, four of them to purge
  /// at a cutoff of 7 days (PurgeAnswersDeletesOldAnswersOfSessionsNoLongerOpen).
  void seed_answers();
  std::string answers_left() {
    return scalar(
        "SELECT string_agg(session_id || '/' || request_key, ' ' ORDER BY session_id, request_key) "
        "FROM charging_events");
  }

  NewSubscriber alice() {
    NewSubscriber s;
    s.external_id = "alice";
    s.plan = "basic";
    s.msisdn = "491700000001";
    s.imsi = "262010000000001";
    s.nai = "alice@example.net";
    s.username = "alice";
    s.password = "alicepw";
    s.balance = 1000;
    s.credit_limit = 200;
    return s;
  }

  NewSubscriber plain(const std::string& id, const std::string& plan = "basic") {
    NewSubscriber s;
    s.external_id = id;
    s.plan = plan;
    return s;
  }

  /// Runs `fn`, expecting StoreError of `kind`; returns its message.
  template <typename Fn>
  std::string expect_error(StoreError::Kind kind, Fn&& fn) {
    try {
      fn();
    } catch (const StoreError& e) {
      EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no StoreError thrown";
    return "";
  }

  test::TestDatabase db_;
  ConnectionPool pool_{db_.dsn(), 4};
  PgAdminStore store_{pool_};
};

TEST_F(AdminStoreTest, AddReturnsTheSubscriberAndFindAgrees) {
  const auto added = store_.add_subscriber(alice());
  EXPECT_GT(added.id, 0);
  EXPECT_EQ(added.external_id, "alice");
  EXPECT_EQ(added.status, SubscriberStatus::Active);
  EXPECT_EQ(added.plan, "basic");
  EXPECT_EQ(added.policy, "std");
  EXPECT_EQ(added.currency, "EUR");
  EXPECT_EQ(added.currency_exponent, 2);
  EXPECT_EQ(added.account_type, "prepaid");
  EXPECT_EQ(added.balance, 1000);
  EXPECT_EQ(added.credit_limit, 200);
  EXPECT_EQ(added.reserved, 0);
  EXPECT_EQ(added.open_sessions, 0u);
  const std::vector<Identity> expected = {{IdentityKind::Msisdn, "491700000001"},
                                          {IdentityKind::Imsi, "262010000000001"},
                                          {IdentityKind::Nai, "alice@example.net"},
                                          {IdentityKind::Username, "alice"}};
  EXPECT_EQ(added.identities, expected);

  const auto found = store_.find_subscriber("alice");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, added.id);
  EXPECT_EQ(found->identities, expected);
  EXPECT_EQ(found->balance, 1000);
  EXPECT_FALSE(store_.find_subscriber("nobody"));

  // The password is stored for PAP/CHAP, on the username only.
  EXPECT_EQ(scalar("SELECT password FROM subscriber_identities WHERE kind = 'username'"), "alicepw");
  EXPECT_EQ(count("subscriber_identities WHERE password IS NOT NULL"), 1);
}

TEST_F(AdminStoreTest, OpeningBalanceIsALedgerTopup) {
  const auto added = store_.add_subscriber(alice());
  EXPECT_EQ(count("ledger"), 1);
  EXPECT_EQ(scalar("SELECT kind || ' ' || amount || ' ' || currency || ' ' || balance_after || ' ' || subscriber_id "
                   "FROM ledger"),
            "topup 1000 EUR 1000 " + std::to_string(added.id));
  EXPECT_EQ(scalar("SELECT balance FROM accounts"), "1000");

  // A zero opening balance is no top-up.
  store_.add_subscriber(plain("bob"));
  EXPECT_EQ(count("ledger"), 1);
  EXPECT_EQ(scalar("SELECT balance FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id "
                   "WHERE s.external_id = 'bob'"),
            "0");
}

TEST_F(AdminStoreTest, AccountTakesThePlanCurrency) {
  const auto s = store_.add_subscriber(plain("kenji", "yen"));
  EXPECT_EQ(s.currency, "JPY");
  EXPECT_EQ(s.currency_exponent, 0);
  EXPECT_EQ(scalar("SELECT currency FROM accounts"), "JPY");
}

TEST_F(AdminStoreTest, LeadingPlusOfMsisdnIsDropped) {
  auto s = plain("p");
  s.msisdn = "+4915112345678";
  const auto added = store_.add_subscriber(s);
  ASSERT_EQ(added.identities.size(), 1u);
  EXPECT_EQ(added.identities[0].value, "4915112345678");
}

TEST_F(AdminStoreTest, ListIsOrderedAndCarriesBucketsReservationsAndSessions) {
  store_.add_subscriber(plain("zed"));
  store_.add_subscriber(alice());
  store_.add_subscriber(plain("mia"));
  db_.exec(R"SQL(
    INSERT INTO buckets (subscriber_id, rating_group, unit_family, initial_units, remaining, valid_until)
      SELECT id, 10, 'octets', 1000, 400, now() + interval '1 day' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO buckets (subscriber_id, rating_group, unit_family, initial_units, remaining, valid_until)
      SELECT id, 10, 'octets', 1000, 1000, now() - interval '1 day' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO charging_sessions (id, subscriber_id, protocol)
      SELECT 's1', id, 'gy' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO charging_sessions (id, subscriber_id, protocol, state)
      SELECT 's0', id, 'gy', 'closed' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 's1', 10, id, 'seconds', 300, 30, now() FROM subscribers WHERE external_id = 'alice';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 's0', 10, id, 'seconds', 300, 999, now() FROM subscribers WHERE external_id = 'alice';
  )SQL");

  const auto all = store_.list_subscribers();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].external_id, "alice");
  EXPECT_EQ(all[1].external_id, "mia");
  EXPECT_EQ(all[2].external_id, "zed");
  EXPECT_EQ(all[0].identities.size(), 4u);
  EXPECT_TRUE(all[1].identities.empty());
  // Only the open session's reservation counts; the expired bucket is gone.
  EXPECT_EQ(all[0].reserved, 30);
  EXPECT_EQ(all[0].open_sessions, 1u);
  ASSERT_EQ(all[0].buckets.size(), 1u);
  EXPECT_EQ(all[0].buckets[0].rating_group, std::optional<std::uint32_t>(10));
  EXPECT_EQ(all[0].buckets[0].family, UnitFamily::Octets);
  EXPECT_EQ(all[0].buckets[0].initial, 1000u);
  EXPECT_EQ(all[0].buckets[0].remaining, 400u);
  EXPECT_TRUE(all[0].buckets[0].valid_until.has_value());
  EXPECT_EQ(all[1].reserved, 0);
  EXPECT_EQ(all[1].open_sessions, 0u);
}

TEST_F(AdminStoreTest, DuplicateExternalIdIsRefusedAndNothingIsWritten) {
  store_.add_subscriber(alice());
  auto again = plain("alice");
  again.msisdn = "491700000099";
  again.balance = 500;
  const auto msg = expect_error(StoreError::Kind::Duplicate, [&] { store_.add_subscriber(again); });
  EXPECT_NE(msg.find("alice"), std::string::npos) << msg;
  EXPECT_EQ(count("subscribers"), 1);
  EXPECT_EQ(count("subscriber_identities WHERE value = '491700000099'"), 0);
  EXPECT_EQ(count("ledger"), 1);
}

TEST_F(AdminStoreTest, DuplicateIdentityNamesItAndLeavesNoHalfWrittenSubscriber) {
  store_.add_subscriber(alice());
  struct Case {
    const char* what;
    std::function<void(NewSubscriber&)> set;
  };
  const std::vector<Case> cases = {
      {"MSISDN", [](NewSubscriber& s) { s.msisdn = "491700000001"; }},
      {"IMSI", [](NewSubscriber& s) { s.imsi = "262010000000001"; }},
      {"NAI", [](NewSubscriber& s) { s.nai = "alice@example.net"; }},
      {"username", [](NewSubscriber& s) {
         s.username = "alice";
         s.password = "other";
       }},
  };
  for (const auto& c : cases) {
    auto s = plain("bob");
    s.balance = 700;
    s.msisdn = "491700000002";  // new, comes first: must not be left behind
    c.set(s);
    const auto msg = expect_error(StoreError::Kind::Duplicate, [&] { store_.add_subscriber(s); });
    EXPECT_NE(msg.find(c.what), std::string::npos) << msg;
    EXPECT_NE(msg.find("alice"), std::string::npos) << msg;
  }
  EXPECT_EQ(count("subscribers WHERE external_id = 'bob'"), 0);
  EXPECT_EQ(count("subscriber_identities WHERE value = '491700000002'"), 0);
  EXPECT_EQ(count("accounts"), 1);
  EXPECT_EQ(count("ledger"), 1);
}

TEST_F(AdminStoreTest, UnknownPlanIsNotFound) {
  auto s = alice();
  s.plan = "gold";
  const auto msg = expect_error(StoreError::Kind::NotFound, [&] { store_.add_subscriber(s); });
  EXPECT_NE(msg.find("gold"), std::string::npos) << msg;
  EXPECT_EQ(count("subscribers"), 0);
  EXPECT_EQ(count("ledger"), 0);
}

TEST_F(AdminStoreTest, InvalidValuesAreRefusedWithAClearMessage) {
  struct Case {
    std::function<void(NewSubscriber&)> set;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {[](NewSubscriber& s) { s.msisdn = "49170abc"; }, "MSISDN '49170abc'"},
      {[](NewSubscriber& s) { s.msisdn = "1234"; }, "MSISDN '1234'"},
      {[](NewSubscriber& s) { s.msisdn = "1234567890123456"; }, "MSISDN '1234567890123456'"},
      {[](NewSubscriber& s) { s.msisdn = ""; }, "MSISDN ''"},
      {[](NewSubscriber& s) { s.msisdn = "49 170 1234"; }, "MSISDN"},
      {[](NewSubscriber& s) { s.imsi = "12345"; }, "IMSI '12345'"},
      {[](NewSubscriber& s) { s.imsi = "26201000000000x"; }, "IMSI '26201000000000x'"},
      {[](NewSubscriber& s) { s.imsi = "2620100000000011"; }, "IMSI"},
      {[](NewSubscriber& s) { s.nai = "a b@realm"; }, "NAI"},
      {[](NewSubscriber& s) { s.username = "u"; }, "password"},
      {[](NewSubscriber& s) { s.password = "p"; }, "username"},
      {[](NewSubscriber& s) { s.external_id = ""; }, "subscriber id"},
      {[](NewSubscriber& s) { s.external_id = "a b"; }, "subscriber id"},
      {[](NewSubscriber& s) { s.balance = -1; }, "balance"},
      {[](NewSubscriber& s) { s.credit_limit = -1; }, "credit limit"},
      {[](NewSubscriber& s) { s.account_type = "free"; }, "account type"},
  };
  for (const auto& c : cases) {
    auto s = plain("x");
    c.set(s);
    const auto msg = expect_error(StoreError::Kind::Invalid, [&] { store_.add_subscriber(s); });
    EXPECT_NE(msg.find(c.mentions), std::string::npos) << msg;
  }
  EXPECT_EQ(count("subscribers"), 0);
}

TEST_F(AdminStoreTest, TopupCreditsExactlyAndWritesTheLedger) {
  const auto s = store_.add_subscriber(alice());
  const auto r = store_.topup("alice", 250, std::string("pay-1"));
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.amount, 250);
  EXPECT_EQ(r.balance_after, 1250);
  EXPECT_EQ(r.currency, "EUR");
  EXPECT_EQ(r.currency_exponent, 2);
  EXPECT_EQ(scalar("SELECT balance FROM accounts"), "1250");
  EXPECT_EQ(count("ledger"), 2);
  EXPECT_EQ(scalar("SELECT kind || ' ' || amount || ' ' || balance_after || ' ' || reference || ' ' || subscriber_id "
                   "FROM ledger ORDER BY id DESC LIMIT 1"),
            "topup 250 1250 pay-1 " + std::to_string(s.id));
  EXPECT_EQ(scalar("SELECT a.updated_at > s.created_at FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id"),
            "t");

  // Without a reference, every call credits.
  EXPECT_TRUE(store_.topup("alice", 1, std::nullopt).applied);
  EXPECT_TRUE(store_.topup("alice", 1, std::nullopt).applied);
  EXPECT_EQ(store_.find_subscriber("alice")->balance, 1252);
  // The balance movements add up to the balance.
  EXPECT_EQ(scalar("SELECT sum(amount) FROM ledger WHERE kind IN ('topup', 'debit', 'adjustment')"), "1252");
}

TEST_F(AdminStoreTest, TopupRefusesBadAmountsAndUnknownSubscribers) {
  store_.add_subscriber(alice());
  expect_error(StoreError::Kind::Invalid, [&] { store_.topup("alice", 0, std::nullopt); });
  expect_error(StoreError::Kind::Invalid, [&] { store_.topup("alice", -5, std::nullopt); });
  expect_error(StoreError::Kind::Invalid, [&] { store_.topup("alice", 5, std::string("")); });
  const auto msg = expect_error(StoreError::Kind::NotFound, [&] { store_.topup("nobody", 5, std::nullopt); });
  EXPECT_NE(msg.find("nobody"), std::string::npos);
  EXPECT_EQ(count("ledger"), 1);
  EXPECT_EQ(scalar("SELECT balance FROM accounts"), "1000");
}

TEST_F(AdminStoreTest, RepeatedReferenceIsCreditedOnce) {
  store_.add_subscriber(alice());
  EXPECT_TRUE(store_.topup("alice", 500, std::string("R-1")).applied);
  const auto again = store_.topup("alice", 500, std::string("R-1"));
  EXPECT_FALSE(again.applied);
  EXPECT_EQ(again.balance_after, 1500);
  EXPECT_EQ(scalar("SELECT balance FROM accounts"), "1500");
  EXPECT_EQ(count("ledger WHERE reference = 'R-1'"), 1);

  // The same reference for someone else, or for another amount, is a conflict.
  store_.add_subscriber(plain("bob"));
  expect_error(StoreError::Kind::Duplicate, [&] { store_.topup("bob", 500, std::string("R-1")); });
  expect_error(StoreError::Kind::Duplicate, [&] { store_.topup("alice", 501, std::string("R-1")); });
  EXPECT_EQ(count("ledger WHERE reference = 'R-1'"), 1);
  EXPECT_EQ(scalar("SELECT sum(balance) FROM accounts"), "1500");
}

TEST_F(AdminStoreTest, ConcurrentTopupsWithOneReferenceCreditOnce) {
  store_.add_subscriber(alice());
  constexpr int kThreads = 6;
  for (int round = 0; round < 5; ++round) {
    const std::string ref = "race-" + std::to_string(round);
    std::latch start(kThreads);
    std::atomic<int> applied{0}, not_applied{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        try {
          (store_.topup("alice", 100, ref).applied ? applied : not_applied)++;
        } catch (const std::exception&) {
          errors++;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(applied.load(), 1) << ref;
    EXPECT_EQ(not_applied.load(), kThreads - 1) << ref;
    EXPECT_EQ(errors.load(), 0) << ref;
    EXPECT_EQ(count("ledger WHERE reference = '" + ref + "'"), 1);
  }
  EXPECT_EQ(scalar("SELECT balance FROM accounts"), "1500");
}

TEST_F(AdminStoreTest, ConcurrentTopupsOfTwoSubscribersWithOneReferenceCreditOne) {
  // Different accounts do not serialise on the row lock: here the unique
  // index on ledger(reference) decides.
  store_.add_subscriber(plain("a"));
  store_.add_subscriber(plain("b"));
  for (int round = 0; round < 5; ++round) {
    const std::string ref = "twin-" + std::to_string(round);
    std::latch start(2);
    std::atomic<int> applied{0}, conflicts{0}, other{0};
    const auto run = [&](const std::string& who) {
      start.arrive_and_wait();
      try {
        if (store_.topup(who, 100, ref).applied) applied++;
        else other++;
      } catch (const StoreError& e) {
        (e.kind() == StoreError::Kind::Duplicate ? conflicts : other)++;
      }
    };
    std::thread ta(run, "a"), tb(run, "b");
    ta.join();
    tb.join();
    EXPECT_EQ(applied.load(), 1) << ref;
    EXPECT_EQ(conflicts.load(), 1) << ref;
    EXPECT_EQ(other.load(), 0) << ref;
    EXPECT_EQ(count("ledger WHERE reference = '" + ref + "'"), 1);
  }
  EXPECT_EQ(scalar("SELECT sum(balance) FROM accounts"), "500");
}

TEST_F(AdminStoreTest, BlockAndUnblock) {
  store_.add_subscriber(alice());
  auto s = store_.set_status("alice", SubscriberStatus::Blocked, std::string("unpaid"));
  EXPECT_EQ(s.status, SubscriberStatus::Blocked);
  EXPECT_EQ(s.status_reason, std::optional<std::string>("unpaid"));
  EXPECT_EQ(scalar("SELECT status || '/' || status_reason FROM subscribers"), "blocked/unpaid");

  s = store_.set_status("alice", SubscriberStatus::Suspended, std::nullopt);
  EXPECT_EQ(s.status, SubscriberStatus::Suspended);
  EXPECT_FALSE(s.status_reason);

  s = store_.set_status("alice", SubscriberStatus::Active, std::string("ignored"));
  EXPECT_EQ(s.status, SubscriberStatus::Active);
  EXPECT_FALSE(s.status_reason);
  EXPECT_EQ(scalar("SELECT status || '/' || coalesce(status_reason, '-') FROM subscribers"), "active/-");

  const auto msg = expect_error(StoreError::Kind::NotFound,
                                [&] { store_.set_status("nobody", SubscriberStatus::Blocked, std::nullopt); });
  EXPECT_NE(msg.find("nobody"), std::string::npos);
}

TEST_F(AdminStoreTest, PlansCarryRatingGroupsAndPeriodsInOrder) {
  const auto plans = store_.plans();
  ASSERT_EQ(plans.size(), 2u);
  const auto& basic = plans[0];
  EXPECT_EQ(basic.plan.name, "basic");
  EXPECT_EQ(basic.plan.currency, "EUR");
  EXPECT_EQ(basic.plan.utc_offset_minutes, 60);
  EXPECT_EQ(basic.currency_exponent, 2);
  EXPECT_EQ(basic.policy, "std");
  ASSERT_EQ(basic.plan.tariffs.size(), 2u);

  const auto& rg10 = basic.plan.tariffs[0];
  EXPECT_EQ(rg10.rating_group, std::optional<std::uint32_t>(10));
  EXPECT_EQ(rg10.unit, Unit::Seconds);
  EXPECT_EQ(rg10.block_units, 60u);
  EXPECT_EQ(rg10.rounding, Rounding::Nearest);
  EXPECT_EQ(rg10.default_grant, 300u);
  EXPECT_EQ(rg10.max_grant, 600u);
  ASSERT_EQ(rg10.periods.size(), 2u);
  EXPECT_EQ(rg10.periods[0].name, "peak");  // priority 1 before 2
  EXPECT_EQ(rg10.periods[0].days_mask, 31);
  EXPECT_EQ(rg10.periods[0].start_minute, 480);
  EXPECT_EQ(rg10.periods[0].end_minute, 1200);
  EXPECT_EQ(rg10.periods[0].price_per_block, 3);
  EXPECT_EQ(rg10.periods[1].name, "off-peak");
  EXPECT_EQ(rg10.periods[1].price_per_block, 1);

  const auto& other = basic.plan.tariffs[1];  // the catch-all comes last
  EXPECT_FALSE(other.rating_group);
  EXPECT_EQ(other.unit, Unit::OctetsTotal);
  ASSERT_EQ(other.periods.size(), 1u);
  EXPECT_EQ(other.periods[0].days_mask, 127);
  EXPECT_EQ(other.periods[0].end_minute, 1440);
  EXPECT_EQ(basic.plan.tariff_for(10), &rg10);
  EXPECT_EQ(basic.plan.tariff_for(99), &other);

  const auto& yen = plans[1];
  EXPECT_EQ(yen.plan.name, "yen");
  EXPECT_EQ(yen.currency_exponent, 0);
  ASSERT_EQ(yen.plan.tariffs.size(), 1u);
  EXPECT_EQ(yen.plan.tariffs[0].unit, Unit::Events);
  EXPECT_TRUE(yen.plan.tariffs[0].periods.empty());
}

TEST_F(AdminStoreTest, SessionsListOpenOnesWithTheirReservations) {
  store_.add_subscriber(alice());
  store_.add_subscriber(plain("bob"));
  db_.exec(R"SQL(
    INSERT INTO charging_sessions (id, subscriber_id, protocol, origin_host, expires_at)
      SELECT 'gy;1', id, 'gy', 'pgw.example', now() + interval '1 hour' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO charging_sessions (id, subscriber_id, protocol, state)
      SELECT 'gy;0', id, 'gy', 'closed' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO charging_sessions (id, subscriber_id, protocol, nas_address, created_at)
      SELECT '10.0.0.1/abc', id, 'radius', '10.0.0.1', now() + interval '1 second'
      FROM subscribers WHERE external_id = 'bob';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 'gy;1', 20, id, 'seconds', 300, 20, now() FROM subscribers WHERE external_id = 'alice';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 'gy;1', 10, id, 'octets_total', 1000, 30, now() FROM subscribers WHERE external_id = 'alice';
  )SQL");

  const auto all = store_.sessions(std::nullopt);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].session_id, "gy;1");
  EXPECT_EQ(all[0].subscriber, "alice");
  EXPECT_EQ(all[0].protocol, "gy");
  EXPECT_EQ(all[0].state, "open");
  EXPECT_EQ(all[0].credit_state, "ok");
  EXPECT_EQ(all[0].origin_host, "pgw.example");
  EXPECT_EQ(all[0].reserved, 50);
  EXPECT_EQ(all[0].rating_groups, (std::vector<std::uint32_t>{10, 20}));
  EXPECT_TRUE(all[0].expires_at.has_value());
  EXPECT_EQ(all[1].session_id, "10.0.0.1/abc");
  EXPECT_EQ(all[1].nas_address, "10.0.0.1");
  EXPECT_EQ(all[1].reserved, 0);
  EXPECT_TRUE(all[1].rating_groups.empty());

  const auto bobs = store_.sessions(std::string("bob"));
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].subscriber, "bob");
  expect_error(StoreError::Kind::NotFound, [&] { store_.sessions(std::string("nobody")); });

  const auto a = store_.find_subscriber("alice");
  EXPECT_EQ(a->reserved, 50);
  EXPECT_EQ(a->open_sessions, 1u);
}

TEST(AdminStoreUnavailable, DatabaseDownIsUnavailableAndNamesWhereButNotThePassword) {
  ConnectionPool pool("host=127.0.0.1 port=1 dbname=ocs user=ocs password=s3cr3t-pw connect_timeout=2", 1);
  PgAdminStore store(pool);
  try {
    store.list_subscribers();
    FAIL() << "no error";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::Unavailable);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("host=127.0.0.1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("port=1"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("s3cr3t-pw"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(DescribeDsn, ShowsWhereNeverThePassword) {
  EXPECT_EQ(describe_dsn("host=db.example port=5433 dbname=ocs user=ocs password=pw sslmode=require"),
            "host=db.example port=5433 dbname=ocs user=ocs");
  EXPECT_EQ(describe_dsn("host = 'my db'  password='it\\'s' port=1"), "host=my db port=1");
  EXPECT_EQ(describe_dsn("postgresql://ocs:secret@db.example:6432/billing?sslmode=disable"),
            "host=db.example port=6432 dbname=billing user=ocs");
  EXPECT_EQ(describe_dsn(""), "the default local server");
  EXPECT_EQ(dsn_parameters("postgresql://ocs:secret@db/x").at("password"), "secret");
  EXPECT_EQ(dsn_parameters("password='a b\\'c' host=h").at("password"), "a b'c");
}

TEST(IdentityChecks, MsisdnAndImsi) {
  EXPECT_FALSE(check_msisdn("491700000001"));
  EXPECT_FALSE(check_msisdn("12345"));
  EXPECT_TRUE(check_msisdn("1234"));
  EXPECT_TRUE(check_msisdn("+491700000001"));  // the store drops '+' before checking
  EXPECT_FALSE(check_imsi("262010000000001"));
  EXPECT_TRUE(check_imsi("2620100000000011"));
  EXPECT_TRUE(check_imsi(""));
}

// Stored answers older than the cutoff go when their session is closed or
// never had a session row (an event); an open session keeps all of its
// answers, and nothing of the ledger, usage records or sessions is touched.
TEST_F(AdminStoreTest, PurgeAnswersDeletesOldAnswersOfSessionsNoLongerOpen) {
  seed_answers();
  const long ledger = count("ledger");
  const TimePoint before =
      std::chrono::floor<std::chrono::seconds>(Clock::now()) - std::chrono::hours(24 * 7);
  // A chunk of 2: the loop must go on past full chunks (4 rows: 2, 2, 0).
  EXPECT_EQ(store_.purge_answers(before, 2), 4u);
  EXPECT_EQ(answers_left(), "closed-2/1 event-2/0 open-1/0 open-1/1");
  EXPECT_EQ(count("charging_sessions"), 3);
  EXPECT_EQ(count("ledger"), ledger);
  EXPECT_EQ(store_.purge_answers(before, 2), 0u);  // nothing left to purge

  // The last hour is never purged, whatever the caller asks.
  const auto recent = std::chrono::floor<std::chrono::seconds>(Clock::now()) - std::chrono::minutes(30);
  expect_error(StoreError::Kind::Invalid, [&] { store_.purge_answers(recent, 100); });
  expect_error(StoreError::Kind::Invalid, [&] { store_.purge_answers(before, 0); });
  expect_error(StoreError::Kind::Invalid, [&] { store_.purge_answers_once(before, 0); });
  EXPECT_EQ(count("charging_events"), 4);
}

// The daemons' supervision thread purges with database.answer_retention_days
// (answer_retention): a few transactions per tick, a failed one again at the
// next tick, and once a pass is done, nothing until the next is due.
TEST_F(AdminStoreTest, SupervisorPurgesOldAnswersAFewTransactionsATick) {
  seed_answers();
  ConnectionPool charging_pool(db_.dsn(), 1, PgChargingStore::prepare_statements);
  PgChargingStore charging(charging_pool);
  config::DatabaseConfig database;
  database.answer_retention_days = 7;
  AnswerRetention retention = answer_retention(database, store_);
  EXPECT_EQ(retention.keep, std::chrono::hours(24 * 7));
  std::mutex mu;
  std::vector<std::int64_t> calls;  // rows purged per transaction; -1: failed
  std::vector<std::chrono::steady_clock::time_point> at;  // when each began
  retention.purge_once = [&, purge = retention.purge_once](TimePoint before, std::size_t chunk) -> std::uint64_t {
    {
      std::lock_guard g(mu);
      at.push_back(std::chrono::steady_clock::now());
      if (calls.empty()) {
        calls.push_back(-1);
        throw StoreError(StoreError::Kind::Unavailable, "the database is down (test)");
      }
    }
    const std::uint64_t n = purge(before, chunk);
    std::lock_guard g(mu);
    calls.push_back(static_cast<std::int64_t>(n));
    return n;
  };
  retention.chunk = 1;
  retention.chunks_per_tick = 2;
  {
    Supervisor supervisor(charging, std::chrono::milliseconds(20), std::make_shared<spdlog::logger>("test"),
                          "test", retention);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (count("charging_events") > 4 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 15 more ticks: the pass is over
  }
  EXPECT_EQ(answers_left(), "closed-2/1 event-2/0 open-1/0 open-1/1");
  // Tick 1 failed; then 2 rows a tick, until a transaction purged less than
  // a chunk; then nothing more within `every` (an hour).
  std::lock_guard g(mu);
  EXPECT_EQ(calls, (std::vector<std::int64_t>{-1, 1, 1, 1, 1, 0}));
  // Ticks are at least 20 ms apart: transactions 2 and 4 (from 1) start a
  // tick of their own, after the two of the tick before.
  ASSERT_EQ(at.size(), 6u);
  EXPECT_GE(at[3] - at[2], std::chrono::milliseconds(19));
  EXPECT_GE(at[5] - at[4], std::chrono::milliseconds(19));
}

TEST_F(AdminStoreTest, NoRetentionNoPurge) {
  seed_answers();
  config::DatabaseConfig database;
  database.answer_retention_days = 0;
  ConnectionPool charging_pool(db_.dsn(), 1, PgChargingStore::prepare_statements);
  PgChargingStore charging(charging_pool);
  {
    Supervisor supervisor(charging, std::chrono::milliseconds(20), std::make_shared<spdlog::logger>("test"),
                          "test", answer_retention(database, store_));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(count("charging_events"), 8);
}

void AdminStoreTest::seed_answers() {
  store_.add_subscriber(alice());
  db_.exec(R"SQL(
    INSERT INTO charging_sessions (id, subscriber_id, protocol, state)
      SELECT s, (SELECT id FROM subscribers WHERE external_id = 'alice'), 'gy', st
        FROM (VALUES ('open-1', 'open'), ('closed-1', 'closed'), ('closed-2', 'closed')) v(s, st);
    INSERT INTO charging_events (session_id, request_key, kind, outcome, created_at) VALUES
      ('open-1',   '0', 'initial',   'v1', now() - interval '30 days'),  -- open: kept
      ('open-1',   '1', 'update',    'v1', now() - interval '20 days'),  -- open: kept
      ('closed-1', '0', 'initial',   'v1', now() - interval '30 days'),  -- purged
      ('closed-1', '1', 'terminate', 'v1', now() - interval '29 days'),  -- purged
      ('closed-2', '0', 'initial',   'v1', now() - interval '10 days'),  -- purged
      ('closed-2', '1', 'terminate', 'v1', now() - interval '2 days'),   -- younger: kept
      ('event-1',  '0', 'event',     'v1', now() - interval '9 days'),   -- no session: purged
      ('event-2',  '0', 'event',     'v1', now() - interval '1 hour');   -- younger: kept
  )SQL");
}

}  // namespace
}  // namespace ocs::store
