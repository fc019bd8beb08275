// RADIUS authenticators and hidden attributes (RFC 2865 3 and 5.2-5.3,
// RFC 2866 3, RFC 5176 2.3, RFC 3579 3.2, RFC 5080 2.2): MD5 and HMAC-MD5
// through OpenSSL's EVP interface. Every comparison runs in constant time.
//
// The authenticator functions work on the wire form (what encode() produced
// or decode() accepted), because the digests cover the octets as sent. They
// never throw on malformed input: they report it. They throw
// std::runtime_error only when OpenSSL itself fails (e.g. MD5 disabled by a
// FIPS policy).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ocs/radius/packet.hpp"

namespace ocs::radius {

inline constexpr std::size_t kMaxPasswordLength = 128;

enum class VerifyResult {
  Ok,
  Malformed,                    // not a well-framed packet, or Message-Authenticator not 16 octets
  BadAuthenticator,             // Request/Response Authenticator does not match
  MissingMessageAuthenticator,  // required but absent
  BadMessageAuthenticator,      // present and wrong
};

std::string_view to_string(VerifyResult r);

/// True for the requests whose Request Authenticator is an MD5 over the
/// packet (Accounting-Request, Disconnect-Request, CoA-Request), false for
/// Access-Request and Status-Server, whose authenticator is random.
bool has_computed_request_authenticator(std::uint8_t code);
bool is_response_code(std::uint8_t code);

/// MD5(Code|ID|Length|request_auth|Attributes|Secret) over `response`.
Authenticator response_authenticator(std::span<const std::uint8_t> response,
                                     const Authenticator& request_auth, std::string_view secret);

/// MD5(Code|ID|Length|16 zero octets|Attributes|Secret) over `request`.
Authenticator computed_request_authenticator(std::span<const std::uint8_t> request,
                                             std::string_view secret);

/// HMAC-MD5(secret, packet) with the Message-Authenticator value zeroed and
/// `in_place` in the authenticator field; nothing when the packet has no
/// Message-Authenticator or is not well framed.
std::optional<Authenticator> message_authenticator(std::span<const std::uint8_t> wire,
                                                   const Authenticator& in_place,
                                                   std::string_view secret);

/// Puts a zeroed Message-Authenticator FIRST among the attributes (replies,
/// BlastRADIUS) and drops any other; finish_*() fills it in.
void add_message_authenticator(Packet& p);

/// Signs an encoded request in place. Access-Request/Status-Server keep their
/// (random) authenticator and get their Message-Authenticator if they carry
/// one. Accounting/CoA/Disconnect requests: Message-Authenticator (if any)
/// over the packet with a zero authenticator, then the Request Authenticator.
/// Returns false (and leaves `wire` alone) if it is not well framed.
bool finish_request(std::vector<std::uint8_t>& wire, std::string_view secret);

/// Signs an encoded response in place: Message-Authenticator (if any) with
/// the request's authenticator in place, then the Response Authenticator.
bool finish_response(std::vector<std::uint8_t>& wire, const Authenticator& request_auth,
                     std::string_view secret);

/// Checks a request: the Request Authenticator where it is computed, and the
/// Message-Authenticator if present (or required).
VerifyResult verify_request(std::span<const std::uint8_t> wire, std::string_view secret,
                            bool require_message_authenticator = false);

/// Checks a response against the request it answers.
VerifyResult verify_response(std::span<const std::uint8_t> wire,
                             const Authenticator& request_auth, std::string_view secret,
                             bool require_message_authenticator = false);

/// User-Password hiding (RFC 2865 5.2): pads with NULs to a multiple of 16
/// (an empty password is one block). Nothing if longer than 128 octets.
std::optional<std::vector<std::uint8_t>> hide_password(std::string_view password,
                                                       const Authenticator& request_auth,
                                                       std::string_view secret);

/// The reverse. Nothing if the value is empty, longer than 128 octets or not
/// a multiple of 16. Trailing NUL padding is removed; NULs inside the
/// password are kept (the caller compares all octets, so "abc\0x" never
/// matches "abc").
std::optional<std::string> unhide_password(std::span<const std::uint8_t> hidden,
                                           const Authenticator& request_auth,
                                           std::string_view secret);

/// CHAP-Password value: ident followed by MD5(ident|password|challenge).
std::array<std::uint8_t, 17> chap_password(std::uint8_t ident, std::string_view password,
                                           std::span<const std::uint8_t> challenge);

/// Checks a CHAP-Password value (17 octets, else false) against `password`.
bool verify_chap(std::span<const std::uint8_t> chap_password_value,
                 std::span<const std::uint8_t> challenge, std::string_view password);

/// Checks the request's CHAP-Password; the challenge is its CHAP-Challenge
/// or else its Request Authenticator. False if there is no CHAP-Password.
bool verify_chap(const Packet& request, std::string_view password);

/// Constant-time equality (false when the sizes differ).
bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace ocs::radius
