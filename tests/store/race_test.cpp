// Many sessions of one subscriber charged from many threads at once. The
// account row lock must keep everything granted within balance + credit
// limit, and the request key must make duplicates charge exactly once.
// Both tests fail when `FOR UPDATE` is removed from chg_lock_account.
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

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

constexpr Money kBalance = 20000;
constexpr Money kCreditLimit = 3000;
constexpr int kThreads = 16;
constexpr int kSessionsPerThread = 25;
const TimePoint kNow = at(1709553600);
const std::string kMsisdn = "491700000042";

// One cent per octet, at most 100 octets per grant: every session wants up
// to 200 cents, all sessions together about 3.5 times balance + limit.
const char* const kSetup = R"SQL(
INSERT INTO policies (id, name, validity_time) VALUES (1, 'default', 600);
INSERT INTO plans (id, name, currency, policy_id) VALUES (1, 'race', 'EUR', 1);
INSERT INTO plan_rating_groups (id, plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
  VALUES (1, 1, 10, 'octets_total', 1, 'up', 100, 100);
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block) VALUES (1, 1);
INSERT INTO subscribers (id, external_id, plan_id) VALUES (1, 'racer', 1);
INSERT INTO subscriber_identities (subscriber_id, kind, value) VALUES (1, 'msisdn', '491700000042');
INSERT INTO accounts (subscriber_id, currency, balance, credit_limit) VALUES (1, 'EUR', 20000, 3000);
INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference)
  VALUES (1, 'topup', 20000, 'EUR', 20000, 'open');
)SQL";

/// What one thread saw.
struct Tally {
  std::int64_t granted = 0;  // units granted = cents, every one of them reported used
  std::int64_t answered = 0;  // requests answered Ok: each must have one charging event
  std::int64_t refused = 0;   // sessions refused at Initial
  std::vector<std::string> failures;
};

std::uint64_t granted_units(const ChargeResult& r) {
  for (const auto& res : r.decision.results)
    if (res.rating_group == 10 && res.status == RgStatus::Granted && res.grant) return res.grant->units;
  return 0;
}

class RaceTest : public ::testing::Test {
 protected:
  RaceTest() : pool_(db_.dsn(), 2 * kThreads, PgChargingStore::prepare_statements), store_(pool_) {
    db_.exec(kSetup);
  }

  std::int64_t q(const std::string& sql) const { return test::scalar(db_.dsn(), sql); }

  /// Charges `req`; with `duplicate`, a second thread submits the same request
  /// at the same time, and both must get the same answer, one of them replayed.
  ChargeResult charge(const ChargeRequest& req, bool duplicate, Tally& t) {
    if (!duplicate) return store_.charge(req, kNow);
    auto other = std::async(std::launch::async, [&] { return store_.charge(req, kNow); });
    const ChargeResult mine = store_.charge(req, kNow);
    const ChargeResult theirs = other.get();
    if (encode_outcome(mine) != encode_outcome(theirs))
      t.failures.push_back(req.session_id + "/" + req.request_key + ": duplicates got different answers");
    if (mine.replayed == theirs.replayed)
      t.failures.push_back(req.session_id + "/" + req.request_key + ": not exactly one replay");
    return mine;
  }

  void run_session(const std::string& id, int variant, Tally& t) {
    const auto initial =
        charge(request(RequestKind::Initial, id, "0", {rg(10, true)}, {msisdn(kMsisdn)}), variant == 1, t);
    ++t.answered;
    if (initial.decision.session_closed) {  // refused: no session
      ++t.refused;
      return;
    }
    const std::uint64_t g1 = granted_units(initial);
    const auto update =
        charge(request(RequestKind::Update, id, "1", {rg(10, true, g1)}), variant == 2, t);
    const std::uint64_t g2 = granted_units(update);
    const auto term = charge(request(RequestKind::Terminate, id, "2", {rg(10, false, g2)}), variant == 3, t);
    if (update.status != ChargeStatus::Ok || term.status != ChargeStatus::Ok || !term.decision.session_closed)
      t.failures.push_back(id + ": update or terminate not answered");
    t.answered += 2;
    t.granted += static_cast<std::int64_t>(g1 + g2);
  }

  void worker(int thread, Tally& t) {
    try {
      for (int s = 0; s < kSessionsPerThread; ++s)
        run_session("t" + std::to_string(thread) + "-s" + std::to_string(s), s % 4, t);
    } catch (const std::exception& e) {
      t.failures.push_back(std::string("exception: ") + e.what());
    }
  }

  /// Runs `work(thread, tally)` on kThreads threads, then checks that the
  /// account was never overspent and every request charged once.
  template <class Work>
  void race(Work work) {
    std::vector<Tally> tallies(kThreads);
    {
      std::vector<std::thread> threads;
      for (int i = 0; i < kThreads; ++i)
        threads.emplace_back([&work, i, &tallies] { work(i, tallies[static_cast<std::size_t>(i)]); });
      for (auto& th : threads) th.join();
    }
    Tally total;
    for (const auto& t : tallies) {
      total.granted += t.granted;
      total.answered += t.answered;
      total.refused += t.refused;
      for (const auto& f : t.failures) ADD_FAILURE() << f;
    }

    const Money balance = q("SELECT balance FROM accounts WHERE subscriber_id = 1");
    const Money debited = -q("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind = 'debit'");

    // Every unit granted was used and charged, and never more than the account
    // could pay: concurrent grants never exceeded balance + credit limit.
    EXPECT_EQ(debited, total.granted);
    EXPECT_LE(total.granted, kBalance + kCreditLimit);
    EXPECT_GE(balance, -kCreditLimit);
    // The demand was large enough to drive the account to its limit.
    EXPECT_GT(total.refused, 0);
    EXPECT_EQ(total.granted, kBalance + kCreditLimit);

    // Ledger, usage records and balance agree exactly.
    EXPECT_EQ(balance, kBalance - debited);
    EXPECT_EQ(balance, q("SELECT sum(amount) FROM ledger WHERE kind IN ('topup', 'debit', 'adjustment')"));
    EXPECT_EQ(debited, q("SELECT coalesce(sum(cost), 0) FROM usage_records"));
    // Nothing stays held once every session ended.
    EXPECT_EQ(q("SELECT count(*) FROM reservations"), 0);
    EXPECT_EQ(q("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind IN ('reserve', 'release')"), 0);
    EXPECT_EQ(q("SELECT count(*) FROM charging_sessions WHERE state = 'open'"), 0);
    // Every request charged once.
    EXPECT_EQ(q("SELECT count(*) FROM charging_events"), total.answered);
    EXPECT_LE(q("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM usage_records "
                "GROUP BY session_id, request_key, rating_group) x"),
              1);
    EXPECT_LE(q("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM ledger WHERE kind = 'debit' "
                "GROUP BY session_id, request_key, rating_group) x"),
              1);
  }

  /// Charges `reqs` as one batch, each request followed by a copy of itself
  /// when its flag says so; returns the answer to each request, after
  /// checking that its copy got the same answer as a replay.
  std::vector<ChargeResult> batch(const std::vector<std::pair<ChargeRequest, bool>>& reqs, Tally& t) {
    std::vector<ChargeRequest> flat;
    for (const auto& [req, duplicate] : reqs) {
      flat.push_back(req);
      if (duplicate) flat.push_back(req);
    }
    const auto outcomes = store_.charge_batch(flat, kNow);
    std::vector<ChargeResult> results;
    std::size_t k = 0;
    for (const auto& [req, duplicate] : reqs) {
      const std::string what = req.session_id + "/" + req.request_key;
      const auto* mine = std::get_if<ChargeResult>(&outcomes.at(k++));
      const ChargeResult* theirs = duplicate ? std::get_if<ChargeResult>(&outcomes.at(k++)) : nullptr;
      if (!mine || (duplicate && !theirs)) {
        t.failures.push_back(what + ": a store error");
        results.emplace_back();
        continue;
      }
      if (theirs && encode_outcome(*mine) != encode_outcome(*theirs))
        t.failures.push_back(what + ": duplicates got different answers");
      if (theirs && (mine->replayed || !theirs->replayed))
        t.failures.push_back(what + ": the copy is not the replay");
      results.push_back(*mine);
    }
    return results;
  }

  void batched_worker(int thread, Tally& t) {
    try {
      std::vector<std::string> ids;
      std::vector<std::pair<ChargeRequest, bool>> initials;
      for (int s = 0; s < kSessionsPerThread; ++s) {
        ids.push_back("b" + std::to_string(thread) + "-s" + std::to_string(s));
        initials.emplace_back(request(RequestKind::Initial, ids.back(), "0", {rg(10, true)}, {msisdn(kMsisdn)}),
                              s % 4 == 1);
      }
      const auto opened = batch(initials, t);
      std::vector<std::size_t> open;  // sessions granted at Initial
      std::vector<std::pair<ChargeRequest, bool>> updates;
      for (std::size_t s = 0; s < ids.size(); ++s) {
        ++t.answered;
        if (opened[s].decision.session_closed) {
          ++t.refused;
          continue;
        }
        open.push_back(s);
        updates.emplace_back(request(RequestKind::Update, ids[s], "1", {rg(10, true, granted_units(opened[s]))}),
                             s % 4 == 2);
      }
      const auto updated = batch(updates, t);
      std::vector<std::pair<ChargeRequest, bool>> terminates;
      for (std::size_t n = 0; n < open.size(); ++n)
        terminates.emplace_back(
            request(RequestKind::Terminate, ids[open[n]], "2", {rg(10, false, granted_units(updated[n]))}),
            open[n] % 4 == 3);
      const auto terminated = batch(terminates, t);
      for (std::size_t n = 0; n < open.size(); ++n) {
        if (updated[n].status != ChargeStatus::Ok || terminated[n].status != ChargeStatus::Ok ||
            !terminated[n].decision.session_closed)
          t.failures.push_back(ids[open[n]] + ": update or terminate not answered");
        t.answered += 2;
        t.granted += static_cast<std::int64_t>(granted_units(opened[open[n]]) + granted_units(updated[n]));
      }
    } catch (const std::exception& e) {
      t.failures.push_back(std::string("exception: ") + e.what());
    }
  }
  test::TestDatabase db_;
  ConnectionPool pool_;
  PgChargingStore store_;
};

TEST_F(RaceTest, ConcurrentSessionsNeverOverspendAndChargeEachRequestOnce) {
  race([this](int thread, Tally& t) { worker(thread, t); });
}

// The same load through charge_batch: each thread sends its 25 sessions'
// Initials as one batch (some twice in it), then their Updates, then their
// Terminates, all threads at once.
TEST_F(RaceTest, BatchesNeverOverspendAndChargeEachRequestOnce) {
  race([this](int thread, Tally& t) { batched_worker(thread, t); });
}

TEST_F(RaceTest, ExpiryRacingUpdatesReleasesEachHoldOnce) {
  constexpr int kSessions = 40;
  for (int s = 0; s < kSessions; ++s)
    store_.charge(request(RequestKind::Initial, "e" + std::to_string(s), "0", {rg(10, true)}, {msisdn(kMsisdn)}),
                  kNow);
  const TimePoint late = kNow + std::chrono::seconds(1201);  // all past supervision
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      try {
        for (int s = i; s < kSessions; s += 4) {
          const auto r = store_.charge(request(RequestKind::Update, "e" + std::to_string(s), "1", {rg(10, true, 50)}),
                                       late);
          if (r.status == ChargeStatus::Ok) continue;
          if (r.status != ChargeStatus::UnknownSession) throw std::runtime_error("unexpected status");
        }
      } catch (const std::exception& e) {
        std::lock_guard g(mu);
        failures.push_back(e.what());
      }
    });
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        for (int n = 0; n < 20; ++n) store_.expire_sessions(late, 3);
      } catch (const std::exception& e) {
        std::lock_guard g(mu);
        failures.push_back(e.what());
      }
    });
  for (auto& th : threads) th.join();
  for (const auto& f : failures) ADD_FAILURE() << f;

  // Whatever the interleaving: holds match the ledger, no session lost its
  // reservation twice, and the balance is what the usage cost.
  EXPECT_EQ(q("SELECT coalesce(sum(money), 0) FROM reservations"),
            q("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind IN ('reserve', 'release')"));
  EXPECT_EQ(q("SELECT count(*) FROM reservations r JOIN charging_sessions s ON s.id = r.session_id "
              "WHERE s.state = 'closed'"),
            0);
  EXPECT_LE(q("SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM ledger WHERE kind = 'release' "
              "AND request_key IS NULL GROUP BY session_id) x"),
            1);
  EXPECT_EQ(q("SELECT balance FROM accounts WHERE subscriber_id = 1"),
            kBalance - q("SELECT coalesce(sum(cost), 0) FROM usage_records"));
}

}  // namespace
}  // namespace ocs::store
