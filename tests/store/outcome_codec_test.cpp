// The stored answer format: a round trip keeps every field, and malformed
// text is refused with StoreError(Invalid). No database needed.
#include "ocs/store/outcome_codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ocs::store {
namespace {

TimePoint at(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

/// A result with every optional field set and awkward strings.
ChargeResult full_result() {
  ChargeResult r;
  r.status = ChargeStatus::Ok;
  r.replayed = true;  // not stored
  r.subscriber_id = 42;
  r.subscriber = "alice=bob\nline two\\ \r\t end";
  CreditDecision& d = r.decision;
  d.outcome = Outcome::Hotlined;
  d.credit_exhausted = true;
  d.session_closed = true;
  d.released = {10, 4294967295u};

  RatingGroupResult granted;
  granted.rating_group = 10;
  granted.status = RgStatus::Granted;
  granted.validity_time = 77;
  Grant g;
  g.unit = Unit::OctetsInput;
  g.units = 18446744073709551615ull;
  g.validity_time = 600;
  g.tariff_time_change = at(1709557200);
  g.final_units = true;
  g.volume_quota_threshold = 1000;
  g.time_quota_threshold = 30;
  g.quota_holding_time = 40;
  g.quota_consumption_time = 50;
  granted.grant = g;
  RatingGroupResult hotlined;
  hotlined.rating_group = 20;
  hotlined.status = RgStatus::Hotlined;
  d.results = {granted, hotlined};

  Debit debit;
  debit.rating_group = 10;
  debit.unit = Unit::Seconds;
  debit.units = 65;
  debit.cost = -3;  // negative survives too
  debit.bucket_uses = {{7, 60}, {8, 5}};
  debit.reported.total_octets = 1;
  debit.reported.input_octets = 2;
  debit.reported.output_octets = 3;
  debit.reported.seconds = 65;
  debit.reported.events = 0;
  debit.usage_start = at(-5);
  debit.rated = false;
  d.debits = {debit, Debit{}};

  Reservation res;
  res.rating_group = 10;
  res.unit = Unit::Events;
  res.granted_units = 9;
  res.money = 450;
  res.bucket_holds = {{7, 1}};
  res.granted_at = at(1709553600);
  res.tariff_change_at = at(1709557200);
  d.reservations = {res, Reservation{}};

  Policy& p = r.policy;
  p.id = 3;
  p.name = "gold [vip]";
  p.volume_quota_threshold = 5;
  p.time_quota_threshold = 6;
  p.quota_holding_time = 7;
  p.quota_consumption_time = 8;
  p.validity_time = 900;
  p.hotline_denied_result_code = 4011;
  p.hotline_limit_reached_result_code = 4013;
  p.rating_group_in_disconnect = true;
  p.tariff_time_change = true;
  p.home_plmn_e212_match = "310-210";
  p.rate_limit_up_kbps = 1024;
  p.rate_limit_down_kbps = 4096;
  p.rate_limit_scaling_percent = 150;
  p.final_unit_action = FinalUnitAction::Redirect;
  p.hotline_url = "http://portal.example/?a=b&c=d";
  p.restriction_filter_id = "filter\n1";
  p.hotline_validity_time = 120;
  p.supervision_time = 1800;
  p.ignore_requested_units = true;
  return r;
}

void expect_same_grant(const std::optional<Grant>& a, const std::optional<Grant>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->unit, b->unit);
  EXPECT_EQ(a->units, b->units);
  EXPECT_EQ(a->validity_time, b->validity_time);
  EXPECT_EQ(a->tariff_time_change, b->tariff_time_change);
  EXPECT_EQ(a->final_units, b->final_units);
  EXPECT_EQ(a->volume_quota_threshold, b->volume_quota_threshold);
  EXPECT_EQ(a->time_quota_threshold, b->time_quota_threshold);
  EXPECT_EQ(a->quota_holding_time, b->quota_holding_time);
  EXPECT_EQ(a->quota_consumption_time, b->quota_consumption_time);
}

void expect_same_debit(const Debit& a, const Debit& b) {
  EXPECT_EQ(a.rating_group, b.rating_group);
  EXPECT_EQ(a.unit, b.unit);
  EXPECT_EQ(a.units, b.units);
  EXPECT_EQ(a.cost, b.cost);
  EXPECT_EQ(a.bucket_uses, b.bucket_uses);
  EXPECT_EQ(a.reported.total_octets, b.reported.total_octets);
  EXPECT_EQ(a.reported.input_octets, b.reported.input_octets);
  EXPECT_EQ(a.reported.output_octets, b.reported.output_octets);
  EXPECT_EQ(a.reported.seconds, b.reported.seconds);
  EXPECT_EQ(a.reported.events, b.reported.events);
  EXPECT_EQ(a.usage_start, b.usage_start);
  EXPECT_EQ(a.rated, b.rated);
}

void expect_same_policy(const Policy& a, const Policy& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.volume_quota_threshold, b.volume_quota_threshold);
  EXPECT_EQ(a.time_quota_threshold, b.time_quota_threshold);
  EXPECT_EQ(a.quota_holding_time, b.quota_holding_time);
  EXPECT_EQ(a.quota_consumption_time, b.quota_consumption_time);
  EXPECT_EQ(a.validity_time, b.validity_time);
  EXPECT_EQ(a.hotline_denied_result_code, b.hotline_denied_result_code);
  EXPECT_EQ(a.hotline_limit_reached_result_code, b.hotline_limit_reached_result_code);
  EXPECT_EQ(a.rating_group_in_disconnect, b.rating_group_in_disconnect);
  EXPECT_EQ(a.tariff_time_change, b.tariff_time_change);
  EXPECT_EQ(a.home_plmn_e212_match, b.home_plmn_e212_match);
  EXPECT_EQ(a.rate_limit_up_kbps, b.rate_limit_up_kbps);
  EXPECT_EQ(a.rate_limit_down_kbps, b.rate_limit_down_kbps);
  EXPECT_EQ(a.rate_limit_scaling_percent, b.rate_limit_scaling_percent);
  EXPECT_EQ(a.final_unit_action, b.final_unit_action);
  EXPECT_EQ(a.hotline_url, b.hotline_url);
  EXPECT_EQ(a.restriction_filter_id, b.restriction_filter_id);
  EXPECT_EQ(a.hotline_validity_time, b.hotline_validity_time);
  EXPECT_EQ(a.supervision_time, b.supervision_time);
  EXPECT_EQ(a.ignore_requested_units, b.ignore_requested_units);
}

void expect_same(const ChargeResult& a, const ChargeResult& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.subscriber_id, b.subscriber_id);
  EXPECT_EQ(a.subscriber, b.subscriber);
  const CreditDecision& x = a.decision;
  const CreditDecision& y = b.decision;
  EXPECT_EQ(x.outcome, y.outcome);
  EXPECT_EQ(x.credit_exhausted, y.credit_exhausted);
  EXPECT_EQ(x.session_closed, y.session_closed);
  EXPECT_EQ(x.released, y.released);
  ASSERT_EQ(x.results.size(), y.results.size());
  for (std::size_t i = 0; i < x.results.size(); ++i) {
    EXPECT_EQ(x.results[i].rating_group, y.results[i].rating_group);
    EXPECT_EQ(x.results[i].status, y.results[i].status);
    EXPECT_EQ(x.results[i].validity_time, y.results[i].validity_time);
    expect_same_grant(x.results[i].grant, y.results[i].grant);
  }
  ASSERT_EQ(x.debits.size(), y.debits.size());
  for (std::size_t i = 0; i < x.debits.size(); ++i) expect_same_debit(x.debits[i], y.debits[i]);
  EXPECT_EQ(x.reservations, y.reservations);
  expect_same_policy(a.policy, b.policy);
}

TEST(OutcomeCodec, RoundTripKeepsEveryField) {
  const ChargeResult original = full_result();
  const std::string text = encode_outcome(original);
  ASSERT_EQ(text.rfind("v1\n", 0), 0u) << text;
  const ChargeResult back = decode_outcome(text);
  EXPECT_FALSE(back.replayed);
  expect_same(original, back);
  EXPECT_EQ(encode_outcome(back), text);
}

TEST(OutcomeCodec, RoundTripWithOptionalsAbsent) {
  ChargeResult original;  // defaults: no grant, no optional policy fields
  original.status = ChargeStatus::UnknownSession;
  RatingGroupResult bare;
  bare.rating_group = 1;
  bare.status = RgStatus::NoGrantRequested;
  original.decision.results = {bare};
  const ChargeResult back = decode_outcome(encode_outcome(original));
  expect_same(original, back);
  EXPECT_FALSE(back.decision.results[0].grant);
  EXPECT_FALSE(back.policy.hotline_url);
  EXPECT_FALSE(back.policy.supervision_time);
}

TEST(OutcomeCodec, StringsAreEscapedOnOneLine) {
  ChargeResult r;
  r.subscriber = "a\nb=c\\d";
  const std::string text = encode_outcome(r);
  EXPECT_NE(text.find("subscriber=a\\nb=c\\\\d\n"), std::string::npos) << text;
}

void expect_invalid(const std::string& text) {
  try {
    decode_outcome(text);
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::Invalid) << e.what();
  }
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(OutcomeCodec, RejectsMalformedText) {
  const std::string good = encode_outcome(full_result());
  expect_invalid("");
  expect_invalid("v2\n" + good.substr(3));
  expect_invalid(good.substr(0, good.size() - 1));                          // no final newline
  expect_invalid(replace_once(good, "status=ok\n", ""));                    // missing key
  expect_invalid(replace_once(good, "status=ok\n", "status=ok\nstatus=ok\n"));  // repeated key
  expect_invalid(replace_once(good, "status=ok\n", "status=fine\n"));       // unknown name
  expect_invalid(replace_once(good, "subscriber_id=42", "subscriber_id=4x2"));
  expect_invalid(replace_once(good, "subscriber_id=42", "subscriber_id= 42"));
  expect_invalid(replace_once(good, "validity_time=900", "validity_time=-900"));
  expect_invalid(replace_once(good, "validity_time=900", "validity_time=99999999999"));
  expect_invalid(replace_once(good, "session_closed=true", "session_closed=yes"));
  expect_invalid(replace_once(good, "[policy]", "[policies]"));
  expect_invalid(replace_once(good, "[policy]", "[policy]\ncolour=red"));  // unknown key
  expect_invalid(replace_once(good, "[debit]", "[debit]\n"));              // empty line
  expect_invalid(replace_once(good, "bucket_use=7:60", "bucket_use=760"));
  expect_invalid(replace_once(good, "subscriber=alice", "subscriber=al\\qice"));
  expect_invalid(replace_once(good, "subscriber=alice", "subscriber=alice\\"));
  expect_invalid(replace_once(good, "subscriber=alice", "subscriber=alice\\x4"));
  expect_invalid(replace_once(good, "grant.unit=octets_in\n", ""));       // stray grant.* keys
  expect_invalid(replace_once(good, "[policy]\n", ""));                    // policy keys at top
  const auto policy_at = good.find("[policy]");
  const auto result_at = good.find("[result]");
  const std::string policy = good.substr(policy_at, result_at - policy_at);
  expect_invalid(good + policy);  // two policies
  expect_invalid(good.substr(0, policy_at) + good.substr(result_at));  // no policy
}

}  // namespace
}  // namespace ocs::store
