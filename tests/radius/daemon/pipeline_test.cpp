// ocs-radiusd's Pipeline (src/radiusd/pipeline.hpp) over fake stores, with
// request coroutines as the daemon's: requests that arrive while a batch
// runs go together in the next one, each gets its own answer or its own
// error, batches never exceed batch_max and never more than `parallel` of a
// kind run at once, a request is resumed on a runner, and stop() serves
// what is queued, the steps it queues meanwhile included. No database.
// (Before 2026-11-24 these were GroupCommitStore's tests: the same rules,
// with a thread per request.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ocs/common/task.hpp"
#include "pipeline.hpp"

namespace ocs::radiusd {
namespace {

using namespace std::chrono_literals;
using store::ChargeOutcome;
using store::ChargeRequest;
using store::ChargeResult;
using store::StoreError;

/// Answers each request with its session id as the subscriber name; a
/// session named "fail" gets a StoreError, "boom" makes the whole call
/// throw. The first call blocks until release(), so that others queue.
class FakeStore : public store::ChargingStore {
 public:
  ChargeResult charge(const ChargeRequest& req, TimePoint now) override {
    const Inside inside = enter(1, now);
    if (req.session_id == "boom") throw std::runtime_error("connection pool exploded");
    if (req.session_id == "fail") throw StoreError(StoreError::Kind::Invalid, "bad request");
    return answer(req);
  }
  std::vector<ChargeOutcome> charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) override {
    const Inside inside = enter(reqs.size(), now);
    std::vector<ChargeOutcome> out;
    for (const auto& r : reqs) {
      if (r.session_id == "boom") throw std::runtime_error("connection pool exploded");
      if (r.session_id == "fail")
        out.emplace_back(StoreError(StoreError::Kind::Invalid, "bad request"));
      else
        out.emplace_back(answer(r));
    }
    return out;
  }
  std::vector<store::ExpiredSession> expire_sessions(TimePoint, std::size_t) override { return {}; }
  std::optional<store::ExpiredSession> close_session(const std::string&, const std::string&, TimePoint) override {
    return std::nullopt;
  }
  std::vector<std::int64_t> subscribers_awaiting_credit(const std::string&) override { return {}; }
  std::vector<store::OpenSession> open_sessions(std::int64_t, const std::string&) override { return {}; }

  void wait_first() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !sizes.empty(); });
  }
  void release() {
    {
      std::lock_guard g(mu);
      released = true;
    }
    cv.notify_all();
  }
  std::vector<std::size_t> calls() {
    std::lock_guard g(mu);
    return sizes;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::vector<std::size_t> sizes;  // requests per call, in call order
  std::vector<TimePoint> clocks;
  int running = 0;
  int most_running = 0;

 private:
  static ChargeResult answer(const ChargeRequest& r) {
    ChargeResult res;
    res.subscriber = r.session_id;
    return res;
  }
  /// A call in progress: counted from enter() until it is destroyed.
  struct Inside {
    FakeStore* store;
    ~Inside() {
      std::lock_guard g(store->mu);
      --store->running;
    }
  };
  [[nodiscard]] Inside enter(std::size_t n, TimePoint now) {
    std::unique_lock lock(mu);
    const bool first = sizes.empty();
    sizes.push_back(n);
    clocks.push_back(now);
    most_running = std::max(most_running, ++running);
    cv.notify_all();
    if (first) cv.wait(lock, [&] { return released; });
    return Inside{this};
  }
};

/// Users named after their query; "unknown" is nobody. Counts the calls.
class FakeUsers : public store::RadiusStore {
 public:
  std::vector<store::NasClient> nas_clients() override { return {}; }
  std::optional<store::RadiusUser> find_user(const std::string& name, const std::string& vendor) override {
    return find_users(std::array{UserQuery{name, vendor}}).front();
  }
  std::vector<std::optional<store::RadiusUser>> find_users(std::span<const UserQuery> queries) override {
    std::lock_guard g(mu);
    sizes.push_back(queries.size());
    for (const auto& q : queries)
      if (q.user_name == "boom") throw StoreError(StoreError::Kind::Unavailable, "database down");
    std::vector<std::optional<store::RadiusUser>> out;
    for (const auto& q : queries) {
      if (q.user_name == "unknown") {
        out.emplace_back();
      } else {
        store::RadiusUser u;
        u.external_id = q.user_name + "@" + q.vendor;
        out.emplace_back(std::move(u));
      }
    }
    return out;
  }
  std::vector<std::string> open_sessions_of_nas(const std::string&) override { return {}; }
  std::vector<store::CoaSessionInfo> coa_sessions(std::int64_t) override { return {}; }
  std::vector<store::CoaSessionInfo> rate_limited_sessions() override { return {}; }
  bool record_rate_digest(const std::string&, const std::string&) override { return false; }

  std::mutex mu;
  std::vector<std::size_t> sizes;
};

ChargeRequest request(const std::string& session) {
  ChargeRequest r;
  r.session_id = session;
  r.request_key = "k";
  return r;
}

TimePoint at(int seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

void wait_for(const std::function<bool()>& cond) {
  for (int i = 0; i < 1000 && !cond(); ++i) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(cond());
}

/// What one request coroutine saw.
struct Seen {
  std::string subscriber;  // the answer, or "error:<what>"
  std::thread::id resumed_on;
  std::atomic<bool> done{false};
};

/// A request as the daemon's: awaits its charge, records what it got.
Detached charge_one(Pipeline& p, ChargeRequest req, TimePoint now, Seen& seen) {
  try {
    const ChargeResult r = co_await p.charge(req, now);
    seen.subscriber = r.subscriber;
  } catch (const StoreError& e) {
    seen.subscriber = std::string("error:store:") + e.what();
  } catch (const std::exception& e) {
    seen.subscriber = std::string("error:") + e.what();
  }
  seen.resumed_on = std::this_thread::get_id();
  seen.done = true;
}

/// Two steps, as an Accounting-Start whose attach fails: the second charge
/// is queued by the runner that resumed the first.
Detached charge_twice(Pipeline& p, std::string first, std::string second, Seen& seen) {
  const ChargeRequest a = request(first);
  const ChargeResult ra = co_await p.charge(a, at(1));
  const ChargeRequest b = request(second);
  const ChargeResult rb = co_await p.charge(b, at(2));
  seen.subscriber = ra.subscriber + "+" + rb.subscriber;
  seen.done = true;
}

Detached look_up(Pipeline& p, std::string name, Seen& seen) {
  try {
    const std::optional<store::RadiusUser> u = co_await p.find_user(name, "mikrotik");
    seen.subscriber = u ? u->external_id : "nobody";
  } catch (const StoreError& e) {
    seen.subscriber = std::string("error:store:") + e.what();
  }
  seen.done = true;
}

Detached run_job(Pipeline& p, std::function<void()> job, Seen& seen) {
  try {
    co_await p.run(std::move(job));
    seen.subscriber = "ran";
  } catch (const std::exception& e) {
    seen.subscriber = std::string("error:") + e.what();
  }
  seen.resumed_on = std::this_thread::get_id();
  seen.done = true;
}

/// Starts "s0", whose batch blocks in the fake store, then the requests
/// `start` makes; lets s0 finish once they are queued, and waits for all.
/// `before_release` may wait for what should happen while s0 is blocked.
void behind_a_blocked_batch(FakeStore& fake, Pipeline& p, std::vector<Seen>& seen,
                            const std::function<void(std::size_t, Seen&)>& start,
                            const std::function<void()>& before_release = [] {}) {
  Seen first;
  charge_one(p, request("s0"), at(1), first);
  fake.wait_first();
  for (std::size_t i = 0; i < seen.size(); ++i) start(i, seen[i]);  // each suspends in the queue
  before_release();
  fake.release();
  wait_for([&] { return first.done.load(); });
  EXPECT_EQ(first.subscriber, "s0");
  for (auto& s : seen) wait_for([&] { return s.done.load(); });
}

/// behind_a_blocked_batch with charges of sessions "s1", "s2"... (the i-th
/// at clock(i)), each of which must get its own answer.
void charges_behind_a_blocked_batch(FakeStore& fake, Pipeline& p, std::vector<Seen>& seen,
                                    const std::function<TimePoint(std::size_t)>& clock,
                                    const std::function<void()>& before_release = [] {}) {
  const auto sid = [](std::size_t i) { return "s" + std::to_string(i + 1); };
  behind_a_blocked_batch(
      fake, p, seen, [&](std::size_t i, Seen& s) { charge_one(p, request(sid(i)), clock(i), s); }, before_release);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].subscriber, sid(i));
}

TEST(Pipeline, ALoneRequestIsChargedAloneWithItsOwnClockAndResumedOnARunner) {
  FakeStore fake;
  fake.release();
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  EXPECT_EQ(p.runners(), 3u);
  Seen seen;
  charge_one(p, request("s1"), at(7), seen);
  wait_for([&] { return seen.done.load(); });
  EXPECT_EQ(seen.subscriber, "s1");
  EXPECT_NE(seen.resumed_on, std::this_thread::get_id());
  ASSERT_EQ(fake.calls(), (std::vector<std::size_t>{1}));
  EXPECT_EQ(fake.clocks.front(), at(7));
  EXPECT_EQ(p.stats().charges.batches, 1u);
}

TEST(Pipeline, RequestsArrivingDuringABatchGoTogetherInTheNext) {
  FakeStore fake;
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  constexpr std::size_t kWaiting = 10;
  std::vector<Seen> seen(kWaiting);
  charges_behind_a_blocked_batch(fake, p, seen, [](std::size_t i) { return at(1 + static_cast<int>(i % 3)); });
  ASSERT_EQ(fake.calls(), (std::vector<std::size_t>{1, kWaiting}));
  EXPECT_EQ(fake.clocks[1], at(3));  // the batch's clock: the latest of its requests'
  const auto stats = p.stats().charges;
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.requests, 1u + kWaiting);
  EXPECT_EQ(stats.largest, kWaiting);
}

TEST(Pipeline, BatchesNeverExceedBatchMaxNorParallel) {
  FakeStore fake;
  FakeUsers users;
  Pipeline p(fake, users, 4, 2);
  constexpr std::size_t kWaiting = 19;
  std::vector<Seen> seen(kWaiting);
  charges_behind_a_blocked_batch(
      fake, p, seen, [](std::size_t) { return at(1); },
      [&] { wait_for([&] { return fake.calls().size() >= 2; }); });  // the second slot, while s0 holds the first
  std::size_t total = 0;
  for (auto n : fake.calls()) {
    EXPECT_LE(n, 4u);
    total += n;
  }
  EXPECT_EQ(total, 1u + kWaiting);
  EXPECT_EQ(fake.most_running, 2);  // the second slot was used while the first was blocked, never a third
}

TEST(Pipeline, AStoreErrorReachesOnlyItsRequest) {
  FakeStore fake;
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  const std::vector<std::string> sids{"a", "fail", "b"};
  std::vector<Seen> seen(sids.size());
  behind_a_blocked_batch(fake, p, seen, [&](std::size_t i, Seen& s) { charge_one(p, request(sids[i]), at(1), s); });
  EXPECT_EQ(fake.calls(), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(seen[0].subscriber, "a");
  EXPECT_EQ(seen[1].subscriber, "error:store:bad request");
  EXPECT_EQ(seen[2].subscriber, "b");
}

TEST(Pipeline, ABatchThatFailsAsAWholeFailsEachOfItsRequestsAndThePipelineGoesOn) {
  FakeStore fake;
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  const std::vector<std::string> sids{"a", "boom"};
  std::vector<Seen> seen(sids.size());
  behind_a_blocked_batch(fake, p, seen, [&](std::size_t i, Seen& s) { charge_one(p, request(sids[i]), at(1), s); });
  EXPECT_EQ(fake.calls(), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(seen[0].subscriber, "error:connection pool exploded");  // "a" shares the fate of its batch
  EXPECT_EQ(seen[1].subscriber, "error:connection pool exploded");

  Seen alone;
  charge_one(p, request("boom"), at(1), alone);
  wait_for([&] { return alone.done.load(); });
  EXPECT_EQ(alone.subscriber, "error:connection pool exploded");
  Seen after;
  charge_one(p, request("s1"), at(1), after);
  wait_for([&] { return after.done.load(); });
  EXPECT_EQ(after.subscriber, "s1");
}

TEST(Pipeline, LookupsAnswerEachRequestWithItsOwnUser) {
  FakeStore fake;  // blocks the first charge: every runner but the lookups' is kept out of the way
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  const std::vector<std::string> names{"alice", "unknown", "bob"};
  std::vector<Seen> seen(names.size());
  behind_a_blocked_batch(fake, p, seen, [&](std::size_t i, Seen& s) { look_up(p, names[i], s); });
  EXPECT_EQ(seen[0].subscriber, "alice@mikrotik");
  EXPECT_EQ(seen[1].subscriber, "nobody");
  EXPECT_EQ(seen[2].subscriber, "bob@mikrotik");
  std::size_t total = 0;
  for (auto n : users.sizes) total += n;
  EXPECT_EQ(total, names.size());
  EXPECT_EQ(p.stats().lookups.requests, names.size());
}

TEST(Pipeline, ALookupThatFailsFailsItsRequestAndThePipelineGoesOn) {
  FakeStore fake;
  fake.release();
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  Seen failed;
  look_up(p, "boom", failed);
  wait_for([&] { return failed.done.load(); });
  EXPECT_EQ(failed.subscriber, "error:store:database down");
  Seen after;
  look_up(p, "alice", after);
  wait_for([&] { return after.done.load(); });
  EXPECT_EQ(after.subscriber, "alice@mikrotik");
}

TEST(Pipeline, AJobRunsOnARunnerAndItsExceptionReachesItsRequest) {
  FakeStore fake;
  fake.release();
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);
  std::thread::id ran_on;
  Seen ok;
  run_job(p, [&] { ran_on = std::this_thread::get_id(); }, ok);
  Seen failed;
  run_job(p, [] { throw std::runtime_error("no database"); }, failed);
  wait_for([&] { return ok.done.load() && failed.done.load(); });
  EXPECT_EQ(ok.subscriber, "ran");
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(failed.subscriber, "error:no database");
  EXPECT_EQ(p.stats().jobs, 2u);
}

TEST(Pipeline, SlowJobsRunOneAtATimeAndHoldUpNoChargeNorLookup) {
  FakeStore fake;
  fake.release();
  FakeUsers users;
  Pipeline p(fake, users, 32, 1);  // 3 runners: a lookup's, a charge's, the jobs'
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  int running = 0;
  int most_running = 0;
  const auto slow = [&] {
    std::unique_lock lock(mu);
    most_running = std::max(most_running, ++running);
    cv.wait(lock, [&] { return go; });
    --running;
  };
  std::vector<Seen> jobs(3);
  for (auto& j : jobs) run_job(p, slow, j);
  Seen charged;
  charge_one(p, request("s1"), at(1), charged);
  Seen looked_up;
  look_up(p, "alice", looked_up);
  wait_for([&] { return charged.done.load() && looked_up.done.load(); });
  EXPECT_EQ(charged.subscriber, "s1");
  EXPECT_EQ(looked_up.subscriber, "alice@mikrotik");
  EXPECT_FALSE(jobs[0].done.load());
  {
    std::lock_guard g(mu);
    go = true;
  }
  cv.notify_all();
  for (auto& j : jobs) wait_for([&] { return j.done.load(); });
  EXPECT_EQ(most_running, 1);
}

TEST(Pipeline, StopServesWhatIsQueuedAndTheStepsItQueues) {
  FakeStore fake;
  FakeUsers users;
  Seen first;
  Seen two_steps;
  {
    Pipeline p(fake, users, 32, 1);
    charge_one(p, request("s0"), at(1), first);
    fake.wait_first();
    charge_twice(p, "x", "y", two_steps);  // queued behind s0; its second step is queued later
    std::thread releaser([&] {
      std::this_thread::sleep_for(50ms);  // stop() is waiting by then
      fake.release();
    });
    p.stop();
    releaser.join();
    EXPECT_TRUE(first.done.load());
    EXPECT_TRUE(two_steps.done.load());
  }
  EXPECT_EQ(two_steps.subscriber, "x+y");
  EXPECT_EQ(fake.calls(), (std::vector<std::size_t>{1, 1, 1}));
}

}  // namespace
}  // namespace ocs::radiusd
