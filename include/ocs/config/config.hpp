// The OCS configuration: one TOML file parsed once at start-up into plain
// structs that are then passed around by const reference.
//
// Every default lives here, in the member initialisers, and nowhere else:
// a key missing from the file keeps the value below. Unknown tables and
// keys are errors, not warnings, so a typo never silently falls back to a
// default.
//
// Adding a section (say [gy]): declare `struct GyConfig { ... defaults ... };`
// here, add `GyConfig gy;` to Config, and in config.cpp write one
// `parse_gy(Section&, GyConfig&)` that reads each key and register it in
// the section table there. Nothing else changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace ocs::config {

/// A configuration that cannot be used. The message names the file and
/// line ("ocs.toml:7: ...") followed by the offending line of the file, so
/// it can be printed as is.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// [database]
struct DatabaseConfig {
  /// libpq connection string (keyword/value or URI). Keep passwords out of
  /// it: use ~/.pgpass or PGPASSFILE instead.
  std::string dsn = "host=127.0.0.1 port=54320 user=ocs dbname=ocs";
  /// Connections per process; at least 1.
  std::size_t pool_size = 8;
  /// Upper bound on getting a connection, whether opening one or waiting
  /// for one to free up in the pool; > 0.
  int connect_timeout_ms = 5000;
  /// Stored answers (charging_events) of closed sessions older than this
  /// many days are purged by the daemons' supervision thread, a bounded
  /// amount at a time; 0 = never (purge with `ocsctl db purge-answers`).
  int answer_retention_days = 14;
};

/// [log]
struct LogConfig {
  /// trace, debug, info, warn (or warning), error, critical, off.
  std::string level = "info";
  /// Append to this file instead of writing to stderr.
  std::optional<std::string> file;
};

/// [gy] Diameter credit control, in the freeDiameter extension ocs.fdx.
struct GyConfig {
  /// Rating group for an MSCC without Rating-Group (Open5GS sends none).
  std::uint32_t default_rating_group = 1;
  /// Threads that run charging transactions, each holding at most one
  /// database connection; 0 = one per CPU core of this machine, at most
  /// database.pool_size (worker_count). Each worker charges what is queued
  /// as one batch, so fewer workers make larger batches: a batch's fixed
  /// cost is most of a small batch's (docs/benchmarks.md, "gy.workers").
  std::size_t workers = 0;
  /// Requests waiting for a worker; past it the answer is 3004 TOO_BUSY.
  std::size_t queue_limit = 1024;
  /// Most CCRs a worker takes from the queue at once and charges in one
  /// database transaction (one commit); each is answered after that commit.
  /// A worker never waits for a batch to fill. 1 = one transaction per CCR.
  std::size_t batch_max = 32;
  /// The workers to start: `workers`, or when it is 0, `cores` (at least 1)
  /// but no more than `pool_size`.
  std::size_t worker_count(std::size_t pool_size, unsigned cores) const;
  /// How often sessions silent past their supervision time are closed and
  /// their reservations released, in ms.
  int supervision_interval_ms = 5000;
  /// Send RAR to sessions refused credit or hotlined when the subscriber's
  /// credit rises (top-up, credit limit, bucket).
  bool reauth_on_credit = true;
  /// Send ASR to a subscriber's sessions when it is blocked or suspended.
  bool abort_on_block = true;
  /// How long to wait for an RAA or ASA, in ms.
  int peer_answer_timeout_ms = 5000;
  /// RAR and ASR go only to the connection of the client that opened the
  /// session (its Origin-Host). Set true when clients reach the OCS through
  /// a Diameter relay/DRA, so that the relay may carry them.
  bool server_requests_via_relay = false;
  /// Turn Nagle's algorithm off (TCP_NODELAY) on freeDiameterd's TCP
  /// Diameter connections, which freeDiameter 1.2.1 leaves on: with it, an
  /// answer can wait for the client's delayed ACK (docs/gy.md, "Latency").
  /// For every application of the node (Gx too).
  bool tcp_nodelay = true;
};

/// [gx] Policy control (PCRF role), in the same extension ocs.fdx.
struct GxConfig {
  /// Register the Gx application (16777238) and advertise it in CEA.
  bool enabled = true;
  /// Threads that run policy transactions (a database connection each, from
  /// the same pool as Gy); at least 1.
  std::size_t workers = 2;
  /// Requests waiting for a worker; past it the answer is 3004 TOO_BUSY.
  std::size_t queue_limit = 1024;
  /// Send RAR to Gx sessions whose policy changes (top-up, block, plan,
  /// Gy credit, fair usage).
  bool reauth_on_change = true;
  /// Session audit: an open Gx session with no request for this many
  /// seconds is sent a RAR that changes nothing. 2001 keeps it, 5002 closes
  /// it, and a PCEF that cannot be reached for a second audit period closes
  /// it too (docs/gx.md). 0 = no audit.
  int audit_after_seconds = 86400;
};

/// [radius] The RADIUS daemon ocs-radiusd.
struct RadiusConfig {
  /// Address the UDP sockets bind to.
  std::string listen = "0.0.0.0";
  std::uint16_t auth_port = 1812;
  std::uint16_t acct_port = 1813;
  /// The most requests in progress at once (coroutines; the requests of one
  /// session run one at a time, in order). A batch can be no larger than
  /// the requests in progress, so keep it well above batch_max ×
  /// batch_parallel. (Before 2026-11-24: worker threads, one per request in
  /// progress.)
  std::size_t workers = 128;
  /// Requests waiting, in all (for a place among `workers`, or behind a
  /// request of their session); past it new requests are dropped (the NAS
  /// retransmits).
  std::size_t queue_limit = 1024;
  /// Access-Request without a valid Message-Authenticator is dropped
  /// (BlastRADIUS); nas_clients.require_message_authenticator overrides it.
  bool require_message_authenticator = true;
  /// Answers kept for retransmissions (RFC 5080), and for how long.
  std::size_t duplicate_cache_entries = 65536;
  int duplicate_cache_seconds = 30;
  /// How often nas_clients is re-read, in seconds.
  int nas_reload_seconds = 60;
  /// How often sessions silent past their supervision time (a NAS that
  /// never sent Stop) are closed and their reservations released, in ms.
  int supervision_interval_ms = 5000;
  /// Group commit: charges of requests that arrive while others are being
  /// charged are committed together, up to batch_max per transaction (1:
  /// each request commits alone), in at most batch_parallel transactions at
  /// once (src/radiusd/pipeline.hpp).
  std::size_t batch_max = 32;
  std::size_t batch_parallel = 2;
  /// The rating group RADIUS sessions are charged under.
  std::uint32_t rating_group = 1;
  /// The FreeRADIUS-format dictionary (names in radius_response templates).
  std::string dictionary = "dict/radius/dictionary";
  /// CoA/Disconnect (RFC 5176) to the NAS's coa_port on account events: a
  /// top-up lifts a hotlined session, a block disconnects (docs/radius.md).
  bool coa_enabled = true;
  /// Wait before the first retransmission, doubled each time up to the max.
  int coa_timeout_ms = 1000;
  int coa_max_timeout_ms = 8000;
  /// Sends in all, the first one included.
  int coa_attempts = 4;
  /// Filter-Id that gives full access back in the CoA after a top-up
  /// (generic, Cisco, Mikrotik NAS). Empty: Disconnect instead, and the NAS
  /// re-authenticates the user.
  std::string coa_normal_filter_id;
};

struct Config {
  DatabaseConfig database;
  LogConfig log;
  GyConfig gy;
  GxConfig gx;
  RadiusConfig radius;
};

/// The configuration used when there is no file.
Config defaults();

/// Parses and validates the TOML file at `path`. Throws ConfigError when the
/// file cannot be read, is not valid TOML, has an unknown table or key, or
/// holds a value of the wrong type or out of range.
Config load(const std::string& path);

}  // namespace ocs::config
