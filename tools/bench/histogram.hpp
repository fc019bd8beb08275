// A latency histogram for the load generator: log-linear buckets in
// microseconds (HdrHistogram's layout with 64 sub-buckets per power of two),
// so any percentile is within 1/64 (1.6 %) of the true value while the
// histogram stays a fixed array that merges by addition. The maximum is kept
// exactly.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ocs::bench {

class Histogram {
 public:
  /// Values below this are counted exactly, one bucket per microsecond.
  static constexpr std::uint64_t kLinear = 128;
  /// Enough buckets for values up to 2^63 µs.
  static constexpr std::size_t kBuckets = 64 * 64;

  void record(std::uint64_t micros) {
    ++counts_[index_of(micros)];
    ++total_;
    max_ = std::max(max_, micros);
  }

  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  /// The value at quantile q (0 < q <= 1): the upper bound of the bucket
  /// holding the ceil(q * count)-th smallest value, never above the maximum.
  /// 0 when empty.
  std::uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.999999);
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_bound_of(i), max_);
    }
    return max_;
  }

  static std::size_t index_of(std::uint64_t v) {
    if (v < kLinear) return static_cast<std::size_t>(v);
    const int msb = 63 - std::countl_zero(v);  // >= 7
    const int shift = msb - 6;                 // v >> shift is in [64, 128)
    return static_cast<std::size_t>(shift) * 64 + static_cast<std::size_t>(v >> shift);
  }

  static std::uint64_t upper_bound_of(std::size_t index) {
    if (index < kLinear) return index;
    const std::size_t shift = index / 64 - 1;
    const std::uint64_t mantissa = index % 64 + 64;
    return ((mantissa + 1) << shift) - 1;
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace ocs::bench
