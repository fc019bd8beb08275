// The test vectors of tests/radius/vectors/: one text file per datagram.
//
//   # what it is, where it comes from
//   hex: 01 00 00 38 0f 40 ...      (repeatable; concatenated)
//   expect: ok | <DecodeError name>
//   code: 1                         (then, for ok: the decoded packet)
//   id: 0
//   auth: 0f403f9473978057bd83d5cb98f4227a
//   attr: User-Name = "nemo"        (Dictionary::format(), in order)
//   reencode: same | differs         (default same: encode() gives the input back)
//   secret: xyzzy5461               (then authenticators are checked:)
//   request-auth: <hex>             responses: verify_response() against it
//   password: arctangent            User-Password unhides to this
//   chap-password: ...              CHAP-Password verifies with this
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocs::radius::test {

struct VectorFile {
  std::string name;                                        // file stem
  std::vector<std::uint8_t> bytes;                         // the hex: lines
  std::vector<std::pair<std::string, std::string>> fields; // other key: value lines, in order

  std::optional<std::string> get(std::string_view key) const;
  std::vector<std::string> get_all(std::string_view key) const;
};

/// Parses a vector's text; nothing if a hex: line has a non-hex digit or an
/// odd count, or a line is not "key: value".
std::optional<VectorFile> parse_vector(std::string_view text, std::string name = {});
/// Throws std::runtime_error naming the file when it does not parse.
VectorFile load_vector(const std::filesystem::path& path);
/// Every *.txt of `dir`, sorted by name.
std::vector<std::filesystem::path> vector_paths(const std::filesystem::path& dir);

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);
std::string to_hex(const std::vector<std::uint8_t>& bytes);

}  // namespace ocs::radius::test
