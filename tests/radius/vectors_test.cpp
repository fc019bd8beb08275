// Runs every vector of tests/radius/vectors/ (format in vector_file.hpp).
#include <set>

#include <gtest/gtest.h>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/dictionary.hpp"
#include "ocs/radius/packet.hpp"
#include "vector_file.hpp"

namespace ocs::radius {
namespace {

const Dictionary& dictionary() {
  static const Dictionary d = Dictionary::load(OCS_RADIUS_DICTIONARY);
  return d;
}

Authenticator auth_from_hex(const std::string& hex) {
  const auto bytes = test::from_hex(hex);
  Authenticator a{};
  if (!bytes || bytes->size() != a.size()) throw std::runtime_error("bad authenticator " + hex);
  std::copy(bytes->begin(), bytes->end(), a.begin());
  return a;
}

class Vector : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(Vector, DecodesAsExpected) {
  const auto v = test::load_vector(GetParam());
  const auto expect = v.get("expect");
  ASSERT_TRUE(expect) << "no expect: line";
  const DecodeResult r = decode(v.bytes);

  if (*expect != "ok") {
    ASSERT_FALSE(r.ok()) << "decoded, expected " << *expect;
    EXPECT_EQ(to_string(*r.error), *expect) << "at offset " << r.offset;
    return;
  }
  ASSERT_TRUE(r.ok()) << to_string(*r.error) << " at offset " << r.offset;
  const Packet& p = r.packet;
  if (auto c = v.get("code")) {
    EXPECT_EQ(std::to_string(p.code), *c);
  }
  if (auto id = v.get("id")) {
    EXPECT_EQ(std::to_string(p.identifier), *id);
  }
  if (auto a = v.get("auth")) {
    EXPECT_EQ(test::to_hex({p.authenticator.begin(), p.authenticator.end()}), *a);
  }
  std::vector<std::string> got;
  for (const auto& a : p.attributes) got.push_back(dictionary().format(a));
  EXPECT_EQ(got, v.get_all("attr"));

  // encode() gives back the packet (its first Length octets) unless the
  // vector says the layout changes; decoding that again always gives the
  // same Packet.
  const EncodeResult e = encode(p);
  ASSERT_TRUE(e.ok()) << to_string(*e.error);
  const std::size_t length = (std::size_t{v.bytes[2]} << 8) | v.bytes[3];
  const std::vector<std::uint8_t> framed(v.bytes.begin(),
                                         v.bytes.begin() + static_cast<std::ptrdiff_t>(length));
  if (v.get("reencode").value_or("same") == "same") {
    EXPECT_EQ(test::to_hex(e.bytes), test::to_hex(framed));
  } else {
    EXPECT_NE(e.bytes, framed);
  }
  const DecodeResult again = decode(e.bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.packet, p);

  const auto secret = v.get("secret");
  if (!secret) return;
  const bool require_ma = v.get("message-authenticator") == std::optional<std::string>("required");
  if (auto req = v.get("request-auth")) {
    EXPECT_EQ(verify_response(framed, auth_from_hex(*req), *secret, require_ma), VerifyResult::Ok);
    // The same computation from scratch gives the vector's authenticator.
    auto resigned = framed;
    std::fill_n(resigned.begin() + 4, 16, std::uint8_t{0});
    if (require_ma) std::fill_n(resigned.begin() + 22, 16, std::uint8_t{0});
    ASSERT_TRUE(finish_response(resigned, auth_from_hex(*req), *secret));
    EXPECT_EQ(test::to_hex(resigned), test::to_hex(framed));
    EXPECT_EQ(verify_response(framed, auth_from_hex(*req), "wrong", require_ma),
              VerifyResult::BadAuthenticator);
  } else {
    EXPECT_EQ(verify_request(framed, *secret, require_ma), VerifyResult::Ok);
    if (has_computed_request_authenticator(p.code)) {
      auto resigned = framed;
      std::fill_n(resigned.begin() + 4, 16, std::uint8_t{0xff});
      ASSERT_TRUE(finish_request(resigned, *secret));
      EXPECT_EQ(test::to_hex(resigned), test::to_hex(framed));
      EXPECT_EQ(verify_request(framed, "wrong"), VerifyResult::BadAuthenticator);
    } else if (require_ma) {
      EXPECT_EQ(verify_request(framed, "wrong"), VerifyResult::BadMessageAuthenticator);
    }
  }
  if (auto password = v.get("password")) {
    const Attribute* hidden = p.find(attr::UserPassword);
    ASSERT_NE(hidden, nullptr);
    EXPECT_EQ(unhide_password(hidden->value, p.authenticator, *secret), *password);
    EXPECT_EQ(hide_password(*password, p.authenticator, *secret), hidden->value);
  }
  if (auto chap = v.get("chap-password")) {
    EXPECT_TRUE(verify_chap(p, *chap));
    EXPECT_FALSE(verify_chap(p, *chap + "x"));
  }
}

std::string vector_name(const ::testing::TestParamInfo<std::filesystem::path>& info) {
  return info.param.stem().string();
}

INSTANTIATE_TEST_SUITE_P(Radius, Vector,
                         ::testing::ValuesIn(test::vector_paths(OCS_RADIUS_VECTOR_DIR)),
                         vector_name);

// Every DecodeError has at least one vector.
TEST(VectorCorpus, CoversEveryFailureReason) {
  std::set<std::string> seen;
  for (const auto& path : test::vector_paths(OCS_RADIUS_VECTOR_DIR)) {
    seen.insert(test::load_vector(path).get("expect").value_or(""));
  }
  for (DecodeError e : {DecodeError::TooShort, DecodeError::LengthMismatch, DecodeError::UnknownCode,
                        DecodeError::AttributeTooShort, DecodeError::AttributeOverrun,
                        DecodeError::VendorSpecificMalformed}) {
    EXPECT_TRUE(seen.contains(std::string(to_string(e)))) << to_string(e);
  }
}

}  // namespace
}  // namespace ocs::radius
