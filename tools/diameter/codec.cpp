#include "codec.hpp"

namespace ocs::dia {

namespace {
void put24(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 16));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 24));
  put24(b, v & 0xffffff);
}
std::uint32_t get24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | std::uint32_t{p[2]};
}
std::uint32_t get32(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 24) | get24(p + 1); }
}  // namespace

Avp Avp::u32(std::uint32_t c, std::uint32_t v, std::uint32_t vendor) {
  Avp a;
  a.code = c;
  a.vendor = vendor;
  if (vendor) a.flags |= kAvpVendor;
  put32(a.data, v);
  return a;
}

Avp Avp::u64(std::uint32_t c, std::uint64_t v, std::uint32_t vendor) {
  Avp a = u32(c, static_cast<std::uint32_t>(v >> 32), vendor);
  put32(a.data, static_cast<std::uint32_t>(v));
  return a;
}

Avp Avp::str(std::uint32_t c, std::string_view s, std::uint32_t vendor) {
  Avp a;
  a.code = c;
  a.vendor = vendor;
  if (vendor) a.flags |= kAvpVendor;
  a.data.assign(s.begin(), s.end());
  return a;
}

Avp Avp::grouped(std::uint32_t c, const std::vector<Avp>& children, std::uint32_t vendor) {
  Avp a;
  a.code = c;
  a.vendor = vendor;
  if (vendor) a.flags |= kAvpVendor;
  a.data = encode_avps(children);
  return a;
}

Avp Avp::ipv4(std::uint32_t c, std::uint32_t addr) {
  Avp a;
  a.code = c;
  a.data = {0, 1};
  put32(a.data, addr);
  return a;
}

std::uint32_t Avp::as_u32() const {
  if (data.size() != 4) throw DecodeError("AVP " + std::to_string(code) + " is not 32 bits");
  return get32(data.data());
}

std::uint64_t Avp::as_u64() const {
  if (data.size() != 8) throw DecodeError("AVP " + std::to_string(code) + " is not 64 bits");
  return (std::uint64_t{get32(data.data())} << 32) | get32(data.data() + 4);
}

std::string Avp::as_str() const { return std::string(data.begin(), data.end()); }

std::vector<Avp> Avp::children() const { return decode_avps(data.data(), data.size()); }

std::optional<Avp> Avp::child(std::uint32_t c, std::uint32_t vendor_id) const {
  for (auto& a : children())
    if (a.code == c && a.vendor == vendor_id) return a;
  return std::nullopt;
}

const Avp* Message::find(std::uint32_t c, std::uint32_t vendor) const {
  for (const auto& a : avps)
    if (a.code == c && a.vendor == vendor) return &a;
  return nullptr;
}

std::vector<const Avp*> Message::find_all(std::uint32_t c, std::uint32_t vendor) const {
  std::vector<const Avp*> out;
  for (const auto& a : avps)
    if (a.code == c && a.vendor == vendor) out.push_back(&a);
  return out;
}

std::optional<std::uint32_t> Message::result_code() const {
  if (const Avp* rc = find(code::ResultCode)) return rc->as_u32();
  if (const Avp* er = find(code::ExperimentalResult))
    if (auto c = er->child(code::ExperimentalResultCode)) return c->as_u32();
  return std::nullopt;
}

std::vector<std::uint8_t> encode_avps(const std::vector<Avp>& avps) {
  std::vector<std::uint8_t> b;
  for (const auto& a : avps) {
    const bool has_vendor = (a.flags & kAvpVendor) != 0;
    const auto len = static_cast<std::uint32_t>(8 + (has_vendor ? 4 : 0) + a.data.size());
    put32(b, a.code);
    b.push_back(a.flags);
    put24(b, len);
    if (has_vendor) put32(b, a.vendor);
    b.insert(b.end(), a.data.begin(), a.data.end());
    while (b.size() % 4) b.push_back(0);
  }
  return b;
}

std::vector<std::uint8_t> encode(const Message& m) {
  std::vector<std::uint8_t> body = encode_avps(m.avps);
  std::vector<std::uint8_t> b;
  b.reserve(20 + body.size());
  b.push_back(1);
  put24(b, static_cast<std::uint32_t>(20 + body.size()));
  b.push_back(m.flags);
  put24(b, m.code);
  put32(b, m.app_id);
  put32(b, m.hop_by_hop);
  put32(b, m.end_to_end);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

std::vector<Avp> decode_avps(const std::uint8_t* p, std::size_t size) {
  std::vector<Avp> out;
  std::size_t off = 0;
  while (off < size) {
    if (size - off < 8) throw DecodeError("truncated AVP header");
    Avp a;
    a.code = get32(p + off);
    a.flags = p[off + 4];
    const std::uint32_t len = get24(p + off + 5);
    std::size_t hdr = 8;
    if (a.flags & kAvpVendor) {
      if (size - off < 12) throw DecodeError("truncated vendor AVP header");
      a.vendor = get32(p + off + 8);
      hdr = 12;
    }
    if (len < hdr || len > size - off) throw DecodeError("bad AVP length " + std::to_string(len));
    a.data.assign(p + off + hdr, p + off + len);
    off += (len + 3u) & ~3u;
    out.push_back(std::move(a));
  }
  return out;
}

std::uint32_t frame_length(const std::uint8_t* data) { return get24(data + 1); }

Message decode(const std::uint8_t* p, std::size_t size) {
  if (size < 20) throw DecodeError("message shorter than its header");
  if (p[0] != 1) throw DecodeError("not Diameter version 1");
  if (frame_length(p) != size) throw DecodeError("message length mismatch");
  Message m;
  m.flags = p[4];
  m.code = get24(p + 5);
  m.app_id = get32(p + 8);
  m.hop_by_hop = get32(p + 12);
  m.end_to_end = get32(p + 16);
  m.avps = decode_avps(p + 20, size - 20);
  return m;
}

}  // namespace ocs::dia
