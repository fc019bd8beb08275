// Identifier allocation (RFC 2865 3): all 256, round robin, release.
#include <gtest/gtest.h>

#include <set>

#include "ocs/radius/identifiers.hpp"

namespace ocs::radius {
namespace {

TEST(IdAllocator, HandsOutAll256ThenNothing) {
  IdAllocator ids;
  std::set<std::uint8_t> seen;
  for (int i = 0; i < 256; ++i) {
    const auto id = ids.allocate();
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(seen.insert(*id).second);
  }
  EXPECT_EQ(ids.in_use_count(), 256u);
  EXPECT_FALSE(ids.allocate().has_value());
  ids.release(17);
  EXPECT_EQ(ids.allocate(), std::optional<std::uint8_t>(17));
}

TEST(IdAllocator, RoundRobinDoesNotReuseAJustReleasedId) {
  IdAllocator ids;
  EXPECT_EQ(ids.allocate(), std::optional<std::uint8_t>(0));
  ids.release(0);
  EXPECT_EQ(ids.allocate(), std::optional<std::uint8_t>(1));
  EXPECT_FALSE(ids.in_use(0));
  ids.release(200);  // not in use: nothing happens
  EXPECT_EQ(ids.in_use_count(), 1u);
}

}  // namespace
}  // namespace ocs::radius
