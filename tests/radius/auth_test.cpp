#include <gtest/gtest.h>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/packet.hpp"

namespace ocs::radius {
namespace {

const Authenticator kRfcAuth = {0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57,
                                0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22, 0x7a};

std::vector<std::uint8_t> wire(const Packet& p) {
  auto e = encode(p);
  EXPECT_TRUE(e.ok());
  return e.bytes;
}

TEST(UserPassword, Rfc2865Example) {
  const std::vector<std::uint8_t> hidden = {0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce,
                                            0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a, 0xee};
  EXPECT_EQ(hide_password("arctangent", kRfcAuth, "xyzzy5461"), hidden);
  EXPECT_EQ(unhide_password(hidden, kRfcAuth, "xyzzy5461"), "arctangent");
  EXPECT_NE(unhide_password(hidden, kRfcAuth, "xyzzy5462"), "arctangent");
}

TEST(UserPassword, LengthsAndPadding) {
  for (std::size_t n : {0UL, 1UL, 15UL, 16UL, 17UL, 31UL, 32UL, 33UL, 127UL, 128UL}) {
    const std::string pw(n, 'p');
    const auto hidden = hide_password(pw, kRfcAuth, "s");
    ASSERT_TRUE(hidden) << n;
    EXPECT_EQ(hidden->size(), n == 0 ? 16 : (n + 15) / 16 * 16) << n;
    EXPECT_EQ(unhide_password(*hidden, kRfcAuth, "s"), pw) << n;
  }
  EXPECT_FALSE(hide_password(std::string(129, 'p'), kRfcAuth, "s"));
}

TEST(UserPassword, RejectsBadLengths) {
  EXPECT_FALSE(unhide_password({}, kRfcAuth, "s"));
  EXPECT_FALSE(unhide_password(std::vector<std::uint8_t>(15), kRfcAuth, "s"));
  EXPECT_FALSE(unhide_password(std::vector<std::uint8_t>(17), kRfcAuth, "s"));
  EXPECT_FALSE(unhide_password(std::vector<std::uint8_t>(144), kRfcAuth, "s"));
  EXPECT_TRUE(unhide_password(std::vector<std::uint8_t>(128), kRfcAuth, "s"));
}

TEST(UserPassword, EmbeddedNulsAreKeptTrailingOnesDropped) {
  const std::string pw("abc\0def", 7);
  const auto hidden = hide_password(pw, kRfcAuth, "s");
  ASSERT_TRUE(hidden);
  const auto back = unhide_password(*hidden, kRfcAuth, "s");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, pw);
  EXPECT_NE(*back, "abc");
  // A password that itself ends in NULs cannot be told from padding.
  const auto trailing = hide_password(std::string("xy\0\0", 4), kRfcAuth, "s");
  EXPECT_EQ(unhide_password(*trailing, kRfcAuth, "s"), "xy");
}

TEST(Chap, ChallengeAttributeOrAuthenticator) {
  Packet p;
  p.code = code::AccessRequest;
  p.authenticator = kRfcAuth;
  add_string(p, attr::UserName, "flopsy");
  const auto value = chap_password(0x16, "secret-pw", p.authenticator);
  add_octets(p, attr::ChapPassword, value);
  EXPECT_TRUE(verify_chap(p, "secret-pw"));
  EXPECT_FALSE(verify_chap(p, "secret-pX"));

  // With a CHAP-Challenge, that is the challenge, not the authenticator.
  const std::vector<std::uint8_t> challenge = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  add_octets(p, attr::ChapChallenge, challenge);
  EXPECT_FALSE(verify_chap(p, "secret-pw"));
  const auto with_challenge = chap_password(0x16, "secret-pw", challenge);
  p.attributes[1].value.assign(with_challenge.begin(), with_challenge.end());
  EXPECT_TRUE(verify_chap(p, "secret-pw"));

  EXPECT_FALSE(verify_chap(std::vector<std::uint8_t>(16), challenge, "secret-pw"));
  Packet none;
  EXPECT_FALSE(verify_chap(none, ""));
}

TEST(Chap, KnownDigest) {
  // MD5(0x01 | "password" | 16 x 0x00), computed with Python's hashlib.
  const std::array<std::uint8_t, 16> challenge{};
  const auto v = chap_password(1, "password", challenge);
  const std::array<std::uint8_t, 17> expected = {0x01, 0xae, 0x88, 0xb6, 0xc2, 0xfe, 0x68, 0xbc, 0x92,
                                                 0x3a, 0xe9, 0x94, 0xf6, 0x52, 0x50, 0x8d, 0x12};
  EXPECT_EQ(v, expected);
}

Packet access_request() {
  Packet p;
  p.code = code::AccessRequest;
  p.identifier = 7;
  p.authenticator = kRfcAuth;
  add_string(p, attr::UserName, "nemo");
  add_message_authenticator(p);
  return p;
}

TEST(MessageAuthenticator, RequestSignAndVerify) {
  auto w = wire(access_request());
  EXPECT_EQ(verify_request(w, "s", true), VerifyResult::BadMessageAuthenticator);  // still zero
  ASSERT_TRUE(finish_request(w, "s"));
  EXPECT_EQ(verify_request(w, "s", true), VerifyResult::Ok);
  EXPECT_EQ(verify_request(w, "t", true), VerifyResult::BadMessageAuthenticator);
  auto tampered = w;
  tampered.back() ^= 1;
  EXPECT_EQ(verify_request(tampered, "s", true), VerifyResult::BadMessageAuthenticator);

  Packet plain = access_request();
  plain.attributes.erase(plain.attributes.begin());
  const auto pw = wire(plain);
  EXPECT_EQ(verify_request(pw, "s", true), VerifyResult::MissingMessageAuthenticator);
  EXPECT_EQ(verify_request(pw, "s", false), VerifyResult::Ok);
}

TEST(MessageAuthenticator, ReplyPutsItFirstAndUsesTheRequestAuthenticator) {
  Packet reply;
  reply.code = code::AccessAccept;
  reply.identifier = 7;
  add_integer(reply, 27, 3600);
  add_octets(reply, attr::MessageAuthenticator, std::vector<std::uint8_t>(16, 0xaa));
  add_message_authenticator(reply);
  ASSERT_EQ(reply.attributes.size(), 2U);
  EXPECT_EQ(reply.attributes[0].type, attr::MessageAuthenticator);
  EXPECT_EQ(reply.count(attr::MessageAuthenticator), 1U);

  auto w = wire(reply);
  ASSERT_TRUE(finish_response(w, kRfcAuth, "s"));
  EXPECT_EQ(w[20], attr::MessageAuthenticator);
  EXPECT_EQ(verify_response(w, kRfcAuth, "s", true), VerifyResult::Ok);
  auto other = kRfcAuth;
  other[0] ^= 1;
  EXPECT_EQ(verify_response(w, other, "s", true), VerifyResult::BadAuthenticator);

  // The Message-Authenticator was taken with the request's authenticator in
  // place, not the response's.
  const auto ma = message_authenticator(w, kRfcAuth, "s");
  ASSERT_TRUE(ma);
  EXPECT_TRUE(std::equal(ma->begin(), ma->end(), w.begin() + 22));
  Authenticator own{};
  std::copy_n(w.begin() + 4, 16, own.begin());
  EXPECT_NE(message_authenticator(w, own, "s"), ma);
}

TEST(MessageAuthenticator, WrongSizeIsMalformed) {
  Packet p = access_request();
  p.attributes[0].value.resize(15);
  auto w = wire(p);
  EXPECT_FALSE(finish_request(w, "s"));
  EXPECT_EQ(verify_request(w, "s"), VerifyResult::Malformed);
  EXPECT_FALSE(message_authenticator(w, kRfcAuth, "s"));
}

TEST(AccountingAuthenticator, SignVerifyTamper) {
  Packet p;
  p.code = code::AccountingRequest;
  p.identifier = 1;
  p.authenticator.fill(0x55);  // overwritten by finish_request
  add_integer(p, 40, 1);
  add_string(p, 44, "sess-1");
  auto w = wire(p);
  ASSERT_TRUE(finish_request(w, "acct-secret"));
  EXPECT_EQ(verify_request(w, "acct-secret"), VerifyResult::Ok);
  EXPECT_EQ(verify_request(w, "other"), VerifyResult::BadAuthenticator);
  w[w.size() - 1] ^= 0x01;
  EXPECT_EQ(verify_request(w, "acct-secret"), VerifyResult::BadAuthenticator);
}

TEST(AccountingAuthenticator, CoaWithMessageAuthenticatorUsesZeroAuthenticator) {
  Packet p;
  p.code = code::CoaRequest;
  p.identifier = 2;
  add_string(p, 44, "sess-1");
  add_message_authenticator(p);
  auto w = wire(p);
  ASSERT_TRUE(finish_request(w, "k"));
  EXPECT_EQ(verify_request(w, "k", true), VerifyResult::Ok);
  const auto ma = message_authenticator(w, Authenticator{}, "k");
  ASSERT_TRUE(ma);
  EXPECT_TRUE(std::equal(ma->begin(), ma->end(), w.begin() + 22));
}

TEST(Verify, MalformedInput) {
  const std::vector<std::uint8_t> shorty(10, 0);
  EXPECT_EQ(verify_request(shorty, "s"), VerifyResult::Malformed);
  EXPECT_EQ(verify_response(shorty, kRfcAuth, "s"), VerifyResult::Malformed);
  std::vector<std::uint8_t> overrun = {4, 0, 0, 23, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0};
  EXPECT_FALSE(finish_request(overrun, "s"));
}

TEST(ConstantTime, Equality) {
  const std::vector<std::uint8_t> a = {1, 2, 3};
  const std::vector<std::uint8_t> b = {1, 2, 4};
  EXPECT_TRUE(equal_constant_time(a, a));
  EXPECT_FALSE(equal_constant_time(a, b));
  EXPECT_FALSE(equal_constant_time(a, std::vector<std::uint8_t>{1, 2}));
  EXPECT_TRUE(equal_constant_time({}, {}));
}

}  // namespace
}  // namespace ocs::radius
