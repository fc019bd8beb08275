// The charging domain: plans, tariffs, policies, balances and buckets.
// Pure data. Nothing here knows about Diameter, RADIUS or SQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ocs {

/// Money is always an integer count of the currency's minor unit (cents).
using Money = std::int64_t;

/// Wall-clock instant. The core never reads a clock: callers pass `now`.
using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::seconds>;

/// What a rating group is measured in.
enum class Unit { OctetsTotal, OctetsInput, OctetsOutput, Seconds, Events };

/// Buckets hold units of one family: octets (any direction), seconds or events.
enum class UnitFamily { Octets, Seconds, Events };

UnitFamily family_of(Unit u);
const char* to_string(Unit u);
std::optional<Unit> unit_from_string(std::string_view s);

/// How usage that is not a whole number of blocks is counted.
enum class Rounding { Up, Down, Nearest };
const char* to_string(Rounding r);
std::optional<Rounding> rounding_from_string(std::string_view s);

enum class SubscriberStatus { Active, Suspended, Blocked };
const char* to_string(SubscriberStatus s);
std::optional<SubscriberStatus> subscriber_status_from_string(std::string_view s);

/// What the network does when the last affordable units are used (RFC 4006 8.35).
enum class FinalUnitAction { Terminate = 0, Redirect = 1, RestrictAccess = 2 };
const char* to_string(FinalUnitAction a);
std::optional<FinalUnitAction> final_unit_action_from_string(std::string_view s);

/// A price that applies on some days of the week between two local times.
struct TariffPeriod {
  std::string name;
  /// Bit 0 = Monday ... bit 6 = Sunday. 0x7f = every day.
  std::uint8_t days_mask = 0x7f;
  /// Minutes after local midnight; start inclusive, end exclusive, end <= 1440.
  int start_minute = 0;
  int end_minute = 1440;
  /// Price of one block of units, in minor units.
  Money price_per_block = 0;
};

/// How one rating group of a plan is charged.
struct RatingGroupTariff {
  /// nullopt: applies to any rating group the plan does not list explicitly.
  std::optional<std::uint32_t> rating_group;
  Unit unit = Unit::OctetsTotal;
  std::uint64_t block_units = 1;
  Rounding rounding = Rounding::Up;
  /// Units granted when the client does not ask for a size.
  std::uint64_t default_grant = 0;
  /// Upper bound of any single grant.
  std::uint64_t max_grant = 0;
  /// Periods in priority order: the first that matches an instant wins.
  std::vector<TariffPeriod> periods;
};

struct Plan {
  std::int64_t id = 0;
  std::string name;
  std::string currency = "EUR";
  /// Local time of the tariff periods = UTC + this offset.
  int utc_offset_minutes = 0;
  std::vector<RatingGroupTariff> tariffs;

  /// The tariff of `rating_group`, else the plan's catch-all, else null.
  const RatingGroupTariff* tariff_for(std::uint32_t rating_group) const;
};

/// Access policy: every attribute of PortaBilling's Gy list plus rate limits,
/// hotlining and session supervision. Optional values are omitted on the wire.
struct Policy {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::uint64_t> volume_quota_threshold;  // octets
  std::optional<std::uint32_t> time_quota_threshold;    // seconds
  std::optional<std::uint32_t> quota_holding_time;      // seconds
  std::optional<std::uint32_t> quota_consumption_time;  // seconds
  std::uint32_t validity_time = 3600;                   // seconds
  std::uint32_t hotline_denied_result_code = 4010;
  std::uint32_t hotline_limit_reached_result_code = 4012;
  bool rating_group_in_disconnect = false;
  bool tariff_time_change = false;
  std::optional<std::string> home_plmn_e212_match;  // "310" or "310-210"
  /// Rate limits in kbit/s, multiplied by scaling_percent / 100 (BQN).
  std::optional<std::uint64_t> rate_limit_up_kbps;
  std::optional<std::uint64_t> rate_limit_down_kbps;
  std::uint32_t rate_limit_scaling_percent = 100;
  /// Final-unit handling when the last affordable grant is given.
  FinalUnitAction final_unit_action = FinalUnitAction::Terminate;
  /// Captive portal. With a URL, a subscriber out of credit is hotlined
  /// (redirected) instead of refused.
  std::optional<std::string> hotline_url;
  /// Filter-Id for RESTRICT_ACCESS.
  std::optional<std::string> restriction_filter_id;
  /// How long a hotlined session waits before asking again (Validity-Time).
  std::uint32_t hotline_validity_time = 300;
  /// Sessions silent for longer are closed and their reservations released.
  /// nullopt: 2 x validity_time.
  std::optional<std::uint32_t> supervision_time;
  /// Ignore the size in Requested-Service-Unit and grant the plan default.
  bool ignore_requested_units = false;

  std::uint32_t effective_supervision_time() const {
    return supervision_time ? *supervision_time : 2 * validity_time;
  }
};

/// A prepaid allowance of units, consumed before money.
struct Bucket {
  std::int64_t id = 0;
  std::optional<std::uint32_t> rating_group;  // nullopt: any rating group
  UnitFamily family = UnitFamily::Octets;
  std::uint64_t remaining = 0;
  /// Units of this bucket held by reservations of other sessions.
  std::uint64_t reserved_elsewhere = 0;
  std::optional<TimePoint> valid_from;
  std::optional<TimePoint> valid_until;

  bool usable_at(TimePoint t) const {
    return (!valid_from || *valid_from <= t) && (!valid_until || t < *valid_until);
  }
  bool applies_to(std::uint32_t rg, UnitFamily f) const {
    return f == family && (!rating_group || *rating_group == rg);
  }
};

/// Everything the core needs to know about one account at one instant.
struct AccountState {
  std::int64_t subscriber_id = 0;
  SubscriberStatus status = SubscriberStatus::Active;
  Money balance = 0;
  Money credit_limit = 0;  // how far below zero the balance may go
  /// Money held by reservations other than those the request replaces.
  Money reserved_elsewhere = 0;
  std::vector<Bucket> buckets;

  Money available() const { return balance + credit_limit - reserved_elsewhere; }
};

}  // namespace ocs
