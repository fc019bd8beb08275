#include "ocs/radius/dictionary.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace ocs::radius {
namespace {

constexpr int kMaxIncludeDepth = 16;

std::vector<std::string_view> split_fields(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r')) ++pos;
    const std::size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t' && line[pos] != '\r') ++pos;
    if (pos > start) fields.push_back(line.substr(start, pos - start));
  }
  return fields;
}

std::optional<std::uint32_t> parse_number(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<AttrType> parse_type(std::string_view s) {
  if (s == "string") return AttrType::String;
  if (s == "octets") return AttrType::Octets;
  if (s == "integer") return AttrType::Integer;
  if (s == "ipaddr") return AttrType::IpAddr;
  if (s == "date") return AttrType::Date;
  if (s == "ipv6addr") return AttrType::Ipv6Addr;
  return std::nullopt;
}

std::string hex(const std::vector<std::uint8_t>& v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x";
  for (std::uint8_t b : v) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0xf]);
  }
  return s;
}

std::string quoted(const std::vector<std::uint8_t>& v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "\"";
  for (std::uint8_t b : v) {
    if (b == '"' || b == '\\') {
      s.push_back('\\');
      s.push_back(static_cast<char>(b));
    } else if (b >= 0x20 && b < 0x7f) {
      s.push_back(static_cast<char>(b));
    } else {
      s += "\\x";
      s.push_back(digits[b >> 4]);
      s.push_back(digits[b & 0xf]);
    }
  }
  s.push_back('"');
  return s;
}

}  // namespace

std::string_view to_string(AttrType t) {
  switch (t) {
    case AttrType::String: return "string";
    case AttrType::Octets: return "octets";
    case AttrType::Integer: return "integer";
    case AttrType::IpAddr: return "ipaddr";
    case AttrType::Date: return "date";
    case AttrType::Ipv6Addr: return "ipv6addr";
  }
  return "?";
}

DictionaryError::DictionaryError(std::string file, int line, const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + message),
      file_(std::move(file)),
      line_(line) {}

class Dictionary::Parser {
 public:
  explicit Parser(Dictionary& d) : d_(d) {}

  void parse_file(const std::filesystem::path& path, const std::string& from_file, int from_line,
                  int depth) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DictionaryError(from_file, from_line, "cannot open " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    parse_text(text.str(), path, from_file, from_line, depth);
  }

  void parse_text(std::string_view text, const std::filesystem::path& origin,
                  const std::string& from_file, int from_line, int depth) {
    if (depth > kMaxIncludeDepth) {
      throw DictionaryError(from_file, from_line, "$INCLUDE nested too deeply (a loop?)");
    }
    const std::string file = origin.string();
    const VendorDef* block = nullptr;  // inside BEGIN-VENDOR
    int block_line = 0;
    int line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      const auto f = split_fields(line);
      if (f.empty()) continue;
      auto fail = [&](const std::string& msg) { throw DictionaryError(file, line_no, msg); };
      auto want = [&](std::size_t lo, std::size_t hi) {
        if (f.size() < lo || f.size() > hi) {
          fail(std::string(f[0]) + ": expected " + std::to_string(lo - 1) +
               (lo == hi ? "" : "-" + std::to_string(hi - 1)) + " fields, got " +
               std::to_string(f.size() - 1));
        }
      };
      if (f[0] == "$INCLUDE") {
        want(2, 2);
        std::filesystem::path inc(f[1]);
        if (inc.is_relative()) inc = origin.parent_path() / inc;
        parse_file(inc, file, line_no, depth + 1);
      } else if (f[0] == "VENDOR") {
        want(3, 4);  // FreeRADIUS allows a format=... field: only the RFC layout here
        if (f.size() == 4 && f[3] != "format=1,1") fail("VENDOR: only format=1,1 is supported");
        const auto id = parse_number(f[2]);
        if (!id || *id == 0 || *id > 0xffffff) fail("VENDOR: bad vendor id '" + std::string(f[2]) + "'");
        if (d_.vendor(f[1])) fail("VENDOR: duplicate vendor name '" + std::string(f[1]) + "'");
        if (const auto* other = d_.vendor(*id)) {
          fail("VENDOR: id " + std::to_string(*id) + " already defined as '" + other->name + "'");
        }
        d_.vendors_.push_back({std::string(f[1]), *id});
      } else if (f[0] == "BEGIN-VENDOR") {
        want(2, 2);
        if (block) fail("BEGIN-VENDOR inside BEGIN-VENDOR " + block->name);
        block = d_.vendor(f[1]);
        if (!block) fail("BEGIN-VENDOR: unknown vendor '" + std::string(f[1]) + "'");
        block_line = line_no;
      } else if (f[0] == "END-VENDOR") {
        want(2, 2);
        if (!block) fail("END-VENDOR without BEGIN-VENDOR");
        if (block->name != f[1]) {
          fail("END-VENDOR " + std::string(f[1]) + " does not close BEGIN-VENDOR " + block->name);
        }
        block = nullptr;
      } else if (f[0] == "ATTRIBUTE") {
        want(4, 5);
        AttributeDef def;
        def.name = std::string(f[1]);
        const auto number = parse_number(f[2]);
        if (!number || *number == 0 || *number > 255) {
          fail("ATTRIBUTE " + def.name + ": bad number '" + std::string(f[2]) + "' (1-255)");
        }
        def.number = static_cast<std::uint8_t>(*number);
        const auto type = parse_type(f[3]);
        if (!type) fail("ATTRIBUTE " + def.name + ": unknown type '" + std::string(f[3]) + "'");
        def.type = *type;
        if (block) def.vendor = block->id;
        if (f.size() == 5) {
          if (f[4] == "encrypt=1" || f[4] == "encrypt=2" || f[4] == "encrypt=3") {
            def.encrypt = static_cast<std::uint8_t>(f[4].back() - '0');
          } else if (const auto* v = d_.vendor(f[4])) {
            if (block && block->id != v->id) fail("ATTRIBUTE " + def.name + ": vendor conflicts with BEGIN-VENDOR");
            def.vendor = v->id;
          } else {
            fail("ATTRIBUTE " + def.name + ": unknown flag or vendor '" + std::string(f[4]) + "'");
          }
        }
        if (def.encrypt == 1 && def.type != AttrType::String && def.type != AttrType::Octets) {
          fail("ATTRIBUTE " + def.name + ": encrypt=1 needs string or octets");
        }
        if (d_.find(def.name)) fail("ATTRIBUTE: duplicate name '" + def.name + "'");
        if (const auto* other = d_.find(def.vendor, def.number)) {
          fail("ATTRIBUTE " + def.name + ": number " + std::to_string(def.number) +
               " already used by " + other->name);
        }
        const std::size_t index = d_.attributes_.size();
        d_.by_name_.emplace(def.name, index);
        d_.by_number_.emplace(std::pair{def.vendor, def.number}, index);
        d_.attributes_.push_back(std::move(def));
      } else if (f[0] == "VALUE") {
        want(4, 4);
        const auto it = d_.by_name_.find(f[1]);
        if (it == d_.by_name_.end()) fail("VALUE: unknown attribute '" + std::string(f[1]) + "'");
        const auto& def = d_.attributes_[it->second];
        if (def.type != AttrType::Integer) fail("VALUE: " + def.name + " is not an integer");
        const auto number = parse_number(f[3]);
        if (!number) fail("VALUE " + def.name + " " + std::string(f[2]) + ": bad number '" + std::string(f[3]) + "'");
        auto key = std::pair{it->second, std::string(f[2])};
        if (d_.values_.contains(key)) {
          fail("VALUE: duplicate " + def.name + " " + std::string(f[2]));
        }
        d_.values_.emplace(std::move(key), *number);
        d_.value_names_.emplace(std::pair{it->second, *number}, std::string(f[2]));
      } else {
        fail("unknown keyword '" + std::string(f[0]) + "'");
      }
    }
    if (block) {
      throw DictionaryError(file, block_line, "BEGIN-VENDOR " + block->name + " is never closed");
    }
  }

 private:
  Dictionary& d_;
};

Dictionary Dictionary::load(const std::filesystem::path& path) {
  Dictionary d;
  Parser(d).parse_file(path, path.string(), 0, 0);
  return d;
}

Dictionary Dictionary::parse(std::string_view text, const std::filesystem::path& origin) {
  Dictionary d;
  Parser(d).parse_text(text, origin, origin.string(), 0, 0);
  return d;
}

const AttributeDef* Dictionary::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &attributes_[it->second];
}

const AttributeDef* Dictionary::find(std::uint32_t vendor, std::uint8_t number) const {
  const auto it = by_number_.find({vendor, number});
  return it == by_number_.end() ? nullptr : &attributes_[it->second];
}

const VendorDef* Dictionary::vendor(std::string_view name) const {
  const auto it = std::find_if(vendors_.begin(), vendors_.end(),
                               [&](const VendorDef& v) { return v.name == name; });
  return it == vendors_.end() ? nullptr : &*it;
}

const VendorDef* Dictionary::vendor(std::uint32_t id) const {
  const auto it = std::find_if(vendors_.begin(), vendors_.end(),
                               [&](const VendorDef& v) { return v.id == id; });
  return it == vendors_.end() ? nullptr : &*it;
}

std::optional<std::uint32_t> Dictionary::value(std::string_view attribute,
                                               std::string_view value_name) const {
  const auto it = by_name_.find(attribute);
  if (it == by_name_.end()) return std::nullopt;
  const auto v = values_.find({it->second, std::string(value_name)});
  if (v == values_.end()) return std::nullopt;
  return v->second;
}

std::optional<std::string_view> Dictionary::value_name(const AttributeDef& def,
                                                       std::uint32_t number) const {
  const auto it = by_number_.find({def.vendor, def.number});
  if (it == by_number_.end()) return std::nullopt;
  const auto v = value_names_.find({it->second, number});
  if (v == value_names_.end()) return std::nullopt;
  return std::string_view(v->second);
}

std::string Dictionary::format(const Attribute& a) const {
  const AttributeDef* def = find(a);
  if (def == nullptr) {
    const std::string name = a.vendor == 0
                                 ? "Attr-" + std::to_string(a.type)
                                 : "Vendor-" + std::to_string(a.vendor) + "-Attr-" + std::to_string(a.type);
    return name + " = " + hex(a.value);
  }
  std::string out = def->name + " = ";
  const auto u32 = as_u32(a);
  switch (def->type) {
    case AttrType::String:
      if (def->encrypt == 0) return out + quoted(a.value);
      break;
    case AttrType::Integer:
      if (u32) {
        if (auto name = value_name(*def, *u32)) return out + std::string(*name);
        return out + std::to_string(*u32);
      }
      break;
    case AttrType::Date:
      if (u32) return out + std::to_string(*u32);
      break;
    case AttrType::IpAddr:
      if (u32) {
        return out + std::to_string(a.value[0]) + "." + std::to_string(a.value[1]) + "." +
               std::to_string(a.value[2]) + "." + std::to_string(a.value[3]);
      }
      break;
    case AttrType::Octets:
    case AttrType::Ipv6Addr:
      break;
  }
  return out + hex(a.value);
}

}  // namespace ocs::radius
