// The pure parts of ocs-bench's RADIUS load: the packets a
// simulated NAS sends (checked by decoding them back and verifying their
// authenticators with the project's codec), running totals and rates.
#include <gtest/gtest.h>

#include "ocs/radius/auth.hpp"
#include "radius_packets.hpp"

namespace ocs::bench::radius {
namespace {

namespace rad = ocs::radius;
constexpr const char* kSecret = "bench-secret";

SessionIdentity identity() {
  SessionIdentity s;
  s.user_name = "benchuser42";
  s.password = "pw42";
  s.acct_session_id = "run-0-42";
  s.nas_ip = 0x7f000001;
  s.nas_port = 7;
  s.framed_ip = 0x0a00002a;
  return s;
}

TEST(SplitOctets, LowAndHigh32Bits) {
  EXPECT_EQ(split_octets(0).octets, 0u);
  const auto a = split_octets((5ULL << 32) + 123);
  EXPECT_EQ(a.gigawords, 5u);
  EXPECT_EQ(a.octets, 123u);
  const auto b = split_octets(0xffffffffULL);
  EXPECT_EQ(b.gigawords, 0u);
  EXPECT_EQ(b.octets, 0xffffffffu);
}

TEST(Totals, RunningTotalsAndBigSessions) {
  EXPECT_EQ(totals_after(0, 1000, true).sum(), 0u);
  const Totals t = totals_after(3, 1000, false);
  EXPECT_EQ(t.input, 3000u);
  EXPECT_EQ(t.output, 9000u);
  const Totals big = totals_after(1, 1000, true);
  EXPECT_EQ(big.output, 3000u + kBigSessionExtra);
  EXPECT_GT(big.output, 0xffffffffULL);
}

TEST(AccessRequest, VerifiesAndCarriesThePassword) {
  rad::Authenticator auth{};
  for (std::size_t i = 0; i < auth.size(); ++i) auth[i] = static_cast<std::uint8_t>(i * 7 + 1);
  const auto wire = access_request(identity(), 9, auth, kSecret);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(rad::verify_request(*wire, kSecret, true), rad::VerifyResult::Ok);
  EXPECT_EQ(rad::verify_request(*wire, "other", true), rad::VerifyResult::BadMessageAuthenticator);
  const auto d = rad::decode(*wire);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.packet.code, rad::code::AccessRequest);
  EXPECT_EQ(d.packet.identifier, 9);
  EXPECT_EQ(d.packet.authenticator, auth);
  ASSERT_FALSE(d.packet.attributes.empty());
  EXPECT_EQ(d.packet.attributes.front().type, rad::attr::MessageAuthenticator);
  EXPECT_EQ(rad::get_string(d.packet, rad::attr::UserName), "benchuser42");
  const auto* pw = d.packet.find(rad::attr::UserPassword);
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(rad::unhide_password(pw->value, auth, kSecret), "pw42");
  EXPECT_EQ(rad::get_ipaddr(d.packet, 4), 0x7f000001u);  // NAS-IP-Address
  EXPECT_EQ(rad::get_integer(d.packet, 5), 7u);          // NAS-Port
  EXPECT_EQ(rad::get_string(d.packet, 44), "run-0-42");  // Acct-Session-Id
}

TEST(AccountingRequest, StartHasNoCountersAndEchoesClass) {
  SessionIdentity s = identity();
  s.classes = {{'o', 'c', 's', '1'}, {0x00, 0xff}};
  const auto wire = accounting_request(s, 3, kStatusStart, totals_after(0, 1, false), 0, kSecret);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(rad::verify_request(*wire, kSecret), rad::VerifyResult::Ok);
  EXPECT_EQ(rad::verify_request(*wire, "other"), rad::VerifyResult::BadAuthenticator);
  const auto d = rad::decode(*wire);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.packet.code, rad::code::AccountingRequest);
  EXPECT_EQ(rad::get_integer(d.packet, 40), kStatusStart);
  EXPECT_EQ(d.packet.count(25), 2u);  // both Class values, in order
  EXPECT_EQ(d.packet.find(25)->value, s.classes[0]);
  EXPECT_EQ(d.packet.count(42), 0u);
  EXPECT_EQ(rad::get_ipaddr(d.packet, 8), 0x0a00002au);  // Framed-IP-Address
}

TEST(AccountingRequest, InterimSplitsTotalsIntoGigawords) {
  const Totals t{1000, (5ULL << 32) + 77};
  const auto wire = accounting_request(identity(), 4, kStatusInterim, t, 120, kSecret);
  ASSERT_TRUE(wire.has_value());
  const auto d = rad::decode(*wire);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(rad::get_integer(d.packet, 40), kStatusInterim);
  EXPECT_EQ(rad::get_integer(d.packet, 42), 1000u);
  EXPECT_EQ(d.packet.count(52), 0u);  // no Acct-Input-Gigawords below 4 GiB
  EXPECT_EQ(rad::get_integer(d.packet, 43), 77u);
  EXPECT_EQ(rad::get_integer(d.packet, 53), 5u);
  EXPECT_EQ(rad::get_integer(d.packet, 46), 120u);  // Acct-Session-Time
}

TEST(Results, RatesAndMerge) {
  Results a;
  a.window_s = 2;
  a.answered_measured = {10, 10, 20, 10};
  a.sent_measured = {11, 10, 20, 10};
  a.sessions_completed = 10;
  a.timeouts = 1;
  a.latency.record(1000);
  Results b;
  b.answered_measured = {2, 2, 4, 2};
  b.sessions_completed = 2;
  b.bad_answers = 3;
  b.rejects = 4;
  b.latency.record(3000);
  a.merge(b);
  EXPECT_EQ(a.answered(), 60u);
  EXPECT_EQ(a.sent(), 51u);
  EXPECT_DOUBLE_EQ(a.packets_per_s(), 30.0);
  EXPECT_DOUBLE_EQ(a.sessions_per_s(), 6.0);
  EXPECT_EQ(a.errors(), 4u);  // a Reject is an answer, not an error
  EXPECT_EQ(a.latency.count(), 2u);
  EXPECT_EQ(a.latency.max(), 3000u);
  Results empty;
  EXPECT_EQ(empty.packets_per_s(), 0.0);
}

}  // namespace
}  // namespace ocs::bench::radius
