// A short digest to notice that something changed (what a Gx session or a
// RADIUS session was last sent): 64-bit FNV-1a as 16 hex digits. A change
// detector, not a defence against forgery.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ocs {

inline std::string fnv1a_hex(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 15];
  return out;
}

}  // namespace ocs
