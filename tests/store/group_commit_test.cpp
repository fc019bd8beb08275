// GroupCommitStore (include/ocs/store/group_commit.hpp) over a fake store:
// requests that arrive while a batch runs go together in the next one, each
// caller gets its own answer or its own error, batches never exceed
// batch_max and never more than `parallel` run at once. No database.
#include "ocs/store/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ocs::store {
namespace {

using namespace std::chrono_literals;

/// Answers each request with its session id as the subscriber name; a
/// session named "fail" gets a StoreError, "boom" makes the whole call
/// throw. The first call blocks until release(), so that others queue.
class FakeStore : public ChargingStore {
 public:
  ChargeResult charge(const ChargeRequest& req, TimePoint now) override {
    enter(1, now);
    struct Leave {
      FakeStore* s;
      ~Leave() { s->leave(); }
    } leave{this};
    if (req.session_id == "boom") throw std::runtime_error("connection pool exploded");
    if (req.session_id == "fail") throw StoreError(StoreError::Kind::Invalid, "bad request");
    return answer(req);
  }
  std::vector<ChargeOutcome> charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) override {
    enter(reqs.size(), now);
    struct Leave {
      FakeStore* s;
      ~Leave() { s->leave(); }
    } leave{this};
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
  std::vector<ExpiredSession> expire_sessions(TimePoint, std::size_t) override { return {}; }
  std::optional<ExpiredSession> close_session(const std::string&, const std::string&, TimePoint) override {
    return std::nullopt;
  }
  std::vector<std::int64_t> subscribers_awaiting_credit(const std::string&) override { return {}; }
  std::vector<OpenSession> open_sessions(std::int64_t, const std::string&) override { return {}; }

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
  void enter(std::size_t n, TimePoint now) {
    std::unique_lock lock(mu);
    const bool first = sizes.empty();
    sizes.push_back(n);
    clocks.push_back(now);
    most_running = std::max(most_running, ++running);
    cv.notify_all();
    if (first) cv.wait(lock, [&] { return released; });
  }
  void leave() {
    std::lock_guard g(mu);
    --running;
  }
};

ChargeRequest request(const std::string& session) {
  ChargeRequest r;
  r.session_id = session;
  r.request_key = "k";
  return r;
}

TimePoint at(int seconds) { return TimePoint{} + std::chrono::seconds(seconds); }

void wait_for(const std::function<bool()>& cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(cond());
}

/// Runs each of `calls` on a thread of its own while the batch of "s0" is
/// blocked in the fake store, gives them time to queue behind it, then
/// lets it finish and joins them all.
void behind_a_blocked_batch(FakeStore& fake, GroupCommitStore& store, const std::vector<std::function<void()>>& calls) {
  std::thread first([&] { EXPECT_EQ(store.charge(request("s0"), at(1)).subscriber, "s0"); });
  fake.wait_first();
  std::atomic<std::size_t> started{0};
  std::vector<std::thread> threads;
  for (const auto& call : calls)
    threads.emplace_back([&started, &call] {
      ++started;
      call();
    });
  wait_for([&] { return started == calls.size(); });
  std::this_thread::sleep_for(50ms);  // let them reach the queue
  fake.release();
  first.join();
  for (auto& t : threads) t.join();
}

TEST(GroupCommitStore, LoneRequestIsChargedAloneWithItsOwnClock) {
  FakeStore fake;
  fake.release();
  GroupCommitStore store(fake, 32, 1);
  const ChargeResult r = store.charge(request("s1"), at(7));
  EXPECT_EQ(r.subscriber, "s1");
  ASSERT_EQ(fake.sizes, (std::vector<std::size_t>{1}));
  EXPECT_EQ(fake.clocks.front(), at(7));
  EXPECT_EQ(store.stats().batches, 1u);
}

TEST(GroupCommitStore, RequestsArrivingDuringABatchGoTogetherInTheNext) {
  FakeStore fake;
  GroupCommitStore store(fake, 32, 1);
  constexpr std::size_t kWaiting = 10;
  std::vector<std::string> answers(kWaiting);
  std::vector<std::function<void()>> calls;
  for (std::size_t i = 0; i < kWaiting; ++i)
    calls.emplace_back([&, i] {
      answers[i] = store.charge(request("s" + std::to_string(i + 1)), at(1 + static_cast<int>(i % 3))).subscriber;
    });
  behind_a_blocked_batch(fake, store, calls);

  ASSERT_EQ(fake.sizes, (std::vector<std::size_t>{1, kWaiting}));
  EXPECT_EQ(fake.clocks[1], at(3));  // the batch's clock: the latest of its requests'
  for (std::size_t i = 0; i < kWaiting; ++i) EXPECT_EQ(answers[i], "s" + std::to_string(i + 1));
  const auto stats = store.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.requests, 1u + kWaiting);
  EXPECT_EQ(stats.largest, kWaiting);
}

TEST(GroupCommitStore, BatchesNeverExceedBatchMaxNorParallel) {
  FakeStore fake;
  GroupCommitStore store(fake, 4, 2);
  constexpr int kWaiting = 19;
  std::atomic<int> right{0};
  std::vector<std::function<void()>> calls;
  for (int i = 0; i < kWaiting; ++i)
    calls.emplace_back([&, i] {
      const std::string sid = "s" + std::to_string(i + 1);
      if (store.charge(request(sid), at(1)).subscriber == sid) ++right;
    });
  behind_a_blocked_batch(fake, store, calls);

  EXPECT_EQ(right, kWaiting);
  std::size_t total = 0;
  for (auto n : fake.sizes) {
    EXPECT_LE(n, 4u);
    total += n;
  }
  EXPECT_EQ(total, 1u + kWaiting);
  EXPECT_LE(fake.most_running, 2);
  EXPECT_EQ(fake.most_running, 2);  // the second slot was used while the first was blocked
}

TEST(GroupCommitStore, AStoreErrorReachesOnlyItsCaller) {
  FakeStore fake;
  GroupCommitStore store(fake, 32, 1);
  std::atomic<int> ok{0};
  std::atomic<int> invalid{0};
  std::vector<std::function<void()>> calls;
  for (const std::string sid : {"a", "fail", "b"})
    calls.emplace_back([&, sid] {
      try {
        if (store.charge(request(sid), at(1)).subscriber == sid) ++ok;
      } catch (const StoreError& e) {
        if (e.kind() == StoreError::Kind::Invalid) ++invalid;
      }
    });
  behind_a_blocked_batch(fake, store, calls);
  EXPECT_EQ(fake.sizes, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(invalid, 1);
}

TEST(GroupCommitStore, ABatchThatFailsAsAWholeFailsEachOfItsCallers) {
  FakeStore fake;
  GroupCommitStore store(fake, 32, 1);
  std::atomic<int> failed{0};
  std::vector<std::function<void()>> calls;
  for (const std::string sid : {"a", "boom"})
    calls.emplace_back([&, sid] {
      try {
        store.charge(request(sid), at(1));
      } catch (const std::runtime_error&) {
        ++failed;
      }
    });
  behind_a_blocked_batch(fake, store, calls);
  EXPECT_EQ(fake.sizes, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(failed, 2);  // "a" shares the fate of its batch

  // Alone, through charge(): the same.
  EXPECT_THROW(store.charge(request("boom"), at(1)), std::runtime_error);
  EXPECT_THROW(store.charge(request("fail"), at(1)), StoreError);
  // The store still works afterwards.
  EXPECT_EQ(store.charge(request("s1"), at(1)).subscriber, "s1");
}

}  // namespace
}  // namespace ocs::store
