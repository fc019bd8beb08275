// What ocs-radiusd reads besides charging: NAS clients, RADIUS users with
// their policy and reply templates, what a session has been charged so far,
// and the sessions of a NAS. Charging itself goes through ChargingStore.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ocs/core/model.hpp"
#include "ocs/store/store.hpp"

namespace ocs::store {

/// A row of nas_clients.
struct NasClient {
  std::string name;
  std::string address;  // textual IP, as PostgreSQL prints an inet host ("127.0.0.1")
  std::string secret;
  std::string vendor = "generic";  // generic | mikrotik | cisco | chillispot | wispr
  int coa_port = 3799;
  /// nullopt: the daemon's [radius] require_message_authenticator.
  std::optional<bool> require_message_authenticator;
};

/// The RADIUS columns of a policy (sql/migrations/0004_radius.sql).
struct RadiusPolicy {
  std::string name;
  bool hotline_when_blocked = false;   // radius_on_blocked = 'hotline'
  bool hotline_when_no_credit = true;  // radius_on_no_credit = 'hotline'
  std::optional<std::string> address_pool;
  std::string hotline_pool = "LIMITED";
  std::optional<std::uint32_t> acct_interim_interval;
  std::optional<std::uint64_t> rate_limit_up_kbps;
  std::optional<std::uint64_t> rate_limit_down_kbps;
  std::uint32_t rate_limit_scaling_percent = 100;
  std::optional<std::string> hotline_url;
  std::optional<std::string> restriction_filter_id;
  std::uint32_t hotline_validity_time = 300;
};

/// One radius_templates line.
struct RadiusTemplate {
  std::string kind;  // radius_response | addr-pool-mask
  std::string line;
};

/// A subscriber found by its RADIUS User-Name.
struct RadiusUser {
  std::int64_t subscriber_id = 0;
  std::string external_id;
  /// The cleartext password of the username identity (PAP and CHAP need it);
  /// nullopt when none is set: every password is then wrong.
  std::optional<std::string> password;
  SubscriberStatus status = SubscriberStatus::Active;
  std::string account_type;
  RadiusPolicy policy;  // the subscriber's, else the plan's
  /// Templates of the policy for the NAS's vendor and for 'any', by position.
  std::vector<RadiusTemplate> templates;
};

/// An open RADIUS session as CoA/Disconnect (RFC 5176) needs it: what
/// identifies it to its NAS, and the NAS (its coa_port and secret).
struct CoaSessionInfo {
  std::string session_id;  // "<nas-ip>/<Acct-Session-Id>"
  std::int64_t subscriber_id = 0;
  /// From charging_sessions.client_info (written at Accounting-Start);
  /// empty when the Start has not been seen.
  std::string acct_session_id;
  /// The User-Name of the Start, else the subscriber's first username identity.
  std::string user_name;
  std::optional<std::string> framed_ip;  // Framed-IP-Address of the Start, dotted
  bool credit_exhausted = false;         // credit_state = 'exhausted'
  /// client_info "rate_digest": the rate_limit_digest of the rate limits
  /// the NAS was last given (Access-Accept, or an acknowledged CoA);
  /// nullopt when none was recorded (a generic NAS, or a session opened by
  /// accounting alone).
  std::optional<std::string> rate_digest;
  NasClient nas;
};

class RadiusStore {
 public:
  virtual ~RadiusStore() = default;
  virtual std::vector<NasClient> nas_clients() = 0;
  /// The user with identity (username, `user_name`), its policy and the
  /// templates for `vendor`. nullopt when unknown.
  virtual std::optional<RadiusUser> find_user(const std::string& user_name, const std::string& vendor) = 0;
  struct UserQuery {
    std::string user_name;
    std::string vendor;
  };
  /// find_user for many, in one statement: one answer per query, in order
  /// (the rate-limit check after a policy edit looks up every online user).
  virtual std::vector<std::optional<RadiusUser>> find_users(std::span<const UserQuery> queries) = 0;
  /// Ids of the open RADIUS sessions of one NAS.
  virtual std::vector<std::string> open_sessions_of_nas(const std::string& nas_address) = 0;
  /// The open RADIUS sessions of a subscriber whose NAS is a known
  /// nas_clients row, oldest first.
  virtual std::vector<CoaSessionInfo> coa_sessions(std::int64_t subscriber_id) = 0;
  /// Every open RADIUS session with a recorded rate_digest whose credit is
  /// not exhausted and whose NAS is a known nas_clients row, oldest first
  /// (what a policy edit may have to reach).
  virtual std::vector<CoaSessionInfo> rate_limited_sessions() = 0;
  /// Records what the NAS of open session `session_id` now enforces
  /// (client_info "rate_digest"). False when the session is not open.
  virtual bool record_rate_digest(const std::string& session_id, const std::string& digest) = 0;
};

}  // namespace ocs::store
