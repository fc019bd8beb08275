// A RADIUS dictionary in the FreeRADIUS format (dict/radius/dictionary):
//
//   # comment                         (also after a line's fields)
//   VENDOR        <name> <id>
//   BEGIN-VENDOR  <name>              attributes up to END-VENDOR are that vendor's
//   END-VENDOR    <name>
//   ATTRIBUTE     <name> <number> <type> [<flags> | <vendor-name>]
//   VALUE         <attribute> <value-name> <number>
//   $INCLUDE      <file>              relative to the including file's directory
//
// Types: string, octets, integer, ipaddr, date, ipv6addr. Flags:
// encrypt=1 (User-Password hiding), encrypt=2, encrypt=3. Numbers are decimal
// or 0x-hex. Every problem throws DictionaryError naming file and line;
// names and (vendor, number) pairs are unique, VALUE names unique per
// attribute (two names for one number are allowed: the first one is what
// value_name() returns).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocs/radius/packet.hpp"

namespace ocs::radius {

enum class AttrType { String, Octets, Integer, IpAddr, Date, Ipv6Addr };

std::string_view to_string(AttrType t);

struct AttributeDef {
  std::string name;
  std::uint32_t vendor = 0;
  std::uint8_t number = 0;
  AttrType type = AttrType::Octets;
  std::uint8_t encrypt = 0;  // 1: RFC 2865 User-Password hiding
};

struct VendorDef {
  std::string name;
  std::uint32_t id = 0;
};

class DictionaryError : public std::runtime_error {
 public:
  DictionaryError(std::string file, int line, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

class Dictionary {
 public:
  /// Reads `path` and what it includes.
  static Dictionary load(const std::filesystem::path& path);
  /// Parses `text` as if read from `origin` ($INCLUDE is resolved against
  /// origin's directory; errors name origin).
  static Dictionary parse(std::string_view text, const std::filesystem::path& origin);

  const AttributeDef* find(std::string_view name) const;
  const AttributeDef* find(std::uint32_t vendor, std::uint8_t number) const;
  const AttributeDef* find(const Attribute& a) const { return find(a.vendor, a.type); }
  const VendorDef* vendor(std::string_view name) const;
  const VendorDef* vendor(std::uint32_t id) const;
  /// The number of VALUE `value_name` of attribute `attribute`.
  std::optional<std::uint32_t> value(std::string_view attribute, std::string_view value_name) const;
  /// The first VALUE name given to `number` for `def`.
  std::optional<std::string_view> value_name(const AttributeDef& def, std::uint32_t number) const;

  std::size_t attribute_count() const { return attributes_.size(); }

  /// "User-Name = \"nemo\"", "Acct-Status-Type = Start",
  /// "Framed-IP-Address = 192.168.1.16", "Vendor-9-Attr-200 = 0x0102"...
  /// Unknown attributes and values of the wrong size print as hex.
  std::string format(const Attribute& a) const;

 private:
  class Parser;
  std::vector<AttributeDef> attributes_;
  std::vector<VendorDef> vendors_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::map<std::pair<std::uint32_t, std::uint8_t>, std::size_t> by_number_;
  // (attribute index, value name) -> number and (attribute index, number) -> name
  std::map<std::pair<std::size_t, std::string>, std::uint32_t> values_;
  std::map<std::pair<std::size_t, std::uint32_t>, std::string> value_names_;
};

}  // namespace ocs::radius
