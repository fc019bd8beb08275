// Decimal amounts as operators type them ("10.00") <-> integer minor units.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ocs/core/model.hpp"

namespace ocs {

/// Parses "10", "10.5", "10.50", "-3.25" with at most `exponent` decimals.
/// Rejects empty strings, signs in the middle, more decimals than the
/// currency has, anything that is not a digit, and values that overflow.
std::optional<Money> parse_amount(std::string_view text, int exponent = 2);

/// Formats minor units with `exponent` decimals: 1050 -> "10.50".
std::string format_amount(Money amount, int exponent = 2);

}  // namespace ocs
