#include "ocs/radius/auth.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace ocs::radius {
namespace {

using Bytes = std::span<const std::uint8_t>;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// MD5 over the concatenation of `parts`.
Authenticator md5(std::initializer_list<Bytes> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("radius: OpenSSL MD5 unavailable");
  }
  for (Bytes b : parts) {
    if (!b.empty() && EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1) {
      throw std::runtime_error("radius: OpenSSL MD5 failed");
    }
  }
  Authenticator out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("radius: OpenSSL MD5 failed");
  }
  return out;
}

Authenticator hmac_md5(std::string_view key, Bytes data) {
  Authenticator out{};
  unsigned int len = 0;
  if (HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("radius: OpenSSL HMAC-MD5 failed");
  }
  return out;
}

// Header Length, if the header is there and Length fits the span.
std::optional<std::size_t> framed_length(Bytes wire) {
  if (wire.size() < kHeaderSize) return std::nullopt;
  const std::size_t length = (std::size_t{wire[2]} << 8) | wire[3];
  if (length < kHeaderSize || length > wire.size() || length > kMaxPacketSize) {
    return std::nullopt;
  }
  return length;
}

struct MaLocation {
  bool malformed = false;
  std::optional<std::size_t> value_offset;  // of the first Message-Authenticator value
};

// Walks the attributes of a framed packet looking for Message-Authenticator.
MaLocation find_message_authenticator(Bytes wire) {
  MaLocation loc;
  const auto length = framed_length(wire);
  if (!length) {
    loc.malformed = true;
    return loc;
  }
  std::size_t pos = kHeaderSize;
  while (pos < *length) {
    if (*length - pos < 2 || wire[pos + 1] < 2 || wire[pos + 1] > *length - pos) {
      loc.malformed = true;
      return loc;
    }
    if (wire[pos] == attr::MessageAuthenticator && !loc.value_offset) {
      if (wire[pos + 1] != 18) {
        loc.malformed = true;
        return loc;
      }
      loc.value_offset = pos + 2;
    }
    pos += wire[pos + 1];
  }
  return loc;
}

Authenticator authenticator_of(Bytes wire) {
  Authenticator a{};
  std::copy_n(wire.begin() + 4, a.size(), a.begin());
  return a;
}

// The Message-Authenticator over `wire` (Length octets of it) with
// `in_place` as authenticator and the value at `offset` zeroed.
Authenticator compute_ma(Bytes wire, std::size_t length, std::size_t offset,
                         const Authenticator& in_place, std::string_view secret) {
  std::vector<std::uint8_t> copy(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(length));
  std::copy(in_place.begin(), in_place.end(), copy.begin() + 4);
  std::fill_n(copy.begin() + static_cast<std::ptrdiff_t>(offset), 16, std::uint8_t{0});
  return hmac_md5(secret, copy);
}

// What sits in the authenticator field while the Message-Authenticator of a
// request is computed: its own random one, or zeros for the computed kind.
Authenticator request_ma_context(Bytes wire) {
  if (has_computed_request_authenticator(wire[0])) return Authenticator{};
  return authenticator_of(wire);
}

// What sits in the authenticator field while the Message-Authenticator of a
// response is computed: the request's (RFC 3579 3.2, RFC 5176 3.3), except
// in an Accounting-Response, for which no RFC defines it: FreeRADIUS uses 16
// zero octets there, and so do we, to interoperate.
Authenticator response_ma_context(Bytes wire, const Authenticator& request_auth) {
  if (wire[0] == code::AccountingResponse) return Authenticator{};
  return request_auth;
}

VerifyResult check_ma(Bytes wire, const Authenticator& in_place, std::string_view secret,
                      bool required) {
  const MaLocation loc = find_message_authenticator(wire);
  if (loc.malformed) return VerifyResult::Malformed;
  if (!loc.value_offset) {
    return required ? VerifyResult::MissingMessageAuthenticator : VerifyResult::Ok;
  }
  const auto expected = compute_ma(wire, *framed_length(wire), *loc.value_offset, in_place, secret);
  if (!equal_constant_time(expected, wire.subspan(*loc.value_offset, 16))) {
    return VerifyResult::BadMessageAuthenticator;
  }
  return VerifyResult::Ok;
}

}  // namespace

std::string_view to_string(VerifyResult r) {
  switch (r) {
    case VerifyResult::Ok: return "Ok";
    case VerifyResult::Malformed: return "Malformed";
    case VerifyResult::BadAuthenticator: return "BadAuthenticator";
    case VerifyResult::MissingMessageAuthenticator: return "MissingMessageAuthenticator";
    case VerifyResult::BadMessageAuthenticator: return "BadMessageAuthenticator";
  }
  return "?";
}

bool has_computed_request_authenticator(std::uint8_t c) {
  return c == code::AccountingRequest || c == code::DisconnectRequest || c == code::CoaRequest;
}

bool is_response_code(std::uint8_t c) {
  switch (c) {
    case code::AccessAccept:
    case code::AccessReject:
    case code::AccessChallenge:
    case code::AccountingResponse:
    case code::DisconnectAck:
    case code::DisconnectNak:
    case code::CoaAck:
    case code::CoaNak:
      return true;
    default:
      return false;
  }
}

bool equal_constant_time(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Authenticator response_authenticator(Bytes response, const Authenticator& request_auth,
                                     std::string_view secret) {
  // Unframed input (which the verify functions refuse first) still hashes
  // only octets that exist.
  if (response.size() < kHeaderSize) return md5({response, bytes_of(secret)});
  const std::size_t length = framed_length(response).value_or(response.size());
  return md5({response.first(4), request_auth, response.subspan(kHeaderSize, length - kHeaderSize),
              bytes_of(secret)});
}

Authenticator computed_request_authenticator(Bytes request, std::string_view secret) {
  return response_authenticator(request, Authenticator{}, secret);
}

std::optional<Authenticator> message_authenticator(Bytes wire, const Authenticator& in_place,
                                                   std::string_view secret) {
  const MaLocation loc = find_message_authenticator(wire);
  if (loc.malformed || !loc.value_offset) return std::nullopt;
  return compute_ma(wire, *framed_length(wire), *loc.value_offset, in_place, secret);
}

void add_message_authenticator(Packet& p) {
  std::erase_if(p.attributes, [](const Attribute& a) {
    return a.vendor == 0 && a.type == attr::MessageAuthenticator;
  });
  p.attributes.insert(p.attributes.begin(),
                      Attribute{0, attr::MessageAuthenticator, std::vector<std::uint8_t>(16, 0)});
}

bool finish_request(std::vector<std::uint8_t>& wire, std::string_view secret) {
  const MaLocation loc = find_message_authenticator(wire);
  if (loc.malformed) return false;
  const bool computed = has_computed_request_authenticator(wire[0]);
  if (computed) std::fill_n(wire.begin() + 4, 16, std::uint8_t{0});
  if (loc.value_offset) {
    const auto ma = compute_ma(wire, *framed_length(wire), *loc.value_offset,
                               request_ma_context(wire), secret);
    std::copy(ma.begin(), ma.end(), wire.begin() + static_cast<std::ptrdiff_t>(*loc.value_offset));
  }
  if (computed) {
    const auto auth = computed_request_authenticator(wire, secret);
    std::copy(auth.begin(), auth.end(), wire.begin() + 4);
  }
  return true;
}

bool finish_response(std::vector<std::uint8_t>& wire, const Authenticator& request_auth,
                     std::string_view secret) {
  const MaLocation loc = find_message_authenticator(wire);
  if (loc.malformed) return false;
  if (loc.value_offset) {
    const auto ma = compute_ma(wire, *framed_length(wire), *loc.value_offset,
                               response_ma_context(wire, request_auth), secret);
    std::copy(ma.begin(), ma.end(), wire.begin() + static_cast<std::ptrdiff_t>(*loc.value_offset));
  }
  const auto auth = response_authenticator(wire, request_auth, secret);
  std::copy(auth.begin(), auth.end(), wire.begin() + 4);
  return true;
}

VerifyResult verify_request(Bytes wire, std::string_view secret, bool require_ma) {
  if (!framed_length(wire)) return VerifyResult::Malformed;
  if (has_computed_request_authenticator(wire[0])) {
    const auto expected = computed_request_authenticator(wire, secret);
    if (!equal_constant_time(expected, wire.subspan(4, 16))) return VerifyResult::BadAuthenticator;
  }
  return check_ma(wire, request_ma_context(wire), secret, require_ma);
}

VerifyResult verify_response(Bytes wire, const Authenticator& request_auth,
                             std::string_view secret, bool require_ma) {
  if (!framed_length(wire)) return VerifyResult::Malformed;
  const auto expected = response_authenticator(wire, request_auth, secret);
  if (!equal_constant_time(expected, wire.subspan(4, 16))) return VerifyResult::BadAuthenticator;
  return check_ma(wire, response_ma_context(wire, request_auth), secret, require_ma);
}

std::optional<std::vector<std::uint8_t>> hide_password(std::string_view password,
                                                       const Authenticator& request_auth,
                                                       std::string_view secret) {
  if (password.size() > kMaxPasswordLength) return std::nullopt;
  const std::size_t blocks = password.empty() ? 1 : (password.size() + 15) / 16;
  std::vector<std::uint8_t> out(blocks * 16, 0);
  std::copy(password.begin(), password.end(), out.begin());
  Bytes previous = request_auth;
  for (std::size_t i = 0; i < out.size(); i += 16) {
    const auto b = md5({bytes_of(secret), previous});
    for (std::size_t j = 0; j < 16; ++j) out[i + j] ^= b[j];
    previous = Bytes(out).subspan(i, 16);
  }
  return out;
}

std::optional<std::string> unhide_password(Bytes hidden, const Authenticator& request_auth,
                                           std::string_view secret) {
  if (hidden.empty() || hidden.size() > kMaxPasswordLength || hidden.size() % 16 != 0) {
    return std::nullopt;
  }
  std::string out(hidden.size(), '\0');
  Bytes previous = request_auth;
  for (std::size_t i = 0; i < hidden.size(); i += 16) {
    const auto b = md5({bytes_of(secret), previous});
    for (std::size_t j = 0; j < 16; ++j) out[i + j] = static_cast<char>(hidden[i + j] ^ b[j]);
    previous = hidden.subspan(i, 16);
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

std::array<std::uint8_t, 17> chap_password(std::uint8_t ident, std::string_view password,
                                           Bytes challenge) {
  const std::array<std::uint8_t, 1> id{ident};
  const auto digest = md5({id, bytes_of(password), challenge});
  std::array<std::uint8_t, 17> out{};
  out[0] = ident;
  std::copy(digest.begin(), digest.end(), out.begin() + 1);
  return out;
}

bool verify_chap(Bytes value, Bytes challenge, std::string_view password) {
  if (value.size() != 17) return false;
  const auto expected = chap_password(value[0], password, challenge);
  return equal_constant_time(expected, value);
}

bool verify_chap(const Packet& request, std::string_view password) {
  const Attribute* chap = request.find(attr::ChapPassword);
  if (chap == nullptr) return false;
  if (const Attribute* challenge = request.find(attr::ChapChallenge)) {
    return verify_chap(chap->value, challenge->value, password);
  }
  return verify_chap(chap->value, request.authenticator, password);
}

}  // namespace ocs::radius
