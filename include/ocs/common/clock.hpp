// The wall clock, read by the front-ends (the core never reads one: its
// callers pass `now`).
#pragma once

#include <chrono>

#include "ocs/core/model.hpp"

namespace ocs {

/// Now, to the second: what the front-ends pass the core and the store.
inline TimePoint seconds_now() { return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now()); }

}  // namespace ocs
