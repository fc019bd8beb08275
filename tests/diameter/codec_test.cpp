// The test client's codec (tools/diameter) on its own: exact bytes of the
// RFC 6733 layout, round trips, and rejection of truncated input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec.hpp"

namespace ocs::dia {
namespace {

std::vector<std::uint8_t> hex(const std::string& s) {
  std::vector<std::uint8_t> out;
  std::string digits;
  for (char c : s)
    if (c != ' ') digits += c;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(CodecTest, EncodesTheHeaderAndAnAvpByteForByte) {
  Message m;
  m.flags = kFlagRequest | kFlagProxiable;
  m.code = 272;
  m.app_id = 4;
  m.hop_by_hop = 0x01020304;
  m.end_to_end = 0x0a0b0c0d;
  m.add(Avp::u32(code::CcRequestNumber, 7));
  EXPECT_EQ(encode(m), hex("01 000020 c0 000110 00000004 01020304 0a0b0c0d"  // header, length 32
                           "0000019f 40 00000c 00000007"));                   // 415, M, length 12
}

TEST(CodecTest, PadsOctetStringsToFourBytesButNotTheLengthField) {
  const auto bytes = encode_avps({Avp::str(code::OriginHost, "abcde"), Avp::u32(code::ResultCode, 2001)});
  // 8 header + 5 data = length 13, padded with 3 zero bytes to 16.
  EXPECT_EQ(bytes, hex("00000108 40 00000d 6162636465 000000"
                       "0000010c 40 00000c 000007d1"));
  const auto avps = decode_avps(bytes.data(), bytes.size());
  ASSERT_EQ(avps.size(), 2u);
  EXPECT_EQ(avps[0].as_str(), "abcde");
  EXPECT_EQ(avps[1].as_u32(), 2001u);
}

TEST(CodecTest, VendorAvpsCarryTheVendorBitAndId) {
  const auto bytes = encode_avps({Avp::u32(code::QuotaHoldingTime, 30, kVendor3gpp)});
  EXPECT_EQ(bytes, hex("00000367 c0 000010 000028af 0000001e"));  // 871, V+M, length 16, 10415
  const auto avps = decode_avps(bytes.data(), bytes.size());
  ASSERT_EQ(avps.size(), 1u);
  EXPECT_EQ(avps[0].code, code::QuotaHoldingTime);
  EXPECT_EQ(avps[0].vendor, kVendor3gpp);
  EXPECT_EQ(avps[0].flags, kAvpVendor | kAvpMandatory);
  EXPECT_EQ(avps[0].as_u32(), 30u);
}

TEST(CodecTest, GroupedAvpsRoundTripWithNesting) {
  const Avp mscc = Avp::grouped(
      code::Mscc, {Avp::u32(code::RatingGroup, 10),
                   Avp::grouped(code::Usu, {Avp::u64(code::CcInputOctets, 5'000'000'000ull),
                                            Avp::u32(code::CcTime, 60)}),
                   Avp::u32(code::ReportingReason, 3, kVendor3gpp)});
  Message m;
  m.code = code::CCR;
  m.app_id = 4;
  m.add(Avp::str(code::SessionId, "pgw;1;2")).add(mscc);

  const auto bytes = encode(m);
  ASSERT_EQ(bytes.size() % 4, 0u);
  ASSERT_EQ(frame_length(bytes.data()), bytes.size());
  const Message back = decode(bytes.data(), bytes.size());
  EXPECT_EQ(back.code, code::CCR);
  EXPECT_EQ(back.app_id, 4u);
  EXPECT_TRUE(back.is_request());
  ASSERT_EQ(back.avps.size(), 2u);
  EXPECT_EQ(back.avps[0].as_str(), "pgw;1;2");
  const Avp* got = back.find(code::Mscc);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->data, mscc.data);
  auto usu = got->child(code::Usu);
  ASSERT_TRUE(usu);
  EXPECT_EQ(usu->child(code::CcInputOctets)->as_u64(), 5'000'000'000ull);
  EXPECT_EQ(usu->child(code::CcTime)->as_u32(), 60u);
  EXPECT_EQ(got->child(code::ReportingReason, kVendor3gpp)->as_u32(), 3u);
  EXPECT_FALSE(got->child(code::ReportingReason).has_value()) << "vendor must be part of the match";
}

TEST(CodecTest, ResultCodeFallsBackToExperimentalResult) {
  Message m;
  m.add(Avp::grouped(code::ExperimentalResult,
                     {Avp::u32(code::VendorId, kVendor3gpp), Avp::u32(code::ExperimentalResultCode, 5030)}));
  EXPECT_EQ(m.result_code(), 5030u);
  m.add(Avp::u32(code::ResultCode, 2001));
  EXPECT_EQ(m.result_code(), 2001u);
  EXPECT_FALSE(Message{}.result_code().has_value());
}

TEST(CodecTest, RejectsTruncatedAndInconsistentInput) {
  Message m;
  m.code = code::CCR;
  m.add(Avp::str(code::SessionId, "abc")).add(Avp::u32(code::CcRequestType, 1));
  const auto bytes = encode(m);

  EXPECT_THROW(decode(bytes.data(), 19), DecodeError);                // shorter than a header
  EXPECT_THROW(decode(bytes.data(), bytes.size() - 4), DecodeError);  // length field says more
  auto wrong_version = bytes;
  wrong_version[0] = 2;
  EXPECT_THROW(decode(wrong_version.data(), wrong_version.size()), DecodeError);

  // An AVP whose length runs past the end of the message.
  auto overlong = bytes;
  overlong[20 + 7] = 0x40;  // Session-Id length 0x0b -> 0x40
  EXPECT_THROW(decode(overlong.data(), overlong.size()), DecodeError);
  // An AVP length smaller than its own header.
  auto undersized = bytes;
  undersized[20 + 7] = 4;
  EXPECT_THROW(decode(undersized.data(), undersized.size()), DecodeError);
  // A truncated AVP header, and a vendor AVP cut before its vendor id.
  const auto avp_bytes = encode_avps({Avp::u32(code::QuotaHoldingTime, 1, kVendor3gpp)});
  EXPECT_THROW(decode_avps(avp_bytes.data(), 6), DecodeError);
  EXPECT_THROW(decode_avps(avp_bytes.data(), 10), DecodeError);
  EXPECT_THROW(decode_avps(avp_bytes.data(), 14), DecodeError);
}

TEST(CodecTest, ScalarAccessorsCheckTheSize) {
  EXPECT_THROW(Avp::str(1, "abc").as_u32(), DecodeError);
  EXPECT_THROW(Avp::u32(1, 1).as_u64(), DecodeError);
  EXPECT_EQ(Avp::u64(1, 0x0102030405060708ull).as_u64(), 0x0102030405060708ull);
}

TEST(CodecTest, Ipv4AddressHasTheAddressFamilyPrefix) {
  EXPECT_EQ(Avp::ipv4(code::HostIpAddress, 0x7f000001).data, hex("0001 7f000001"));
}

}  // namespace
}  // namespace ocs::dia
