#include "ocs/core/money.hpp"

#include <cstdlib>
#include <limits>

namespace ocs {

std::optional<Money> parse_amount(std::string_view text, int exponent) {
  if (exponent < 0 || exponent > 9) return std::nullopt;
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty()) return std::nullopt;                                   // ".5"
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;   // "5."
  if (frac.size() > static_cast<std::size_t>(exponent)) return std::nullopt;

  constexpr Money kMax = std::numeric_limits<Money>::max();
  Money value = 0;
  auto push_digit = [&](char c) {
    if (c < '0' || c > '9') return false;
    const Money d = c - '0';
    if (value > (kMax - d) / 10) return false;
    value = value * 10 + d;
    return true;
  };
  for (char c : whole)
    if (!push_digit(c)) return std::nullopt;
  for (char c : frac)
    if (!push_digit(c)) return std::nullopt;
  for (std::size_t i = frac.size(); i < static_cast<std::size_t>(exponent); ++i)
    if (!push_digit('0')) return std::nullopt;
  return negative ? -value : value;
}

std::string format_amount(Money amount, int exponent) {
  // Work on the magnitude as unsigned so INT64_MIN formats too.
  const bool negative = amount < 0;
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
  std::string digits = std::to_string(magnitude);
  const auto e = static_cast<std::size_t>(exponent < 0 ? 0 : exponent);
  if (digits.size() <= e) digits.insert(0, e + 1 - digits.size(), '0');
  if (e > 0) digits.insert(digits.size() - e, 1, '.');
  return negative ? "-" + digits : digits;
}

}  // namespace ocs
