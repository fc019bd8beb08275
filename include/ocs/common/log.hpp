// Logging: one set of sinks for the process, one named logger per component
// ("gy", "gx", "radius", "store", "ocsctl", ...).
//
// Never log secrets: no passwords, RADIUS shared secrets or User-Password
// attributes, and no connection string that may carry a password — pass it
// through redact_dsn() first.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "ocs/config/config.hpp"

namespace ocs::log {

/// Points every logger (those already handed out too) at the sink the
/// configuration names: a file when `cfg.file` is set, else coloured stderr.
/// Lines read "2024-05-01T12:00:00.123+0000 info [gy] message". Call it
/// once at start-up, before other threads log. Throws std::runtime_error
/// when the file cannot be opened, or ocs::config::ConfigError for an
/// unknown level.
void init(const config::LogConfig& cfg);

/// The logger called `name`, created on first use with the current sinks
/// and level. Before init() that is stderr at level info.
std::shared_ptr<spdlog::logger> get(const std::string& name);

/// The spdlog level for a configuration level name, or nothing if unknown.
/// Accepts trace, debug, info, warn, warning, error, critical and off.
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

/// `dsn` with any password replaced by "***", for log lines and error
/// messages. Handles keyword/value strings (password=...) and URIs
/// (postgresql://user:secret@host/db?password=...).
std::string redact_dsn(std::string_view dsn);

}  // namespace ocs::log
