#include <gtest/gtest.h>

#include "ocs/radius/packet.hpp"

namespace ocs::radius {
namespace {

TEST(Packet, RoundTripTypedValues) {
  Packet p;
  p.code = code::AccessAccept;
  p.identifier = 99;
  p.authenticator.fill(7);
  add_string(p, 1, "nemo");
  add_integer(p, 27, 3600);
  add_ipaddr(p, 8, 0xC0A80110);
  add_date(p, 55, std::chrono::sys_seconds{std::chrono::seconds{1700000000}});
  add_string(p, 1, "cisco=x", 9);
  add_integer(p, 17, 42, 14988);

  const auto e = encode(p);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.bytes.size(), 20U + 6 + 6 + 6 + 6 + 15 + 12);
  EXPECT_EQ((std::size_t{e.bytes[2]} << 8) | e.bytes[3], e.bytes.size());
  const auto d = decode(e.bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.packet, p);

  EXPECT_EQ(get_string(d.packet, 1), "nemo");
  EXPECT_EQ(get_integer(d.packet, 27), 3600U);
  EXPECT_EQ(get_ipaddr(d.packet, 8), 0xC0A80110U);
  EXPECT_EQ(get_date(d.packet, 55)->time_since_epoch().count(), 1700000000);
  EXPECT_EQ(get_string(d.packet, 1, 9), "cisco=x");
  EXPECT_EQ(get_integer(d.packet, 17, 14988), 42U);
  EXPECT_FALSE(get_integer(d.packet, 17));     // standard 17 is absent
  EXPECT_EQ(get_integer(d.packet, 1), 0x6e656d6fU);  // any 4 octets read as integer
  EXPECT_FALSE(get_string(d.packet, 2));
  EXPECT_EQ(d.packet.count(1), 1U);
}

TEST(Packet, IntegerOfWrongSizeIsNothing) {
  Packet p;
  add_octets(p, 27, std::vector<std::uint8_t>{0, 1, 2});
  EXPECT_FALSE(get_integer(p, 27));
}

TEST(Encode, LimitsFailCleanly) {
  Packet p;
  p.code = code::AccessAccept;
  add_octets(p, 25, std::vector<std::uint8_t>(253, 1));
  EXPECT_TRUE(encode(p).ok());
  p.attributes[0].value.push_back(1);
  auto e = encode(p);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(*e.error, EncodeError::ValueTooLong);
  EXPECT_TRUE(e.bytes.empty());

  Packet v;
  add_octets(v, 1, std::vector<std::uint8_t>(247, 1), 9);
  EXPECT_TRUE(encode(v).ok());
  v.attributes[0].value.push_back(1);
  EXPECT_EQ(encode(v).error, EncodeError::ValueTooLong);

  Packet big;
  for (int i = 0; i < 16; ++i) add_octets(big, 25, std::vector<std::uint8_t>(253, 1));
  EXPECT_EQ(encode(big).error, EncodeError::PacketTooLong);

  Packet raw;
  add_octets(raw, attr::VendorSpecific, std::vector<std::uint8_t>{0, 0, 0, 9});
  EXPECT_EQ(encode(raw).error, EncodeError::VendorSpecificMalformed);
}

TEST(Decode, FailureOffsets) {
  // Attribute overrun at offset 26, after a good User-Name.
  std::vector<std::uint8_t> d = {1, 0, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 1, 6, 'n', 'e', 'm', 'o', 2, 9, 0, 0};
  const auto r = decode(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(*r.error, DecodeError::AttributeOverrun);
  EXPECT_EQ(r.offset, 26U);
}

TEST(Decode, EveryCodeOfTheListIsAccepted) {
  int known = 0;
  for (int c = 0; c < 256; ++c) {
    std::vector<std::uint8_t> d(20, 0);
    d[0] = static_cast<std::uint8_t>(c);
    d[3] = 20;
    const auto r = decode(d);
    if (r.ok()) {
      ++known;
      EXPECT_TRUE(is_known_code(static_cast<std::uint8_t>(c)));
    } else {
      EXPECT_EQ(*r.error, DecodeError::UnknownCode);
    }
  }
  EXPECT_EQ(known, 14);
}

}  // namespace
}  // namespace ocs::radius
