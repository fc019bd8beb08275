#include "ocs/core/rating.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace ocs {

namespace {
constexpr std::int64_t kDay = 86400;
/// The weekly pattern repeats, so a change not seen within 8 days never comes.
constexpr std::int64_t kScanHorizon = 8 * kDay;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct LocalTime {
  int weekday;  // 0 = Monday
  int minute;   // of the day
};

LocalTime local_time(TimePoint t, int utc_offset_minutes) {
  const std::int64_t local = t.time_since_epoch().count() + std::int64_t{utc_offset_minutes} * 60;
  const std::int64_t days = floor_div(local, kDay);
  const std::int64_t second_of_day = local - days * kDay;
  // 1970-01-01 was a Thursday (index 3 when Monday is 0).
  const std::int64_t weekday = ((days % 7) + 7 + 3) % 7;
  return {static_cast<int>(weekday), static_cast<int>(second_of_day / 60)};
}
}  // namespace

const TariffPeriod* period_at(const RatingGroupTariff& tariff, TimePoint t, int utc_offset_minutes) {
  const LocalTime lt = local_time(t, utc_offset_minutes);
  for (const auto& p : tariff.periods) {
    if ((p.days_mask & (1u << lt.weekday)) == 0) continue;
    if (lt.minute >= p.start_minute && lt.minute < p.end_minute) return &p;
  }
  return nullptr;
}

std::optional<TimePoint> next_tariff_change(const RatingGroupTariff& tariff, TimePoint from,
                                            TimePoint until, int utc_offset_minutes) {
  if (until <= from) return std::nullopt;
  const std::int64_t from_s = from.time_since_epoch().count();
  const std::int64_t until_s = std::min(until.time_since_epoch().count(), from_s + kScanHorizon);
  const std::int64_t offset_s = std::int64_t{utc_offset_minutes} * 60;

  // Candidate instants: every period edge (and local midnight) of each day.
  std::vector<std::int64_t> minutes{0};
  for (const auto& p : tariff.periods) {
    minutes.push_back(p.start_minute);
    minutes.push_back(p.end_minute % 1440);
  }
  std::sort(minutes.begin(), minutes.end());
  minutes.erase(std::unique(minutes.begin(), minutes.end()), minutes.end());

  const TariffPeriod* current = period_at(tariff, from, utc_offset_minutes);
  const std::int64_t first_day = floor_div(from_s + offset_s, kDay);
  const std::int64_t last_day = floor_div(until_s + offset_s, kDay);
  for (std::int64_t day = first_day; day <= last_day; ++day) {
    for (std::int64_t m : minutes) {
      const std::int64_t instant = day * kDay + m * 60 - offset_s;
      if (instant <= from_s || instant > until_s) continue;
      const TimePoint c{std::chrono::seconds{instant}};
      if (period_at(tariff, c, utc_offset_minutes) != current) return c;
    }
  }
  return std::nullopt;
}

std::uint64_t blocks_for(std::uint64_t units, std::uint64_t block_units, Rounding rounding) {
  if (block_units == 0) block_units = 1;
  const std::uint64_t whole = units / block_units;
  const std::uint64_t rest = units % block_units;
  switch (rounding) {
    case Rounding::Up: return whole + (rest > 0 ? 1 : 0);
    case Rounding::Down: return whole;
    case Rounding::Nearest: return whole + (rest >= block_units - rest ? 1 : 0);
  }
  return whole;
}

std::optional<Money> price_of_blocks(std::uint64_t blocks, Money price_per_block) {
  if (price_per_block < 0) return std::nullopt;
  Money product = 0;
  if (blocks > static_cast<std::uint64_t>(std::numeric_limits<Money>::max())) return std::nullopt;
  if (__builtin_mul_overflow(static_cast<Money>(blocks), price_per_block, &product)) return std::nullopt;
  return product;
}

std::optional<Money> rate(const RatingGroupTariff& tariff, std::uint64_t units, TimePoint start,
                          int utc_offset_minutes) {
  if (units == 0) return Money{0};
  const std::uint64_t block = tariff.block_units == 0 ? 1 : tariff.block_units;
  std::uint64_t blocks = blocks_for(units, block, tariff.rounding);

  if (family_of(tariff.unit) != UnitFamily::Seconds) {
    const TariffPeriod* p = period_at(tariff, start, utc_offset_minutes);
    if (!p) return std::nullopt;
    return price_of_blocks(blocks, p->price_per_block);
  }

  // Time: each block is charged at the period in force when the block starts.
  constexpr std::uint64_t kMaxSpan = 100ull * 366 * kDay;  // beyond this, rating fails
  if (blocks > kMaxSpan / block) return std::nullopt;
  Money total = 0;
  TimePoint t = start;
  while (blocks > 0) {
    const TariffPeriod* p = period_at(tariff, t, utc_offset_minutes);
    if (!p) return std::nullopt;
    const auto span = std::chrono::seconds{static_cast<std::int64_t>(blocks * block)};
    const auto change = next_tariff_change(tariff, t, t + span, utc_offset_minutes);
    std::uint64_t here = blocks;
    if (change) {
      const auto gap = static_cast<std::uint64_t>((*change - t).count());
      here = std::min(blocks, (gap + block - 1) / block);  // blocks starting before the change
    }
    const auto cost = price_of_blocks(here, p->price_per_block);
    if (!cost || *cost > std::numeric_limits<Money>::max() - total) return std::nullopt;
    total += *cost;
    blocks -= here;
    t += std::chrono::seconds{static_cast<std::int64_t>(here * block)};
  }
  return total;
}

}  // namespace ocs
