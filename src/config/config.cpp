#include "ocs/config/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include <toml.hpp>

#include "ocs/common/log.hpp"

namespace ocs::config {
namespace {

using Value = toml::value;

/// "file:line" of a value from the file.
std::string where(const Value& v) {
  const auto loc = v.location();
  return loc.file_name() + ":" + std::to_string(loc.line());
}

/// Throws "file:line: what" followed by toml11's excerpt of that line.
[[noreturn]] void fail(const Value& v, const std::string& what, const std::string& hint) {
  // format_error() starts with its own "[error] <message>" line: keep only
  // the excerpt below it.
  const std::string excerpt = toml::format_error("", v, hint);
  const std::size_t eol = excerpt.find('\n');
  throw ConfigError(where(v) + ": " + what +
                    (eol == std::string::npos ? std::string() : excerpt.substr(eol)));
}

/// One table of the file, read key by key. Every lookup marks its key as
/// known; finish() then rejects whatever is left, so that a misspelt key is
/// an error rather than a silent default.
class Section {
 public:
  /// `name` is the dotted path of the table, "" for the root.
  Section(const Value& table, std::string name) : table_(table), name_(std::move(name)) {}

  /// The value under `key`, or nullptr when the file does not set it.
  const Value* find(std::string_view key) {
    known_.emplace_back(key);
    const auto& t = table_.as_table();
    const auto it = t.find(std::string(key));
    return it == t.end() ? nullptr : &it->second;
  }

  /// The sub-table `key`, or nullptr when absent.
  const Value* table(std::string_view key) {
    const Value* v = find(key);
    if (v && !v->is_table()) fail(*v, quoted(key) + " must be a table", "expected a table");
    return v;
  }

  /// Reads a string. `check` returns an error message, or "" to accept.
  template <class Check>
  void string(std::string_view key, std::string& out, Check check) {
    const Value* v = find(key);
    if (!v) return;
    if (!v->is_string()) fail(*v, quoted(key) + " must be a string", "expected a string");
    std::string s = v->as_string().str;
    if (const std::string err = check(s); !err.empty()) fail(*v, quoted(key) + ": " + err, "here");
    out = std::move(s);
  }

  template <class Check>
  void string(std::string_view key, std::optional<std::string>& out, Check check) {
    std::string s;
    bool set = false;
    string(key, s, [&](const std::string& candidate) {
      set = true;
      return check(candidate);
    });
    if (set) out = std::move(s);
  }

  /// Reads an integer in [min, max].
  template <std::integral T>
  void integer(std::string_view key, T& out, T min, T max = std::numeric_limits<T>::max()) {
    const Value* v = find(key);
    if (!v) return;
    if (!v->is_integer()) fail(*v, quoted(key) + " must be an integer", "expected an integer");
    const std::int64_t i = v->as_integer();
    if (std::cmp_less(i, min))
      fail(*v, quoted(key) + " must be at least " + std::to_string(min), "too small");
    if (std::cmp_greater(i, max))
      fail(*v, quoted(key) + " must be at most " + std::to_string(max), "too large");
    out = static_cast<T>(i);
  }

  /// Reads a boolean.
  void boolean(std::string_view key, bool& out) {
    const Value* v = find(key);
    if (!v) return;
    if (!v->is_boolean()) fail(*v, quoted(key) + " must be true or false", "expected a boolean");
    out = v->as_boolean();
  }

  /// Rejects every key no lookup asked for, naming the first one in the file.
  void finish() const {
    const Value* first = nullptr;
    std::string first_key;
    for (const auto& [key, value] : table_.as_table()) {
      bool known = false;
      for (const auto& k : known_) known = known || k == key;
      if (known) continue;
      if (!first || value.location().line() < first->location().line()) {
        first = &value;
        first_key = key;
      }
    }
    if (!first) return;
    std::string known;
    for (const auto& k : known_) known += (known.empty() ? "; known: " : ", ") + k;
    const std::string what = first->is_table() ? "unknown table [" + path(first_key) + "]"
                                               : "unknown key " + quoted(first_key);
    fail(*first, what + known, "not an OCS setting");
  }

 private:
  /// "database.pool_size" for key "pool_size" of [database].
  std::string path(std::string_view key) const {
    return name_.empty() ? std::string(key) : name_ + "." + std::string(key);
  }
  std::string quoted(std::string_view key) const { return "'" + path(key) + "'"; }

  const Value& table_;
  std::string name_;
  std::vector<std::string> known_;
};

std::string non_empty(const std::string& s) { return s.empty() ? "must not be empty" : ""; }

// --- one function per section ----------------------------------------------

void parse_database(Section& s, DatabaseConfig& c) {
  s.string("dsn", c.dsn, non_empty);
  s.integer<std::size_t>("pool_size", c.pool_size, 1);
  s.integer("connect_timeout_ms", c.connect_timeout_ms, 1);
  s.integer("answer_retention_days", c.answer_retention_days, 0, 36500);
}

void parse_log(Section& s, LogConfig& c) {
  s.string("level", c.level, [](const std::string& v) -> std::string {
    return log::parse_level(v)
               ? ""
               : "unknown level \"" + v + "\" (trace, debug, info, warn, error, critical, off)";
  });
  s.string("file", c.file, non_empty);
}

void parse_gy(Section& s, GyConfig& c) {
  s.integer<std::uint32_t>("default_rating_group", c.default_rating_group, 0);
  s.integer<std::size_t>("workers", c.workers, 0, 1024);
  s.integer<std::size_t>("queue_limit", c.queue_limit, 1);
  s.integer<std::size_t>("batch_max", c.batch_max, 1, 1024);
  s.integer("supervision_interval_ms", c.supervision_interval_ms, 100);
  s.boolean("reauth_on_credit", c.reauth_on_credit);
  s.boolean("abort_on_block", c.abort_on_block);
  s.integer("peer_answer_timeout_ms", c.peer_answer_timeout_ms, 100);
  s.boolean("server_requests_via_relay", c.server_requests_via_relay);
  s.boolean("tcp_nodelay", c.tcp_nodelay);
}

void parse_gx(Section& s, GxConfig& c) {
  s.boolean("enabled", c.enabled);
  s.integer<std::size_t>("workers", c.workers, 1, 1024);
  s.integer<std::size_t>("queue_limit", c.queue_limit, 1);
  s.boolean("reauth_on_change", c.reauth_on_change);
  s.integer("audit_after_seconds", c.audit_after_seconds, 0);
}

/// An IPv4 or IPv6 address in numeric form (no host names: the daemon binds it).
std::string ip_address(const std::string& s) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1) return "";
  return "\"" + s + "\" is not an IPv4 or IPv6 address";
}

void parse_radius(Section& s, RadiusConfig& c) {
  s.string("listen", c.listen, ip_address);
  s.integer<std::uint16_t>("auth_port", c.auth_port, 0);
  s.integer<std::uint16_t>("acct_port", c.acct_port, 0);
  // One port for both would mix the two kinds of requests on one socket
  // (0 is any free port: two different ones).
  if (c.auth_port != 0 && c.auth_port == c.acct_port) {
    const Value* at = s.find("acct_port");
    if (!at) at = s.find("auth_port");
    if (at) fail(*at, "acct_port must differ from auth_port (both " + std::to_string(c.acct_port) + ")", "here");
  }
  s.integer<std::size_t>("workers", c.workers, 1, 1024);
  s.integer<std::size_t>("queue_limit", c.queue_limit, 1);
  s.integer<std::size_t>("batch_max", c.batch_max, 1, 1024);
  s.integer<std::size_t>("batch_parallel", c.batch_parallel, 1, 64);
  s.boolean("require_message_authenticator", c.require_message_authenticator);
  s.integer<std::size_t>("duplicate_cache_entries", c.duplicate_cache_entries, 1);
  s.integer("duplicate_cache_seconds", c.duplicate_cache_seconds, 1, 3600);
  s.integer("nas_reload_seconds", c.nas_reload_seconds, 1);
  s.integer("supervision_interval_ms", c.supervision_interval_ms, 100);
  s.integer<std::uint32_t>("rating_group", c.rating_group, 0);
  s.string("dictionary", c.dictionary, non_empty);
  s.boolean("coa_enabled", c.coa_enabled);
  s.integer("coa_timeout_ms", c.coa_timeout_ms, 10, 60000);
  s.integer("coa_max_timeout_ms", c.coa_max_timeout_ms, 10, 600000);
  s.integer("coa_attempts", c.coa_attempts, 1, 20);
  s.string("coa_normal_filter_id", c.coa_normal_filter_id, [](const std::string&) { return std::string(); });
}

/// The tables a file may contain, in the order they are documented.
struct SectionSpec {
  std::string_view name;
  void (*parse)(Section&, Config&);
};
constexpr SectionSpec kSections[] = {
    {"database", [](Section& s, Config& c) { parse_database(s, c.database); }},
    {"log", [](Section& s, Config& c) { parse_log(s, c.log); }},
    {"gy", [](Section& s, Config& c) { parse_gy(s, c.gy); }},
    {"gx", [](Section& s, Config& c) { parse_gx(s, c.gx); }},
    {"radius", [](Section& s, Config& c) { parse_radius(s, c.radius); }},
};

Config from_toml(const Value& doc) {
  Config config = defaults();
  Section root(doc, "");
  for (const auto& spec : kSections) {
    if (const Value* t = root.table(spec.name)) {
      Section section(*t, std::string(spec.name));
      spec.parse(section, config);
      section.finish();
    }
  }
  root.finish();
  return config;
}

}  // namespace

Config defaults() { return Config{}; }

std::size_t GyConfig::worker_count(std::size_t pool_size, unsigned cores) const {
  if (workers != 0) return workers;
  return std::max<std::size_t>(1, std::min<std::size_t>(std::max(cores, 1u), pool_size));
}

Config load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path + ": cannot read configuration: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read configuration: " + std::strerror(errno));

  Value doc;
  try {
    doc = toml::parse(in, path);
  } catch (const toml::syntax_error& e) {
    throw ConfigError(path + ":" + std::to_string(e.location().line()) + ": invalid TOML\n" +
                      e.what());
  } catch (const std::exception& e) {
    throw ConfigError(path + ": cannot parse configuration: " + e.what());
  }
  return from_toml(doc);
}

}  // namespace ocs::config
