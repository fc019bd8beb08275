// Storage interfaces. The PostgreSQL implementation lives in pg_store.hpp;
// front-ends and the CLI see only these.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ocs/core/credit.hpp"
#include "ocs/core/model.hpp"
#include "ocs/core/policy.hpp"

namespace ocs::store {

/// The schema version this build expects (sql/migrations/NNNN_*.sql).
inline constexpr int kSchemaVersion = 21;

/// Why a store operation failed, for a one-line message and an exit code.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    NotFound,     // unknown subscriber, plan, session
    Duplicate,    // identity or id already taken
    Invalid,      // a value the model rejects
    Unavailable,  // database down or unreachable
    Schema,       // schema version mismatch
    Unknown,      // the outcome of a commit is unknown
    Internal,     // any other database error (a bug: see the log)
  };
  StoreError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

enum class IdentityKind { Msisdn, Imsi, Nai, SipUri, Username };
const char* to_string(IdentityKind k);
std::optional<IdentityKind> identity_kind_from_string(std::string_view s);

struct Identity {
  IdentityKind kind = IdentityKind::Msisdn;
  std::string value;
  bool operator==(const Identity&) const = default;
};

// ---------------------------------------------------------------------------
// Charging (used by the Gy and RADIUS front-ends).
// ---------------------------------------------------------------------------

/// Where a session came from, so that RAR/ASR or CoA/Disconnect can reach it.
struct SessionOrigin {
  std::string protocol = "gy";  // gy | gx | radius
  std::string origin_host;
  std::string origin_realm;
  std::string nas_address;
  /// What the client said about the session, merged into
  /// charging_sessions.client_info in the same transaction when an Initial
  /// request opens it (RADIUS: user_name, acct_session_id, framed_ip, which
  /// CoA/Disconnect needs; a Start on a session its Access-Request opened
  /// writes them with an attach_only request instead). Keys are fixed
  /// names; values are stored as text.
  std::vector<std::pair<std::string, std::string>> client;
};

struct ChargeRequest {
  std::string session_id;
  /// Idempotency key within the session (CC-Request-Number, or the RADIUS
  /// accounting identity). A second request with the same key is a replay.
  std::string request_key;
  /// Used to find the subscriber on Initial and Event requests (first match
  /// wins); ignored on Update and Terminate, which use the session.
  std::vector<Identity> identities;
  SessionOrigin origin;
  CreditRequest credit;
  /// RADIUS: the `used` amounts are the session's running totals (as
  /// Accounting-Request and Cisco CRB report them), not the usage since the
  /// last request. The store reads what the session id was already charged
  /// (the sums of its usage records) in the charge's first round trip and
  /// charges the difference, never below zero: input and output octets
  /// each, their sum as the total; total octets alone when no direction is
  /// given; seconds. The sums are read after the account lock (schema
  /// version 10), so reports of one session charged at the same time (two
  /// daemons behind one NAS) still charge each unit once.
  bool running_totals = false;
  /// Not a charge: merge origin.client into the client_info of the open
  /// RADIUS session `session_id` (an Accounting-Start after the
  /// Access-Request opened the session with a grant). Attached only when the
  /// session is open, RADIUS, not refused credit, and owned by the
  /// subscriber of the request's Username identity when it has one: then
  /// the result's status is Ok, otherwise UnknownSession (the caller charges
  /// a Start instead). Nothing else is read or written, and no answer is
  /// stored (repeating it is harmless). In a batch it shares the batch's
  /// transaction and commit (schema 14, ocs_attach_clients).
  bool attach_only = false;
  /// Not a charge: an Event decided as a debit would be (the subscriber,
  /// their status, balance and buckets, the tariff) with nothing written:
  /// no debit, no stored answer (a repeat is decided again). The result
  /// also carries each rating group's list price (core list_price) and the
  /// account's currency. RFC 4006 CHECK_BALANCE and PRICE_ENQUIRY.
  bool enquiry = false;
};

enum class ChargeStatus {
  Ok,              // `decision` holds the outcome
  UserUnknown,     // no subscriber has any of the identities
  UnknownSession,  // Update/Terminate for a session never opened or closed
};
const char* to_string(ChargeStatus s);

struct ChargeResult {
  ChargeStatus status = ChargeStatus::Ok;
  /// True when this answer was read back from a previous identical request.
  bool replayed = false;
  std::int64_t subscriber_id = 0;
  std::string subscriber;  // external id, for logs
  CreditDecision decision;
  /// The policy in force when the request was decided (answers need its
  /// result codes, portal URL and filter).
  Policy policy;
  /// With running_totals: the session had been refused credit or hotlined
  /// before this request (its credit_state was 'exhausted'). False on a
  /// replay.
  bool was_exhausted = false;
  /// With enquiry: each rating group's list price (nullopt: no tariff), in
  /// the request's order, and the account's currency.
  struct Price {
    std::uint32_t rating_group = 0;
    std::optional<Money> cost;
  };
  std::vector<Price> prices;
  std::string currency;
  int currency_exponent = 2;
};

/// A session whose supervision timer ran out.
struct ExpiredSession {
  std::string session_id;
  std::int64_t subscriber_id = 0;
  Money released = 0;
  /// gy | gx | radius (filled by expire_sessions, for its log line).
  std::string protocol;
};

/// An open session a front-end may need to reach (RAR, ASR, CoA...).
struct OpenSession {
  std::string session_id;
  std::int64_t subscriber_id = 0;
  SessionOrigin origin;
  bool credit_exhausted = false;
  std::vector<std::uint32_t> rating_groups;  // with a reservation
  /// Refused or hotlined for lack of credit at the last request.
  std::vector<std::uint32_t> exhausted_rating_groups;
  /// The policy wants Rating-Group in re-authorisation requests.
  bool rating_group_in_disconnect = false;
};

/// One request's share of a batch: its result, or the StoreError that
/// charge() would have thrown for it alone.
using ChargeOutcome = std::variant<ChargeResult, StoreError>;

class ChargingStore {
 public:
  virtual ~ChargingStore() = default;
  /// Decides and applies one request atomically; the answer is stored with
  /// the request key before commit, and replays return it unchanged.
  virtual ChargeResult charge(const ChargeRequest& req, TimePoint now) = 0;
  /// Decides and applies every request of `reqs`, in order, with the same
  /// effects and answers as charge() called on each in turn, and returns
  /// only once all of them are committed: outcome i is reqs[i]'s. A request
  /// that fails fails alone. This default calls charge() one by one; a store
  /// may group the requests into fewer transactions.
  virtual std::vector<ChargeOutcome> charge_batch(std::span<const ChargeRequest> reqs, TimePoint now) {
    std::vector<ChargeOutcome> out;
    out.reserve(reqs.size());
    for (const auto& req : reqs) {
      try {
        out.emplace_back(charge(req, now));
      } catch (const StoreError& e) {
        out.emplace_back(e);
      }
    }
    return out;
  }
  /// Closes sessions silent past their supervision deadline and releases
  /// their reservations. At most `limit` per call.
  virtual std::vector<ExpiredSession> expire_sessions(TimePoint now, std::size_t limit) = 0;
  /// Closes an open session at once (e.g. its client answered a RAR with
  /// 5002: it no longer knows it), releasing its reservations. nullopt when
  /// the session is not open.
  virtual std::optional<ExpiredSession> close_session(const std::string& session_id,
                                                      const std::string& reason, TimePoint now) = 0;
  /// Subscribers with an open session of `protocol` that was refused credit
  /// or hotlined: re-checked after notifications may have been missed.
  virtual std::vector<std::int64_t> subscribers_awaiting_credit(const std::string& protocol) = 0;
  /// The open sessions of a subscriber for one protocol.
  virtual std::vector<OpenSession> open_sessions(std::int64_t subscriber_id,
                                                 const std::string& protocol) = 0;
};

// ---------------------------------------------------------------------------
// Policy control (used by the Gx front-end).
// ---------------------------------------------------------------------------

/// Octets the gateway reports for one monitoring key (Used-Service-Unit in
/// Usage-Monitoring-Information).
struct UsageReport {
  std::string monitoring_key;
  std::uint64_t octets = 0;
};

struct PolicyRequest {
  std::string session_id;
  /// Idempotency key (CC-Request-Number): a replay adds no usage.
  std::string request_key;
  RequestKind kind = RequestKind::Initial;  // Initial, Update or Terminate
  /// Initial: find the subscriber (first match wins).
  std::vector<Identity> identities;
  SessionOrigin origin;
  std::vector<UsageReport> usage;
};

struct PolicyResult {
  ChargeStatus status = ChargeStatus::Ok;
  bool replayed = false;
  std::int64_t subscriber_id = 0;
  std::string subscriber;  // external id, for logs
  PolicyDecision decision;
  /// What the session enforced before this request (Update/Terminate).
  std::optional<PolicyState> previous_state;
  /// Rules installed before that this decision no longer installs.
  InstalledRules remove;
  /// The state or the policy differs from what the session had.
  bool changed = false;
};

/// A Gx session whose policy must change (sent as RAR).
struct PolicyChange {
  std::string session_id;
  std::int64_t subscriber_id = 0;
  SessionOrigin origin;
  PolicyState previous_state = PolicyState::Normal;
  PolicyDecision decision;
  InstalledRules remove;
};

/// An open Gx session no request has been seen on since `last_seen`.
struct SilentPolicySession {
  std::string session_id;
  std::int64_t subscriber_id = 0;
  SessionOrigin origin;
  TimePoint last_seen{};
};

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;
  /// Decides a Gx CCR in one transaction (account row locked, as charging
  /// does): counts reported usage once per request key, stores the session
  /// and what it now enforces, then commits. When the decision throttles
  /// the subscriber, NOTIFY ocs_account {"event": "usage"} reaches its other
  /// Gx sessions. Throws StoreError.
  virtual PolicyResult decide(const PolicyRequest& req, TimePoint now) = 0;
  /// Re-decides one open Gx session; when the state or policy differs from
  /// what the session enforces, stores and returns the change (to send as
  /// RAR after this commit). nullopt when nothing changed or the session is
  /// not open.
  virtual std::optional<PolicyChange> reevaluate(const std::string& session_id, TimePoint now) = 0;
  /// Subscribers with an open Gx session (re-checked after notifications
  /// may have been missed).
  virtual std::vector<std::int64_t> subscribers_with_policy_sessions() = 0;
  /// Open Gx sessions last seen before `seen_before`, the longest silent
  /// first, at most `limit` (the session audit, gx.audit_after_seconds).
  virtual std::vector<SilentPolicySession> silent_policy_sessions(TimePoint seen_before, std::size_t limit) = 0;
  /// The PCEF confirmed the open Gx session `session_id` (it answered a
  /// RAR): its last_seen becomes `now` (never earlier than it was). False
  /// when there is no such open session.
  virtual bool policy_session_seen(const std::string& session_id, TimePoint now) = 0;
};

// ---------------------------------------------------------------------------
// Administration (ocsctl).
// ---------------------------------------------------------------------------

struct NewSubscriber {
  std::string external_id;
  std::string plan;
  std::optional<std::string> msisdn;
  std::optional<std::string> imsi;
  std::optional<std::string> nai;
  std::optional<std::string> username;
  std::optional<std::string> password;
  Money balance = 0;  // opening balance, written to the ledger as a top-up
  Money credit_limit = 0;
  std::string account_type = "prepaid";
  std::optional<std::string> group;
};

struct BucketInfo {
  std::int64_t id = 0;
  std::optional<std::uint32_t> rating_group;
  UnitFamily family = UnitFamily::Octets;
  std::uint64_t initial = 0;
  std::uint64_t remaining = 0;
  std::optional<TimePoint> valid_from;
  std::optional<TimePoint> valid_until;
};

struct SubscriberInfo {
  std::int64_t id = 0;
  std::string external_id;
  SubscriberStatus status = SubscriberStatus::Active;
  std::optional<std::string> status_reason;
  std::string account_type;
  std::optional<std::string> group;
  std::string plan;
  std::string policy;
  std::string currency;
  int currency_exponent = 2;
  Money balance = 0;
  Money credit_limit = 0;
  Money reserved = 0;  // held by open sessions
  std::vector<Identity> identities;  // never with passwords
  std::vector<BucketInfo> buckets;
  std::size_t open_sessions = 0;
};

struct TopupResult {
  bool applied = false;  // false: the reference was already credited
  Money amount = 0;
  Money balance_after = 0;
  std::string currency;
  int currency_exponent = 2;
};

struct SessionInfo {
  std::string session_id;
  std::string subscriber;
  std::string protocol;
  std::string state;
  std::string credit_state;
  std::string origin_host;
  std::string nas_address;
  TimePoint created_at{};
  TimePoint last_seen{};
  std::optional<TimePoint> expires_at;
  Money reserved = 0;
  std::vector<std::uint32_t> rating_groups;
};

struct PlanInfo {
  Plan plan;
  std::string policy;
  int currency_exponent = 2;
};

class AdminStore {
 public:
  virtual ~AdminStore() = default;
  virtual SubscriberInfo add_subscriber(const NewSubscriber& s) = 0;
  virtual std::optional<SubscriberInfo> find_subscriber(const std::string& external_id) = 0;
  virtual std::vector<SubscriberInfo> list_subscribers() = 0;
  /// Block, suspend or unblock (Active). Throws NotFound.
  virtual SubscriberInfo set_status(const std::string& external_id, SubscriberStatus status,
                                    const std::optional<std::string>& reason) = 0;
  /// Credits `amount` (> 0). A reference already credited changes nothing
  /// and returns applied = false.
  virtual TopupResult topup(const std::string& external_id, Money amount,
                            const std::optional<std::string>& reference) = 0;
  /// Open sessions, of one subscriber or of all.
  virtual std::vector<SessionInfo> sessions(const std::optional<std::string>& external_id) = 0;
  virtual std::vector<PlanInfo> plans() = 0;
  /// Deletes the stored answers (charging_events) created before `before`
  /// whose session is not open, at most `chunk` (>= 1) per transaction, and
  /// returns how many (schema 13, ocs_purge_answers). Throws Invalid when
  /// `before` is less than an hour ago: retransmissions need them.
  virtual std::uint64_t purge_answers(TimePoint before, std::size_t chunk) = 0;
  /// One transaction of purge_answers: at most `chunk` answers; how many.
  virtual std::uint64_t purge_answers_once(TimePoint before, std::size_t chunk) = 0;
};

}  // namespace ocs::store
