#include "ocs/radius/packet.hpp"

#include <algorithm>

namespace ocs::radius {
namespace {

std::uint32_t load_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void store_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

bool rfc_layout_vendor(std::uint32_t vendor) {
  return std::find(kRfcLayoutVendors.begin(), kRfcLayoutVendors.end(), vendor) !=
         kRfcLayoutVendors.end();
}

// True when the sub-attributes (1-octet type, 1-octet length >= 2) exactly
// fill `data`.
bool sub_attributes_tile(std::span<const std::uint8_t> data) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 2) return false;
    const std::size_t len = data[pos + 1];
    if (len < 2 || len > data.size() - pos) return false;
    pos += len;
  }
  return true;
}

struct Failure {
  DecodeError error;
  std::size_t offset;
};

// Everything decode() relies on is checked here first; the decoding pass
// below then cannot fail.
std::optional<Failure> validate(std::span<const std::uint8_t> d) {
  if (d.size() < kHeaderSize) return Failure{DecodeError::TooShort, d.size()};
  if (!is_known_code(d[0])) return Failure{DecodeError::UnknownCode, 0};
  const std::size_t length = (std::size_t{d[2]} << 8) | d[3];
  if (length < kHeaderSize || length > kMaxPacketSize || length > d.size()) {
    return Failure{DecodeError::LengthMismatch, 2};
  }
  std::size_t pos = kHeaderSize;
  while (pos < length) {
    if (length - pos < 2) return Failure{DecodeError::AttributeOverrun, pos};
    const std::size_t alen = d[pos + 1];
    if (alen < 2) return Failure{DecodeError::AttributeTooShort, pos};
    if (alen > length - pos) return Failure{DecodeError::AttributeOverrun, pos};
    if (d[pos] == attr::VendorSpecific) {
      // RFC 2865 5.26: Vendor-Id (4 octets) and at least one octet of String.
      if (alen < 7) return Failure{DecodeError::VendorSpecificMalformed, pos};
      const std::uint32_t vendor = load_u32(&d[pos + 2]);
      if (rfc_layout_vendor(vendor) && !sub_attributes_tile(d.subspan(pos + 6, alen - 6))) {
        return Failure{DecodeError::VendorSpecificMalformed, pos};
      }
    }
    pos += alen;
  }
  return std::nullopt;
}

}  // namespace

bool is_known_code(std::uint8_t c) {
  switch (c) {
    case code::AccessRequest:
    case code::AccessAccept:
    case code::AccessReject:
    case code::AccountingRequest:
    case code::AccountingResponse:
    case code::AccessChallenge:
    case code::StatusServer:
    case code::StatusClient:
    case code::DisconnectRequest:
    case code::DisconnectAck:
    case code::DisconnectNak:
    case code::CoaRequest:
    case code::CoaAck:
    case code::CoaNak:
      return true;
    default:
      return false;
  }
}

const Attribute* Packet::find(std::uint8_t type, std::uint32_t vendor) const {
  for (const auto& a : attributes) {
    if (a.type == type && a.vendor == vendor) return &a;
  }
  return nullptr;
}

std::size_t Packet::count(std::uint8_t type, std::uint32_t vendor) const {
  return static_cast<std::size_t>(std::count_if(
      attributes.begin(), attributes.end(),
      [&](const Attribute& a) { return a.type == type && a.vendor == vendor; }));
}

std::string_view to_string(DecodeError e) {
  switch (e) {
    case DecodeError::TooShort: return "TooShort";
    case DecodeError::LengthMismatch: return "LengthMismatch";
    case DecodeError::UnknownCode: return "UnknownCode";
    case DecodeError::AttributeTooShort: return "AttributeTooShort";
    case DecodeError::AttributeOverrun: return "AttributeOverrun";
    case DecodeError::VendorSpecificMalformed: return "VendorSpecificMalformed";
  }
  return "?";
}

std::string_view to_string(EncodeError e) {
  switch (e) {
    case EncodeError::ValueTooLong: return "ValueTooLong";
    case EncodeError::VendorSpecificMalformed: return "VendorSpecificMalformed";
    case EncodeError::PacketTooLong: return "PacketTooLong";
  }
  return "?";
}

DecodeResult decode(std::span<const std::uint8_t> d) {
  DecodeResult r;
  if (auto f = validate(d)) {
    r.error = f->error;
    r.offset = f->offset;
    return r;
  }
  Packet& p = r.packet;
  p.code = d[0];
  p.identifier = d[1];
  std::copy_n(d.begin() + 4, p.authenticator.size(), p.authenticator.begin());
  const std::size_t length = (std::size_t{d[2]} << 8) | d[3];
  const auto body = d.first(length);
  std::size_t pos = kHeaderSize;
  while (pos < length) {
    const std::uint8_t type = body[pos];
    const std::size_t alen = body[pos + 1];
    const auto value = body.subspan(pos + 2, alen - 2);
    if (type == attr::VendorSpecific && sub_attributes_tile(value.subspan(4))) {
      const std::uint32_t vendor = load_u32(value.data());
      auto data = value.subspan(4);
      std::size_t sub = 0;
      while (sub < data.size()) {
        const std::size_t slen = data[sub + 1];
        const auto svalue = data.subspan(sub + 2, slen - 2);
        p.attributes.push_back({vendor, data[sub], {svalue.begin(), svalue.end()}});
        sub += slen;
      }
    } else {
      p.attributes.push_back({0, type, {value.begin(), value.end()}});
    }
    pos += alen;
  }
  return r;
}

EncodeResult encode(const Packet& p) {
  EncodeResult r;
  auto& out = r.bytes;
  out.reserve(kHeaderSize + p.attributes.size() * 8);
  out.push_back(p.code);
  out.push_back(p.identifier);
  out.push_back(0);
  out.push_back(0);
  out.insert(out.end(), p.authenticator.begin(), p.authenticator.end());
  for (const auto& a : p.attributes) {
    if (a.vendor == 0) {
      if (a.value.size() > kMaxAttributeValue) {
        r.error = EncodeError::ValueTooLong;
        break;
      }
      if (a.type == attr::VendorSpecific && a.value.size() < 5) {
        r.error = EncodeError::VendorSpecificMalformed;
        break;
      }
      out.push_back(a.type);
      out.push_back(static_cast<std::uint8_t>(a.value.size() + 2));
    } else {
      if (a.value.size() > kMaxVendorValue) {
        r.error = EncodeError::ValueTooLong;
        break;
      }
      out.push_back(attr::VendorSpecific);
      out.push_back(static_cast<std::uint8_t>(a.value.size() + 8));
      store_u32(out, a.vendor);
      out.push_back(a.type);
      out.push_back(static_cast<std::uint8_t>(a.value.size() + 2));
    }
    out.insert(out.end(), a.value.begin(), a.value.end());
    if (out.size() > kMaxPacketSize) {
      r.error = EncodeError::PacketTooLong;
      break;
    }
  }
  if (r.error) {
    out.clear();
    return r;
  }
  out[2] = static_cast<std::uint8_t>(out.size() >> 8);
  out[3] = static_cast<std::uint8_t>(out.size());
  return r;
}

void add_octets(Packet& p, std::uint8_t type, std::span<const std::uint8_t> value,
                std::uint32_t vendor) {
  p.attributes.push_back({vendor, type, {value.begin(), value.end()}});
}

void add_string(Packet& p, std::uint8_t type, std::string_view value, std::uint32_t vendor) {
  Attribute a{vendor, type, {}};
  a.value.reserve(value.size());
  for (char c : value) a.value.push_back(static_cast<std::uint8_t>(c));
  p.attributes.push_back(std::move(a));
}

void add_integer(Packet& p, std::uint8_t type, std::uint32_t value, std::uint32_t vendor) {
  Attribute a{vendor, type, {}};
  store_u32(a.value, value);
  p.attributes.push_back(std::move(a));
}

void add_ipaddr(Packet& p, std::uint8_t type, std::uint32_t address, std::uint32_t vendor) {
  add_integer(p, type, address, vendor);
}

void add_date(Packet& p, std::uint8_t type, std::chrono::sys_seconds when, std::uint32_t vendor) {
  add_integer(p, type, static_cast<std::uint32_t>(when.time_since_epoch().count()), vendor);
}

std::optional<std::uint32_t> as_u32(const Attribute& a) {
  if (a.value.size() != 4) return std::nullopt;
  return load_u32(a.value.data());
}

std::string as_string(const Attribute& a) {
  std::string s;
  s.reserve(a.value.size());
  for (std::uint8_t b : a.value) s.push_back(static_cast<char>(b));
  return s;
}

std::optional<std::string> get_string(const Packet& p, std::uint8_t type, std::uint32_t vendor) {
  const Attribute* a = p.find(type, vendor);
  if (a == nullptr) return std::nullopt;
  return as_string(*a);
}

std::optional<std::uint32_t> get_integer(const Packet& p, std::uint8_t type,
                                         std::uint32_t vendor) {
  const Attribute* a = p.find(type, vendor);
  if (a == nullptr) return std::nullopt;
  return as_u32(*a);
}

std::optional<std::uint32_t> get_ipaddr(const Packet& p, std::uint8_t type, std::uint32_t vendor) {
  return get_integer(p, type, vendor);
}

std::optional<std::chrono::sys_seconds> get_date(const Packet& p, std::uint8_t type,
                                                 std::uint32_t vendor) {
  auto v = get_integer(p, type, vendor);
  if (!v) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{*v}};
}

}  // namespace ocs::radius
