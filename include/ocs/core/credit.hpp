// Protocol-neutral credit control: one request in, one decision out.
//
// The store loads the account, the session's reservations, the plan and the
// policy inside one transaction, calls `evaluate`, applies the effects the
// decision lists (debits, releases, new reservations) and stores the outcome
// under the request's idempotency key. Gy and RADIUS only translate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ocs/core/model.hpp"

namespace ocs {

/// Usage as a client reports it; absent fields were not reported.
struct UsageAmount {
  std::optional<std::uint64_t> total_octets;
  std::optional<std::uint64_t> input_octets;   // from the user
  std::optional<std::uint64_t> output_octets;  // to the user
  std::optional<std::uint64_t> seconds;
  std::optional<std::uint64_t> events;

  bool empty() const {
    return !total_octets && !input_octets && !output_octets && !seconds && !events;
  }
};

/// The figure that counts for a tariff unit (total = input + output when the
/// client reports only the directions, as Open5GS does).
std::uint64_t measure(Unit unit, const UsageAmount& a);

/// RFC 4006 Tariff-Change-Usage.
enum class TariffChangeUsage { Before = 0, After = 1, Indeterminate = 2 };

struct UsageReport {
  UsageAmount amount;
  std::optional<TariffChangeUsage> tariff_change;
};

/// Units of one bucket set aside or consumed.
struct BucketUnits {
  std::int64_t bucket_id = 0;
  std::uint64_t units = 0;
  bool operator==(const BucketUnits&) const = default;
};

/// What a session holds for one rating group until it reports usage.
struct Reservation {
  std::uint32_t rating_group = 0;
  Unit unit = Unit::OctetsTotal;
  std::uint64_t granted_units = 0;
  Money money = 0;
  std::vector<BucketUnits> bucket_holds;
  TimePoint granted_at{};
  std::optional<TimePoint> tariff_change_at;
  bool operator==(const Reservation&) const = default;
};

enum class RequestKind { Initial, Update, Terminate, Event };
const char* to_string(RequestKind k);

/// One rating group of a request (an MSCC, or the RADIUS session's service).
struct RatingGroupRequest {
  std::uint32_t rating_group = 0;
  /// The client asked for (more) quota: RSU present.
  bool wants_grant = false;
  /// Size asked for, in the tariff's unit; nullopt or 0 = let the server choose.
  /// For an Event request it is the number of units to debit.
  std::optional<std::uint64_t> requested_units;
  /// The same as the client sent it (RSU), when the front-end does not know
  /// the tariff's unit; measured like usage. Takes precedence when set.
  std::optional<UsageAmount> requested_amount;

  /// The size asked for, in `unit`.
  std::optional<std::uint64_t> requested_in(Unit unit) const;
  std::vector<UsageReport> used;
};

struct CreditRequest {
  RequestKind kind = RequestKind::Initial;
  std::vector<RatingGroupRequest> rating_groups;
};

/// The session as stored before this request.
struct SessionState {
  std::vector<Reservation> reservations;
};

enum class RgStatus {
  Granted,             // quota in `grant`
  NoGrantRequested,    // usage charged, nothing asked for
  CreditLimitReached,  // out of money and units
  Hotlined,            // out of money; redirected to the captive portal
  RatingFailed,        // no tariff for this rating group at this time
  Denied,              // subscriber blocked or suspended
};
const char* to_string(RgStatus s);

struct Grant {
  Unit unit = Unit::OctetsTotal;
  std::uint64_t units = 0;
  std::uint32_t validity_time = 0;
  std::optional<TimePoint> tariff_time_change;
  /// This is the last affordable grant: send Final-Unit-Indication.
  bool final_units = false;
  std::optional<std::uint64_t> volume_quota_threshold;
  std::optional<std::uint32_t> time_quota_threshold;
  std::optional<std::uint32_t> quota_holding_time;
  std::optional<std::uint32_t> quota_consumption_time;
};

/// Money and units taken for reported (or directly debited) usage.
struct Debit {
  std::uint32_t rating_group = 0;
  Unit unit = Unit::OctetsTotal;
  std::uint64_t units = 0;
  Money cost = 0;
  std::vector<BucketUnits> bucket_uses;
  UsageAmount reported;
  TimePoint usage_start{};
  /// False when no tariff could price the usage: it is recorded at cost 0
  /// (never lost) and the rating group's result is RatingFailed.
  bool rated = true;
};

struct RatingGroupResult {
  std::uint32_t rating_group = 0;
  RgStatus status = RgStatus::Granted;
  std::optional<Grant> grant;
  /// For Hotlined: how long the client waits before asking again.
  std::optional<std::uint32_t> validity_time;
};

enum class Outcome {
  Success,
  CreditLimitReached,  // nothing affordable for any rating group asked for
  Hotlined,            // as above, but the policy redirects to a portal
  Denied,              // blocked or suspended
  RatingFailed,        // no rating group could be rated
};
const char* to_string(Outcome o);

struct CreditDecision {
  Outcome outcome = Outcome::Success;
  std::vector<RatingGroupResult> results;
  std::vector<Debit> debits;
  /// Rating groups whose reservation ends (all of them on Terminate).
  std::vector<std::uint32_t> released;
  /// New reservations, replacing any of the same rating group.
  std::vector<Reservation> reservations;
  /// Some rating group was refused or hotlined for lack of credit: a top-up
  /// should trigger re-authorisation of this session.
  bool credit_exhausted = false;
  /// The session ends with this request.
  bool session_closed = false;

  Money total_cost() const;
};

/// The whole decision for one request. Pure and deterministic.
CreditDecision evaluate(const CreditRequest& req, const SessionState& session,
                        const AccountState& account, const Plan& plan, const Policy& policy,
                        TimePoint now);

/// The units an Event debits for `r` under `tariff`: what it asks for, else
/// one block (one event for an events tariff).
std::uint64_t event_units(const RatingGroupRequest& r, const RatingGroupTariff& tariff);

/// A price enquiry (RFC 4006 PRICE_ENQUIRY): what an Event of `r` at `now`
/// costs at the tariff's price, before any bucket; nullopt when the plan
/// has no tariff for its rating group at that time. Pure.
std::optional<Money> list_price(const RatingGroupRequest& r, const Plan& plan, TimePoint now);

}  // namespace ocs
