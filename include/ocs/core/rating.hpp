// Rating: turning units into money under a tariff with time-of-day periods.
#pragma once

#include <cstdint>
#include <optional>

#include "ocs/core/model.hpp"

namespace ocs {

/// The period in force at `t`, or null when the tariff has a gap there.
const TariffPeriod* period_at(const RatingGroupTariff& tariff, TimePoint t, int utc_offset_minutes);

/// The first instant in (from, until] at which the period in force changes.
std::optional<TimePoint> next_tariff_change(const RatingGroupTariff& tariff, TimePoint from,
                                            TimePoint until, int utc_offset_minutes);

/// Number of blocks `units` count for under `rounding`.
std::uint64_t blocks_for(std::uint64_t units, std::uint64_t block_units, Rounding rounding);

/// blocks * price, or nullopt when it does not fit in Money.
std::optional<Money> price_of_blocks(std::uint64_t blocks, Money price_per_block);

/// Cost of `units` used from `start`. Time units are split across tariff
/// periods: each block is charged at the period in force when it starts.
/// Other units are charged at the period in force at `start`.
/// nullopt: a gap in the tariff or an overflow (rating failed).
std::optional<Money> rate(const RatingGroupTariff& tariff, std::uint64_t units, TimePoint start,
                          int utc_offset_minutes);

}  // namespace ocs
