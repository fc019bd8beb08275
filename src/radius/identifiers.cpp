#include "ocs/radius/identifiers.hpp"

namespace ocs::radius {

std::optional<std::uint8_t> IdAllocator::allocate() {
  for (unsigned i = 0; i < 256; ++i) {
    const auto id = static_cast<std::uint8_t>(next_ + i);
    if (!used_.test(id)) {
      used_.set(id);
      next_ = static_cast<std::uint8_t>(id + 1);
      return id;
    }
  }
  return std::nullopt;
}

void IdAllocator::release(std::uint8_t id) { used_.reset(id); }

}  // namespace ocs::radius
