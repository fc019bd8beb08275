// Fixed instants for deterministic core tests.
#pragma once

#include <ctime>
#include <string>

#include "ocs/core/model.hpp"

namespace ocs::test {

/// "2026-11-23 07:59:30" (UTC) -> TimePoint. 2026-11-23 is a Monday.
inline TimePoint at(const std::string& text) {
  std::tm tm{};
  strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  return TimePoint{std::chrono::seconds{timegm(&tm)}};
}

}  // namespace ocs::test
