#include "ocs/core/credit.hpp"

#include <gtest/gtest.h>

#include "test_clock.hpp"

namespace ocs {
namespace {

using test::at;
constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::uint32_t kData = 10;
constexpr std::uint32_t kVoice = 20;

/// The demo plan: data at 2 (peak, Mon-Fri 08-20) / 1 (off-peak) per MiB,
/// time at 5 per started minute, nothing else rated.
Plan demo_plan() {
  Plan p;
  p.id = 1;
  p.name = "demo";
  RatingGroupTariff data;
  data.rating_group = kData;
  data.unit = Unit::OctetsTotal;
  data.block_units = MiB;
  data.default_grant = 10 * MiB;
  data.max_grant = 50 * MiB;
  data.periods = {TariffPeriod{"peak", 0x1f, 8 * 60, 20 * 60, 2}, TariffPeriod{"offpeak", 0x7f, 0, 1440, 1}};
  RatingGroupTariff voice;
  voice.rating_group = kVoice;
  voice.unit = Unit::Seconds;
  voice.block_units = 60;
  voice.default_grant = 300;
  voice.max_grant = 3600;
  voice.periods = {TariffPeriod{"flat", 0x7f, 0, 1440, 5}};
  p.tariffs = {data, voice};
  return p;
}

Policy demo_policy() {
  Policy pol;
  pol.validity_time = 600;
  pol.volume_quota_threshold = MiB;
  pol.time_quota_threshold = 60;
  pol.quota_holding_time = 300;
  pol.quota_consumption_time = 30;
  return pol;
}

AccountState account(Money balance, Money credit_limit = 0) {
  AccountState a;
  a.subscriber_id = 7;
  a.balance = balance;
  a.credit_limit = credit_limit;
  return a;
}

RatingGroupRequest ask(std::uint32_t rg, std::optional<std::uint64_t> units = std::nullopt) {
  RatingGroupRequest r;
  r.rating_group = rg;
  r.wants_grant = true;
  r.requested_units = units;
  return r;
}

RatingGroupRequest report(std::uint32_t rg, UsageAmount used, bool more = false,
                          std::optional<TariffChangeUsage> tcu = std::nullopt) {
  RatingGroupRequest r;
  r.rating_group = rg;
  r.wants_grant = more;
  r.used.push_back(UsageReport{used, tcu});
  return r;
}

UsageAmount octets(std::uint64_t n) { return UsageAmount{n, std::nullopt, std::nullopt, std::nullopt, std::nullopt}; }
UsageAmount seconds(std::uint64_t n) { return UsageAmount{std::nullopt, std::nullopt, std::nullopt, n, std::nullopt}; }

CreditRequest request(RequestKind kind, std::vector<RatingGroupRequest> rgs) { return CreditRequest{kind, std::move(rgs)}; }

const RatingGroupResult& result_for(const CreditDecision& d, std::uint32_t rg) {
  for (const auto& r : d.results)
    if (r.rating_group == rg) return r;
  throw std::runtime_error("no result for rating group " + std::to_string(rg));
}

const TimePoint kNoon = at("2026-11-23 12:00:00");  // Monday, peak

// ---------------------------------------------------------------------------
// Grants on Initial: table of balance / request -> units, money, final.
// ---------------------------------------------------------------------------
struct GrantCase {
  const char* name;
  Money balance;
  Money credit_limit;
  Money reserved_elsewhere;
  std::optional<std::uint64_t> requested;
  RgStatus status;
  std::uint64_t units;
  Money held;
  bool final_units;
};

class InitialGrant : public ::testing::TestWithParam<GrantCase> {};

TEST_P(InitialGrant, MatchesTable) {
  const auto& c = GetParam();
  auto a = account(c.balance, c.credit_limit);
  a.reserved_elsewhere = c.reserved_elsewhere;
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData, c.requested)}), {}, a, demo_plan(),
                          demo_policy(), kNoon);
  const auto& r = result_for(d, kData);
  ASSERT_EQ(r.status, c.status) << c.name;
  if (c.status != RgStatus::Granted) {
    EXPECT_FALSE(r.grant);
    EXPECT_TRUE(d.reservations.empty());
    EXPECT_TRUE(d.credit_exhausted);
    return;
  }
  ASSERT_TRUE(r.grant);
  EXPECT_EQ(r.grant->units, c.units) << c.name;
  EXPECT_EQ(r.grant->final_units, c.final_units) << c.name;
  ASSERT_EQ(d.reservations.size(), 1u);
  EXPECT_EQ(d.reservations[0].money, c.held) << c.name;
  EXPECT_EQ(d.reservations[0].granted_units, c.units);
  EXPECT_EQ(d.outcome, Outcome::Success);
  EXPECT_TRUE(d.debits.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, InitialGrant,
    ::testing::Values(
        GrantCase{"plenty: default grant", 1000, 0, 0, std::nullopt, RgStatus::Granted, 10 * MiB, 20, false},
        GrantCase{"requested size honoured", 1000, 0, 0, 3 * MiB, RgStatus::Granted, 3 * MiB, 6, false},
        GrantCase{"partial block held whole", 1000, 0, 0, 3 * MiB + 1, RgStatus::Granted, 3 * MiB + 1, 8, false},
        GrantCase{"request capped at max", 1000, 0, 0, 500 * MiB, RgStatus::Granted, 50 * MiB, 100, false},
        GrantCase{"zero request = default", 1000, 0, 0, 0, RgStatus::Granted, 10 * MiB, 20, false},
        GrantCase{"last affordable units", 5, 0, 0, std::nullopt, RgStatus::Granted, 2 * MiB, 4, true},
        GrantCase{"exactly affordable is final", 20, 0, 0, std::nullopt, RgStatus::Granted, 10 * MiB, 20, true},
        GrantCase{"credit limit counts", 0, 10, 0, std::nullopt, RgStatus::Granted, 5 * MiB, 10, true},
        GrantCase{"negative balance within limit", -4, 10, 0, std::nullopt, RgStatus::Granted, 3 * MiB, 6, true},
        GrantCase{"others' holds count", 30, 0, 24, std::nullopt, RgStatus::Granted, 3 * MiB, 6, true},
        GrantCase{"less than one block", 1, 0, 0, std::nullopt, RgStatus::CreditLimitReached, 0, 0, false},
        GrantCase{"nothing left", 0, 0, 0, std::nullopt, RgStatus::CreditLimitReached, 0, 0, false},
        GrantCase{"all held elsewhere", 30, 0, 30, std::nullopt, RgStatus::CreditLimitReached, 0, 0, false},
        GrantCase{"below the limit", -11, 10, 0, std::nullopt, RgStatus::CreditLimitReached, 0, 0, false}),
    [](const ::testing::TestParamInfo<GrantCase>& param_info) {
      std::string n = param_info.param.name;
      for (auto& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(Evaluate, GrantCarriesPolicyTimers) {
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData), ask(kVoice)}), {}, account(1000), demo_plan(),
                          demo_policy(), kNoon);
  const auto& data = *result_for(d, kData).grant;
  EXPECT_EQ(data.unit, Unit::OctetsTotal);
  EXPECT_EQ(data.validity_time, 600u);
  EXPECT_EQ(data.volume_quota_threshold, MiB);
  EXPECT_EQ(data.time_quota_threshold, std::nullopt);
  EXPECT_EQ(data.quota_holding_time, 300u);
  EXPECT_EQ(data.quota_consumption_time, 30u);
  const auto& voice = *result_for(d, kVoice).grant;
  EXPECT_EQ(voice.unit, Unit::Seconds);
  EXPECT_EQ(voice.units, 300u);
  EXPECT_EQ(voice.time_quota_threshold, 60u);
  EXPECT_EQ(voice.volume_quota_threshold, std::nullopt);
  ASSERT_EQ(d.reservations.size(), 2u);
  EXPECT_EQ(d.reservations[0].money + d.reservations[1].money, 20 + 25);
}

TEST(Evaluate, SecondRatingGroupSeesFirstGrantsHold) {
  // 30 available: data holds 20, voice can only get 2 minutes (10).
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData), ask(kVoice)}), {}, account(30), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(result_for(d, kData).grant->units, 10 * MiB);
  EXPECT_EQ(result_for(d, kVoice).grant->units, 120u);
  EXPECT_TRUE(result_for(d, kVoice).grant->final_units);
}

TEST(Evaluate, NoCreditRefusesAndClosesInitial) {
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(0), demo_plan(), demo_policy(),
                          kNoon);
  EXPECT_EQ(d.outcome, Outcome::CreditLimitReached);
  EXPECT_TRUE(d.credit_exhausted);
  EXPECT_TRUE(d.session_closed);
}

TEST(Evaluate, NoCreditWithPortalHotlines) {
  auto pol = demo_policy();
  pol.hotline_url = "http://portal/topup";
  pol.hotline_validity_time = 120;
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(0), demo_plan(), pol, kNoon);
  EXPECT_EQ(d.outcome, Outcome::Hotlined);
  const auto& r = result_for(d, kData);
  EXPECT_EQ(r.status, RgStatus::Hotlined);
  EXPECT_EQ(r.validity_time, 120u);
  EXPECT_FALSE(r.grant);
  EXPECT_TRUE(d.credit_exhausted);
  EXPECT_FALSE(d.session_closed);  // the hotlined session lives on
}

TEST(Evaluate, InitialWithoutRatingGroupsChecksCredit) {
  EXPECT_EQ(evaluate(request(RequestKind::Initial, {}), {}, account(1), demo_plan(), demo_policy(), kNoon).outcome,
            Outcome::Success);
  const auto refused = evaluate(request(RequestKind::Initial, {}), {}, account(0), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(refused.outcome, Outcome::CreditLimitReached);
  EXPECT_TRUE(refused.session_closed);
}

TEST(Evaluate, UnknownRatingGroupFailsRatingOnlyThere) {
  const auto both = evaluate(request(RequestKind::Initial, {ask(kData), ask(99)}), {}, account(1000), demo_plan(),
                             demo_policy(), kNoon);
  EXPECT_EQ(both.outcome, Outcome::Success);
  EXPECT_EQ(result_for(both, 99).status, RgStatus::RatingFailed);
  EXPECT_EQ(result_for(both, kData).status, RgStatus::Granted);
  const auto only = evaluate(request(RequestKind::Initial, {ask(99)}), {}, account(1000), demo_plan(),
                             demo_policy(), kNoon);
  EXPECT_EQ(only.outcome, Outcome::RatingFailed);
  EXPECT_FALSE(only.credit_exhausted);
}

TEST(Evaluate, CatchAllTariffRatesOtherGroups) {
  auto plan = demo_plan();
  auto any = plan.tariffs[0];
  any.rating_group.reset();
  plan.tariffs.push_back(any);
  const auto d = evaluate(request(RequestKind::Initial, {ask(99)}), {}, account(1000), plan, demo_policy(), kNoon);
  EXPECT_EQ(result_for(d, 99).status, RgStatus::Granted);
  EXPECT_EQ(d.reservations.at(0).rating_group, 99u);
}

// ---------------------------------------------------------------------------
// Update / Terminate: usage is charged, reservations replaced.
// ---------------------------------------------------------------------------
SessionState holding_data(TimePoint granted_at, Money money = 20) {
  Reservation r;
  r.rating_group = kData;
  r.unit = Unit::OctetsTotal;
  r.granted_units = 10 * MiB;
  r.money = money;
  r.granted_at = granted_at;
  return SessionState{{r}};
}

TEST(Evaluate, UpdateChargesUsageReleasesAndRegrants) {
  const auto d = evaluate(request(RequestKind::Update, {report(kData, octets(3 * MiB), true)}), holding_data(kNoon),
                          account(100), demo_plan(), demo_policy(), kNoon + std::chrono::seconds{60});
  ASSERT_EQ(d.debits.size(), 1u);
  EXPECT_EQ(d.debits[0].cost, 6);
  EXPECT_EQ(d.debits[0].units, 3 * MiB);
  EXPECT_EQ(d.debits[0].usage_start, kNoon);
  EXPECT_EQ(d.released, std::vector<std::uint32_t>{kData});
  // 100 - 6 = 94 left, the old hold released: a full default grant again.
  ASSERT_EQ(d.reservations.size(), 1u);
  EXPECT_EQ(d.reservations[0].money, 20);
  EXPECT_EQ(d.outcome, Outcome::Success);
  EXPECT_FALSE(d.session_closed);
}

TEST(Evaluate, UsageOfDirectionsAddsUp) {
  UsageAmount u;
  u.input_octets = MiB;
  u.output_octets = 2 * MiB;
  EXPECT_EQ(measure(Unit::OctetsTotal, u), 3 * MiB);
  EXPECT_EQ(measure(Unit::OctetsInput, u), MiB);
  EXPECT_EQ(measure(Unit::OctetsOutput, u), 2 * MiB);
  EXPECT_EQ(measure(Unit::Seconds, u), 0u);
  u.total_octets = 5;
  EXPECT_EQ(measure(Unit::OctetsTotal, u), 5u);
}

TEST(Evaluate, UpdateWithoutGrantRequestKeepsOtherGroups) {
  Reservation voice;
  voice.rating_group = kVoice;
  voice.unit = Unit::Seconds;
  voice.granted_units = 300;
  voice.money = 25;
  voice.granted_at = kNoon;
  auto s = holding_data(kNoon);
  s.reservations.push_back(voice);
  const auto d = evaluate(request(RequestKind::Update, {report(kData, octets(MiB))}), s, account(100), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(d.released, std::vector<std::uint32_t>{kData});
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_EQ(result_for(d, kData).status, RgStatus::NoGrantRequested);
}

TEST(Evaluate, OveruseIsChargedInFullEvenPastTheLimit) {
  // Held 20 for 10 MiB; the client used 30 MiB (60). The balance goes negative.
  const auto d = evaluate(request(RequestKind::Terminate, {report(kData, octets(30 * MiB))}), holding_data(kNoon),
                          account(25), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.total_cost(), 60);
  EXPECT_TRUE(d.session_closed);
}

TEST(Evaluate, RegrantAfterUsageSeesTheDebit) {
  // 25 available, 10 MiB used (20): 5 left -> 2 MiB final grant.
  const auto d = evaluate(request(RequestKind::Update, {report(kData, octets(10 * MiB), true)}),
                          holding_data(kNoon), account(25), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.total_cost(), 20);
  const auto& g = *result_for(d, kData).grant;
  EXPECT_EQ(g.units, 2 * MiB);
  EXPECT_TRUE(g.final_units);
}

TEST(Evaluate, UpdateOutOfCreditKeepsSessionOpenEmpty) {
  const auto d = evaluate(request(RequestKind::Update, {report(kData, octets(10 * MiB), true)}),
                          holding_data(kNoon), account(20), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.outcome, Outcome::CreditLimitReached);
  EXPECT_EQ(d.total_cost(), 20);
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_FALSE(d.session_closed);  // the client still sends CCR-T
  EXPECT_TRUE(d.credit_exhausted);
}

TEST(Evaluate, TerminateReleasesEverythingAndCloses) {
  const auto d = evaluate(request(RequestKind::Terminate, {report(kData, octets(MiB))}), holding_data(kNoon),
                          account(100), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.total_cost(), 2);
  EXPECT_EQ(d.released, std::vector<std::uint32_t>{kData});
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_TRUE(d.session_closed);
  EXPECT_EQ(d.outcome, Outcome::Success);
}

TEST(Evaluate, TerminateWithoutUsageReleasesAll) {
  const auto d = evaluate(request(RequestKind::Terminate, {}), holding_data(kNoon), account(100), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(d.released, std::vector<std::uint32_t>{kData});
  EXPECT_TRUE(d.debits.empty());
}

TEST(Evaluate, UsageOfUnratedGroupIsRecordedNotLost) {
  const auto d = evaluate(request(RequestKind::Update, {report(99, octets(MiB))}), {}, account(100), demo_plan(),
                          demo_policy(), kNoon);
  ASSERT_EQ(d.debits.size(), 1u);
  EXPECT_FALSE(d.debits[0].rated);
  EXPECT_EQ(d.debits[0].cost, 0);
  EXPECT_EQ(d.debits[0].units, MiB);
  EXPECT_EQ(result_for(d, 99).status, RgStatus::RatingFailed);
}

// ---------------------------------------------------------------------------
// Blocked and suspended subscribers.
// ---------------------------------------------------------------------------
TEST(Evaluate, BlockedIsDeniedButUsageStillCharged) {
  auto a = account(100);
  a.status = SubscriberStatus::Blocked;
  const auto d = evaluate(request(RequestKind::Update, {report(kData, octets(2 * MiB), true)}), holding_data(kNoon),
                          a, demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_EQ(d.total_cost(), 4);
  EXPECT_EQ(d.released, std::vector<std::uint32_t>{kData});
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_EQ(result_for(d, kData).status, RgStatus::Denied);
  EXPECT_FALSE(d.session_closed);
}

TEST(Evaluate, SuspendedInitialIsDeniedAndClosed) {
  auto a = account(100);
  a.status = SubscriberStatus::Suspended;
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, a, demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(d.outcome, Outcome::Denied);
  EXPECT_TRUE(d.session_closed);
  EXPECT_TRUE(d.reservations.empty());
}

// ---------------------------------------------------------------------------
// Tariff boundaries inside the validity window.
// ---------------------------------------------------------------------------
TEST(Evaluate, WithoutTariffTimeChangeValidityStopsAtBoundary) {
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(1000), demo_plan(),
                          demo_policy(), at("2026-11-23 07:55:00"));
  const auto& g = *result_for(d, kData).grant;
  EXPECT_EQ(g.validity_time, 300u);
  EXPECT_FALSE(g.tariff_time_change);
  EXPECT_EQ(d.reservations[0].money, 10);  // off-peak price
}

TEST(Evaluate, TariffTimeChangeGrantsAcrossBoundaryAtDearerPrice) {
  auto pol = demo_policy();
  pol.tariff_time_change = true;
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(1000), demo_plan(), pol,
                          at("2026-11-23 07:55:00"));
  const auto& g = *result_for(d, kData).grant;
  EXPECT_EQ(g.validity_time, 600u);
  EXPECT_EQ(g.tariff_time_change, at("2026-11-23 08:00:00"));
  EXPECT_EQ(d.reservations[0].money, 20);  // held at peak
  EXPECT_EQ(d.reservations[0].tariff_change_at, at("2026-11-23 08:00:00"));
}

TEST(Evaluate, UsageBeforeAndAfterTariffChangeRatedSeparately) {
  SessionState s = holding_data(at("2026-11-23 07:55:00"));
  s.reservations[0].tariff_change_at = at("2026-11-23 08:00:00");
  RatingGroupRequest r;
  r.rating_group = kData;
  r.used = {UsageReport{octets(3 * MiB), TariffChangeUsage::Before}, UsageReport{octets(4 * MiB), TariffChangeUsage::After}};
  const auto d = evaluate(request(RequestKind::Terminate, {r}), s, account(1000), demo_plan(), demo_policy(),
                          at("2026-11-23 08:04:00"));
  ASSERT_EQ(d.debits.size(), 2u);
  EXPECT_EQ(d.debits[0].cost, 3);  // off-peak
  EXPECT_EQ(d.debits[1].cost, 8);  // peak
  EXPECT_EQ(d.debits[1].usage_start, at("2026-11-23 08:00:00"));
}

TEST(Evaluate, GapInTariffFailsRatingForGrant) {
  auto plan = demo_plan();
  plan.tariffs[0].periods = {TariffPeriod{"day", 0x7f, 8 * 60, 20 * 60, 2}};
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(1000), plan, demo_policy(),
                          at("2026-11-23 22:00:00"));
  EXPECT_EQ(d.outcome, Outcome::RatingFailed);
}

// ---------------------------------------------------------------------------
// Buckets before money.
// ---------------------------------------------------------------------------
Bucket data_bucket(std::int64_t id, std::uint64_t units, std::optional<TimePoint> until = std::nullopt) {
  Bucket b;
  b.id = id;
  b.rating_group = kData;
  b.family = UnitFamily::Octets;
  b.remaining = units;
  b.valid_until = until;
  return b;
}

TEST(Evaluate, BucketsAreGrantedBeforeMoney) {
  auto a = account(1000);
  a.buckets = {data_bucket(1, 4 * MiB)};
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, a, demo_plan(), demo_policy(), kNoon);
  ASSERT_EQ(d.reservations.size(), 1u);
  const auto& r = d.reservations[0];
  EXPECT_EQ(r.granted_units, 10 * MiB);
  EXPECT_EQ(r.bucket_holds, (std::vector<BucketUnits>{{1, 4 * MiB}}));
  EXPECT_EQ(r.money, 12);  // 6 MiB from money
}

TEST(Evaluate, BucketAloneWithoutMoneyGrantsFinalUnits) {
  auto a = account(0);
  a.buckets = {data_bucket(1, 4 * MiB)};
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, a, demo_plan(), demo_policy(), kNoon);
  const auto& g = *result_for(d, kData).grant;
  EXPECT_EQ(g.units, 4 * MiB);
  EXPECT_TRUE(g.final_units);
  EXPECT_EQ(d.reservations[0].money, 0);
}

TEST(Evaluate, BucketsHeldElsewhereOrExpiredAreSkipped) {
  auto a = account(0);
  a.buckets = {data_bucket(1, 4 * MiB), data_bucket(2, 8 * MiB, kNoon), data_bucket(3, 2 * MiB)};
  a.buckets[0].reserved_elsewhere = 3 * MiB;  // 1 MiB free
  a.buckets[2].rating_group = kVoice;          // other rating group
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, a, demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(result_for(d, kData).grant->units, MiB);
}

TEST(Evaluate, BucketExpiryShortensValidity) {
  auto a = account(1000);
  a.buckets = {data_bucket(1, 4 * MiB, kNoon + std::chrono::seconds{90})};
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, a, demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(result_for(d, kData).grant->validity_time, 90u);
}

TEST(Evaluate, UsageConsumesBucketsThenMoney) {
  auto a = account(100);
  a.buckets = {data_bucket(1, 4 * MiB)};
  auto s = holding_data(kNoon, 12);
  s.reservations[0].bucket_holds = {{1, 4 * MiB}};
  const auto d = evaluate(request(RequestKind::Terminate, {report(kData, octets(7 * MiB))}), s, a, demo_plan(),
                          demo_policy(), kNoon);
  ASSERT_EQ(d.debits.size(), 1u);
  EXPECT_EQ(d.debits[0].bucket_uses, (std::vector<BucketUnits>{{1, 4 * MiB}}));
  EXPECT_EQ(d.debits[0].cost, 6);  // 3 MiB paid
}

TEST(Evaluate, TimeBucketShiftsStartOfPaidPart) {
  auto plan = demo_plan();
  plan.tariffs[1].periods = {TariffPeriod{"peak", 0x1f, 8 * 60, 20 * 60, 5}, TariffPeriod{"off", 0x7f, 0, 1440, 1}};
  auto a = account(100);
  Bucket b;
  b.id = 5;
  b.family = UnitFamily::Seconds;
  b.remaining = 120;
  a.buckets = {b};
  Reservation r;
  r.rating_group = kVoice;
  r.unit = Unit::Seconds;
  r.granted_at = at("2026-11-23 07:58:00");
  // 240 s from 07:58: the first 120 s from the bucket, the paid 2 minutes start at 08:00 (peak).
  const auto d = evaluate(request(RequestKind::Terminate, {report(kVoice, seconds(240))}), SessionState{{r}}, a,
                          plan, demo_policy(), at("2026-11-23 08:02:00"));
  EXPECT_EQ(d.debits.at(0).cost, 10);
}

// ---------------------------------------------------------------------------
// Event (direct debiting), free rating groups, requested size policy.
// ---------------------------------------------------------------------------
TEST(Evaluate, EventDebitsOnceWhenAffordable) {
  const auto d = evaluate(request(RequestKind::Event, {ask(kVoice, 120)}), {}, account(100), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(d.outcome, Outcome::Success);
  EXPECT_EQ(d.total_cost(), 10);
  EXPECT_TRUE(d.reservations.empty());
  EXPECT_TRUE(d.session_closed);
  EXPECT_EQ(result_for(d, kVoice).grant->units, 120u);
}

TEST(Evaluate, EventNotAffordableDebitsNothing) {
  const auto d = evaluate(request(RequestKind::Event, {ask(kVoice, 600)}), {}, account(20), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(d.outcome, Outcome::CreditLimitReached);
  EXPECT_TRUE(d.debits.empty());
}

TEST(ListPrice, IsTheTariffsPriceOfWhatAnEventWouldDebitWhateverTheBalance) {
  const Plan plan = demo_plan();
  EXPECT_EQ(list_price(ask(kVoice, 600), plan, kNoon), 50);  // 10 blocks of 60 s at 5
  EXPECT_EQ(list_price(ask(kVoice, 61), plan, kNoon), 10);   // rounded up to whole blocks
  EXPECT_EQ(list_price(ask(kVoice), plan, kNoon), 5);        // nothing asked: one block
  EXPECT_EQ(list_price(ask(kData, 3 * MiB), plan, kNoon), 6);
  EXPECT_EQ(list_price(ask(kData, 3 * MiB), plan, at("2026-11-23 22:00:00")), 3);  // off-peak
  EXPECT_FALSE(list_price(ask(99, 60), plan, kNoon));  // no tariff
}

TEST(Evaluate, FreeRatingGroupIsNeverFinal) {
  auto plan = demo_plan();
  plan.tariffs[0].periods = {TariffPeriod{"free", 0x7f, 0, 1440, 0}};
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData)}), {}, account(0), plan, demo_policy(), kNoon);
  const auto& g = *result_for(d, kData).grant;
  EXPECT_EQ(g.units, 10 * MiB);
  EXPECT_FALSE(g.final_units);
  EXPECT_EQ(d.reservations[0].money, 0);
}

TEST(Evaluate, PolicyCanIgnoreRequestedSize) {
  auto pol = demo_policy();
  pol.ignore_requested_units = true;
  const auto d = evaluate(request(RequestKind::Initial, {ask(kData, 1000000)}), {}, account(1000), demo_plan(), pol,
                          kNoon);
  EXPECT_EQ(result_for(d, kData).grant->units, 10 * MiB);
}

TEST(Evaluate, IsDeterministic) {
  const auto req = request(RequestKind::Update, {report(kData, octets(3 * MiB), true), ask(kVoice)});
  const auto a = evaluate(req, holding_data(kNoon), account(77), demo_plan(), demo_policy(), kNoon);
  const auto b = evaluate(req, holding_data(kNoon), account(77), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(a.reservations, b.reservations);
  EXPECT_EQ(a.total_cost(), b.total_cost());
}

}  // namespace
}  // namespace ocs

namespace ocs {
namespace {

TEST(Evaluate, RequestedAmountIsMeasuredInTheTariffUnit) {
  RatingGroupRequest data = ask(kData);
  data.requested_amount = UsageAmount{std::nullopt, MiB, 2 * MiB, std::nullopt, std::nullopt};
  RatingGroupRequest voice = ask(kVoice);
  voice.requested_amount = seconds(120);
  const auto d = evaluate(request(RequestKind::Initial, {data, voice}), {}, account(1000), demo_plan(),
                          demo_policy(), kNoon);
  EXPECT_EQ(result_for(d, kData).grant->units, 3 * MiB);
  EXPECT_EQ(result_for(d, kVoice).grant->units, 120u);
  // An empty RSU lets the server choose.
  RatingGroupRequest empty = ask(kData);
  empty.requested_amount = UsageAmount{};
  const auto e = evaluate(request(RequestKind::Initial, {empty}), {}, account(1000), demo_plan(), demo_policy(), kNoon);
  EXPECT_EQ(result_for(e, kData).grant->units, 10 * MiB);
}

}  // namespace
}  // namespace ocs
