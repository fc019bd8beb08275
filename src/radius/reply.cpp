#include "ocs/radius/reply.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "ocs/common/digest.hpp"

namespace ocs::radius {

namespace {

void set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool defined(const TemplateVars& vars, std::string_view name) {
  const auto it = vars.find(name);
  return it != vars.end() && !it->second.empty();
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v);
  if (r.ec != std::errc{} || r.ptr != end || s.empty()) return std::nullopt;
  return v;
}

std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

Attribute integer_attribute(std::uint8_t type, std::uint32_t value, std::uint32_t vendor = 0) {
  Packet p;
  add_integer(p, type, value, vendor);
  return p.attributes.front();
}

Attribute string_attribute(std::uint8_t type, std::string_view value, std::uint32_t vendor = 0) {
  Packet p;
  add_string(p, type, value, vendor);
  return p.attributes.front();
}

}  // namespace

std::string_view to_string(NasVendor v) {
  switch (v) {
    case NasVendor::Generic: return "generic";
    case NasVendor::Mikrotik: return "mikrotik";
    case NasVendor::Cisco: return "cisco";
    case NasVendor::Chillispot: return "chillispot";
    case NasVendor::Wispr: return "wispr";
  }
  return "generic";
}

std::optional<NasVendor> nas_vendor_from_string(std::string_view s) {
  for (auto v : {NasVendor::Generic, NasVendor::Mikrotik, NasVendor::Cisco, NasVendor::Chillispot, NasVendor::Wispr})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

// --- templates ---------------------------------------------------------------

std::optional<std::string> expand_template(std::string_view text, TemplateVars& vars, std::string* error) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      set_error(error, "unterminated ${ at offset " + std::to_string(i));
      return std::nullopt;
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    i = close + 1;
    const std::size_t colon = body.find(':');
    const std::string_view name = body.substr(0, colon);
    if (name.empty()) {
      set_error(error, "empty variable name");
      return std::nullopt;
    }
    if (colon == std::string_view::npos) {
      if (const auto it = vars.find(name); it != vars.end()) out += it->second;
      continue;
    }
    if (colon + 1 >= body.size()) {
      set_error(error, "missing operator after ':' in ${" + std::string(body) + "}");
      return std::nullopt;
    }
    const char op = body[colon + 1];
    std::string_view val = body.substr(colon + 2);
    if (!val.empty() && val.front() == '$') val.remove_prefix(1);
    const bool is_defined = defined(vars, name);
    switch (op) {
      case '-': out += is_defined ? vars.find(name)->second : std::string(val); break;
      case '=':
        if (!is_defined) vars[std::string(name)] = std::string(val);
        break;
      case '?':
        if (!is_defined) out += val;
        break;
      case '+':
        if (is_defined) out += val;
        break;
      default:
        set_error(error, std::string("unknown operator ':") + op + "' in ${" + std::string(body) + "}");
        return std::nullopt;
    }
  }
  return out;
}

std::optional<ResponseLine> parse_response_line(std::string_view line, std::string* error) {
  const std::size_t eq = line.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    set_error(error, "expected Attribute=value, Attribute+=value or Attribute:=value");
    return std::nullopt;
  }
  ResponseLine r;
  std::string_view name = line.substr(0, eq);
  if (name.back() == '+') {
    r.op = ResponseLine::Op::Append;
    name.remove_suffix(1);
  } else if (name.back() == ':') {
    r.op = ResponseLine::Op::Override;
    name.remove_suffix(1);
  }
  name = trim(name);
  if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
    set_error(error, "bad attribute name \"" + std::string(name) + "\"");
    return std::nullopt;
  }
  r.attribute = std::string(name);
  std::string_view value = trim(line.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  r.value_template = std::string(value);
  return r;
}

std::optional<std::vector<std::uint8_t>> encode_value(const Dictionary& dict, const AttributeDef& def,
                                                      std::string_view text) {
  switch (def.type) {
    case AttrType::Integer:
    case AttrType::Date: {
      std::optional<std::uint32_t> n = parse_number<std::uint32_t>(text);
      if (!n && def.type == AttrType::Integer) n = dict.value(def.name, text);
      if (!n) return std::nullopt;
      return std::vector<std::uint8_t>{static_cast<std::uint8_t>(*n >> 24), static_cast<std::uint8_t>(*n >> 16),
                                       static_cast<std::uint8_t>(*n >> 8), static_cast<std::uint8_t>(*n)};
    }
    case AttrType::IpAddr: {
      std::vector<std::uint8_t> out;
      std::string_view rest = text;
      for (int k = 0; k < 4; ++k) {
        const std::size_t dot = rest.find('.');
        const std::string_view part = k < 3 ? rest.substr(0, dot) : rest;
        if (k < 3 && dot == std::string_view::npos) return std::nullopt;
        const auto octet = parse_number<std::uint8_t>(part);
        if (!octet) return std::nullopt;
        out.push_back(*octet);
        if (k < 3) rest = rest.substr(dot + 1);
      }
      return out;
    }
    case AttrType::String:
    case AttrType::Octets:
      if (text.size() > (def.vendor ? kMaxVendorValue : kMaxAttributeValue)) return std::nullopt;
      return std::vector<std::uint8_t>(text.begin(), text.end());
    case AttrType::Ipv6Addr: return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string> apply_response_lines(Packet& reply, const std::vector<std::string>& lines,
                                              TemplateVars& vars, const Dictionary& dict) {
  std::vector<std::string> problems;
  for (const auto& text : lines) {
    std::string error;
    const auto line = parse_response_line(text, &error);
    if (!line) {
      problems.push_back("\"" + text + "\": " + error);
      continue;
    }
    const AttributeDef* def = dict.find(line->attribute);
    if (!def) {
      problems.push_back("\"" + text + "\": unknown attribute " + line->attribute);
      continue;
    }
    const auto value = expand_template(line->value_template, vars, &error);
    if (!value) {
      problems.push_back("\"" + text + "\": " + error);
      continue;
    }
    const auto bytes = encode_value(dict, *def, *value);
    if (!bytes) {
      problems.push_back("\"" + text + "\": bad value \"" + *value + "\" for " + def->name);
      continue;
    }
    const auto same = [&](const Attribute& a) { return a.vendor == def->vendor && a.type == def->number; };
    const bool present = std::any_of(reply.attributes.begin(), reply.attributes.end(), same);
    switch (line->op) {
      case ResponseLine::Op::AddIfAbsent:
        if (present) continue;
        break;
      case ResponseLine::Op::Append: break;
      case ResponseLine::Op::Override: {
        // Replace in place (the first one keeps its position), drop the rest.
        auto it = std::find_if(reply.attributes.begin(), reply.attributes.end(), same);
        if (it != reply.attributes.end()) {
          it->value = *bytes;
          reply.attributes.erase(std::remove_if(std::next(it), reply.attributes.end(), same), reply.attributes.end());
          continue;
        }
        break;
      }
    }
    reply.attributes.push_back(Attribute{def->vendor, def->number, *bytes});
  }
  return problems;
}

// --- vendor dialects -----------------------------------------------------------

std::uint64_t scale_rate(std::uint64_t kbps, std::uint32_t percent) {
  if (kbps == 0) return 0;
  if (percent != 0 && kbps > std::numeric_limits<std::uint64_t>::max() / percent)
    return std::numeric_limits<std::uint64_t>::max() / 100;
  const std::uint64_t scaled = kbps * percent / 100;
  return scaled == 0 ? 1 : scaled;
}

std::vector<Attribute> authorization_attributes(const Authorization& a) {
  std::vector<Attribute> out;
  // Scaled rates in kbit/s; 0 = no limit (scale_rate never returns 0). Plain
  // integers rather than optionals: GCC 12 at -O2 reports optionals read
  // after a check as maybe-uninitialized.
  const std::uint64_t up = a.rate_up_kbps ? scale_rate(*a.rate_up_kbps, a.rate_scaling_percent) : 0;
  const std::uint64_t down = a.rate_down_kbps ? scale_rate(*a.rate_down_kbps, a.rate_scaling_percent) : 0;

  // Quotas (none while hotlined).
  if (a.hotlining) {
    if (a.hotline_session_timeout) out.push_back(integer_attribute(attr::SessionTimeout, *a.hotline_session_timeout));
  } else if (a.cisco_crb) {
    if (a.quota_octets) out.push_back(cisco_avpair_attribute("crb-total-volume", std::to_string(*a.quota_octets)));
    if (a.quota_seconds) out.push_back(cisco_avpair_attribute("crb-duration", std::to_string(*a.quota_seconds)));
  } else {
    if (a.quota_seconds) out.push_back(integer_attribute(attr::SessionTimeout, clamp32(*a.quota_seconds)));
    if (a.quota_octets) {
      const std::uint64_t q = *a.quota_octets;
      const auto low = static_cast<std::uint32_t>(q & 0xffffffffu);
      const auto high = static_cast<std::uint32_t>(std::min<std::uint64_t>(q >> 32, 0xffffffffu));
      switch (a.vendor) {
        case NasVendor::Mikrotik:
          out.push_back(integer_attribute(17, low, vendor_id::Mikrotik));
          if (high) out.push_back(integer_attribute(18, high, vendor_id::Mikrotik));
          break;
        case NasVendor::Chillispot:
        case NasVendor::Wispr:
          out.push_back(integer_attribute(3, low, vendor_id::Chillispot));
          if (high) out.push_back(integer_attribute(23, high, vendor_id::Chillispot));
          break;
        case NasVendor::Cisco:
          out.push_back(cisco_avpair_attribute("crb-total-volume", std::to_string(q)));
          break;
        case NasVendor::Generic: break;  // no standard volume limit attribute
      }
    }
  }

  // Rate limits.
  if (up != 0 || down != 0) {
    switch (a.vendor) {
      case NasVendor::Mikrotik:
        // rx/tx from the router's side: the client's upload first.
        out.push_back(string_attribute(
            8, (up != 0 ? std::to_string(up) + "k" : "0") + "/" + (down != 0 ? std::to_string(down) + "k" : "0"),
            vendor_id::Mikrotik));
        break;
      case NasVendor::Cisco:
        if (up != 0)
          out.push_back(cisco_avpair_attribute(
              "lcp:interface-config", "rate-limit input " + std::to_string(up * 1000) +
                                          " 8000 8000 conform-action transmit exceed-action drop"));
        if (down != 0)
          out.push_back(cisco_avpair_attribute(
              "lcp:interface-config", "rate-limit output " + std::to_string(down * 1000) +
                                          " 8000 8000 conform-action transmit exceed-action drop"));
        break;
      case NasVendor::Chillispot:
        if (up != 0) out.push_back(integer_attribute(4, clamp32(up), vendor_id::Chillispot));
        if (down != 0) out.push_back(integer_attribute(5, clamp32(down), vendor_id::Chillispot));
        break;
      case NasVendor::Wispr:
        if (up != 0) out.push_back(integer_attribute(7, clamp32(up * 1000), vendor_id::Wispr));
        if (down != 0) out.push_back(integer_attribute(8, clamp32(down * 1000), vendor_id::Wispr));
        break;
      case NasVendor::Generic: break;
    }
  }

  if (a.acct_interim_interval) out.push_back(integer_attribute(attr::AcctInterimInterval, *a.acct_interim_interval));

  if (!a.address_pool.empty()) {
    if (a.vendor == NasVendor::Cisco)
      out.push_back(cisco_avpair_attribute("ip:addr-pool", a.address_pool));
    else
      out.push_back(string_attribute(attr::FramedPool, a.address_pool));
  }
  if (a.hotlining) {
    if (a.filter_id) out.push_back(string_attribute(attr::FilterId, *a.filter_id));
    switch (a.vendor) {
      case NasVendor::Wispr:
      case NasVendor::Chillispot:
        if (a.redirect_url) out.push_back(string_attribute(4, *a.redirect_url, vendor_id::Wispr));
        break;
      case NasVendor::Cisco:
        if (a.redirect_url) out.push_back(cisco_avpair_attribute("url-redirect", *a.redirect_url));
        break;
      case NasVendor::Mikrotik: out.push_back(string_attribute(19, "hotline", vendor_id::Mikrotik)); break;
      case NasVendor::Generic: break;
    }
  }
  if (!a.class_value.empty()) out.push_back(string_attribute(attr::Class, a.class_value));
  return out;
}

// --- rate limits alone (CoA after a policy edit) ------------------------------------

bool is_rate_limit_attribute(const Attribute& a) {
  switch (a.vendor) {
    case vendor_id::Mikrotik: return a.type == 8;
    case vendor_id::Chillispot: return a.type == 4 || a.type == 5;
    case vendor_id::Wispr: return a.type == 7 || a.type == 8;
    case vendor_id::Cisco: {
      if (a.type != 1) return false;
      const std::string s = as_string(a);
      const std::size_t eq = s.find('=');
      return eq != std::string::npos && trim(std::string_view(s).substr(0, eq)) == "lcp:interface-config" &&
             trim(std::string_view(s).substr(eq + 1)).starts_with("rate-limit");
    }
    default: return false;
  }
}

std::vector<Attribute> rate_limit_attributes(const Authorization& a, const std::vector<std::string>& response_lines,
                                             TemplateVars vars, const Dictionary& dict) {
  Authorization rates;
  rates.vendor = a.vendor;
  rates.rate_up_kbps = a.rate_up_kbps;
  rates.rate_down_kbps = a.rate_down_kbps;
  rates.rate_scaling_percent = a.rate_scaling_percent;
  Packet scratch{code::AccessAccept, 0, {}, authorization_attributes(rates)};
  (void)apply_response_lines(scratch, response_lines, vars, dict);
  std::vector<Attribute> out;
  for (auto& attribute : scratch.attributes)
    if (is_rate_limit_attribute(attribute)) out.push_back(std::move(attribute));
  return out;
}

std::vector<Attribute> unlimited_rate_attributes(NasVendor vendor) {
  switch (vendor) {
    case NasVendor::Mikrotik: return {string_attribute(8, "0/0", vendor_id::Mikrotik)};
    case NasVendor::Chillispot:
      return {integer_attribute(4, 0, vendor_id::Chillispot), integer_attribute(5, 0, vendor_id::Chillispot)};
    case NasVendor::Wispr: return {integer_attribute(7, 0, vendor_id::Wispr), integer_attribute(8, 0, vendor_id::Wispr)};
    case NasVendor::Cisco:
    case NasVendor::Generic: break;
  }
  return {};
}

std::string rate_limit_digest(const std::vector<Attribute>& attributes) {
  if (attributes.empty()) return "";
  std::string canonical;
  for (const auto& a : attributes) {
    canonical += std::to_string(a.vendor) + ':' + std::to_string(a.type) + ':' + std::to_string(a.value.size()) + ':';
    canonical.append(a.value.begin(), a.value.end());
  }
  return fnv1a_hex(canonical);
}

// --- Cisco-AVPair -------------------------------------------------------------------

std::optional<std::string> cisco_avpair(const Packet& p, std::string_view name) {
  for (const auto& a : p.attributes) {
    if (a.vendor != vendor_id::Cisco || a.type != 1) continue;
    const std::string s = as_string(a);
    const std::size_t eq = s.find('=');
    if (eq == std::string::npos) continue;
    std::string_view key(s.data(), eq);
    if (const std::size_t hash = key.find('#'); hash != std::string_view::npos) key = key.substr(0, hash);
    if (trim(key) == name) return std::string(trim(std::string_view(s).substr(eq + 1)));
  }
  return std::nullopt;
}

Attribute cisco_avpair_attribute(std::string_view name, std::string_view value) {
  std::string s(name);
  s += '=';
  s += value;
  return string_attribute(1, s, vendor_id::Cisco);
}

}  // namespace ocs::radius
