#include "ocs/core/credit.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "ocs/core/rating.hpp"

namespace ocs {

namespace {

constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > kUnlimited - b ? kUnlimited : a + b; }
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kUnlimited / a) return kUnlimited;
  return a * b;
}
std::chrono::seconds secs(std::uint64_t s) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 4);
  return std::chrono::seconds{static_cast<std::int64_t>(std::min(s, kMax))};
}

/// The account as the request changes it: debits lower the balance and the
/// buckets, the session's kept reservations hold money and bucket units.
class Working {
 public:
  Working(const AccountState& a, const SessionState& s) : account_(a) {
    for (const auto& r : s.reservations) kept_.emplace(r.rating_group, r);
  }

  Money available() const {
    Money held = 0;
    for (const auto& [rg, r] : kept_) held += r.money;
    return account_.available() - held;
  }

  const Reservation* reservation(std::uint32_t rg) const {
    auto it = kept_.find(rg);
    return it == kept_.end() ? nullptr : &it->second;
  }
  void release(std::uint32_t rg) { kept_.erase(rg); }
  std::vector<std::uint32_t> reserved_groups() const {
    std::vector<std::uint32_t> out;
    for (const auto& [rg, r] : kept_) out.push_back(rg);
    return out;
  }
  void keep(const Reservation& r) { kept_[r.rating_group] = r; }

  void debit(Money cost) { account_.balance -= cost; }

  /// Units of bucket `b` this request may still use.
  std::uint64_t bucket_free(const Bucket& b) const {
    std::uint64_t held = b.reserved_elsewhere;
    for (const auto& [rg, r] : kept_)
      for (const auto& h : r.bucket_holds)
        if (h.bucket_id == b.id) held = sat_add(held, h.units);
    return b.remaining > held ? b.remaining - held : 0;
  }

  /// Buckets usable for (rg, family) at t, earliest expiry first; those in
  /// `prefer` (a reservation's holds) come before all others.
  std::vector<Bucket*> candidates(std::uint32_t rg, UnitFamily f, TimePoint t,
                                  const std::vector<BucketUnits>& prefer = {}) {
    std::vector<Bucket*> out;
    for (auto& b : account_.buckets)
      if (b.applies_to(rg, f) && b.usable_at(t) && b.remaining > 0) out.push_back(&b);
    auto preferred = [&](const Bucket* b) {
      return std::any_of(prefer.begin(), prefer.end(), [&](const BucketUnits& h) { return h.bucket_id == b->id; });
    };
    std::stable_sort(out.begin(), out.end(), [&](const Bucket* a, const Bucket* b) {
      if (preferred(a) != preferred(b)) return preferred(a);
      if (a->valid_until != b->valid_until) {
        if (!a->valid_until) return false;
        if (!b->valid_until) return true;
        return *a->valid_until < *b->valid_until;
      }
      return a->id < b->id;
    });
    return out;
  }

 private:
  AccountState account_;
  std::map<std::uint32_t, Reservation> kept_;
};

/// Takes up to `units` from buckets (their own holds first for usage already
/// reserved). Returns what was taken.
std::vector<BucketUnits> take_from_buckets(Working& w, std::uint32_t rg, UnitFamily f, TimePoint t,
                                           std::uint64_t units, const std::vector<BucketUnits>& prefer,
                                           bool consume) {
  std::vector<BucketUnits> taken;
  for (Bucket* b : w.candidates(rg, f, t, prefer)) {
    if (units == 0) break;
    // Usage may also eat this session's own hold on the bucket.
    std::uint64_t own = 0;
    for (const auto& h : prefer)
      if (h.bucket_id == b->id) own = sat_add(own, h.units);
    std::uint64_t free_units = consume ? std::min(b->remaining, sat_add(w.bucket_free(*b), own)) : w.bucket_free(*b);
    const std::uint64_t n = std::min(free_units, units);
    if (n == 0) continue;
    taken.push_back({b->id, n});
    units -= n;
    if (consume) b->remaining -= n;
  }
  return taken;
}

std::uint64_t sum_units(const std::vector<BucketUnits>& v) {
  std::uint64_t s = 0;
  for (const auto& x : v) s = sat_add(s, x.units);
  return s;
}

RgStatus no_credit_status(const Policy& policy) {
  return policy.hotline_url ? RgStatus::Hotlined : RgStatus::CreditLimitReached;
}

/// Charges one usage report of one rating group.
Debit charge_usage(Working& w, const Plan& plan, const RatingGroupTariff* tariff, std::uint32_t rg,
                   const UsageReport& report, const Reservation* held, TimePoint now) {
  Debit d;
  d.rating_group = rg;
  d.reported = report.amount;
  d.usage_start = held ? held->granted_at : now;
  if (held && held->tariff_change_at && report.tariff_change == TariffChangeUsage::After)
    d.usage_start = *held->tariff_change_at;
  if (!tariff) {
    d.rated = false;
    d.units = measure(held ? held->unit : Unit::OctetsTotal, report.amount);
    return d;
  }
  d.unit = tariff->unit;
  d.units = measure(tariff->unit, report.amount);
  const UnitFamily fam = family_of(tariff->unit);
  d.bucket_uses = take_from_buckets(w, rg, fam, d.usage_start, d.units,
                                    held ? held->bucket_holds : std::vector<BucketUnits>{}, true);
  const std::uint64_t from_buckets = sum_units(d.bucket_uses);
  TimePoint money_start = d.usage_start;
  if (fam == UnitFamily::Seconds) money_start += secs(from_buckets);
  const auto cost = rate(*tariff, d.units - from_buckets, money_start, plan.utc_offset_minutes);
  if (!cost) {
    d.rated = false;
    return d;
  }
  d.cost = *cost;
  w.debit(d.cost);
  return d;
}

struct GrantAttempt {
  RgStatus status = RgStatus::Granted;
  Grant grant;
  Reservation reservation;
};

std::uint64_t desired_units(const RatingGroupTariff& t, const Policy& policy,
                            std::optional<std::uint64_t> requested) {
  std::uint64_t desired = t.default_grant;
  if (requested && *requested > 0 && !policy.ignore_requested_units)
    desired = std::min(*requested, t.max_grant > 0 ? t.max_grant : kUnlimited);
  if (desired == 0) desired = t.block_units == 0 ? 1 : t.block_units;
  return desired;
}

GrantAttempt try_grant(Working& w, const Plan& plan, const Policy& policy, const RatingGroupTariff& t,
                       std::uint32_t rg, std::optional<std::uint64_t> requested, TimePoint now) {
  GrantAttempt a;
  const int off = plan.utc_offset_minutes;
  const TariffPeriod* p_now = period_at(t, now, off);
  if (!p_now) {
    a.status = RgStatus::RatingFailed;
    return a;
  }
  const std::uint64_t desired = desired_units(t, policy, requested);
  std::uint32_t validity = policy.validity_time;
  std::optional<TimePoint> ttc;
  Money price = p_now->price_per_block;

  const TimePoint until = now + std::chrono::seconds{validity};
  if (const auto b1 = next_tariff_change(t, now, until, off)) {
    const TariffPeriod* p1 = period_at(t, *b1, off);
    if (policy.tariff_time_change && p1) {
      // Grant across one boundary, held at the dearer of the two prices; the
      // client reports usage before and after it separately.
      ttc = *b1;
      price = std::max(price, p1->price_per_block);
      if (const auto b2 = next_tariff_change(t, *b1, until, off))
        validity = static_cast<std::uint32_t>((*b2 - now).count());
    } else {
      // No tariff-time-change: make the client come back at the boundary.
      validity = static_cast<std::uint32_t>((*b1 - now).count());
    }
  }

  const UnitFamily fam = family_of(t.unit);
  const auto bucket_plan = take_from_buckets(w, rg, fam, now, kUnlimited, {}, false);
  const std::uint64_t bucket_avail = sum_units(bucket_plan);
  const std::uint64_t block = t.block_units == 0 ? 1 : t.block_units;
  const bool free_of_charge = price == 0;
  const Money money_avail = w.available();
  std::uint64_t money_units = 0;
  if (free_of_charge) {
    money_units = kUnlimited;
  } else if (money_avail > 0) {
    money_units = sat_mul(static_cast<std::uint64_t>(money_avail / price), block);
  }
  const std::uint64_t affordable = sat_add(bucket_avail, money_units);
  if (affordable == 0) {
    a.status = no_credit_status(policy);
    return a;
  }

  const std::uint64_t units = std::min(desired, affordable);
  std::vector<BucketUnits> holds = take_from_buckets(w, rg, fam, now, units, {}, false);
  const std::uint64_t money_part = units - sum_units(holds);
  const Money money = price_of_blocks(blocks_for(money_part, block, Rounding::Up), price).value_or(0);

  // A bucket that expires inside the validity window shortens it.
  for (const auto& h : holds)
    for (Bucket* b : w.candidates(rg, fam, now))
      if (b->id == h.bucket_id && b->valid_until) {
        const auto left = (*b->valid_until - now).count();
        if (left > 0 && static_cast<std::uint64_t>(left) < validity) validity = static_cast<std::uint32_t>(left);
      }

  a.grant.unit = t.unit;
  a.grant.units = units;
  a.grant.validity_time = validity;
  a.grant.tariff_time_change = ttc;
  a.grant.final_units = !free_of_charge && affordable <= desired;
  if (fam == UnitFamily::Octets) a.grant.volume_quota_threshold = policy.volume_quota_threshold;
  if (fam == UnitFamily::Seconds) a.grant.time_quota_threshold = policy.time_quota_threshold;
  a.grant.quota_holding_time = policy.quota_holding_time;
  a.grant.quota_consumption_time = policy.quota_consumption_time;

  a.reservation.rating_group = rg;
  a.reservation.unit = t.unit;
  a.reservation.granted_units = units;
  a.reservation.money = money;
  a.reservation.bucket_holds = std::move(holds);
  a.reservation.granted_at = now;
  a.reservation.tariff_change_at = ttc;
  return a;
}

/// One-shot debit (RFC 4006 DIRECT_DEBITING): all or nothing.
RatingGroupResult direct_debit(Working& w, const Plan& plan, const Policy& policy,
                               const RatingGroupRequest& r, TimePoint now, CreditDecision& d) {
  RatingGroupResult res{r.rating_group, RgStatus::Granted, std::nullopt, std::nullopt};
  const RatingGroupTariff* t = plan.tariff_for(r.rating_group);
  if (!t || !period_at(*t, now, plan.utc_offset_minutes)) {
    res.status = RgStatus::RatingFailed;
    return res;
  }
  const std::uint64_t units = event_units(r, *t);
  const UnitFamily fam = family_of(t->unit);
  const auto planned = take_from_buckets(w, r.rating_group, fam, now, units, {}, false);
  const auto cost = rate(*t, units - sum_units(planned), now, plan.utc_offset_minutes);
  if (!cost) {
    res.status = RgStatus::RatingFailed;
    return res;
  }
  if (*cost > 0 && *cost > w.available()) {
    res.status = no_credit_status(policy);
    if (res.status == RgStatus::Hotlined) res.validity_time = policy.hotline_validity_time;
    return res;
  }
  Debit debit;
  debit.rating_group = r.rating_group;
  debit.unit = t->unit;
  debit.units = units;
  debit.cost = *cost;
  debit.bucket_uses = take_from_buckets(w, r.rating_group, fam, now, units, {}, true);
  debit.usage_start = now;
  switch (fam) {
    case UnitFamily::Octets: debit.reported.total_octets = units; break;
    case UnitFamily::Seconds: debit.reported.seconds = units; break;
    case UnitFamily::Events: debit.reported.events = units; break;
  }
  w.debit(debit.cost);
  d.debits.push_back(std::move(debit));
  res.grant = Grant{};
  res.grant->unit = t->unit;
  res.grant->units = units;
  return res;
}

bool lacks_credit(RgStatus s) { return s == RgStatus::CreditLimitReached || s == RgStatus::Hotlined; }

}  // namespace

std::uint64_t measure(Unit unit, const UsageAmount& a) {
  switch (unit) {
    case Unit::OctetsTotal:
      if (a.total_octets) return *a.total_octets;
      return sat_add(a.input_octets.value_or(0), a.output_octets.value_or(0));
    case Unit::OctetsInput: return a.input_octets.value_or(0);
    case Unit::OctetsOutput: return a.output_octets.value_or(0);
    case Unit::Seconds: return a.seconds.value_or(0);
    case Unit::Events: return a.events.value_or(0);
  }
  return 0;
}

std::optional<std::uint64_t> RatingGroupRequest::requested_in(Unit unit) const {
  if (requested_amount) return requested_amount->empty() ? std::nullopt : std::optional(measure(unit, *requested_amount));
  return requested_units;
}

const char* to_string(RequestKind k) {
  switch (k) {
    case RequestKind::Initial: return "initial";
    case RequestKind::Update: return "update";
    case RequestKind::Terminate: return "terminate";
    case RequestKind::Event: return "event";
  }
  return "?";
}

const char* to_string(RgStatus s) {
  switch (s) {
    case RgStatus::Granted: return "granted";
    case RgStatus::NoGrantRequested: return "no_grant_requested";
    case RgStatus::CreditLimitReached: return "credit_limit_reached";
    case RgStatus::Hotlined: return "hotlined";
    case RgStatus::RatingFailed: return "rating_failed";
    case RgStatus::Denied: return "denied";
  }
  return "?";
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::Success: return "success";
    case Outcome::CreditLimitReached: return "credit_limit_reached";
    case Outcome::Hotlined: return "hotlined";
    case Outcome::Denied: return "denied";
    case Outcome::RatingFailed: return "rating_failed";
  }
  return "?";
}

std::uint64_t event_units(const RatingGroupRequest& r, const RatingGroupTariff& tariff) {
  const std::uint64_t units = r.requested_in(tariff.unit).value_or(0);
  if (units != 0) return units;
  return tariff.unit == Unit::Events ? 1 : tariff.block_units;
}

std::optional<Money> list_price(const RatingGroupRequest& r, const Plan& plan, TimePoint now) {
  const RatingGroupTariff* t = plan.tariff_for(r.rating_group);
  if (!t || !period_at(*t, now, plan.utc_offset_minutes)) return std::nullopt;
  return rate(*t, event_units(r, *t), now, plan.utc_offset_minutes);
}

Money CreditDecision::total_cost() const {
  Money total = 0;
  for (const auto& d : debits) total += d.cost;
  return total;
}

CreditDecision evaluate(const CreditRequest& req, const SessionState& session, const AccountState& account,
                        const Plan& plan, const Policy& policy, TimePoint now) {
  CreditDecision d;
  Working w(account, session);
  const bool denied = account.status != SubscriberStatus::Active;
  std::map<std::uint32_t, RatingGroupResult> results;

  if (req.kind == RequestKind::Event) {
    d.session_closed = true;
    for (const auto& r : req.rating_groups) {
      if (denied) {
        results[r.rating_group] = {r.rating_group, RgStatus::Denied, std::nullopt, std::nullopt};
        continue;
      }
      results[r.rating_group] = direct_debit(w, plan, policy, r, now, d);
    }
  } else {
    // 1. Charge what was used (also when the subscriber is blocked: 4010/4012
    //    answers still debit reported usage).
    for (const auto& r : req.rating_groups) {
      const RatingGroupTariff* t = plan.tariff_for(r.rating_group);
      const Reservation* held = w.reservation(r.rating_group);
      for (const auto& u : r.used) {
        Debit debit = charge_usage(w, plan, t, r.rating_group, u, held, now);
        if (!debit.rated)
          results[r.rating_group] = {r.rating_group, RgStatus::RatingFailed, std::nullopt, std::nullopt};
        d.debits.push_back(std::move(debit));
      }
    }
    // 2. Release what the usage settled, everything when the session ends.
    const bool ending = req.kind == RequestKind::Terminate || denied;
    if (ending) {
      d.released = w.reserved_groups();
      for (auto rg : d.released) w.release(rg);
    } else {
      for (const auto& r : req.rating_groups)
        if ((r.wants_grant || !r.used.empty()) && w.reservation(r.rating_group)) {
          d.released.push_back(r.rating_group);
          w.release(r.rating_group);
        }
    }
    // 3. Grant anew.
    for (const auto& r : req.rating_groups) {
      auto& res = results[r.rating_group];
      res.rating_group = r.rating_group;
      if (res.status == RgStatus::RatingFailed && !r.wants_grant) continue;
      if (denied) {
        res.status = RgStatus::Denied;
        continue;
      }
      if (!r.wants_grant || ending) {
        if (res.status != RgStatus::RatingFailed) res.status = RgStatus::NoGrantRequested;
        continue;
      }
      const RatingGroupTariff* t = plan.tariff_for(r.rating_group);
      if (!t) {
        res.status = RgStatus::RatingFailed;
        continue;
      }
      GrantAttempt a = try_grant(w, plan, policy, *t, r.rating_group, r.requested_in(t->unit), now);
      res.status = a.status;
      if (a.status == RgStatus::Granted) {
        res.grant = a.grant;
        w.keep(a.reservation);
        d.reservations.push_back(std::move(a.reservation));
      } else if (a.status == RgStatus::Hotlined) {
        res.validity_time = policy.hotline_validity_time;
      }
    }
  }

  for (auto& [rg, res] : results) d.results.push_back(res);

  // Command-level outcome.
  bool any_granted = false, any_no_credit = false, all_rating_failed = true, any_asked = false;
  for (const auto& r : req.rating_groups) {
    const auto& res = results[r.rating_group];
    const bool asked = req.kind == RequestKind::Event || r.wants_grant;
    if (lacks_credit(res.status)) any_no_credit = true;
    if (!asked) continue;
    any_asked = true;
    if (res.status == RgStatus::Granted) any_granted = true;
    if (res.status != RgStatus::RatingFailed) all_rating_failed = false;
  }
  const auto no_credit_outcome = policy.hotline_url ? Outcome::Hotlined : Outcome::CreditLimitReached;
  if (denied) {
    d.outcome = Outcome::Denied;
  } else if (any_asked && !any_granted) {
    d.outcome = all_rating_failed ? Outcome::RatingFailed : no_credit_outcome;
  } else if (req.kind == RequestKind::Initial && req.rating_groups.empty()) {
    // A session opened without MSCC: admit it only if something is affordable.
    bool has_units = false;
    for (const auto& b : account.buckets)
      if (b.usable_at(now) && b.remaining > b.reserved_elsewhere) has_units = true;
    if (w.available() <= 0 && !has_units) d.outcome = no_credit_outcome;
  }
  d.credit_exhausted = any_no_credit || d.outcome == Outcome::CreditLimitReached || d.outcome == Outcome::Hotlined;
  if (d.outcome == Outcome::CreditLimitReached && req.kind != RequestKind::Event) {
    // Refused outright: the client ends the session, nothing stays held.
    for (auto rg : w.reserved_groups()) {
      d.released.push_back(rg);
      w.release(rg);
    }
  }
  // A refused Initial opens no session; a refused Update leaves it open
  // (empty) so that the client's CCR-T still finds it.
  const bool refused = d.outcome == Outcome::CreditLimitReached || d.outcome == Outcome::Denied;
  if (req.kind == RequestKind::Terminate || (req.kind == RequestKind::Initial && refused))
    d.session_closed = true;
  return d;
}

}  // namespace ocs
