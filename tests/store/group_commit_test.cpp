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

/// Waits until `n` callers are queued behind the running batch (they have
/// no other observable state); GroupCommitStore::stats() counts only
/// finished batches, so this polls the threads' own flags.
void wait_for(const std::function<bool()>& cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(cond());
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
  std::thread first([&] { EXPECT_EQ(store.charge(request("s0"), at(1)).subscriber, "s0"); });
  fake.wait_first();  // s0's batch is running and blocked

  constexpr int kWaiting = 10;
  std::atomic<int> started{0};
  std::vector<std::thread> others;
  std::vector<std::string> answers(kWaiting);
  for (int i = 0; i < kWaiting; ++i) {
    others.emplace_back([&, i] {
      ++started;
      answers[static_cast<std::size_t>(i)] = store.charge(request("s" + std::to_string(i + 1)), at(1 + i % 3)).subscriber;
    });
  }
  wait_for([&] { return started == kWaiting; });
  std::this_thread::sleep_for(50ms);  // let them reach the queue
  fake.release();
  first.join();
  for (auto& t : others) t.join();

  ASSERT_EQ(fake.sizes, (std::vector<std::size_t>{1, kWaiting}));
  EXPECT_EQ(fake.clocks[1], at(3));  // the batch's clock: the latest of its requests'
  for (int i = 0; i < kWaiting; ++i) EXPECT_EQ(answers[static_cast<std::size_t>(i)], "s" + std::to_string(i + 1));
  const auto stats = store.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.requests, 1u + kWaiting);
  EXPECT_EQ(stats.largest, static_cast<std::size_t>(kWaiting));
}

TEST(GroupCommitStore, BatchesNeverExceedBatchMaxNorParallel) {
  FakeStore fake;
  GroupCommitStore store(fake, 4, 2);
  std::thread first([&] { store.charge(request("s0"), at(1)); });
  fake.wait_first();
  constexpr int kWaiting = 19;
  std::atomic<int> started{0};
  std::atomic<int> right{0};
  std::vector<std::thread> others;
  for (int i = 0; i < kWaiting; ++i) {
    others.emplace_back([&, i] {
      ++started;
      const std::string sid = "s" + std::to_string(i + 1);
      if (store.charge(request(sid), at(1)).subscriber == sid) ++right;
    });
  }
  wait_for([&] { return started == kWaiting; });
  std::this_thread::sleep_for(50ms);
  fake.release();
  first.join();
  for (auto& t : others) t.join();

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
  std::thread first([&] { store.charge(request("s0"), at(1)); });
  fake.wait_first();
  std::atomic<int> started{0};
  std::atomic<int> ok{0};
  std::atomic<int> invalid{0};
  std::vector<std::thread> others;
  for (const std::string sid : {"a", "fail", "b"}) {
    others.emplace_back([&, sid] {
      ++started;
      try {
        if (store.charge(request(sid), at(1)).subscriber == sid) ++ok;
      } catch (const StoreError& e) {
        if (e.kind() == StoreError::Kind::Invalid) ++invalid;
      }
    });
  }
  wait_for([&] { return started == 3; });
  std::this_thread::sleep_for(50ms);
  fake.release();
  first.join();
  for (auto& t : others) t.join();
  EXPECT_EQ(fake.sizes, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(invalid, 1);
}

TEST(GroupCommitStore, ABatchThatFailsAsAWholeFailsEachOfItsCallers) {
  FakeStore fake;
  GroupCommitStore store(fake, 32, 1);
  std::thread first([&] { store.charge(request("s0"), at(1)); });
  fake.wait_first();
  std::atomic<int> started{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> others;
  for (const std::string sid : {"a", "boom"}) {
    others.emplace_back([&, sid] {
      ++started;
      try {
        store.charge(request(sid), at(1));
      } catch (const std::runtime_error&) {
        ++failed;
      }
    });
  }
  wait_for([&] { return started == 2; });
  std::this_thread::sleep_for(50ms);
  fake.release();
  first.join();
  for (auto& t : others) t.join();
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
