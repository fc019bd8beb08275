#include <gtest/gtest.h>

#include "ocs/diameter/gy_model.hpp"

namespace ocs::gy {
namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

Ccr ccr(RequestType type, std::uint32_t number) {
  Ccr c;
  c.session_id = "pgw.localdomain;1;2";
  c.origin_host = "pgw.localdomain";
  c.origin_realm = "localdomain";
  c.request_type = static_cast<std::uint32_t>(type);
  c.request_number = number;
  return c;
}

CcrMscc mscc(std::optional<std::uint32_t> rg, std::optional<ServiceUnits> rsu = ServiceUnits{}) {
  CcrMscc m;
  m.rating_group = rg;
  m.requested = rsu;
  return m;
}

store::ChargeRequest accepted(const Ccr& c, const Options& o = {}) {
  auto r = to_charge_request(c, o);
  if (auto* rej = std::get_if<Rejection>(&r))
    ADD_FAILURE() << "rejected with " << rej->answer.result_code << " failed AVP "
                  << rej->answer.failed_avp.value_or(0);
  return std::holds_alternative<store::ChargeRequest>(r) ? std::get<store::ChargeRequest>(r) : store::ChargeRequest{};
}

Cca rejected(const Ccr& c) {
  auto r = to_charge_request(c, {});
  EXPECT_TRUE(std::holds_alternative<Rejection>(r));
  return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r).answer : Cca{};
}

// ---------------------------------------------------------------------------
// CCR -> charging request
// ---------------------------------------------------------------------------
TEST(GyRequest, InitialMapsIdentitiesAndRatingGroups) {
  auto c = ccr(RequestType::Initial, 0);
  c.subscription_ids = {{0, "+491700000001"}, {1, "262010000000001"}, {3, "alice@realm"}, {4, "opaque"}};
  ServiceUnits rsu;
  rsu.total_octets = 5 * MiB;
  c.mscc = {mscc(10, rsu), mscc(20)};
  const auto r = accepted(c);
  EXPECT_EQ(r.session_id, "pgw.localdomain;1;2");
  EXPECT_EQ(r.request_key, "0");
  EXPECT_EQ(r.credit.kind, RequestKind::Initial);
  EXPECT_EQ(r.origin.origin_host, "pgw.localdomain");
  EXPECT_EQ(r.origin.protocol, "gy");
  ASSERT_EQ(r.identities.size(), 3u);  // PRIVATE is not an identity we index
  EXPECT_EQ(r.identities[0], (store::Identity{store::IdentityKind::Msisdn, "491700000001"}));
  EXPECT_EQ(r.identities[1], (store::Identity{store::IdentityKind::Imsi, "262010000000001"}));
  EXPECT_EQ(r.identities[2], (store::Identity{store::IdentityKind::Nai, "alice@realm"}));
  ASSERT_EQ(r.credit.rating_groups.size(), 2u);
  EXPECT_TRUE(r.credit.rating_groups[0].wants_grant);
  EXPECT_EQ(r.credit.rating_groups[0].requested_in(Unit::OctetsTotal), 5 * MiB);
  EXPECT_EQ(r.credit.rating_groups[1].requested_in(Unit::OctetsTotal), std::nullopt);  // empty RSU
}

TEST(GyRequest, MsccWithoutRatingGroupUsesDefault) {
  auto c = ccr(RequestType::Initial, 0);
  c.subscription_ids = {{0, "491700000001"}};
  c.mscc = {mscc(std::nullopt)};
  Options o;
  o.default_rating_group = 10;
  EXPECT_EQ(accepted(c, o).credit.rating_groups.at(0).rating_group, 10u);
}

TEST(GyRequest, UpdateCarriesUsageWithTariffChange) {
  auto c = ccr(RequestType::Update, 3);
  CcrMscc m = mscc(10);
  UsedServiceUnit before, after;
  before.units.input_octets = MiB;
  before.units.output_octets = 2 * MiB;
  before.tariff_change_usage = 0;
  after.units.time = 60;
  after.tariff_change_usage = 1;
  m.used = {before, after};
  c.mscc = {m};
  const auto r = accepted(c);
  EXPECT_EQ(r.request_key, "3");
  EXPECT_TRUE(r.identities.empty());  // updates find the subscriber through the session
  const auto& rg = r.credit.rating_groups.at(0);
  ASSERT_EQ(rg.used.size(), 2u);
  EXPECT_EQ(measure(Unit::OctetsTotal, rg.used[0].amount), 3 * MiB);
  EXPECT_EQ(rg.used[0].tariff_change, TariffChangeUsage::Before);
  EXPECT_EQ(rg.used[1].amount.seconds, 60u);
  EXPECT_EQ(rg.used[1].tariff_change, TariffChangeUsage::After);
}

TEST(GyRequest, DuplicateRatingGroupsMerge) {
  auto c = ccr(RequestType::Update, 1);
  CcrMscc a = mscc(10, std::nullopt);
  a.used = {UsedServiceUnit{}};
  c.mscc = {a, mscc(10)};
  const auto r = accepted(c);
  ASSERT_EQ(r.credit.rating_groups.size(), 1u);
  EXPECT_TRUE(r.credit.rating_groups[0].wants_grant);
  EXPECT_EQ(r.credit.rating_groups[0].used.size(), 1u);
}

TEST(GyRequest, TerminationNeverAsksForQuota) {
  auto c = ccr(RequestType::Termination, 4);
  c.mscc = {mscc(10)};
  EXPECT_FALSE(accepted(c).credit.rating_groups.at(0).wants_grant);
  EXPECT_EQ(accepted(c).credit.kind, RequestKind::Terminate);
}

TEST(GyRequest, EventDebitsChecksTheBalanceOrAsksThePriceButNeverRefunds) {
  auto c = ccr(RequestType::Event, 0);
  c.subscription_ids = {{0, "491700000001"}};
  c.requested_action = 0;
  ServiceUnits rsu;
  rsu.service_specific_units = 1;
  c.mscc = {mscc(30, rsu)};
  auto r = accepted(c);
  EXPECT_EQ(r.credit.kind, RequestKind::Event);
  EXPECT_EQ(r.credit.rating_groups.at(0).requested_in(Unit::Events), 1u);
  EXPECT_FALSE(r.enquiry);

  for (std::uint32_t action : {2u, 3u}) {  // CHECK_BALANCE, PRICE_ENQUIRY: decided, never written
    c.requested_action = action;
    r = accepted(c);
    EXPECT_EQ(r.credit.kind, RequestKind::Event);
    EXPECT_TRUE(r.enquiry);
    EXPECT_EQ(r.credit.rating_groups.at(0).requested_in(Unit::Events), 1u);
  }
  for (std::uint32_t action : {1u, 4u}) {  // REFUND_ACCOUNT, and no such action
    c.requested_action = action;
    const auto rej = rejected(c);
    EXPECT_EQ(rej.result_code, kInvalidAvpValue);
    EXPECT_EQ(rej.failed_avp, avp_code::kRequestedAction);
  }
  c.requested_action.reset();
  EXPECT_EQ(rejected(c).result_code, kMissingAvp);
}

struct BadCase {
  const char* name;
  void (*mutate)(Ccr&);
  std::uint32_t code;
  std::uint32_t failed;
};

class GyReject : public ::testing::TestWithParam<BadCase> {};

TEST_P(GyReject, AnswersWithFailedAvp) {
  auto c = ccr(RequestType::Initial, 0);
  c.subscription_ids = {{0, "491700000001"}};
  GetParam().mutate(c);
  const auto a = rejected(c);
  EXPECT_EQ(a.result_code, GetParam().code);
  EXPECT_EQ(a.failed_avp, GetParam().failed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, GyReject,
    ::testing::Values(
        BadCase{"no_request_type", [](Ccr& c) { c.request_type.reset(); }, kMissingAvp, avp_code::kCcRequestType},
        BadCase{"request_type_9", [](Ccr& c) { c.request_type = 9; }, kInvalidAvpValue, avp_code::kCcRequestType},
        BadCase{"request_type_0", [](Ccr& c) { c.request_type = 0; }, kInvalidAvpValue, avp_code::kCcRequestType},
        BadCase{"no_request_number", [](Ccr& c) { c.request_number.reset(); }, kMissingAvp, avp_code::kCcRequestNumber},
        BadCase{"no_subscription_id", [](Ccr& c) { c.subscription_ids.clear(); }, kMissingAvp, avp_code::kSubscriptionId},
        BadCase{"bad_subscription_type", [](Ccr& c) { c.subscription_ids = {{7, "x"}}; }, kInvalidAvpValue,
                avp_code::kSubscriptionIdType},
        BadCase{"empty_subscription_data", [](Ccr& c) { c.subscription_ids = {{0, ""}}; }, kInvalidAvpValue,
                avp_code::kSubscriptionIdData},
        // UTF8String AVPs that are not UTF-8 (an overlong '/', a lone byte,
        // a NUL): PostgreSQL could not hold them either.
        BadCase{"subscription_data_not_utf8",
                [](Ccr& c) { c.subscription_ids = {{0, "491700000001"}, {3, "user@\xc0\xafrealm"}}; },
                kInvalidAvpValue, avp_code::kSubscriptionIdData},
        BadCase{"subscription_data_nul", [](Ccr& c) { c.subscription_ids = {{1, std::string("2620\0001", 6)}}; },
                kInvalidAvpValue, avp_code::kSubscriptionIdData},
        BadCase{"session_id_not_utf8", [](Ccr& c) { c.session_id = "pgw;1;\xff"; }, kInvalidAvpValue,
                avp_code::kSessionId},
        BadCase{"bad_tariff_change_usage",
                [](Ccr& c) {
                  CcrMscc m;
                  UsedServiceUnit u;
                  u.tariff_change_usage = 5;
                  m.used = {u};
                  c.mscc = {m};
                },
                kInvalidAvpValue, avp_code::kTariffChangeUsage}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) { return std::string(param_info.param.name); });

// ---------------------------------------------------------------------------
// Charging result -> CCA
// ---------------------------------------------------------------------------
store::ChargeResult result(Outcome o, std::vector<RatingGroupResult> rgs) {
  store::ChargeResult r;
  r.decision.outcome = o;
  r.decision.results = std::move(rgs);
  r.policy.hotline_url = "http://portal/topup";
  r.policy.restriction_filter_id = "restricted";
  r.policy.hotline_denied_result_code = 4010;
  r.policy.hotline_limit_reached_result_code = 4012;
  return r;
}

RatingGroupResult granted(std::uint32_t rg, Unit unit, std::uint64_t units, bool final_units = false) {
  Grant g;
  g.unit = unit;
  g.units = units;
  g.validity_time = 600;
  g.final_units = final_units;
  g.volume_quota_threshold = MiB;
  g.quota_holding_time = 300;
  g.quota_consumption_time = 30;
  return RatingGroupResult{rg, RgStatus::Granted, g, std::nullopt};
}

TEST(GyAnswer, GrantFollowsTariffUnitAndPolicyTimers) {
  auto c = ccr(RequestType::Initial, 0);
  c.mscc = {mscc(10), mscc(20)};
  auto r = result(Outcome::Success, {granted(10, Unit::OctetsTotal, 10 * MiB), granted(20, Unit::Seconds, 300)});
  r.decision.results[1].grant->volume_quota_threshold.reset();
  r.decision.results[1].grant->time_quota_threshold = 60;
  const auto a = to_cca(c, r, {});
  EXPECT_EQ(a.result_code, kSuccess);
  EXPECT_EQ(a.request_type, 1u);
  ASSERT_EQ(a.mscc.size(), 2u);
  EXPECT_EQ(a.mscc[0].rating_group, 10u);
  EXPECT_EQ(a.mscc[0].granted->total_octets, 10 * MiB);
  EXPECT_EQ(a.mscc[0].granted->time, std::nullopt);
  EXPECT_EQ(a.mscc[0].validity_time, 600u);
  EXPECT_EQ(a.mscc[0].volume_quota_threshold, MiB);
  EXPECT_EQ(a.mscc[0].quota_holding_time, 300u);
  EXPECT_EQ(a.mscc[0].quota_consumption_time, 30u);
  EXPECT_FALSE(a.mscc[0].final_unit);
  EXPECT_EQ(a.mscc[1].granted->time, 300u);
  EXPECT_EQ(a.mscc[1].time_quota_threshold, 60u);
  EXPECT_EQ(a.mscc[1].volume_quota_threshold, std::nullopt);
}

TEST(GyAnswer, FinalUnitsCarryThePolicyAction) {
  auto c = ccr(RequestType::Update, 2);
  c.mscc = {mscc(10)};
  auto r = result(Outcome::Success, {granted(10, Unit::OctetsTotal, MiB, true)});
  for (auto [action, url, filter] :
       {std::tuple{FinalUnitAction::Terminate, false, false}, std::tuple{FinalUnitAction::Redirect, true, false},
        std::tuple{FinalUnitAction::RestrictAccess, false, true}}) {
    r.policy.final_unit_action = action;
    const auto a = to_cca(c, r, {});
    ASSERT_TRUE(a.mscc.at(0).final_unit);
    EXPECT_EQ(a.mscc[0].final_unit->action, action);
    EXPECT_EQ(a.mscc[0].final_unit->redirect_url.has_value(), url);
    EXPECT_EQ(a.mscc[0].final_unit->filter_id.has_value(), filter);
  }
}

TEST(GyAnswer, HotlinedGetsRedirectAndValidityWithoutGrant) {
  auto c = ccr(RequestType::Initial, 0);
  c.mscc = {mscc(10)};
  const auto a = to_cca(c, result(Outcome::Hotlined, {RatingGroupResult{10, RgStatus::Hotlined, std::nullopt, 120}}), {});
  EXPECT_EQ(a.result_code, kSuccess);
  const auto& m = a.mscc.at(0);
  EXPECT_EQ(m.result_code, kSuccess);
  EXPECT_FALSE(m.granted);
  EXPECT_EQ(m.validity_time, 120u);
  ASSERT_TRUE(m.final_unit);
  EXPECT_EQ(m.final_unit->action, FinalUnitAction::Redirect);
  EXPECT_EQ(m.final_unit->redirect_url, "http://portal/topup");
}

TEST(GyAnswer, PerRatingGroupFailuresStayInsideTheirMscc) {
  auto c = ccr(RequestType::Update, 1);
  c.mscc = {mscc(10), mscc(20), mscc(99)};
  const auto a = to_cca(c,
                        result(Outcome::Success, {granted(10, Unit::OctetsTotal, MiB),
                                                  RatingGroupResult{20, RgStatus::CreditLimitReached, {}, {}},
                                                  RatingGroupResult{99, RgStatus::RatingFailed, {}, {}}}),
                        {});
  EXPECT_EQ(a.result_code, kSuccess);
  EXPECT_EQ(a.mscc.at(1).result_code, 4012u);
  EXPECT_EQ(a.mscc.at(2).result_code, kRatingFailed);
}

TEST(GyAnswer, CommandLevelOutcomesUsePolicyCodes) {
  auto c = ccr(RequestType::Initial, 0);
  c.mscc = {mscc(10)};
  auto denied = result(Outcome::Denied, {});
  denied.policy.hotline_denied_result_code = 4241;
  EXPECT_EQ(to_cca(c, denied, {}).result_code, 4241u);
  EXPECT_TRUE(to_cca(c, denied, {}).mscc.empty());
  auto limit = result(Outcome::CreditLimitReached, {});
  limit.policy.hotline_limit_reached_result_code = 4999;
  EXPECT_EQ(to_cca(c, limit, {}).result_code, 4999u);
  EXPECT_EQ(to_cca(c, result(Outcome::RatingFailed, {}), {}).result_code, kRatingFailed);
  store::ChargeResult unknown;
  unknown.status = store::ChargeStatus::UserUnknown;
  EXPECT_EQ(to_cca(c, unknown, {}).result_code, kUserUnknown);
  unknown.status = store::ChargeStatus::UnknownSession;
  EXPECT_EQ(to_cca(c, unknown, {}).result_code, kUnknownSessionId);
}

TEST(GyAnswer, MsccMirrorsTheRequestIdentity) {
  auto c = ccr(RequestType::Initial, 0);
  CcrMscc m = mscc(std::nullopt);
  m.service_identifier = 7;
  c.mscc = {m};
  Options o;
  o.default_rating_group = 10;
  const auto a = to_cca(c, result(Outcome::Success, {granted(10, Unit::OctetsTotal, MiB)}), o);
  EXPECT_EQ(a.mscc.at(0).rating_group, std::nullopt);  // the client sent none
  EXPECT_EQ(a.mscc[0].service_identifier, 7u);
  EXPECT_EQ(a.mscc[0].granted->total_octets, MiB);
}

TEST(GyAnswer, TariffTimeChangeIsNtpTime) {
  // 2026-11-23 08:00:00 UTC = 1795420800 Unix.
  EXPECT_EQ(to_ntp(TimePoint{std::chrono::seconds{1795420800}}), 1795420800u + 2208988800u);
  auto c = ccr(RequestType::Initial, 0);
  c.mscc = {mscc(10)};
  auto r = result(Outcome::Success, {granted(10, Unit::OctetsTotal, MiB)});
  r.decision.results[0].grant->tariff_time_change = TimePoint{std::chrono::seconds{1795420800}};
  EXPECT_EQ(to_cca(c, r, {}).mscc.at(0).tariff_time_change, 1795420800u + 2208988800u);
}

TEST(GyAnswer, CheckBalanceSaysEnoughOrNoCreditWithoutMscc) {
  auto c = ccr(RequestType::Event, 4);
  c.requested_action = 2;
  c.mscc = {mscc(30)};
  Cca a = to_cca(c, result(Outcome::Success, {granted(30, Unit::Events, 1)}), {});
  EXPECT_EQ(a.result_code, kSuccess);
  EXPECT_EQ(a.check_balance_result, kEnoughCredit);
  EXPECT_TRUE(a.mscc.empty());  // no grant: nothing was debited
  EXPECT_FALSE(a.cost_information);
  EXPECT_EQ(a.request_number, 4u);
  for (Outcome o : {Outcome::CreditLimitReached, Outcome::Hotlined}) {
    a = to_cca(c, result(o, {{30, RgStatus::CreditLimitReached, std::nullopt, std::nullopt}}), {});
    EXPECT_EQ(a.result_code, kSuccess);
    EXPECT_EQ(a.check_balance_result, kNoCredit);
  }
  a = to_cca(c, result(Outcome::Denied, {}), {});
  EXPECT_EQ(a.result_code, 4010u);  // the policy's denied code
  EXPECT_FALSE(a.check_balance_result);
  EXPECT_EQ(to_cca(c, result(Outcome::RatingFailed, {}), {}).result_code, kRatingFailed);
}

TEST(GyAnswer, PriceEnquiryAnswersTheSumInTheCurrencysMinorUnit) {
  auto c = ccr(RequestType::Event, 0);
  c.requested_action = 3;
  c.mscc = {mscc(30), mscc(40)};
  // The price whatever the balance: also when the debit could not be afforded.
  auto r = result(Outcome::CreditLimitReached, {});
  r.prices = {{30, 125}, {40, 2}};
  r.currency = "EUR";
  r.currency_exponent = 2;
  Cca a = to_cca(c, r, {});
  EXPECT_EQ(a.result_code, kSuccess);
  ASSERT_TRUE(a.cost_information);
  EXPECT_EQ(a.cost_information->value_digits, 127);  // 1.27 EUR
  EXPECT_EQ(a.cost_information->exponent, -2);
  EXPECT_EQ(a.cost_information->currency_code, 978u);
  EXPECT_TRUE(a.mscc.empty());
  r.currency = "JPY";
  r.currency_exponent = 0;
  a = to_cca(c, r, {});
  EXPECT_EQ(a.cost_information->exponent, 0);
  EXPECT_EQ(a.cost_information->currency_code, 392u);
  r.currency = "XYZ";  // an operator's own currency: no ISO 4217 number to send
  EXPECT_EQ(to_cca(c, r, {}).result_code, kUnableToComply);
  r.currency = "EUR";
  r.prices[1].cost.reset();  // no tariff for rating group 40
  EXPECT_EQ(to_cca(c, r, {}).result_code, kRatingFailed);
  EXPECT_EQ(to_cca(c, result(Outcome::Denied, {}), {}).result_code, 4010u);
}

TEST(GyAnswer, TerminationAnswerHasNoMscc) {
  auto c = ccr(RequestType::Termination, 5);
  c.mscc = {mscc(10, std::nullopt)};
  const auto a = to_cca(c, result(Outcome::Success, {RatingGroupResult{10, RgStatus::NoGrantRequested, {}, {}}}), {});
  EXPECT_EQ(a.result_code, kSuccess);
  EXPECT_TRUE(a.mscc.empty());
  EXPECT_EQ(a.request_number, 5u);
}

}  // namespace
}  // namespace ocs::gy
