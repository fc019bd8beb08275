// coa_session_of: how ocs-radiusd names a stored RADIUS session to its NAS
// in a CoA/Disconnect (RFC 5176 3). Pure; no database, no sockets.
#include <gtest/gtest.h>

#include "coa_notifier.hpp"

namespace ocs::radiusd {
namespace {

store::CoaSessionInfo stored(const std::string& id) {
  store::CoaSessionInfo s;
  s.session_id = id;
  s.user_name = "alice";
  s.nas.address = "192.0.2.10";
  s.nas.vendor = "mikrotik";
  return s;
}

TEST(CoaSessionOf, TakesTheStartsAttributes) {
  auto s = stored("192.0.2.10/abc");
  s.acct_session_id = "abc";
  s.framed_ip = "10.1.2.3";
  const auto c = coa_session_of(s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user_name, "alice");
  EXPECT_EQ(c->acct_session_id, "abc");
  EXPECT_EQ(c->nas_ip, 0xC000020Au);
  ASSERT_TRUE(c->framed_ip);
  EXPECT_EQ(*c->framed_ip, 0x0A010203u);
  EXPECT_EQ(c->vendor, radius::NasVendor::Mikrotik);
}

TEST(CoaSessionOf, WithoutAStartTheAcctSessionIdComesFromTheSessionId) {
  // Acct-Session-Ids may hold slashes: everything after "<nas-ip>/".
  const auto c = coa_session_of(stored("192.0.2.10/a/b"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->acct_session_id, "a/b");
  EXPECT_FALSE(c->framed_ip);
}

TEST(CoaSessionOf, SessionsThatCannotBeNamedAreRefused) {
  EXPECT_FALSE(coa_session_of(stored("192.0.2.10/auth/00ff")));  // provisional: no Acct-Session-Id
  EXPECT_FALSE(coa_session_of(stored("192.0.2.99/abc")));        // another NAS's id
  EXPECT_FALSE(coa_session_of(stored("192.0.2.10/")));
  auto no_user = stored("192.0.2.10/abc");
  no_user.user_name.clear();
  EXPECT_FALSE(coa_session_of(no_user));
  auto bad = stored("not-an-address/abc");
  bad.nas.address = "not-an-address";
  EXPECT_FALSE(coa_session_of(bad));
}

TEST(CoaSessionOf, ANasAtAnIpv6AddressIsNamedByItsIpv6Address) {
  auto v6 = stored("2001:db8::1/abc");
  v6.nas.address = "2001:db8::1";
  const auto c = coa_session_of(v6);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->nas_ipv6);
  EXPECT_EQ(*c->nas_ipv6, boost::asio::ip::make_address_v6("2001:db8::1").to_bytes());
  EXPECT_EQ(c->acct_session_id, "abc");
  // An IPv4-mapped address is the IPv4 NAS.
  auto mapped = stored("::ffff:192.0.2.10/abc");
  mapped.nas.address = "::ffff:192.0.2.10";
  const auto m = coa_session_of(mapped);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->nas_ipv6);
  EXPECT_EQ(m->nas_ip, 0xc000020au);
}

TEST(CoaSessionOf, AnUnparsableFramedIpIsLeftOutAndAnUnknownVendorIsGeneric) {
  auto s = stored("192.0.2.10/abc");
  s.framed_ip = "not-an-ip";
  s.nas.vendor = "acme";
  const auto c = coa_session_of(s);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->framed_ip);
  EXPECT_EQ(c->vendor, radius::NasVendor::Generic);
}

}  // namespace
}  // namespace ocs::radiusd
