// The load generator's latency histogram: every figure in docs/benchmarks.md
// comes out of it.
#include "histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace ocs::bench {
namespace {

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 50u);
  EXPECT_EQ(h.percentile(0.99), 99u);
  EXPECT_EQ(h.percentile(1.0), 100u);
  EXPECT_EQ(h.max(), 100u);
}

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
  // Bounds strictly increase from one bucket to the next.
  const std::size_t top = Histogram::index_of(UINT64_MAX);
  ASSERT_LT(top, Histogram::kBuckets);
  EXPECT_EQ(Histogram::upper_bound_of(top), UINT64_MAX);
  for (std::size_t i = 1; i <= top; ++i)
    ASSERT_LT(Histogram::upper_bound_of(i - 1), Histogram::upper_bound_of(i)) << i;
  // Every value lands in a bucket whose bounds contain it.
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100000; ++n) {
    const std::uint64_t v = rng() >> (rng() % 60);
    const std::size_t i = Histogram::index_of(v);
    ASSERT_LT(i, Histogram::kBuckets);
    ASSERT_LE(v, Histogram::upper_bound_of(i)) << v;
    if (i > 0) {
      ASSERT_GT(v, Histogram::upper_bound_of(i - 1)) << v;
    }
  }
}

TEST(Histogram, PercentilesAreWithinOneSixtyFourthOfTheTruth) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency(std::log(5000.0), 0.8);  // ~5 ms, long tail
  Histogram h;
  std::vector<std::uint64_t> all;
  for (int n = 0; n < 200000; ++n) {
    const auto v = static_cast<std::uint64_t>(latency(rng));
    h.record(v);
    all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.95, 0.99, 0.999}) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(all.size())));
    const double truth = static_cast<double>(all[rank - 1]);
    const double got = static_cast<double>(h.percentile(q));
    EXPECT_GE(got, truth) << "q=" << q;  // the bucket's upper bound
    EXPECT_LE(got, truth * (1.0 + 1.0 / 64) + 1) << "q=" << q;
  }
  EXPECT_EQ(h.max(), all.back());
  EXPECT_EQ(h.percentile(1.0), all.back());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, both;
  for (std::uint64_t v = 0; v < 5000; v += 3) {
    (v % 2 ? a : b).record(v * 17);
    both.record(v * 17);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.max(), both.max());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.percentile(q), both.percentile(q));
}

}  // namespace
}  // namespace ocs::bench
