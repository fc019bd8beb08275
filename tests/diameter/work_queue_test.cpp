// The Gy workers' queue (src/diameter/work_queue.hpp): batches of queued
// items, in order, never more than batch_max, never waiting for more.
#include "ocs/common/work_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace ocs::diameter {
namespace {

using namespace std::chrono_literals;

/// Records the batches a queue hands over; the first one blocks until
/// release() so that items pile up behind it.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  bool first_started = false;
  std::vector<std::vector<int>> batches;

  void take(std::span<int> items) {
    std::unique_lock lock(mu);
    const bool first = batches.empty();
    batches.emplace_back(items.begin(), items.end());
    if (first) {
      first_started = true;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
    }
    cv.notify_all();
  }
  void wait_first() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return first_started; });
  }
  void release() {
    {
      std::lock_guard g(mu);
      released = true;
    }
    cv.notify_all();
  }
  std::size_t items_seen() {
    std::lock_guard g(mu);
    std::size_t n = 0;
    for (const auto& b : batches) n += b.size();
    return n;
  }
};

bool wait_until(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
  return done();
}

TEST(WorkQueue, QueuedItemsAreHandedOverTogetherUpToBatchMax) {
  Recorder r;
  WorkQueue<int> q(1, 100, 4, [&](std::span<int> items) { r.take(items); }, [](int&) {});
  ASSERT_TRUE(q.try_push(0));
  r.wait_first();  // the only worker is busy: the next ten wait in the queue
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(q.try_push(i));
  r.release();
  ASSERT_TRUE(wait_until([&] { return r.items_seen() == 11; }));
  q.stop();
  const std::vector<std::vector<int>> expected = {{0}, {1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10}};
  EXPECT_EQ(r.batches, expected);
}

TEST(WorkQueue, BatchMaxOneHandsOverOneAtATime) {
  Recorder r;
  WorkQueue<int> q(1, 100, 1, [&](std::span<int> items) { r.take(items); }, [](int&) {});
  ASSERT_TRUE(q.try_push(0));
  r.wait_first();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(q.try_push(i));
  r.release();
  ASSERT_TRUE(wait_until([&] { return r.items_seen() == 6; }));
  q.stop();
  ASSERT_EQ(r.batches.size(), 6u);
  for (std::size_t i = 0; i < r.batches.size(); ++i) EXPECT_EQ(r.batches[i], std::vector<int>{static_cast<int>(i)});
}

TEST(WorkQueue, ItemsLeftAtStopAreDiscardedAndAFullQueueRefuses) {
  Recorder r;
  std::vector<int> discarded;
  auto q = std::make_unique<WorkQueue<int>>(
      1, 3, 8, [&](std::span<int> items) { r.take(items); }, [&](int& i) { discarded.push_back(i); });
  ASSERT_TRUE(q->try_push(0));
  r.wait_first();
  EXPECT_TRUE(q->try_push(1));
  EXPECT_TRUE(q->try_push(2));
  EXPECT_TRUE(q->try_push(3));
  EXPECT_FALSE(q->try_push(4));  // limit 3
  std::thread stopper([&] { q->stop(); });
  std::this_thread::sleep_for(50ms);
  r.release();
  stopper.join();
  EXPECT_EQ(discarded, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(r.batches.size(), 1u);
}

}  // namespace
}  // namespace ocs::diameter
