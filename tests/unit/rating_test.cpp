#include "ocs/core/rating.hpp"

#include <gtest/gtest.h>

#include "test_clock.hpp"

namespace ocs {
namespace {

using test::at;
constexpr std::uint64_t MiB = 1024 * 1024;

/// Peak Monday to Friday 08:00-20:00 at 2 per block, off-peak 1 otherwise.
RatingGroupTariff peak_offpeak(Unit unit, std::uint64_t block) {
  RatingGroupTariff t;
  t.rating_group = 10;
  t.unit = unit;
  t.block_units = block;
  t.periods = {TariffPeriod{"peak", 0x1f, 8 * 60, 20 * 60, 2}, TariffPeriod{"offpeak", 0x7f, 0, 1440, 1}};
  return t;
}

struct PeriodCase {
  const char* when;
  int offset;
  const char* expected;  // nullptr: no period
};

class PeriodAt : public ::testing::TestWithParam<PeriodCase> {};

TEST_P(PeriodAt, MatchesTable) {
  const auto& c = GetParam();
  const auto t = peak_offpeak(Unit::OctetsTotal, MiB);
  const TariffPeriod* p = period_at(t, at(c.when), c.offset);
  if (!c.expected) {
    EXPECT_EQ(p, nullptr);
  } else {
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->name, c.expected) << c.when << " offset " << c.offset;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PeriodAt,
    ::testing::Values(PeriodCase{"2026-11-23 07:59:59", 0, "offpeak"},  // Monday
                      PeriodCase{"2026-11-23 08:00:00", 0, "peak"},
                      PeriodCase{"2026-11-23 19:59:59", 0, "peak"},
                      PeriodCase{"2026-11-23 20:00:00", 0, "offpeak"},
                      PeriodCase{"2026-11-27 12:00:00", 0, "peak"},       // Friday
                      PeriodCase{"2026-11-28 12:00:00", 0, "offpeak"},    // Saturday
                      PeriodCase{"2026-11-22 12:00:00", 0, "offpeak"},    // Sunday
                      PeriodCase{"2026-11-23 07:00:00", 60, "peak"},      // 08:00 local
                      PeriodCase{"2026-11-23 19:30:00", 60, "offpeak"},   // 20:30 local
                      PeriodCase{"2026-11-22 23:30:00", 60, "offpeak"},   // Monday 00:30 local
                      PeriodCase{"2026-11-23 08:30:00", -60, "offpeak"},  // 07:30 local
                      PeriodCase{"1969-12-31 12:00:00", 0, "peak"},      // before the epoch: a Wednesday
                      PeriodCase{"1969-12-28 12:00:00", 0, "offpeak"}));  // and a Sunday

TEST(Rating, GapInTariffHasNoPeriod) {
  RatingGroupTariff t;
  t.periods = {TariffPeriod{"day", 0x7f, 8 * 60, 20 * 60, 2}};
  EXPECT_EQ(period_at(t, at("2026-11-23 07:00:00"), 0), nullptr);
  EXPECT_EQ(rate(t, 10, at("2026-11-23 07:00:00"), 0), std::nullopt);
}

TEST(Rating, NextTariffChange) {
  const auto t = peak_offpeak(Unit::OctetsTotal, MiB);
  EXPECT_EQ(next_tariff_change(t, at("2026-11-23 07:55:00"), at("2026-11-23 09:00:00"), 0),
            at("2026-11-23 08:00:00"));
  EXPECT_EQ(next_tariff_change(t, at("2026-11-23 08:00:00"), at("2026-11-23 19:00:00"), 0), std::nullopt);
  EXPECT_EQ(next_tariff_change(t, at("2026-11-23 08:00:00"), at("2026-11-23 21:00:00"), 0),
            at("2026-11-23 20:00:00"));
  // Friday evening to Monday morning: off-peak all weekend.
  EXPECT_EQ(next_tariff_change(t, at("2026-11-27 21:00:00"), at("2026-12-01 00:00:00"), 0),
            at("2026-11-30 08:00:00"));
  // With a +60 offset, local 08:00 is 07:00 UTC.
  EXPECT_EQ(next_tariff_change(t, at("2026-11-23 06:30:00"), at("2026-11-23 09:00:00"), 60),
            at("2026-11-23 07:00:00"));
  // A flat tariff never changes.
  RatingGroupTariff flat;
  flat.periods = {TariffPeriod{"flat", 0x7f, 0, 1440, 1}};
  EXPECT_EQ(next_tariff_change(flat, at("2026-11-23 06:30:00"), at("2027-11-23 09:00:00"), 0), std::nullopt);
}

struct BlocksCase {
  std::uint64_t units, block;
  Rounding rounding;
  std::uint64_t expected;
};
class BlocksFor : public ::testing::TestWithParam<BlocksCase> {};
TEST_P(BlocksFor, MatchesTable) {
  const auto& c = GetParam();
  EXPECT_EQ(blocks_for(c.units, c.block, c.rounding), c.expected);
}
INSTANTIATE_TEST_SUITE_P(Table, BlocksFor,
                         ::testing::Values(BlocksCase{0, 60, Rounding::Up, 0}, BlocksCase{1, 60, Rounding::Up, 1},
                                           BlocksCase{60, 60, Rounding::Up, 1}, BlocksCase{61, 60, Rounding::Up, 2},
                                           BlocksCase{61, 60, Rounding::Down, 1},
                                           BlocksCase{29, 60, Rounding::Nearest, 0},
                                           BlocksCase{30, 60, Rounding::Nearest, 1},
                                           BlocksCase{89, 60, Rounding::Nearest, 1},
                                           BlocksCase{90, 60, Rounding::Nearest, 2},
                                           BlocksCase{7, 0, Rounding::Up, 7}));

TEST(Rating, VolumeChargedAtPeriodOfStart) {
  auto t = peak_offpeak(Unit::OctetsTotal, MiB);
  EXPECT_EQ(rate(t, 3 * MiB + 1, at("2026-11-23 12:00:00"), 0), 8);  // 4 blocks x 2
  EXPECT_EQ(rate(t, 3 * MiB + 1, at("2026-11-23 21:00:00"), 0), 4);  // 4 blocks x 1
  t.rounding = Rounding::Down;
  EXPECT_EQ(rate(t, 3 * MiB + 1, at("2026-11-23 12:00:00"), 0), 6);
  EXPECT_EQ(rate(t, 0, at("2026-11-23 12:00:00"), 0), 0);
}

TEST(Rating, TimeSplitAcrossPeriodsByBlockStart) {
  const auto t = peak_offpeak(Unit::Seconds, 60);
  // Blocks start 07:58:30, 07:59:30 (off-peak), 08:00:30, 08:01:30, 08:02:30 (peak).
  EXPECT_EQ(rate(t, 300, at("2026-11-23 07:58:30"), 0), 2 * 1 + 3 * 2);
  // Exactly on the boundary: the block starting at 08:00:00 is peak.
  EXPECT_EQ(rate(t, 120, at("2026-11-23 07:59:00"), 0), 1 + 2);
  // Across the evening change and midnight into Saturday.
  EXPECT_EQ(rate(t, 3600, at("2026-11-27 19:30:00"), 0), 30 * 2 + 30 * 1);
}

TEST(Rating, OverflowFailsRating) {
  RatingGroupTariff t;
  t.block_units = 1;
  t.periods = {TariffPeriod{"flat", 0x7f, 0, 1440, std::numeric_limits<Money>::max()}};
  EXPECT_EQ(rate(t, 2, at("2026-11-23 12:00:00"), 0), std::nullopt);
  EXPECT_EQ(price_of_blocks(std::numeric_limits<std::uint64_t>::max(), 1), std::nullopt);
  EXPECT_EQ(price_of_blocks(3, 7), 21);
}

}  // namespace
}  // namespace ocs
