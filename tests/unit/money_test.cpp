#include "ocs/core/money.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace ocs {
namespace {

struct ParseCase {
  const char* text;
  int exponent;
  std::optional<Money> expected;
};

class ParseAmount : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseAmount, MatchesTable) {
  const auto& c = GetParam();
  EXPECT_EQ(parse_amount(c.text, c.exponent), c.expected) << "input '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseAmount,
    ::testing::Values(ParseCase{"10.00", 2, 1000}, ParseCase{"10", 2, 1000}, ParseCase{"10.5", 2, 1050},
                      ParseCase{"0.01", 2, 1}, ParseCase{"-3.25", 2, -325}, ParseCase{"+1", 2, 100},
                      ParseCase{"007.10", 2, 710}, ParseCase{"5", 0, 5},
                      ParseCase{"92233720368547758.07", 2, std::numeric_limits<Money>::max()},
                      ParseCase{"10.001", 2, std::nullopt}, ParseCase{"", 2, std::nullopt},
                      ParseCase{"-", 2, std::nullopt}, ParseCase{"abc", 2, std::nullopt},
                      ParseCase{"1.2.3", 2, std::nullopt}, ParseCase{".5", 2, std::nullopt},
                      ParseCase{"5.", 2, std::nullopt}, ParseCase{"1e3", 2, std::nullopt},
                      ParseCase{" 1", 2, std::nullopt}, ParseCase{"1 ", 2, std::nullopt},
                      ParseCase{"1,50", 2, std::nullopt}, ParseCase{"--1", 2, std::nullopt},
                      ParseCase{"5.0", 0, std::nullopt},
                      ParseCase{"92233720368547758.08", 2, std::nullopt},
                      ParseCase{"99999999999999999999", 2, std::nullopt}));

struct FormatCase {
  Money amount;
  int exponent;
  const char* expected;
};

class FormatAmount : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatAmount, MatchesTable) {
  const auto& c = GetParam();
  EXPECT_EQ(format_amount(c.amount, c.exponent), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Table, FormatAmount,
                         ::testing::Values(FormatCase{1050, 2, "10.50"}, FormatCase{5, 2, "0.05"},
                                           FormatCase{-5, 2, "-0.05"}, FormatCase{0, 2, "0.00"},
                                           FormatCase{7, 0, "7"}, FormatCase{123456, 3, "123.456"},
                                           FormatCase{std::numeric_limits<Money>::min(), 2,
                                                      "-92233720368547758.08"}));

TEST(Money, FormatThenParseRoundTrips) {
  for (Money m : {Money{0}, Money{1}, Money{-1}, Money{99}, Money{100}, Money{123456789}, Money{-987654321}})
    EXPECT_EQ(parse_amount(format_amount(m, 2), 2), m);
}

}  // namespace
}  // namespace ocs
