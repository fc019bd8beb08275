// PgChargingStore against a real PostgreSQL: what each request writes, to
// the cent, and what replays and refusals leave untouched.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include <pqxx/pqxx>

#include "charging_fixture.hpp"
#include "ocs/store/outcome_codec.hpp"
#include "ocs/store/pg_pool.hpp"
#include "ocs/store/pg_store.hpp"
#include "pg_test_db.hpp"

namespace ocs::store {
namespace {

using test::at;
using test::msisdn;
using test::request;
using test::rg;

const TimePoint kNow = at(1709553600);  // Mon 2024-03-04 12:00:00 UTC
const std::string kAlice = "491700000001";
const std::string kBob = "491700000002";  // blocked
const std::string kCarol = "491700000003";

// RG 10: octets, 2 cents per started 1000 octets, 100000 granted by default.
// RG 20: events, 50 cents each. Supervision = 2 x 600 s.
const char* const kSetup = R"SQL(
INSERT INTO policies (id, name, validity_time) VALUES (1, 'default', 600);
INSERT INTO plans (id, name, currency, policy_id) VALUES (1, 'basic', 'EUR', 1);
INSERT INTO plan_rating_groups (id, plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
  VALUES (1, 1, 10, 'octets_total', 1000, 'up', 100000, 1000000),
         (2, 1, 20, 'events', 1, 'up', 1, 10);
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block) VALUES (1, 2), (2, 50);
INSERT INTO subscribers (id, external_id, plan_id, status) VALUES
  (1, 'alice', 1, 'active'), (2, 'bob', 1, 'blocked'), (3, 'carol', 1, 'active');
INSERT INTO subscriber_identities (subscriber_id, kind, value) VALUES
  (1, 'msisdn', '491700000001'), (1, 'imsi', '262010000000001'),
  (2, 'msisdn', '491700000002'), (3, 'msisdn', '491700000003');
INSERT INTO accounts (subscriber_id, currency, balance) VALUES (1, 'EUR', 10000), (2, 'EUR', 10000), (3, 'EUR', 10000);
INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) VALUES
  (1, 'topup', 10000, 'EUR', 10000, 'open-1'), (2, 'topup', 10000, 'EUR', 10000, 'open-2'),
  (3, 'topup', 10000, 'EUR', 10000, 'open-3');
)SQL";

class ChargingStoreTest : public ::testing::Test {
 protected:
  ChargingStoreTest() : pool_(db_.dsn(), 4, PgChargingStore::prepare_statements), store_(pool_) {
    db_.exec(kSetup);
  }

  std::int64_t q(const std::string& sql) const { return test::scalar(db_.dsn(), sql); }
  std::string text(const std::string& sql) const { return test::text(db_.dsn(), sql); }
  Money balance(int subscriber = 1) const {
    return q("SELECT balance FROM accounts WHERE subscriber_id = " + std::to_string(subscriber));
  }

  ChargeResult open(const std::string& session, TimePoint now = kNow, const std::string& who = kAlice) {
    return store_.charge(request(RequestKind::Initial, session, "0", {rg(10, true)}, {msisdn(who)}), now);
  }
  ChargeResult update(const std::string& session, const std::string& key, std::uint64_t used,
                      TimePoint now = kNow + std::chrono::seconds(60)) {
    return store_.charge(request(RequestKind::Update, session, key, {rg(10, true, used)}), now);
  }
  ChargeResult terminate(const std::string& session, const std::string& key, std::uint64_t used,
                         TimePoint now = kNow + std::chrono::seconds(120)) {
    return store_.charge(request(RequestKind::Terminate, session, key, {rg(10, false, used)}), now);
  }

  /// Balance, ledger rows, usage records, events, held money, open sessions.
  auto snapshot() const {
    return std::make_tuple(balance(), q("SELECT count(*) FROM ledger"), q("SELECT count(*) FROM usage_records"),
                           q("SELECT count(*) FROM charging_events"),
                           q("SELECT coalesce(sum(money), 0) FROM reservations"),
                           q("SELECT count(*) FROM charging_sessions WHERE state = 'open'"));
  }

  /// The ledger invariants: balance movements add up to the balance, holds
  /// add up to what the reservations hold.
  void expect_ledger_consistent(int subscriber = 1) const {
    const std::string sub = std::to_string(subscriber);
    EXPECT_EQ(balance(subscriber),
              q("SELECT sum(amount) FROM ledger WHERE kind IN ('topup', 'debit', 'adjustment') AND subscriber_id = " + sub));
    EXPECT_EQ(q("SELECT coalesce(sum(money), 0) FROM reservations WHERE subscriber_id = " + sub),
              q("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind IN ('reserve', 'release') AND subscriber_id = " + sub));
  }

  /// Connections of this database waiting for a lock.
  std::int64_t lock_waiters() const {
    return q("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
  }
  /// Waits (at most 5 s) until `n` connections wait for a lock; how many do.
  std::int64_t wait_for_lock_waiters(std::int64_t n) const {
    for (int i = 0; i < 500 && lock_waiters() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return lock_waiters();
  }

  test::TestDatabase db_;
  ConnectionPool pool_;
  PgChargingStore store_;
};

TEST_F(ChargingStoreTest, InitialGrantsAndHoldsMoney) {
  const auto r = open("s1");
  EXPECT_EQ(r.status, ChargeStatus::Ok);
  EXPECT_FALSE(r.replayed);
  EXPECT_EQ(r.subscriber_id, 1);
  EXPECT_EQ(r.subscriber, "alice");
  EXPECT_EQ(r.policy.name, "default");
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  ASSERT_EQ(r.decision.results.size(), 1u);
  EXPECT_EQ(r.decision.results[0].status, RgStatus::Granted);
  ASSERT_TRUE(r.decision.results[0].grant);
  EXPECT_EQ(r.decision.results[0].grant->units, 100000u);
  EXPECT_EQ(r.decision.results[0].grant->validity_time, 600u);

  EXPECT_EQ(balance(), 10000);  // holds do not move the balance
  EXPECT_EQ(q("SELECT money FROM reservations WHERE session_id = 's1' AND rating_group = 10"), 200);
  EXPECT_EQ(q("SELECT granted_units FROM reservations WHERE session_id = 's1'"), 100000);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind = 'reserve' AND session_id = 's1' AND amount = 200 "
              "AND balance_after = 10000 AND request_key = '0' AND rating_group = 10"),
            1);
  EXPECT_EQ(text("SELECT concat_ws(',', state, credit_state, protocol, origin_host, origin_realm, last_request_key) "
                 "FROM charging_sessions WHERE id = 's1'"),
            "open,ok,gy,pgw.example,example,0");
  EXPECT_EQ(q("SELECT extract(epoch FROM expires_at)::bigint FROM charging_sessions WHERE id = 's1'"),
            1709553600 + 1200);
  EXPECT_EQ(q("SELECT count(*) FROM charging_events WHERE session_id = 's1' AND request_key = '0' "
              "AND kind = 'initial' AND subscriber_id = 1"),
            1);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, UpdateChargesUsageAtTariffPriceAndRegrants) {
  open("s1");
  const auto r = update("s1", "1", 50500);  // 51 started blocks x 2 cents
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  ASSERT_EQ(r.decision.debits.size(), 1u);
  EXPECT_EQ(r.decision.debits[0].cost, 102);
  EXPECT_EQ(r.decision.released, std::vector<std::uint32_t>{10});
  ASSERT_EQ(r.decision.reservations.size(), 1u);

  EXPECT_EQ(balance(), 9898);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind = 'debit' AND amount = -102 AND balance_after = 9898 "
              "AND session_id = 's1' AND request_key = '1' AND rating_group = 10"),
            1);
  // The same hold again (200): renewed in place, no ledger row for it.
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind IN ('reserve', 'release') AND request_key = '1'"), 0);
  EXPECT_EQ(q("SELECT sum(money) FROM reservations WHERE session_id = 's1'"), 200);
  EXPECT_EQ(text("SELECT concat_ws(',', units, cost, total_octets, unit, currency, request_key, "
                 "extract(epoch FROM usage_start)::bigint) FROM usage_records WHERE session_id = 's1'"),
            "50500,102,50500,octets_total,EUR,1,1709553600");
  EXPECT_EQ(q("SELECT extract(epoch FROM last_seen)::bigint FROM charging_sessions WHERE id = 's1'"), 1709553660);
  EXPECT_EQ(q("SELECT extract(epoch FROM expires_at)::bigint FROM charging_sessions WHERE id = 's1'"),
            1709553660 + 1200);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, RenewedHoldWritesOneLedgerRowForItsDifference) {
  open("s1");  // 200 held
  const auto held = [&] { return q("SELECT sum(money) FROM reservations WHERE session_id = 's1'"); };
  const auto holds = [&](const std::string& key) {
    return text("SELECT string_agg(kind || ' ' || amount, ',' ORDER BY id) FROM ledger "
                "WHERE kind IN ('reserve', 'release') AND request_key = '" + key + "'");
  };
  // A smaller grant: one 'release' row with the decrease.
  store_.charge(request(RequestKind::Update, "s1", "1", {rg(10, true, 1000, 20000)}), kNow + std::chrono::seconds(60));
  const Money smaller = held();
  ASSERT_GT(smaller, 0);
  ASSERT_LT(smaller, 200);
  EXPECT_EQ(holds("1"), "release " + std::to_string(smaller - 200));
  // The default grant again: one 'reserve' row with the increase.
  update("s1", "2", 1000, kNow + std::chrono::seconds(90));
  EXPECT_EQ(held(), 200);
  EXPECT_EQ(holds("2"), "reserve " + std::to_string(200 - smaller));
  // Closing releases the whole hold in one row, as before.
  terminate("s1", "3", 1000);
  EXPECT_EQ(holds("3"), "release -200");
  expect_ledger_consistent();
}

// Schema 21: a charged usage record is the ledger's debit. The charge
// writes no debit row of its own; the ledger view shows the record's
// ledger_id, -cost and balance_after, in the order the rows always had
// (the debit before the request's hold rows).
TEST_F(ChargingStoreTest, AUsageRecordThatCostsMoneyIsTheLedgersDebit) {
  open("s1");  // 200 held
  // 50,500 octets cost 102; a smaller grant writes a 'release' row after it.
  store_.charge(request(RequestKind::Update, "s1", "1", {rg(10, true, 50500, 20000)}), kNow + std::chrono::seconds(60));
  EXPECT_EQ(q("SELECT count(*) FROM ledger_entries WHERE kind = 'debit'"), 0);
  EXPECT_EQ(text("SELECT concat_ws(',', cost, balance_after, ledger_id IS NOT NULL) FROM usage_records "
                 "WHERE session_id = 's1'"),
            "102,9898,t");
  EXPECT_EQ(text("SELECT string_agg(kind || ' ' || amount || ' ' || balance_after, ',' ORDER BY id) FROM ledger "
                 "WHERE session_id = 's1' AND request_key = '1'"),
            "debit -102 9898,release -" + std::to_string(200 - q("SELECT money FROM reservations")) + " 9898");
  EXPECT_EQ(q("SELECT count(*) FROM ledger l JOIN usage_records u ON u.ledger_id = l.id "
              "WHERE l.kind = 'debit' AND l.created_at = u.recorded_at AND l.subscriber_id = 1"),
            1);

  // A usage taken only from buckets costs nothing: a usage record that is
  // no debit.
  db_.exec("INSERT INTO buckets (subscriber_id, rating_group, unit_family, initial_units, remaining) VALUES (1, 20, 'events', 5, 5)");
  ASSERT_EQ(store_.charge(request(RequestKind::Event, "ev1", "0", {rg(20, false, std::nullopt, 1)}, {msisdn(kAlice)}),
                          kNow)
                .decision.outcome,
            Outcome::Success);
  EXPECT_EQ(text("SELECT concat_ws(',', cost, bucket_units, ledger_id IS NULL, balance_after IS NULL) "
                 "FROM usage_records WHERE session_id = 'ev1'"),
            "0,1,t,t");
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE session_id = 'ev1'"), 0);

  // Operators' SQL writes to the view as before: an adjustment lands in
  // ledger_entries with the next id.
  const auto last = q("SELECT max(id) FROM ledger");
  EXPECT_GT(q("INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after) "
              "VALUES (1, 'adjustment', 0, 'EUR', 9898) RETURNING id"),
            last);
  EXPECT_EQ(q("SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment' AND created_at IS NOT NULL"), 1);

  // Both halves of the ledger are append-only.
  const auto refused = [&](const std::string& sql, const std::string& why) {
    try {
      db_.exec(sql);
      ADD_FAILURE() << "accepted: " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << sql << ": " << e.what();
    }
  };
  refused("UPDATE usage_records SET cost = 0", "usage records are append-only");
  refused("DELETE FROM usage_records", "usage records are append-only");
  refused("TRUNCATE usage_records CASCADE", "usage records are append-only");
  refused("UPDATE ledger SET amount = 0", "the ledger is append-only");
  refused("DELETE FROM ledger WHERE kind = 'debit'", "the ledger is append-only");
  refused("UPDATE ledger_entries SET amount = 0", "the ledger is append-only");
  refused("INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, units, cost, "
          "currency, usage_start, ledger_id) VALUES ('x', '0', 1, 10, 'events', 1, 5, 'EUR', now(), 999999)",
          "usage_records_debit");
  expect_ledger_consistent();
}

// Debits written before schema 21 (a ledger row and a usage record each,
// by version 20's own function) stay in the ledger once after the
// migration, beside the debits written after it.
TEST(LedgerUpgrade, DebitsWrittenBeforeSchema21StayInTheLedgerOnce) {
  test::TestDatabase db(20);
  db.exec(kSetup);
  db.exec(R"SQL(SELECT ocs_charge_apply_batch('[{"subscriber": 1, "currency": "EUR", "session": "old",
    "key": "0", "kind": "event", "outcome": "v2", "session_write": null, "refused": [], "released": [],
    "reservations": [], "close_reason": null, "client": null, "now": 1709553600, "expires": 1709553600,
    "debits": [{"rating_group": 20, "unit": "events", "units": 1, "cost": 50, "usage_start": 1709553600,
                "events": 1, "buckets": []}]}]'::jsonb))SQL");
  ASSERT_EQ(db.query_long("SELECT count(*) FROM ledger WHERE kind = 'debit'"), 1);
  db.migrate();

  ConnectionPool pool(db.dsn(), 1, PgChargingStore::prepare_statements);
  PgChargingStore store(pool);
  ASSERT_EQ(store.charge(request(RequestKind::Event, "new", "0", {rg(20, false, std::nullopt, 1)}, {msisdn(kAlice)}),
                         kNow)
                .decision.outcome,
            Outcome::Success);
  EXPECT_EQ(db.query_value("SELECT string_agg(session_id || ' ' || amount || ' ' || balance_after, ',' ORDER BY id) "
                           "FROM ledger WHERE kind = 'debit'"),
            "old -50 9950,new -50 9900");
  EXPECT_EQ(db.query_long("SELECT count(*) FROM ledger_entries WHERE kind = 'debit'"), 1);
  EXPECT_EQ(db.query_long("SELECT count(*) FROM usage_records WHERE cost > 0"), 2);
  EXPECT_EQ(db.query_long("SELECT balance FROM accounts WHERE subscriber_id = 1"), 9900);
  EXPECT_EQ(db.query_long("SELECT sum(amount) FROM ledger WHERE subscriber_id = 1 AND kind IN ('topup', 'debit')"), 9900);
}

// RADIUS reports running totals: the store charges them less what the
// session was already charged, per direction, never below zero, read in the
// charge's own round trip; alone and in a batch the same.
TEST_F(ChargingStoreTest, RunningTotalsAreChargedLessWhatWasAlreadyCharged) {
  const auto totals = [](const std::string& session, const std::string& key, std::uint64_t in, std::uint64_t out,
                         std::optional<std::uint64_t> seconds = std::nullopt) {
    auto req = request(RequestKind::Update, session, key, {rg(10, true)});
    ocs::UsageReport u;
    u.amount.input_octets = in;
    u.amount.output_octets = out;
    u.amount.total_octets = in + out;
    u.amount.seconds = seconds;
    req.credit.rating_groups.front().used.push_back(u);
    req.running_totals = true;
    return req;
  };
  const auto sums = [&](const std::string& session) {
    return text("SELECT concat_ws(',', sum(input_octets), sum(output_octets), sum(total_octets), sum(cost)) "
                "FROM usage_records WHERE session_id = '" + session + "'");
  };
  open("s1");
  open("s2");
  // Alone: 10000 + 20000 = 30 blocks; then +5000 in; then in went backwards
  // (nothing) and +5000 out.
  auto r = store_.charge(totals("s1", "1", 10000, 20000), kNow + std::chrono::seconds(60));
  EXPECT_FALSE(r.was_exhausted);
  ASSERT_EQ(r.decision.debits.size(), 1u);
  EXPECT_EQ(r.decision.debits[0].cost, 60);
  store_.charge(totals("s1", "2", 15000, 20000), kNow + std::chrono::seconds(70));
  store_.charge(totals("s1", "3", 12000, 25000), kNow + std::chrono::seconds(80));
  EXPECT_EQ(sums("s1"), "15000,25000,40000,80");
  // The same totals again under a new key: nothing more.
  r = store_.charge(totals("s1", "4", 15000, 25000), kNow + std::chrono::seconds(90));
  EXPECT_TRUE(r.decision.debits.empty() || r.decision.debits[0].cost == 0);
  EXPECT_EQ(sums("s1"), "15000,25000,40000,80");

  // In batches: s2 gets the same three reports, one per batch, with s3's
  // reports (carol's: another account) in the same transaction, so that
  // each batch reads two sessions' charged sums at once
  // (ocs_charged_usage_batch) and a mix-up would show in both; then a
  // request of another of alice's sessions (the next round: one writer per
  // account and round).
  open("s3", kNow, kCarol);
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> reports{{10000, 20000}, {15000, 20000}, {12000, 25000}};
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> carol{{5000, 0}, {9000, 0}, {9000, 1000}};
  for (std::size_t i = 0; i < reports.size(); ++i) {
    std::vector<store::ChargeRequest> batch{totals("s2", "b" + std::to_string(i), reports[i].first, reports[i].second),
                                            totals("s3", "c" + std::to_string(i), carol[i].first, carol[i].second),
                                            request(RequestKind::Update, "s1", "x" + std::to_string(i), {rg(10, true)})};
    const auto out = store_.charge_batch(batch, kNow + std::chrono::seconds(100 + static_cast<int>(i)));
    ASSERT_EQ(out.size(), 3u);
    for (const auto& o : out) ASSERT_TRUE(std::holds_alternative<ChargeResult>(o));
    EXPECT_EQ(text("SELECT count(DISTINCT xmin::text) FROM charging_events WHERE request_key IN ('b" +
                   std::to_string(i) + "', 'c" + std::to_string(i) + "')"),
              "1");  // one transaction
  }
  EXPECT_EQ(sums("s2"), "15000,25000,40000,80");
  EXPECT_EQ(sums("s3"), "9000,1000,10000,20");
  EXPECT_EQ(balance(), 10000 - 80 - 80);
  EXPECT_EQ(balance(3), 10000 - 20);
  expect_ledger_consistent();
  expect_ledger_consistent(3);
}

// A RADIUS Start on a session its Access-Request opened records the NAS's
// details and charges nothing (attach_only): alone in a statement of its
// own, in a batch in the batch's transaction, and in a batch of attaches
// alone too. Not attached: another user's, a Gy, an unknown session.
TEST_F(ChargingStoreTest, AttachRecordsClientDetailsAloneAndInTheBatchTransaction) {
  db_.exec("INSERT INTO subscriber_identities (subscriber_id, kind, value) VALUES (1, 'username', 'alice'), "
           "(3, 'username', 'carol')");
  const auto open_radius = [&](const std::string& session, const std::string& who) {
    auto req = request(RequestKind::Initial, session, "auth", {rg(10, true)}, {msisdn(who)});
    req.origin.protocol = "radius";
    req.origin.nas_address = "192.0.2.1";
    ASSERT_EQ(store_.charge(req, kNow).status, ChargeStatus::Ok);
  };
  const auto attach = [](const std::string& session, const std::string& user, const std::string& ip) {
    auto req = request(RequestKind::Initial, session, "start", {rg(10, true)}, {{store::IdentityKind::Username, user}});
    req.origin.protocol = "radius";
    req.origin.client = {{"user_name", user}, {"acct_session_id", "acct-" + session}, {"framed_ip", ip}};
    req.attach_only = true;
    return req;
  };
  const auto client = [&](const std::string& session) {
    return text("SELECT concat_ws(',', client_info->>'user_name', client_info->>'acct_session_id', "
                "client_info->>'framed_ip', extract(epoch FROM last_seen)::bigint) FROM charging_sessions "
                "WHERE id = '" + session + "'");
  };
  for (const auto* s : {"r1", "r2", "r4", "r5", "r6"}) open_radius(s, kAlice);
  open("g1");
  const auto before = snapshot();

  const TimePoint later = kNow + std::chrono::seconds(5);
  EXPECT_EQ(store_.charge(attach("r1", "alice", "10.0.0.1"), later).status, ChargeStatus::Ok);
  EXPECT_EQ(client("r1"), "alice,acct-r1,10.0.0.1," + std::to_string(later.time_since_epoch().count()));
  EXPECT_EQ(store_.charge(attach("r1", "carol", "10.9.9.9"), later).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(store_.charge(attach("g1", "alice", "10.9.9.9"), later).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(store_.charge(attach("nope", "alice", "10.9.9.9"), later).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(client("r1"), "alice,acct-r1,10.0.0.1," + std::to_string(later.time_since_epoch().count()));
  EXPECT_EQ(snapshot(), before);  // no ledger row, usage record, stored answer or hold

  // With a charge: one transaction for both.
  std::vector<store::ChargeRequest> batch{attach("r2", "alice", "10.0.0.2"),
                                          request(RequestKind::Update, "g1", "1", {rg(10, true, 1000)}),
                                          attach("nope", "alice", "10.9.9.9")};
  auto out = store_.charge_batch(batch, later);
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<ChargeResult>(out[0]));
  ASSERT_TRUE(std::holds_alternative<ChargeResult>(out[1]));
  ASSERT_TRUE(std::holds_alternative<ChargeResult>(out[2]));
  EXPECT_EQ(std::get<ChargeResult>(out[0]).status, ChargeStatus::Ok);
  EXPECT_EQ(std::get<ChargeResult>(out[1]).status, ChargeStatus::Ok);
  EXPECT_EQ(std::get<ChargeResult>(out[2]).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(client("r2"), "alice,acct-r2,10.0.0.2," + std::to_string(later.time_since_epoch().count()));
  EXPECT_EQ(text("SELECT xmin::text FROM charging_sessions WHERE id = 'r2'"),
            text("SELECT xmin::text FROM charging_events WHERE session_id = 'g1' AND request_key = '1'"));

  // With a charge that writes nothing (a replay): committed all the same.
  batch = {attach("r6", "alice", "10.0.0.6"), request(RequestKind::Update, "g1", "1", {rg(10, true, 1000)})};
  out = store_.charge_batch(batch, later);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<ChargeResult>(out[0]));
  ASSERT_TRUE(std::holds_alternative<ChargeResult>(out[1]));
  EXPECT_EQ(std::get<ChargeResult>(out[0]).status, ChargeStatus::Ok);
  EXPECT_TRUE(std::get<ChargeResult>(out[1]).replayed);
  EXPECT_EQ(client("r6"), "alice,acct-r6,10.0.0.6," + std::to_string(later.time_since_epoch().count()));

  // Attaches alone in a batch: committed too, together.
  batch = {attach("r4", "alice", "10.0.0.4"), attach("r5", "alice", "10.0.0.5")};
  out = store_.charge_batch(batch, later);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    ASSERT_TRUE(std::holds_alternative<ChargeResult>(o));
    EXPECT_EQ(std::get<ChargeResult>(o).status, ChargeStatus::Ok);
  }
  EXPECT_EQ(client("r4"), "alice,acct-r4,10.0.0.4," + std::to_string(later.time_since_epoch().count()));
  EXPECT_EQ(client("r5"), "alice,acct-r5,10.0.0.5," + std::to_string(later.time_since_epoch().count()));
  EXPECT_EQ(text("SELECT xmin::text FROM charging_sessions WHERE id = 'r4'"),
            text("SELECT xmin::text FROM charging_sessions WHERE id = 'r5'"));
  expect_ledger_consistent();
}

// Two running-totals reports of one session at once (two RADIUS daemons
// behind one NAS): whichever gets the account lock second must see what the
// first charged (schema 10), or the overlap is charged twice.
TEST_F(ChargingStoreTest, ConcurrentRunningTotalsOfOneSessionAreChargedOnce) {
  open("s1");
  const auto report = [](const std::string& key, std::uint64_t in) {
    auto req = request(RequestKind::Update, "s1", key, {rg(10, true)});
    ocs::UsageReport u;
    u.amount.input_octets = in;
    u.amount.output_octets = 0;
    u.amount.total_octets = in;
    req.credit.rating_groups.front().used.push_back(u);
    req.running_totals = true;
    return req;
  };
  {
    // Both requests start (and take their statement's snapshot) while the
    // account is locked, then queue for the lock.
    pqxx::connection blocker(db_.dsn());
    pqxx::work tx(blocker);
    tx.exec("SELECT 1 FROM accounts WHERE subscriber_id = 1 FOR UPDATE");
    std::thread a([&] { store_.charge(report("a", 10000), kNow + std::chrono::seconds(60)); });
    std::thread b([&] { store_.charge(report("b", 12000), kNow + std::chrono::seconds(60)); });
    EXPECT_EQ(wait_for_lock_waiters(2), 2);
    tx.abort();
    a.join();
    b.join();
  }
  // 12000 octets reported in all, whichever came first.
  EXPECT_EQ(q("SELECT sum(input_octets) FROM usage_records WHERE session_id = 's1'"), 12000);
  EXPECT_EQ(balance(), 10000 - 24);
  expect_ledger_consistent();
}

// Two subscribers' requests under one Session-Id and key are not serialised
// by an account lock: the second one's load finds no stored answer while
// the first is uncommitted, and its INSERT of the answer then waits for it.
// Once the first commits, the second must be tried again and replay the
// stored answer, charging nothing (ocs_charge_apply_batch raises OC001,
// the store tries the request again).
TEST_F(ChargingStoreTest, ADuplicateStoredConcurrentlyIsReplayed) {
  const auto carols = request(RequestKind::Event, "ev-carol", "0", {rg(20, false, std::nullopt, 1)}, {msisdn(kCarol)});
  const auto stored = store_.charge(carols, kNow);
  ASSERT_EQ(stored.status, ChargeStatus::Ok);
  const std::string outcome = text("SELECT outcome FROM charging_events WHERE session_id = 'ev-carol'");
  const auto before = snapshot();

  ChargeResult alices;
  {
    pqxx::connection other(db_.dsn());
    pqxx::work tx(other);
    tx.exec_params0("INSERT INTO charging_events (session_id, request_key, subscriber_id, kind, outcome) "
                    "VALUES ('ev-race', '0', 3, 'event', $1)",
                    outcome);
    std::thread a([&] {
      try {
        alices = store_.charge(request(RequestKind::Event, "ev-race", "0", {rg(20, false, std::nullopt, 1)},
                                       {msisdn(kAlice)}),
                               kNow);
      } catch (const StoreError& e) {
        ADD_FAILURE() << "the duplicate failed instead of replaying: " << e.what();
      }
    });
    EXPECT_EQ(wait_for_lock_waiters(1), 1);
    tx.commit();
    a.join();
  }
  EXPECT_EQ(alices.status, ChargeStatus::Ok);
  EXPECT_TRUE(alices.replayed);
  EXPECT_EQ(encode_outcome(alices), encode_outcome(stored));
  // Alice paid nothing; the only new row is the other transaction's answer.
  EXPECT_EQ(balance(1), 10000);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE subscriber_id = 1"), 1);
  EXPECT_EQ(q("SELECT count(*) FROM usage_records"), std::get<2>(before));
  EXPECT_EQ(q("SELECT count(*) FROM charging_events"), std::get<3>(before) + 1);
  expect_ledger_consistent();
}

// A subscriber whose money or usage is on record is neither deleted nor
// renumbered (the foreign keys of ledger and usage_records), and one
// without history goes with its identities and account.
TEST_F(ChargingStoreTest, ASubscriberWithHistoryIsNeitherDeletedNorRenumbered) {
  const auto refused = [&](const std::string& sql) {
    try {
      db_.exec(sql);
    } catch (const pqxx::foreign_key_violation&) {
      return true;
    }
    return false;
  };
  // Carol: a top-up row. Alice: also a usage record of an event.
  ASSERT_EQ(store_.charge(request(RequestKind::Event, "ev1", "0", {rg(20, false, std::nullopt, 1)}, {msisdn(kAlice)}),
                          kNow)
                .status,
            ChargeStatus::Ok);
  EXPECT_TRUE(refused("DELETE FROM subscribers WHERE id = 3"));
  EXPECT_TRUE(refused("DELETE FROM subscribers WHERE id = 1"));
  EXPECT_TRUE(refused("UPDATE subscribers SET id = 42 WHERE id = 1"));
  // Only usage on record (a free event), no ledger row: still refused.
  db_.exec("INSERT INTO subscribers (id, external_id, plan_id) VALUES (4, 'dave', 1); "
           "INSERT INTO accounts (subscriber_id, currency, balance) VALUES (4, 'EUR', 0); "
           "INSERT INTO usage_records (session_id, request_key, subscriber_id, rating_group, unit, units, cost, "
           "currency, usage_start) VALUES ('ev4', '0', 4, 20, 'events', 1, 0, 'EUR', now())");
  EXPECT_TRUE(refused("DELETE FROM subscribers WHERE id = 4"));
  EXPECT_EQ(q("SELECT count(*) FROM subscribers"), 4);
  EXPECT_EQ(q("SELECT count(*) FROM accounts"), 4);
  // A subscriber without history goes, with its identities and account.
  db_.exec("INSERT INTO subscribers (id, external_id, plan_id) VALUES (5, 'erin', 1); "
           "INSERT INTO subscriber_identities (subscriber_id, kind, value) VALUES (5, 'msisdn', '491700000005'); "
           "INSERT INTO accounts (subscriber_id, currency, balance) VALUES (5, 'EUR', 0)");
  db_.exec("DELETE FROM subscribers WHERE id = 5");
  EXPECT_EQ(q("SELECT count(*) FROM subscribers WHERE id = 5"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM accounts WHERE subscriber_id = 5"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM subscriber_identities WHERE subscriber_id = 5"), 0);
}

TEST_F(ChargingStoreTest, TerminateChargesReleasesEverythingAndCloses) {
  open("s1");
  update("s1", "1", 50500);
  const auto r = terminate("s1", "2", 30000);
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  EXPECT_TRUE(r.decision.session_closed);
  ASSERT_EQ(r.decision.debits.size(), 1u);
  EXPECT_EQ(r.decision.debits[0].cost, 60);

  EXPECT_EQ(balance(), 10000 - 102 - 60);
  EXPECT_EQ(q("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(q("SELECT sum(amount) FROM ledger WHERE kind IN ('reserve', 'release') AND session_id = 's1'"), 0);
  EXPECT_EQ(text("SELECT concat_ws(',', state, close_reason, extract(epoch FROM closed_at)::bigint) "
                 "FROM charging_sessions WHERE id = 's1'"),
            "closed,terminate,1709553720");
  EXPECT_EQ(q("SELECT count(*) FROM usage_records WHERE session_id = 's1'"), 2);
  EXPECT_EQ(q("SELECT sum(cost) FROM usage_records WHERE session_id = 's1'"), 162);
  EXPECT_TRUE(store_.open_sessions(1, "gy").empty());
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, EventDebitsOnceAndOpensNoSession) {
  const auto req = request(RequestKind::Event, "ev1", "0", {rg(20, false, std::nullopt, 2)}, {msisdn(kAlice)});
  const auto r = store_.charge(req, kNow);
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  ASSERT_EQ(r.decision.debits.size(), 1u);
  EXPECT_EQ(r.decision.debits[0].cost, 100);
  EXPECT_EQ(balance(), 9900);
  EXPECT_EQ(text("SELECT concat_ws(',', units, events, cost) FROM usage_records WHERE session_id = 'ev1'"),
            "2,2,100");
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind = 'debit' AND amount = -100 AND session_id = 'ev1'"), 1);

  const auto before = snapshot();
  const auto again = store_.charge(req, kNow + std::chrono::seconds(5));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(encode_outcome(again), encode_outcome(r));
  EXPECT_EQ(snapshot(), before);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, UnknownIdentityIsUserUnknownAndWritesNothing) {
  const auto before = snapshot();
  const auto r = store_.charge(
      request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn("491709999999")}), kNow);
  EXPECT_EQ(r.status, ChargeStatus::UserUnknown);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions"), 0);
}

TEST_F(ChargingStoreTest, FirstMatchingIdentityWins) {
  const auto r = store_.charge(request(RequestKind::Initial, "s1", "0", {rg(10, true)},
                                       {msisdn("491709999999"), {IdentityKind::Imsi, "262010000000001"},
                                        msisdn(kCarol)}),
                               kNow);
  EXPECT_EQ(r.status, ChargeStatus::Ok);
  EXPECT_EQ(r.subscriber, "alice");
}

TEST_F(ChargingStoreTest, UpdateOrTerminateOfUnknownSessionIsUnknownSession) {
  EXPECT_EQ(update("nope", "1", 10).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(terminate("nope", "1", 10).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(q("SELECT count(*) FROM charging_events"), 0);
}

TEST_F(ChargingStoreTest, UpdateOfClosedSessionIsUnknownSession) {
  open("s1");
  terminate("s1", "1", 1000);
  const auto before = snapshot();
  EXPECT_EQ(update("s1", "2", 5000).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(terminate("s1", "3", 5000).status, ChargeStatus::UnknownSession);
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ChargingStoreTest, ReplayReturnsTheStoredOutcomeAndWritesNothing) {
  open("s1");
  const auto first = update("s1", "1", 50500);
  const auto before = snapshot();
  const auto again = update("s1", "1", 99999, kNow + std::chrono::seconds(500));  // content ignored
  EXPECT_TRUE(again.replayed);
  EXPECT_FALSE(first.replayed);
  EXPECT_EQ(encode_outcome(again), encode_outcome(first));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(q("SELECT extract(epoch FROM last_seen)::bigint FROM charging_sessions WHERE id = 's1'"), 1709553660);
}

TEST_F(ChargingStoreTest, AnAnswerStoredInVersion1IsReplayed) {
  // A row written before the stored answers lost their [debit] and
  // [reservation] sections (outcome_codec.hpp) is still replayed, as it was.
  open("s1");
  const auto first = update("s1", "1", 50500);
  const std::string v2 = text("SELECT outcome FROM charging_events WHERE session_id = 's1' AND request_key = '1'");
  ASSERT_EQ(v2.rfind("v2\n", 0), 0u) << v2;
  const std::string v1 = "v1\n" + v2.substr(3) +
                         "[debit]\nrating_group=10\nunit=octets_total\nunits=50500\ncost=50\n"
                         "reported.total_octets=50500\nusage_start=1709553600\nrated=true\n";
  pqxx::connection c(db_.dsn());
  pqxx::work tx(c);
  tx.exec_params("UPDATE charging_events SET outcome = $1 WHERE session_id = 's1' AND request_key = '1'", v1);
  tx.commit();
  const auto before = snapshot();
  const auto again = update("s1", "1", 50500);
  EXPECT_TRUE(again.replayed);
  ASSERT_EQ(again.decision.debits.size(), 1u);
  EXPECT_EQ(again.decision.debits[0].units, 50500u);
  EXPECT_EQ(encode_outcome(again), encode_outcome(first));
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ChargingStoreTest, ReplaysAfterTheSessionClosedStillAnswer) {
  const auto initial = open("s1");
  const auto first_update = update("s1", "1", 50500);
  const auto term = terminate("s1", "2", 30000);
  const auto before = snapshot();

  const auto term_again = terminate("s1", "2", 30000, kNow + std::chrono::seconds(900));
  EXPECT_TRUE(term_again.replayed);
  EXPECT_EQ(encode_outcome(term_again), encode_outcome(term));
  const auto update_again = update("s1", "1", 50500);
  EXPECT_TRUE(update_again.replayed);
  EXPECT_EQ(encode_outcome(update_again), encode_outcome(first_update));
  const auto initial_again = open("s1");
  EXPECT_TRUE(initial_again.replayed);
  EXPECT_EQ(encode_outcome(initial_again), encode_outcome(initial));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(text("SELECT state FROM charging_sessions WHERE id = 's1'"), "closed");
}

TEST_F(ChargingStoreTest, BlockedSubscriberIsDenied) {
  const auto r = open("sb", kNow, kBob);
  EXPECT_EQ(r.status, ChargeStatus::Ok);
  EXPECT_EQ(r.decision.outcome, Outcome::Denied);
  ASSERT_EQ(r.decision.results.size(), 1u);
  EXPECT_EQ(r.decision.results[0].status, RgStatus::Denied);
  EXPECT_EQ(balance(2), 10000);
  EXPECT_EQ(q("SELECT count(*) FROM reservations"), 0);
  EXPECT_EQ(text("SELECT state FROM charging_sessions WHERE id = 'sb'"), "closed");
  expect_ledger_consistent(2);
}

TEST_F(ChargingStoreTest, OutOfCreditMarksTheSessionExhausted) {
  db_.exec("UPDATE accounts SET balance = 100 WHERE subscriber_id = 1;"
           "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after) "
           "VALUES (1, 'adjustment', -9900, 'EUR', 100)");
  const auto first = open("s1");
  ASSERT_TRUE(first.decision.results.at(0).grant);
  EXPECT_EQ(first.decision.results[0].grant->units, 50000u);
  EXPECT_TRUE(first.decision.results[0].grant->final_units);
  const auto r = update("s1", "1", 50000);
  EXPECT_EQ(r.decision.outcome, Outcome::CreditLimitReached);
  EXPECT_TRUE(r.decision.credit_exhausted);
  EXPECT_EQ(balance(), 0);
  EXPECT_EQ(text("SELECT state || ',' || credit_state FROM charging_sessions WHERE id = 's1'"), "open,exhausted");
  EXPECT_EQ(q("SELECT count(*) FROM reservations"), 0);
  const auto sessions = store_.open_sessions(1, "gy");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(sessions[0].credit_exhausted);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, SupervisionExpiryReleasesAndCloses) {
  open("s1");                                  // expires at kNow + 1200
  open("s2", kNow + std::chrono::seconds(600));  // expires at kNow + 1800
  EXPECT_TRUE(store_.expire_sessions(kNow + std::chrono::seconds(1200), 10).empty());

  const auto expired = store_.expire_sessions(kNow + std::chrono::seconds(1201), 10);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].session_id, "s1");
  EXPECT_EQ(expired[0].subscriber_id, 1);
  EXPECT_EQ(expired[0].released, 200);
  EXPECT_EQ(expired[0].protocol, "gy");
  EXPECT_EQ(q("SELECT count(*) FROM reservations WHERE session_id = 's1'"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind = 'release' AND session_id = 's1' AND amount = -200 "
              "AND request_key IS NULL"),
            1);
  EXPECT_EQ(text("SELECT state || ',' || close_reason FROM charging_sessions WHERE id = 's1'"), "closed,supervision");
  EXPECT_EQ(text("SELECT state FROM charging_sessions WHERE id = 's2'"), "open");
  EXPECT_EQ(balance(), 10000);
  EXPECT_EQ(update("s1", "1", 100).status, ChargeStatus::UnknownSession);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, CloseSessionReleasesAtOnceAndOnlyOnce) {
  open("s1");
  const auto closed = store_.close_session("s1", "client: unknown session", kNow);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->subscriber_id, 1);
  EXPECT_EQ(closed->released, 200);
  EXPECT_EQ(q("SELECT count(*) FROM reservations WHERE session_id = 's1'"), 0);
  EXPECT_EQ(text("SELECT state || ',' || close_reason FROM charging_sessions WHERE id = 's1'"),
            "closed,client: unknown session");
  EXPECT_FALSE(store_.close_session("s1", "again", kNow));     // already closed
  EXPECT_FALSE(store_.close_session("nope", "never", kNow));   // never opened
  EXPECT_EQ(balance(), 10000);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, ExpiryHonoursTheLimitAndRenewals) {
  open("s1");
  open("s2");
  update("s2", "1", 1000, kNow + std::chrono::seconds(1000));  // renewed: expires at kNow + 2200
  open("s3");
  const auto later = kNow + std::chrono::seconds(1500);
  EXPECT_EQ(store_.expire_sessions(later, 1).size(), 1u);
  EXPECT_EQ(store_.expire_sessions(later, 10).size(), 1u);
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE state = 'open'"), 1);
  EXPECT_EQ(text("SELECT id FROM charging_sessions WHERE state = 'open'"), "s2");
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, InitialAgainOnAnOpenSessionIsTheSameSession) {
  open("s1");
  const auto r = store_.charge(request(RequestKind::Initial, "s1", "0b", {rg(10, true)}, {msisdn(kAlice)}), kNow);
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  EXPECT_EQ(q("SELECT count(*) FROM reservations"), 1);
  EXPECT_EQ(q("SELECT sum(money) FROM reservations"), 200);
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions"), 1);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, InitialReusingAnotherSubscribersOpenSessionIsRefused) {
  open("s1");
  const auto before = snapshot();
  try {
    store_.charge(request(RequestKind::Initial, "s1", "9", {rg(10, true)}, {msisdn(kCarol)}), kNow);
    ADD_FAILURE() << "accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::Invalid) << e.what();
  }
  EXPECT_EQ(std::get<0>(snapshot()), std::get<0>(before));
  EXPECT_EQ(q("SELECT subscriber_id FROM charging_sessions WHERE id = 's1'"), 1);
}

TEST_F(ChargingStoreTest, BucketsAreHeldAcrossSessionsAndConsumed) {
  db_.exec("INSERT INTO buckets (id, subscriber_id, rating_group, unit_family, initial_units, remaining) "
           "VALUES (1, 1, 10, 'octets', 50000, 50000)");
  const auto a = open("s1");
  ASSERT_EQ(a.decision.reservations.size(), 1u);
  EXPECT_EQ(a.decision.reservations[0].money, 100);  // half from the bucket
  EXPECT_EQ(text("SELECT bucket_holds::text FROM reservations WHERE session_id = 's1'"),
            R"([{"units": 50000, "bucket": 1}])");
  const auto b = open("s2");  // the bucket is all held by s1
  EXPECT_EQ(b.decision.reservations.at(0).money, 200);

  const auto u = update("s1", "1", 60000);
  ASSERT_EQ(u.decision.debits.size(), 1u);
  EXPECT_EQ(u.decision.debits[0].bucket_uses, (std::vector<BucketUnits>{{1, 50000}}));
  EXPECT_EQ(u.decision.debits[0].cost, 20);
  EXPECT_EQ(q("SELECT remaining FROM buckets WHERE id = 1"), 0);
  EXPECT_EQ(balance(), 9980);
  EXPECT_EQ(text("SELECT bucket_units || ',' || cost FROM usage_records WHERE session_id = 's1'"), "50000,20");
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, OpenSessionsListOriginAndRatingGroups) {
  open("s1");
  store_.charge(request(RequestKind::Initial, "s2", "0", {rg(10, true), rg(20, true)}, {msisdn(kAlice)}), kNow);
  const auto sessions = store_.open_sessions(1, "gy");
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].session_id, "s1");
  EXPECT_EQ(sessions[0].rating_groups, std::vector<std::uint32_t>{10});
  EXPECT_EQ(sessions[1].rating_groups, (std::vector<std::uint32_t>{10, 20}));
  EXPECT_EQ(sessions[1].origin.origin_host, "pgw.example");
  EXPECT_EQ(sessions[1].origin.protocol, "gy");
  EXPECT_FALSE(sessions[1].credit_exhausted);
  EXPECT_TRUE(store_.open_sessions(1, "radius").empty());
  EXPECT_TRUE(store_.open_sessions(3, "gy").empty());
}

// The client's session details go into client_info with the Initial that
// opens the session (one commit), and an Update leaves them alone.
TEST_F(ChargingStoreTest, InitialStoresTheClientsSessionDetails) {
  auto r = request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn(kAlice)});
  r.origin.client = {{"user_name", "alice"}, {"acct_session_id", "a1"}, {"framed_ip", "10.0.0.7"}};
  ASSERT_EQ(store_.charge(r, kNow).status, ChargeStatus::Ok);
  update("s1", "1", 1000);
  EXPECT_EQ(text("SELECT (client_info ->> 'user_name') || ' ' || (client_info ->> 'acct_session_id') || ' ' || "
                 "(client_info ->> 'framed_ip') FROM charging_sessions WHERE id = 's1'"),
            "alice a1 10.0.0.7");
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE id = 's1' AND client_info ? 'exhausted_rating_groups'"),
            1);
}

// Plans and policies are cached between requests, keyed by config_version:
// operators' plain SQL edits must still be seen by the very next request.
TEST_F(ChargingStoreTest, TariffAndPolicyEditsBySqlApplyToTheNextRequest) {
  open("s1");
  EXPECT_EQ(update("s1", "1", 1000).decision.debits.at(0).cost, 2);
  db_.exec("UPDATE tariff_periods SET price_per_block = 7 WHERE plan_rating_group_id = 1");
  EXPECT_EQ(update("s1", "2", 1000).decision.debits.at(0).cost, 7);
  db_.exec("INSERT INTO tariff_periods (plan_rating_group_id, price_per_block, priority) VALUES (1, 3, -1)");
  EXPECT_EQ(update("s1", "3", 1000).decision.debits.at(0).cost, 3);
  db_.exec("UPDATE plan_rating_groups SET block_units = 500 WHERE id = 1");
  EXPECT_EQ(update("s1", "4", 1000).decision.debits.at(0).cost, 6);
  db_.exec("UPDATE policies SET validity_time = 90, name = 'renamed' WHERE id = 1");
  const auto r = update("s1", "5", 0);
  EXPECT_EQ(r.policy.name, "renamed");
  ASSERT_TRUE(r.decision.results.at(0).grant);
  EXPECT_EQ(r.decision.results.at(0).grant->validity_time, 90u);
  db_.exec("INSERT INTO policies (id, name, validity_time) VALUES (2, 'other', 30); "
           "UPDATE plans SET policy_id = 2 WHERE id = 1");
  EXPECT_EQ(update("s1", "6", 0).policy.name, "other");
  expect_ledger_consistent();
}

// Everything the client sends travels as quoted SQL literals.
TEST_F(ChargingStoreTest, QuotesInIdsAreData) {
  const std::string session = "pgw'; DROP TABLE ledger; --\\ \"x\"";
  auto req = request(RequestKind::Initial, session, "0'1", {rg(10, true)}, {msisdn(kAlice)});
  req.origin.origin_host = "host'); --";
  const auto r = store_.charge(req, kNow);
  EXPECT_EQ(r.decision.outcome, Outcome::Success);
  EXPECT_EQ(text("SELECT id || '|' || last_request_key || '|' || origin_host FROM charging_sessions"),
            session + "|0'1|host'); --");
  EXPECT_TRUE(store_.charge(req, kNow).replayed);
  EXPECT_EQ(store_.charge(request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn("x' OR '1'='1")}), kNow)
                .status,
            ChargeStatus::UserUnknown);
  expect_ledger_consistent();
}

TEST_F(ChargingStoreTest, MalformedRequestsAreInvalid) {
  for (const auto& [session, key] : {std::pair<std::string, std::string>{"", "0"}, {"s1", ""}}) {
    try {
      store_.charge(request(RequestKind::Initial, session, key, {rg(10, true)}, {msisdn(kAlice)}), kNow);
      ADD_FAILURE() << "accepted";
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::Invalid);
    }
  }
  auto bad_protocol = request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn(kAlice)});
  bad_protocol.origin.protocol = "smtp";
  try {
    store_.charge(bad_protocol, kNow);
    ADD_FAILURE() << "accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::Invalid) << e.what();
  }
  EXPECT_EQ(q("SELECT count(*) FROM charging_events"), 0);
}

// ---------------------------------------------------------------------------
// charge_batch: many requests, one transaction, the answers and effects of
// charge() on each in turn.
// ---------------------------------------------------------------------------

const ChargeResult& ok(const ChargeOutcome& o) {
  if (const auto* e = std::get_if<StoreError>(&o)) throw std::runtime_error(std::string("store error: ") + e->what());
  return std::get<ChargeResult>(o);
}

std::uint64_t granted(const ChargeResult& r) {
  for (const auto& res : r.decision.results)
    if (res.grant) return res.grant->units;
  return 0;
}

TEST_F(ChargingStoreTest, BatchOfMixedRequestsChargesEachExactly) {
  const std::vector<ChargeRequest> first = {
      request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn(kAlice)}),
      request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn(kCarol)}),
      request(RequestKind::Initial, "s3", "0", {rg(10, true)}, {msisdn("491709999999")}),
      request(RequestKind::Event, "ev1", "0", {rg(20, false, std::nullopt, 2)}, {msisdn(kCarol)}),
  };
  const auto a = store_.charge_batch(first, kNow);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(ok(a[0]).subscriber, "alice");
  EXPECT_EQ(granted(ok(a[0])), 100000u);
  EXPECT_EQ(ok(a[1]).subscriber, "carol");
  EXPECT_EQ(ok(a[2]).status, ChargeStatus::UserUnknown);
  ASSERT_EQ(ok(a[3]).decision.debits.size(), 1u);
  EXPECT_EQ(ok(a[3]).decision.debits[0].cost, 100);

  const std::vector<ChargeRequest> second = {
      request(RequestKind::Update, "s1", "1", {rg(10, true, 50500)}),    // 102 cents
      request(RequestKind::Update, "s2", "1", {rg(10, true, 1000)}),     // 2 cents
      request(RequestKind::Terminate, "s1", "2", {rg(10, false, 30000)}),  // 60 cents, after the update
      request(RequestKind::Update, "s9", "1", {rg(10, true, 1000)}),     // never opened
  };
  const auto b = store_.charge_batch(second, kNow + std::chrono::seconds(60));
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(ok(b[0]).decision.debits.at(0).cost, 102);
  EXPECT_EQ(ok(b[1]).decision.debits.at(0).cost, 2);
  EXPECT_EQ(ok(b[2]).decision.debits.at(0).cost, 60);
  EXPECT_TRUE(ok(b[2]).decision.session_closed);
  EXPECT_EQ(ok(b[3]).status, ChargeStatus::UnknownSession);

  EXPECT_EQ(balance(1), 10000 - 102 - 60);
  EXPECT_EQ(balance(3), 10000 - 100 - 2);
  EXPECT_EQ(q("SELECT count(*) FROM reservations WHERE session_id = 's1'"), 0);
  EXPECT_EQ(q("SELECT money FROM reservations WHERE session_id = 's2'"), 200);
  EXPECT_EQ(text("SELECT state FROM charging_sessions WHERE id = 's1'"), "closed");
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions"), 2);
  EXPECT_EQ(q("SELECT sum(cost) FROM usage_records"), 102 + 60 + 100 + 2);
  EXPECT_EQ(q("SELECT count(*) FROM charging_events"), 6);  // not the unknown user nor the unknown session
  expect_ledger_consistent(1);
  expect_ledger_consistent(3);
}

// What a UTF8 database cannot hold fails its own request, before any SQL:
// alone, and in a batch whose other requests are charged as usual.
TEST_F(ChargingStoreTest, TextThatIsNotUtf8FailsOnlyItsRequest) {
  auto bad_identity = request(RequestKind::Initial, "u1", "0", {rg(10, true)}, {{IdentityKind::Nai, "al\xff" "ce"}});
  auto bad_session = request(RequestKind::Initial, "u2\xc0\xaf", "0", {rg(10, true)}, {msisdn(kAlice)});
  auto bad_client = request(RequestKind::Initial, "u3", "0", {rg(10, true)}, {msisdn(kAlice)});
  bad_client.origin.client = {{"user_name", std::string("a\0b", 3)}};
  for (const auto* r : {&bad_identity, &bad_session, &bad_client}) {
    try {
      store_.charge(*r, kNow);
      ADD_FAILURE() << "charged " << r->session_id;
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::Invalid) << e.what();
    }
  }
  const std::vector<ChargeRequest> batch = {
      request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn(kAlice)}), bad_identity, bad_session,
      request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn(kCarol)}), bad_client};
  const auto out = store_.charge_batch(batch, kNow);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(ok(out[0]).subscriber, "alice");
  EXPECT_EQ(ok(out[3]).subscriber, "carol");
  for (const std::size_t i : {1u, 2u, 4u}) {
    ASSERT_TRUE(std::holds_alternative<StoreError>(out[i])) << i;
    EXPECT_EQ(std::get<StoreError>(out[i]).kind(), StoreError::Kind::Invalid) << i;
  }
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions"), 2);
  EXPECT_EQ(q("SELECT count(*) FROM charging_events"), 2);
}

TEST_F(ChargingStoreTest, ReplayInsideABatchAndAcrossBatchesChargesOnce) {
  open("s1");
  const auto u = request(RequestKind::Update, "s1", "1", {rg(10, true, 50500)});
  const std::vector<ChargeRequest> twice = {u, u};
  const auto a = store_.charge_batch(twice, kNow + std::chrono::seconds(60));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_FALSE(ok(a[0]).replayed);
  EXPECT_TRUE(ok(a[1]).replayed);
  EXPECT_EQ(encode_outcome(ok(a[1])), encode_outcome(ok(a[0])));
  EXPECT_EQ(balance(), 9898);

  const auto before = snapshot();
  const std::vector<ChargeRequest> again = {u, request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn(kCarol)})};
  const auto b = store_.charge_batch(again, kNow + std::chrono::seconds(90));
  EXPECT_TRUE(ok(b[0]).replayed);
  EXPECT_EQ(encode_outcome(ok(b[0])), encode_outcome(ok(a[0])));
  EXPECT_EQ(balance(), std::get<0>(before));
  EXPECT_EQ(q("SELECT count(*) FROM usage_records WHERE session_id = 's1'"), 1);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE kind = 'debit' AND session_id = 's1'"), 1);
  expect_ledger_consistent();
}

// Alice can afford 150 cents: the first session's 200-cent grant is cut to
// 150, and the second session, in the same batch, must see that hold and
// get nothing. Decided on the state before the first one's writes, it would
// hold 150 cents more than there is.
TEST_F(ChargingStoreTest, SameSubscriberTwiceInABatchSeesTheFirstOnesEffects) {
  db_.exec("UPDATE accounts SET balance = 150 WHERE subscriber_id = 1;"
           "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
           "VALUES (1, 'adjustment', -9850, 'EUR', 150, 'test')");
  const std::vector<ChargeRequest> both = {
      request(RequestKind::Initial, "s1", "0", {rg(10, true)}, {msisdn(kAlice)}),
      request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn(kCarol)}),
      request(RequestKind::Initial, "s3", "0", {rg(10, true)}, {Identity{IdentityKind::Imsi, "262010000000001"}}),
  };
  const auto r = store_.charge_batch(both, kNow);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(granted(ok(r[0])), 75000u);
  EXPECT_EQ(ok(r[2]).subscriber, "alice");
  EXPECT_EQ(granted(ok(r[2])), 0u);
  EXPECT_LE(q("SELECT sum(money) FROM reservations WHERE subscriber_id = 1"), 150);
  EXPECT_EQ(granted(ok(r[1])), 100000u);  // carol, in the same transaction as the first
  expect_ledger_consistent(1);
}

TEST_F(ChargingStoreTest, OneFailingRequestDoesNotFailItsNeighbours) {
  open("s0");
  auto bad_protocol = request(RequestKind::Initial, "bad", "0", {rg(10, true)}, {msisdn(kCarol)});
  bad_protocol.origin.protocol = "smtp";  // the schema's CHECK refuses it inside ocs_charge_apply
  const std::vector<ChargeRequest> reqs = {
      request(RequestKind::Update, "s0", "1", {rg(10, true, 1000)}),
      bad_protocol,
      request(RequestKind::Initial, "s0", "9", {rg(10, true)}, {msisdn(kCarol)}),  // alice's session
      request(RequestKind::Initial, "", "0", {rg(10, true)}, {msisdn(kCarol)}),    // no session id
      request(RequestKind::Initial, "s2", "0", {rg(10, true)}, {msisdn(kCarol)}),
  };
  const auto r = store_.charge_batch(reqs, kNow + std::chrono::seconds(60));
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(ok(r[0]).decision.debits.at(0).cost, 2);
  ASSERT_TRUE(std::holds_alternative<StoreError>(r[1]));
  EXPECT_EQ(std::get<StoreError>(r[1]).kind(), StoreError::Kind::Invalid);
  ASSERT_TRUE(std::holds_alternative<StoreError>(r[2]));
  EXPECT_EQ(std::get<StoreError>(r[2]).kind(), StoreError::Kind::Invalid);
  ASSERT_TRUE(std::holds_alternative<StoreError>(r[3]));
  EXPECT_EQ(std::get<StoreError>(r[3]).kind(), StoreError::Kind::Invalid);
  EXPECT_EQ(granted(ok(r[4])), 100000u);
  EXPECT_EQ(balance(1), 9998);
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE id = 'bad'"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM charging_events WHERE session_id = 's2'"), 1);
  expect_ledger_consistent(1);
  expect_ledger_consistent(3);
}

// A round's writes are those of charge() on each request in turn, row for
// row: the same scenario, in rounds for alice and carol and one request at a
// time for two subscribers like them, leaves the same ledger rows (in order,
// with balance_after), usage records, reservations, sessions and stored
// answers. It has two rating groups, two buckets, a hold that shrinks, one
// released without renewal, a second session of one subscriber (the first
// one's holds are held elsewhere, with little money), an event, closes and
// client details.
// Both the writes (ocs_charge_apply_batch) and the reads
// (ocs_charge_load_batch against ocs_charge_load) are compared.
TEST_F(ChargingStoreTest, ARoundWritesWhatOneRequestAtATimeWrites) {
  db_.exec("INSERT INTO subscribers (id, external_id, plan_id, status) VALUES (4, 'alice2', 1, 'active'), "
           "(5, 'carol2', 1, 'active');"
           "INSERT INTO subscriber_identities (subscriber_id, kind, value) VALUES (4, 'msisdn', '491700000004'), "
           "(5, 'msisdn', '491700000005');"
           "INSERT INTO accounts (subscriber_id, currency, balance) VALUES (4, 'EUR', 10000), (5, 'EUR', 10000);"
           "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) VALUES "
           "(4, 'topup', 10000, 'EUR', 10000, 'open-4'), (5, 'topup', 10000, 'EUR', 10000, 'open-5');"
           "INSERT INTO buckets (id, subscriber_id, rating_group, unit_family, initial_units, remaining) VALUES "
           "(1, 1, 10, 'octets', 200000, 200000), (2, 4, 10, 'octets', 200000, 200000);"
           // Consumed first: it ends sooner.
           "INSERT INTO buckets (id, subscriber_id, rating_group, unit_family, initial_units, remaining, valid_until) "
           "VALUES (3, 1, NULL, 'octets', 30000, 30000, '2030-01-01'), (4, 4, NULL, 'octets', 30000, 30000, '2030-01-01');"
           // Little money, so that what other sessions hold limits a grant.
           "UPDATE accounts SET balance = 600 WHERE subscriber_id IN (1, 4);"
           "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) VALUES "
           "(1, 'adjustment', -9400, 'EUR', 600, 'tight-1'), (4, 'adjustment', -9400, 'EUR', 600, 'tight-4')");
  const auto scenario = [](const std::string& tag, const std::string& first, const std::string& second) {
    RatingGroupRequest one_event = rg(20, true);  // an event used, the next one held
    one_event.used.emplace_back();
    one_event.used.back().amount.events = 1;
    auto opening = request(RequestKind::Initial, tag + "s1", "0", {rg(10, true), rg(20, true)}, {msisdn(first)});
    opening.origin.client = {{"user_name", "u\"1\\"}, {"framed_ip", "10.0.0.7"}};
    // Every round has one request of each subscriber, so none waits for a
    // round of its own (which would be charged alone).
    return std::vector<std::vector<ChargeRequest>>{
        {opening, request(RequestKind::Initial, tag + "s2", "0", {rg(10, true)}, {msisdn(second)})},
        {request(RequestKind::Update, tag + "s1", "1", {rg(10, true, 70500), one_event}),
         request(RequestKind::Update, tag + "s2", "1", {rg(10, false, 1000)})},
        // The first subscriber's second session: what s1 holds is held elsewhere.
        {request(RequestKind::Initial, tag + "s3", "0", {rg(10, true)}, {msisdn(first)}),
         request(RequestKind::Event, tag + "ev", "0", {rg(20, false, std::nullopt, 2)}, {msisdn(second)})},
        // A grant of up to ten events, limited by the money s3 holds (not by
        // what s1 itself holds).
        {request(RequestKind::Update, tag + "s1", "2", {rg(10, true, 20000, 3000), rg(20, true, std::nullopt, 10)}),
         request(RequestKind::Terminate, tag + "s2", "2", {rg(10, false, 0)})},
        {request(RequestKind::Terminate, tag + "s1", "3", {rg(10, false, 2500)}),
         request(RequestKind::Initial, tag + "s4", "0", {rg(10, true)}, {msisdn(second)})},
        {request(RequestKind::Terminate, tag + "s3", "1", {rg(10, false, 100)}),
         request(RequestKind::Terminate, tag + "s4", "1", {rg(10, false, 100)})},
    };
  };
  for (const auto& round : scenario("b-", kAlice, kCarol)) {
    const auto out = store_.charge_batch(round, kNow + std::chrono::seconds(60));
    for (const auto& o : out) ok(o);
  }
  for (const auto& round : scenario("q-", "491700000004", "491700000005"))
    for (const auto& req : round) store_.charge(req, kNow + std::chrono::seconds(60));

  const auto rows = [&](int subscriber) {
    const std::string sub = std::to_string(subscriber);
    const auto all = [&](const std::string& sql) {
      pqxx::connection c(db_.dsn());
      pqxx::read_transaction tx(c);
      std::string out;
      for (const auto& row : tx.exec(sql)) {
        for (const auto& f : row) out += std::string(f.is_null() ? "-" : f.c_str()) + " ";
        out += "\n";
      }
      return out;
    };
    const std::string name = "regexp_replace(session_id, '^[bq]-', '')";
    return all("SELECT kind, amount, balance_after, " + name + ", request_key, rating_group FROM ledger "
               "WHERE subscriber_id = " + sub + " AND reference IS NULL ORDER BY id") +
           all("SELECT " + name + ", request_key, rating_group, unit, units, total_octets, cost, bucket_units "
               "FROM usage_records WHERE subscriber_id = " + sub + " ORDER BY id") +
           all("SELECT " + name + ", rating_group, granted_units, money, bucket_holds FROM reservations "
               "WHERE subscriber_id = " + sub + " ORDER BY 1, 2") +
           all("SELECT regexp_replace(id, '^[bq]-', ''), state, credit_state, close_reason, last_request_key, "
               "client_info FROM charging_sessions WHERE subscriber_id = " + sub + " ORDER BY 1") +
           // The stored answers, but for who the subscriber is and the bucket ids.
           all("SELECT " + name + ", request_key, kind, regexp_replace(outcome, "
               "'(subscriber_id|subscriber|bucket_hold|bucket_use)=[^\n]*', '', 'g') FROM charging_events "
               "WHERE subscriber_id = " + sub + " ORDER BY 1, 2") +
           all("SELECT balance FROM accounts WHERE subscriber_id = " + sub) +
           all("SELECT remaining FROM buckets WHERE subscriber_id = " + sub + " ORDER BY id");
  };
  const auto alice = rows(1);
  EXPECT_EQ(alice, rows(4));
  EXPECT_EQ(rows(3), rows(5));
  // The scenario did what it is meant to exercise. Each of the six rounds
  // was one transaction: a round that failed as a whole would have been
  // charged one request at a time, and compared equal.
  EXPECT_EQ(q("SELECT count(DISTINCT xmin::text) FROM charging_events WHERE session_id LIKE 'b-%'"), 6);
  EXPECT_EQ(q("SELECT count(DISTINCT xmin::text) FROM charging_events WHERE session_id LIKE 'q-%'"), 12);
  EXPECT_NE(alice.find("release"), std::string::npos) << alice;
  EXPECT_NE(alice.find("u\\\"1\\\\"), std::string::npos) << alice;
  EXPECT_LT(q("SELECT remaining FROM buckets WHERE id = 1"), 200000);
  EXPECT_EQ(q("SELECT remaining FROM buckets WHERE id = 3"), 0);
  EXPECT_EQ(q("SELECT count(*) FROM ledger WHERE subscriber_id = 3 AND kind = 'debit'"), 3);
  expect_ledger_consistent(1);
  expect_ledger_consistent(3);
}

// charge_batch returns only what is committed: another connection sees the
// stored answer of every request it answered, the moment it returns.
TEST_F(ChargingStoreTest, BatchAnswersAreCommittedWhenReturned) {
  std::vector<ChargeRequest> reqs;
  for (int i = 0; i < 20; ++i)
    reqs.push_back(request(RequestKind::Initial, "c" + std::to_string(i), "0", {rg(10, true)},
                           {msisdn(i % 2 ? kAlice : kCarol)}));
  const auto r = store_.charge_batch(reqs, kNow);
  ASSERT_EQ(r.size(), reqs.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto& result = ok(r[i]);
    EXPECT_EQ(text("SELECT outcome FROM charging_events WHERE session_id = '" + reqs[i].session_id +
                   "' AND request_key = '0'"),
              encode_outcome(result))
        << i;
  }
  expect_ledger_consistent(1);
  expect_ledger_consistent(3);
}

// The charge path finds every row by key. Its functions keep one generic
// plan per connection, made at their first call: after an ANALYZE of empty
// tables (a fresh installation) the planner counts one row in each and
// would pick sequential scans, kept while the tables grow (schema 15), or
// walk every open session through a partial index (the attach, schema 16).
// 2,000 other open sessions are added after the ANALYZE, with autovacuum
// off so that no autoanalyze corrects the statistics meanwhile. The
// sequential scans of the charging tables, and the rows read by scans and
// index scans, are counted before and after the charges, attaches and
// running totals; the charges' own connection flushes its statistics first.
TEST_F(ChargingStoreTest, ChargesUseTheirIndexesAfterAnAnalyzeOfEmptyTables) {
  // scripts/bench analyses the database before each phase, when the OCS's
  // charging tables are empty; a fresh installation looks the same. Each
  // connection makes its generic plans for the charge functions at their
  // first call, on those statistics, and keeps them while the tables fill
  // (until the next ANALYZE). A plan that walks a table in full then gets
  // slower with every session: with 0 pages the planner counts one row, and
  // a join can then read the whole table once and filter it, where a lookup
  // by key was meant (the Gy benchmark's load, 2026-11-23).
  const std::string tables =
      "('charging_sessions', 'charging_events', 'reservations', 'usage_records', 'ledger_entries', 'accounts', 'buckets')";
  const std::string count_sql =
      "SELECT string_agg(relname || '=' || seq_scan, ' ' ORDER BY relname) FROM pg_stat_user_tables WHERE relname IN " +
      tables;
  const std::string read_sql =
      "SELECT (SELECT sum(seq_tup_read) FROM pg_stat_user_tables WHERE relname IN " + tables +
      ") + (SELECT sum(idx_tup_read) FROM pg_stat_user_indexes WHERE relname IN " + tables + ")";
  constexpr int kOthers = 2000;
  for (const char* t : {"charging_sessions", "charging_events", "reservations", "usage_records", "ledger_entries", "buckets"})
    db_.exec(std::string("ALTER TABLE ") + t + " SET (autovacuum_enabled = off)");
  db_.exec("ANALYZE");

  ConnectionPool pool(db_.dsn(), 1, PgChargingStore::prepare_statements);
  PgChargingStore store(pool);
  const auto later = [](int s) { return kNow + std::chrono::seconds(s); };
  const auto alone = [&](const ChargeRequest& r, TimePoint now) {
    EXPECT_EQ(store.charge(r, now).status, ChargeStatus::Ok) << r.session_id << " " << r.request_key;
  };
  const auto together = [&](const std::vector<ChargeRequest>& rs, TimePoint now) {
    for (const auto& r : store.charge_batch(rs, now)) EXPECT_EQ(ok(r).status, ChargeStatus::Ok);
  };
  // RADIUS sessions, so that the Starts attach (ocs_attach_clients) and the
  // Interims report running totals (ocs_charged_usage).
  const auto radius = [](ChargeRequest r) {
    r.origin.protocol = "radius";
    r.origin.nas_address = "192.0.2.1";
    return r;
  };
  const auto start = [&](const std::string& session) {
    auto r = radius(request(RequestKind::Initial, session, "start", {rg(10, true)}));
    r.origin.client = {{"acct_session_id", session}};
    r.attach_only = true;
    return r;
  };
  const auto interim = [&](const std::string& session, std::uint64_t total) {
    auto r = radius(request(RequestKind::Update, session, "1", {rg(10, true, total)}));
    r.running_totals = true;
    return r;
  };
  // One request alone (ocs_charge_load, ocs_charge_apply_batch of one, an attach alone)
  // and batches (ocs_charge_load_batch, ocs_charge_apply_batch, an attach
  // riding with a charge): open, attach, update, close.
  const auto sessions = [&](const std::string& p) {
    together({radius(request(RequestKind::Initial, p + "b1", "0", {rg(10, true)}, {msisdn(kAlice)})),
              radius(request(RequestKind::Initial, p + "b2", "0", {rg(10, true)}, {msisdn(kCarol)}))},
             kNow);
    alone(radius(request(RequestKind::Initial, p + "solo", "0", {rg(10, true)}, {msisdn(kAlice)})), kNow);
    alone(start(p + "solo"), later(1));
    together({start(p + "b1"), interim(p + "b2", 5000)}, later(60));
    alone(interim(p + "solo", 5000), later(60));
    together({interim(p + "b1", 5000)}, later(60));
    alone(request(RequestKind::Terminate, p + "solo", "2", {rg(10, false, 1000)}), later(120));
    together({request(RequestKind::Terminate, p + "b1", "2", {rg(10, false, 1000)}),
              request(RequestKind::Terminate, p + "b2", "2", {rg(10, false, 1000)})},
             later(120));
  };
  // The plans: made now, on the empty tables' statistics.
  sessions("first-");

  // The tables fill: other subscribers' open sessions with their holds, and
  // buckets. A walk over any of them alone would read kOthers rows.
  const std::string others = std::to_string(kOthers);
  db_.exec("INSERT INTO charging_sessions (id, subscriber_id, protocol, nas_address) "
           "SELECT 'other-' || g, 2, 'radius', '192.0.2.1' FROM generate_series(1, " + others + ") g");
  db_.exec("INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at) "
           "SELECT 'other-' || g, 10, 2, 'octets_total', 1000, 0, now() FROM generate_series(1, " + others + ") g");
  db_.exec("INSERT INTO buckets (subscriber_id, unit_family, initial_units, remaining) "
           "SELECT 2, 'octets', 1000, 1000 FROM generate_series(1, " + others + ") g");
  // Earlier sessions (the migrations, the fixture, the first charges)
  // report their counts when they end: wait until the counts stand still.
  std::string before = text(count_sql);
  std::int64_t read_before = q(read_sql);
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string again = text(count_sql);
    const std::int64_t read_again = q(read_sql);
    if (again == before && read_again == read_before) break;
    before = again;
    read_before = read_again;
  }

  sessions("");  // measured, with the plans made before
  std::string after;
  std::int64_t read_after = 0;
  {
    auto lease = pool.acquire();
    pqxx::nontransaction(*lease).exec("SELECT pg_stat_force_next_flush()");
    after = pqxx::nontransaction(*lease).exec(count_sql)[0][0].c_str();
    read_after = pqxx::nontransaction(*lease).exec(read_sql)[0][0].as<std::int64_t>();
  }
  EXPECT_EQ(after, before);
  // Some twenty rows per request by key (216 when written); one walk over
  // the others reads kOthers, and before schema 18 the batches' loads read
  // 20,231.
  EXPECT_LT(read_after - read_before, kOthers / 5) << "rows read by the charges";
  // (Read afterwards: these queries scan.)
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE state = 'closed'"), 6);
  EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE client_info ? 'acct_session_id'"), 4);
  expect_ledger_consistent(1);
  expect_ledger_consistent(3);
}

}  // namespace
}  // namespace ocs::store
