#include "ocs/store/outcome_codec.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ocs::store {
namespace {

// Written: v2. Read: v2, and v1 (answers stored before v2, which also held
// what the request wrote: released rating groups, debits, reservations).
constexpr std::string_view kVersion = "v2";
constexpr std::string_view kVersion1 = "v1";

[[noreturn]] void invalid(std::size_t line, const std::string& what) {
  throw StoreError(StoreError::Kind::Invalid,
                   "stored outcome, line " + std::to_string(line) + ": " + what);
}

// ---------------------------------------------------------------------------
// Enum names. These are part of the stored format: never rename one.
// ---------------------------------------------------------------------------
template <class E>
struct Name {
  E value;
  std::string_view text;
};

constexpr Name<ChargeStatus> kChargeStatuses[] = {
    {ChargeStatus::Ok, "ok"},
    {ChargeStatus::UserUnknown, "user_unknown"},
    {ChargeStatus::UnknownSession, "unknown_session"},
};
constexpr Name<Outcome> kOutcomes[] = {
    {Outcome::Success, "success"},
    {Outcome::CreditLimitReached, "credit_limit_reached"},
    {Outcome::Hotlined, "hotlined"},
    {Outcome::Denied, "denied"},
    {Outcome::RatingFailed, "rating_failed"},
};
constexpr Name<RgStatus> kRgStatuses[] = {
    {RgStatus::Granted, "granted"},
    {RgStatus::NoGrantRequested, "no_grant_requested"},
    {RgStatus::CreditLimitReached, "credit_limit_reached"},
    {RgStatus::Hotlined, "hotlined"},
    {RgStatus::RatingFailed, "rating_failed"},
    {RgStatus::Denied, "denied"},
};
constexpr Name<Unit> kUnits[] = {
    {Unit::OctetsTotal, "octets_total"}, {Unit::OctetsInput, "octets_in"},
    {Unit::OctetsOutput, "octets_out"},  {Unit::Seconds, "seconds"},
    {Unit::Events, "events"},
};
constexpr Name<FinalUnitAction> kFinalUnitActions[] = {
    {FinalUnitAction::Terminate, "terminate"},
    {FinalUnitAction::Redirect, "redirect"},
    {FinalUnitAction::RestrictAccess, "restrict"},
};

template <class E, std::size_t N>
std::string_view name_of(const Name<E> (&names)[N], E value) {
  for (const auto& n : names)
    if (n.value == value) return n.text;
  throw StoreError(StoreError::Kind::Invalid, "stored outcome: enum value out of range");
}

template <class E, std::size_t N>
E value_of(const Name<E> (&names)[N], std::string_view text, std::size_t line) {
  for (const auto& n : names)
    if (n.text == text) return n.value;
  invalid(line, "unknown name '" + std::string(text) + "'");
}

// ---------------------------------------------------------------------------
// Escaping.
// ---------------------------------------------------------------------------
std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string unescape(std::string_view s, std::size_t line) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) invalid(line, "value ends inside an escape");
    switch (s[i]) {
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'x': {
        const int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
        const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) invalid(line, "bad \\x escape");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default: invalid(line, std::string("unknown escape \\") + s[i]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Writing.
// ---------------------------------------------------------------------------
class Writer {
 public:
  Writer() : out_(std::string(kVersion) + "\n") {}

  void section(std::string_view name) {
    out_ += '[';
    out_ += name;
    out_ += "]\n";
  }
  void str(std::string_view key, std::string_view value) {
    out_ += key;
    out_ += '=';
    out_ += escape(value);
    out_ += '\n';
  }
  void opt_str(std::string_view key, const std::optional<std::string>& value) {
    if (value) str(key, *value);
  }
  template <class T>
  void num(std::string_view key, T value) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    str(key, std::to_string(value));
  }
  template <class T>
  void opt_num(std::string_view key, const std::optional<T>& value) {
    if (value) num(key, *value);
  }
  void flag(std::string_view key, bool value) { str(key, value ? "true" : "false"); }
  void time(std::string_view key, TimePoint t) { num(key, t.time_since_epoch().count()); }
  void opt_time(std::string_view key, const std::optional<TimePoint>& t) {
    if (t) time(key, *t);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void write_policy(Writer& w, const Policy& p) {
  w.section("policy");
  w.num("id", p.id);
  w.str("name", p.name);
  w.opt_num("volume_quota_threshold", p.volume_quota_threshold);
  w.opt_num("time_quota_threshold", p.time_quota_threshold);
  w.opt_num("quota_holding_time", p.quota_holding_time);
  w.opt_num("quota_consumption_time", p.quota_consumption_time);
  w.num("validity_time", p.validity_time);
  w.num("hotline_denied_result_code", p.hotline_denied_result_code);
  w.num("hotline_limit_reached_result_code", p.hotline_limit_reached_result_code);
  w.flag("rating_group_in_disconnect", p.rating_group_in_disconnect);
  w.flag("tariff_time_change", p.tariff_time_change);
  w.opt_str("home_plmn_e212_match", p.home_plmn_e212_match);
  w.opt_num("rate_limit_up_kbps", p.rate_limit_up_kbps);
  w.opt_num("rate_limit_down_kbps", p.rate_limit_down_kbps);
  w.num("rate_limit_scaling_percent", p.rate_limit_scaling_percent);
  w.str("final_unit_action", name_of(kFinalUnitActions, p.final_unit_action));
  w.opt_str("hotline_url", p.hotline_url);
  w.opt_str("restriction_filter_id", p.restriction_filter_id);
  w.num("hotline_validity_time", p.hotline_validity_time);
  w.opt_num("supervision_time", p.supervision_time);
  w.flag("ignore_requested_units", p.ignore_requested_units);
}

void write_result(Writer& w, const RatingGroupResult& r) {
  w.section("result");
  w.num("rating_group", r.rating_group);
  w.str("status", name_of(kRgStatuses, r.status));
  w.opt_num("validity_time", r.validity_time);
  if (!r.grant) return;
  const Grant& g = *r.grant;
  w.str("grant.unit", name_of(kUnits, g.unit));
  w.num("grant.units", g.units);
  w.num("grant.validity_time", g.validity_time);
  w.opt_time("grant.tariff_time_change", g.tariff_time_change);
  w.flag("grant.final_units", g.final_units);
  w.opt_num("grant.volume_quota_threshold", g.volume_quota_threshold);
  w.opt_num("grant.time_quota_threshold", g.time_quota_threshold);
  w.opt_num("grant.quota_holding_time", g.quota_holding_time);
  w.opt_num("grant.quota_consumption_time", g.quota_consumption_time);
}

// ---------------------------------------------------------------------------
// Reading.
// ---------------------------------------------------------------------------
struct Entry {
  std::string key;
  std::string value;
  std::size_t line = 0;
};

struct Section {
  std::string name;  // "" for the top-level keys
  std::size_t line = 0;
  std::vector<Entry> entries;
};

struct Parsed {
  bool v1 = false;
  std::vector<Section> sections = std::vector<Section>(1);
};

Parsed split_sections(std::string_view text) {
  Parsed parsed;
  std::vector<Section>& sections = parsed.sections;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) invalid(line_no + 1, "missing final newline");
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line_no == 1) {
      if (line == kVersion1)
        parsed.v1 = true;
      else if (line != kVersion)
        invalid(1, "unknown version '" + escape(line) + "'");
      continue;
    }
    if (line.size() >= 2 && line.front() == '[' && line.back() == ']') {
      sections.push_back(Section{std::string(line.substr(1, line.size() - 2)), line_no, {}});
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) invalid(line_no, "expected key=value");
    sections.back().entries.push_back(
        Entry{std::string(line.substr(0, eq)), unescape(line.substr(eq + 1), line_no), line_no});
  }
  if (line_no == 0) invalid(1, "empty text");
  return parsed;
}

template <class T>
T parse_int(const std::string& s, std::size_t line) {
  T value{};
  const char* first = s.data();
  const char* last = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (s.empty() || ec != std::errc() || ptr != last) invalid(line, "bad number '" + escape(s) + "'");
  return value;
}

/// The keys of one section; every key must be read exactly once.
class Fields {
 public:
  explicit Fields(const Section& s) : s_(s), used_(s.entries.size(), false) {}

  /// All values of a repeatable key, in order.
  std::vector<const Entry*> all(std::string_view key) {
    std::vector<const Entry*> found;
    for (std::size_t i = 0; i < s_.entries.size(); ++i) {
      if (s_.entries[i].key != key) continue;
      used_[i] = true;
      found.push_back(&s_.entries[i]);
    }
    return found;
  }
  const Entry* opt(std::string_view key) {
    const auto found = all(key);
    if (found.size() > 1) invalid(found[1]->line, "repeated key '" + std::string(key) + "'");
    return found.empty() ? nullptr : found.front();
  }
  const Entry& req(std::string_view key) {
    const Entry* e = opt(key);
    if (!e) invalid(s_.line, "missing key '" + std::string(key) + "'");
    return *e;
  }

  std::string str(std::string_view key) { return req(key).value; }
  std::optional<std::string> opt_str(std::string_view key) {
    const Entry* e = opt(key);
    return e ? std::optional<std::string>(e->value) : std::nullopt;
  }
  template <class T>
  T num(std::string_view key) {
    const Entry& e = req(key);
    return parse_int<T>(e.value, e.line);
  }
  template <class T>
  std::optional<T> opt_num(std::string_view key) {
    const Entry* e = opt(key);
    return e ? std::optional<T>(parse_int<T>(e->value, e->line)) : std::nullopt;
  }
  bool flag(std::string_view key) {
    const Entry& e = req(key);
    if (e.value == "true") return true;
    if (e.value == "false") return false;
    invalid(e.line, "expected true or false");
  }
  TimePoint time(std::string_view key) { return TimePoint(std::chrono::seconds(num<std::int64_t>(key))); }
  std::optional<TimePoint> opt_time(std::string_view key) {
    const auto v = opt_num<std::int64_t>(key);
    return v ? std::optional<TimePoint>(TimePoint(std::chrono::seconds(*v))) : std::nullopt;
  }
  template <class E, std::size_t N>
  E name(std::string_view key, const Name<E> (&names)[N]) {
    const Entry& e = req(key);
    return value_of(names, e.value, e.line);
  }
  std::vector<BucketUnits> buckets(std::string_view key) {
    std::vector<BucketUnits> out;
    for (const Entry* e : all(key)) {
      const std::size_t colon = e->value.find(':');
      if (colon == std::string::npos) invalid(e->line, "expected bucket:units");
      out.push_back(BucketUnits{parse_int<std::int64_t>(e->value.substr(0, colon), e->line),
                                parse_int<std::uint64_t>(e->value.substr(colon + 1), e->line)});
    }
    return out;
  }

  /// Rejects keys nobody read: unknown or misspelt.
  void finish() const {
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i]) invalid(s_.entries[i].line, "unknown key '" + s_.entries[i].key + "'");
  }

 private:
  const Section& s_;
  std::vector<bool> used_;
};

Policy read_policy(Fields& f) {
  Policy p;
  p.id = f.num<std::int64_t>("id");
  p.name = f.str("name");
  p.volume_quota_threshold = f.opt_num<std::uint64_t>("volume_quota_threshold");
  p.time_quota_threshold = f.opt_num<std::uint32_t>("time_quota_threshold");
  p.quota_holding_time = f.opt_num<std::uint32_t>("quota_holding_time");
  p.quota_consumption_time = f.opt_num<std::uint32_t>("quota_consumption_time");
  p.validity_time = f.num<std::uint32_t>("validity_time");
  p.hotline_denied_result_code = f.num<std::uint32_t>("hotline_denied_result_code");
  p.hotline_limit_reached_result_code = f.num<std::uint32_t>("hotline_limit_reached_result_code");
  p.rating_group_in_disconnect = f.flag("rating_group_in_disconnect");
  p.tariff_time_change = f.flag("tariff_time_change");
  p.home_plmn_e212_match = f.opt_str("home_plmn_e212_match");
  p.rate_limit_up_kbps = f.opt_num<std::uint64_t>("rate_limit_up_kbps");
  p.rate_limit_down_kbps = f.opt_num<std::uint64_t>("rate_limit_down_kbps");
  p.rate_limit_scaling_percent = f.num<std::uint32_t>("rate_limit_scaling_percent");
  p.final_unit_action = f.name("final_unit_action", kFinalUnitActions);
  p.hotline_url = f.opt_str("hotline_url");
  p.restriction_filter_id = f.opt_str("restriction_filter_id");
  p.hotline_validity_time = f.num<std::uint32_t>("hotline_validity_time");
  p.supervision_time = f.opt_num<std::uint32_t>("supervision_time");
  p.ignore_requested_units = f.flag("ignore_requested_units");
  return p;
}

RatingGroupResult read_result(Fields& f) {
  RatingGroupResult r;
  r.rating_group = f.num<std::uint32_t>("rating_group");
  r.status = f.name("status", kRgStatuses);
  r.validity_time = f.opt_num<std::uint32_t>("validity_time");
  if (!f.opt("grant.unit")) return r;  // finish() reports stray grant.* keys
  Grant g;
  g.unit = f.name("grant.unit", kUnits);
  g.units = f.num<std::uint64_t>("grant.units");
  g.validity_time = f.num<std::uint32_t>("grant.validity_time");
  g.tariff_time_change = f.opt_time("grant.tariff_time_change");
  g.final_units = f.flag("grant.final_units");
  g.volume_quota_threshold = f.opt_num<std::uint64_t>("grant.volume_quota_threshold");
  g.time_quota_threshold = f.opt_num<std::uint32_t>("grant.time_quota_threshold");
  g.quota_holding_time = f.opt_num<std::uint32_t>("grant.quota_holding_time");
  g.quota_consumption_time = f.opt_num<std::uint32_t>("grant.quota_consumption_time");
  r.grant = g;
  return r;
}

Debit read_debit(Fields& f) {
  Debit d;
  d.rating_group = f.num<std::uint32_t>("rating_group");
  d.unit = f.name("unit", kUnits);
  d.units = f.num<std::uint64_t>("units");
  d.cost = f.num<Money>("cost");
  d.bucket_uses = f.buckets("bucket_use");
  d.reported.total_octets = f.opt_num<std::uint64_t>("reported.total_octets");
  d.reported.input_octets = f.opt_num<std::uint64_t>("reported.input_octets");
  d.reported.output_octets = f.opt_num<std::uint64_t>("reported.output_octets");
  d.reported.seconds = f.opt_num<std::uint64_t>("reported.seconds");
  d.reported.events = f.opt_num<std::uint64_t>("reported.events");
  d.usage_start = f.time("usage_start");
  d.rated = f.flag("rated");
  return d;
}

Reservation read_reservation(Fields& f) {
  Reservation r;
  r.rating_group = f.num<std::uint32_t>("rating_group");
  r.unit = f.name("unit", kUnits);
  r.granted_units = f.num<std::uint64_t>("granted_units");
  r.money = f.num<Money>("money");
  r.bucket_holds = f.buckets("bucket_hold");
  r.granted_at = f.time("granted_at");
  r.tariff_change_at = f.opt_time("tariff_change_at");
  return r;
}

void read_top(Fields& f, ChargeResult& out, bool v1) {
  out.status = f.name("status", kChargeStatuses);
  out.subscriber_id = f.num<std::int64_t>("subscriber_id");
  out.subscriber = f.str("subscriber");
  CreditDecision& d = out.decision;
  d.outcome = f.name("outcome", kOutcomes);
  d.credit_exhausted = f.flag("credit_exhausted");
  d.session_closed = f.flag("session_closed");
  if (v1)
    for (const Entry* e : f.all("released")) d.released.push_back(parse_int<std::uint32_t>(e->value, e->line));
}

void read_section(const Section& s, ChargeResult& out, bool& have_policy, bool v1) {
  Fields f(s);
  CreditDecision& d = out.decision;
  if (s.name.empty()) {
    read_top(f, out, v1);
  } else if (s.name == "policy") {
    if (have_policy) invalid(s.line, "second [policy] section");
    out.policy = read_policy(f);
    have_policy = true;
  } else if (s.name == "result") {
    d.results.push_back(read_result(f));
  } else if (v1 && s.name == "debit") {
    d.debits.push_back(read_debit(f));
  } else if (v1 && s.name == "reservation") {
    d.reservations.push_back(read_reservation(f));
  } else {
    invalid(s.line, "unknown section [" + escape(s.name) + "]");
  }
  f.finish();
}

}  // namespace

std::string encode_outcome(const ChargeResult& result) {
  Writer w;
  const CreditDecision& d = result.decision;
  w.str("status", name_of(kChargeStatuses, result.status));
  w.num("subscriber_id", result.subscriber_id);
  w.str("subscriber", result.subscriber);
  w.str("outcome", name_of(kOutcomes, d.outcome));
  w.flag("credit_exhausted", d.credit_exhausted);
  w.flag("session_closed", d.session_closed);
  write_policy(w, result.policy);
  for (const auto& r : d.results) write_result(w, r);
  return w.take();
}

ChargeResult decode_outcome(std::string_view text) {
  ChargeResult out;
  bool have_policy = false;
  const Parsed parsed = split_sections(text);
  for (const Section& s : parsed.sections) read_section(s, out, have_policy, parsed.v1);
  if (!have_policy) invalid(1, "no [policy] section");
  return out;
}

}  // namespace ocs::store
