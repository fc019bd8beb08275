// A bounded randomized fuzz of decode(): the vectors mutated by a
// deterministic PRNG (bit flips, truncations, length-octet corruption,
// splices). Each input must either be refused with a reason or decode to a
// packet that encodes and decodes back to itself. Under scripts/test this
// runs with ASan/UBSan, which turn any out-of-bounds read into a failure.
#include <chrono>
#include <random>

#include <gtest/gtest.h>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/packet.hpp"
#include "vector_file.hpp"

namespace ocs::radius {
namespace {

constexpr int kIterations = 100000;
constexpr auto kTimeBudget = std::chrono::seconds(60);

std::vector<std::vector<std::uint8_t>> corpus() {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& path : test::vector_paths(OCS_RADIUS_VECTOR_DIR)) {
    out.push_back(test::load_vector(path).bytes);
  }
  return out;
}

void check_one(const std::vector<std::uint8_t>& input) {
  const DecodeResult r = decode(input);
  if (!r.ok()) {
    ASSERT_FALSE(to_string(*r.error).empty());
    return;
  }
  const EncodeResult e = encode(r.packet);
  // Splitting multi-sub-attribute VSAs can only grow the packet, so a
  // re-encode may legitimately exceed 4096; nothing else may fail.
  if (!e.ok()) {
    ASSERT_EQ(*e.error, EncodeError::PacketTooLong);
    return;
  }
  const DecodeResult again = decode(e.bytes);
  ASSERT_TRUE(again.ok()) << to_string(*again.error);
  ASSERT_EQ(again.packet, r.packet);
  // The authenticator code must cope with anything decode() accepted.
  (void)verify_request(input, "s", true);
  (void)verify_response(input, r.packet.authenticator, "s", true);
}

TEST(Fuzz, MutatedVectorsDecodeOrFailWithAReason) {
  const auto seeds = corpus();
  ASSERT_FALSE(seeds.empty());
  std::mt19937_64 rng(0x5eed0ca5);  // fixed: failures reproduce
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto deadline = std::chrono::steady_clock::now() + kTimeBudget;
  int refused = 0;
  int accepted = 0;
  int i = 0;
  for (; i < kIterations && std::chrono::steady_clock::now() < deadline; ++i) {
    auto input = seeds[pick(seeds.size())];
    const std::size_t mutations = 1 + pick(4);
    for (std::size_t m = 0; m < mutations; ++m) {
      switch (pick(7)) {
        case 0:  // bit flip
          if (!input.empty()) input[pick(input.size())] ^= static_cast<std::uint8_t>(1U << pick(8));
          break;
        case 1:  // truncate
          if (!input.empty()) input.resize(pick(input.size() + 1));
          break;
        case 2:  // header Length
          if (input.size() >= 4) {
            input[2] = static_cast<std::uint8_t>(pick(3) == 0 ? rng() : 0);
            input[3] = static_cast<std::uint8_t>(rng());
          }
          break;
        case 3:  // an attribute-ish length octet
          if (input.size() > 21) input[20 + pick(input.size() - 20)] = static_cast<std::uint8_t>(pick(8));
          break;
        case 4:  // append junk
          for (std::size_t k = pick(16); k > 0; --k) input.push_back(static_cast<std::uint8_t>(rng()));
          break;
        case 5: {  // splice the tail of another seed
          const auto& other = seeds[pick(seeds.size())];
          if (other.size() > 20 && input.size() > 20) {
            input.resize(20 + pick(input.size() - 20));
            input.insert(input.end(), other.begin() + 20 + static_cast<std::ptrdiff_t>(pick(other.size() - 20)),
                         other.end());
          }
          break;
        }
        default:  // fix Length to the datagram so the attribute walk is reached
          if (input.size() >= 4 && input.size() <= kMaxPacketSize) {
            input[2] = static_cast<std::uint8_t>(input.size() >> 8);
            input[3] = static_cast<std::uint8_t>(input.size());
          }
          break;
      }
    }
    const DecodeResult r = decode(input);
    r.ok() ? ++accepted : ++refused;
    check_one(input);
    if (::testing::Test::HasFatalFailure()) {
      FAIL() << "iteration " << i << " input " << test::to_hex(input);
    }
  }
  std::printf("fuzz: %d iterations, %d accepted, %d refused\n", i, accepted, refused);
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace ocs::radius
