#include "ocs/common/log.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace ocs::log {
namespace {

// ISO 8601 local time with offset, level (coloured on a terminal), logger name.
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v";

struct Sinks {
  std::mutex mu;
  std::vector<spdlog::sink_ptr> sinks;  // empty until first use
  spdlog::level::level_enum level = spdlog::level::info;
};

Sinks& sinks() {
  static Sinks s;
  return s;
}

std::vector<spdlog::sink_ptr> stderr_sinks() {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern(kPattern);
  return {sink};
}

}  // namespace

void init(const config::LogConfig& cfg) {
  const auto level = parse_level(cfg.level);
  if (!level) throw config::ConfigError("unknown log level \"" + cfg.level + "\"");

  std::vector<spdlog::sink_ptr> fresh;
  if (cfg.file) {
    try {
      auto sink =
          std::make_shared<spdlog::sinks::basic_file_sink_mt>(*cfg.file, /*truncate=*/false);
      sink->set_pattern(kPattern);
      fresh.push_back(std::move(sink));
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("cannot open log file " + *cfg.file + ": " + e.what());
    }
  } else {
    fresh = stderr_sinks();
  }

  auto& s = sinks();
  std::lock_guard lock(s.mu);
  s.sinks = std::move(fresh);
  s.level = *level;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    logger->sinks() = s.sinks;
    logger->set_level(s.level);
  });
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  auto& s = sinks();
  std::lock_guard lock(s.mu);
  if (auto existing = spdlog::get(name)) return existing;
  if (s.sinks.empty()) s.sinks = stderr_sinks();
  auto logger = std::make_shared<spdlog::logger>(name, s.sinks.begin(), s.sinks.end());
  logger->set_level(s.level);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
  using L = spdlog::level::level_enum;
  static constexpr std::pair<std::string_view, L> kLevels[] = {
      {"trace", L::trace},  {"debug", L::debug}, {"info", L::info},         {"warn", L::warn},
      {"warning", L::warn}, {"error", L::err},   {"critical", L::critical}, {"off", L::off},
  };
  for (const auto& [n, l] : kLevels)
    if (n == name) return l;
  return std::nullopt;
}

namespace {

constexpr std::string_view kMask = "***";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// postgresql://user:secret@host:port/db?password=secret&sslmode=require
std::string redact_uri(std::string_view uri) {
  std::string out;
  const std::size_t scheme_end = uri.find("://") + 3;
  const std::size_t authority_end = std::min(uri.find_first_of("/?", scheme_end), uri.size());
  const std::string_view authority = uri.substr(scheme_end, authority_end - scheme_end);
  out.append(uri.substr(0, scheme_end));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1)).append(kMask).append(authority.substr(at));
    } else {
      out.append(authority);
    }
  } else {
    out.append(authority);
  }

  const std::string_view rest = uri.substr(authority_end);
  const std::size_t q = rest.find('?');
  if (q == std::string_view::npos) return out.append(rest);
  out.append(rest.substr(0, q + 1));
  std::string_view query = rest.substr(q + 1);
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param.starts_with("password="))
      out.append("password=").append(kMask);
    else
      out.append(param);
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query = query.substr(amp + 1);
  }
  return out;
}

// host=db password='a secret' user=ocs
std::string redact_keywords(std::string_view dsn) {
  std::string out;
  std::size_t i = 0;
  const std::size_t n = dsn.size();
  while (i < n) {
    const std::size_t start = i;
    while (i < n && is_space(dsn[i])) ++i;
    const std::size_t key_begin = i;
    while (i < n && dsn[i] != '=' && !is_space(dsn[i])) ++i;
    const std::string_view key = dsn.substr(key_begin, i - key_begin);
    while (i < n && is_space(dsn[i])) ++i;
    if (i == n && key.empty()) return out.append(dsn.substr(start));
    if (i == n || dsn[i] != '=')
      return out.append(dsn.substr(start, key_begin - start)).append(kMask);
    ++i;  // '='
    while (i < n && is_space(dsn[i])) ++i;
    const std::size_t value_begin = i;
    if (i < n && dsn[i] == '\'') {
      for (++i; i < n && dsn[i] != '\''; ++i)
        if (dsn[i] == '\\') ++i;
      if (i < n) ++i;  // closing quote
    } else {
      for (; i < n && !is_space(dsn[i]); ++i)
        if (dsn[i] == '\\') ++i;
    }
    i = std::min(i, n);
    out.append(dsn.substr(start, value_begin - start));
    out.append(key == "password" ? kMask : dsn.substr(value_begin, i - value_begin));
  }
  return out;
}

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) return redact_uri(dsn);
  return redact_keywords(dsn);
}

}  // namespace ocs::log
