// The stored answer format: a round trip keeps every field an answer is
// built from, texts of version 1 are still read, and malformed text is
// refused with StoreError(Invalid). No database needed.
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

/// Every field an answer is built from; with `writes`, also what the request
/// wrote (released, debits, reservations: version 1 only).
void expect_same(const ChargeResult& a, const ChargeResult& b, bool writes) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.subscriber_id, b.subscriber_id);
  EXPECT_EQ(a.subscriber, b.subscriber);
  const CreditDecision& x = a.decision;
  const CreditDecision& y = b.decision;
  EXPECT_EQ(x.outcome, y.outcome);
  EXPECT_EQ(x.credit_exhausted, y.credit_exhausted);
  EXPECT_EQ(x.session_closed, y.session_closed);
  ASSERT_EQ(x.results.size(), y.results.size());
  for (std::size_t i = 0; i < x.results.size(); ++i) {
    EXPECT_EQ(x.results[i].rating_group, y.results[i].rating_group);
    EXPECT_EQ(x.results[i].status, y.results[i].status);
    EXPECT_EQ(x.results[i].validity_time, y.results[i].validity_time);
    expect_same_grant(x.results[i].grant, y.results[i].grant);
  }
  expect_same_policy(a.policy, b.policy);
  if (!writes) return;
  EXPECT_EQ(x.released, y.released);
  ASSERT_EQ(x.debits.size(), y.debits.size());
  for (std::size_t i = 0; i < x.debits.size(); ++i) expect_same_debit(x.debits[i], y.debits[i]);
  EXPECT_EQ(x.reservations, y.reservations);
}

/// full_result() as the version 1 encoder stored it (the code up to c99e0fd).
const std::string kFullResultV1 = R"(v1
status=ok
subscriber_id=42
subscriber=alice=bob\nline two\\ \r\x09 end
outcome=hotlined
credit_exhausted=true
session_closed=true
released=10
released=4294967295
[policy]
id=3
name=gold [vip]
volume_quota_threshold=5
time_quota_threshold=6
quota_holding_time=7
quota_consumption_time=8
validity_time=900
hotline_denied_result_code=4011
hotline_limit_reached_result_code=4013
rating_group_in_disconnect=true
tariff_time_change=true
home_plmn_e212_match=310-210
rate_limit_up_kbps=1024
rate_limit_down_kbps=4096
rate_limit_scaling_percent=150
final_unit_action=redirect
hotline_url=http://portal.example/?a=b&c=d
restriction_filter_id=filter\n1
hotline_validity_time=120
supervision_time=1800
ignore_requested_units=true
[result]
rating_group=10
status=granted
validity_time=77
grant.unit=octets_in
grant.units=18446744073709551615
grant.validity_time=600
grant.tariff_time_change=1709557200
grant.final_units=true
grant.volume_quota_threshold=1000
grant.time_quota_threshold=30
grant.quota_holding_time=40
grant.quota_consumption_time=50
[result]
rating_group=20
status=hotlined
[debit]
rating_group=10
unit=seconds
units=65
cost=-3
bucket_use=7:60
bucket_use=8:5
reported.total_octets=1
reported.input_octets=2
reported.output_octets=3
reported.seconds=65
reported.events=0
usage_start=-5
rated=false
[debit]
rating_group=0
unit=octets_total
units=0
cost=0
usage_start=0
rated=true
[reservation]
rating_group=10
unit=events
granted_units=9
money=450
bucket_hold=7:1
granted_at=1709553600
tariff_change_at=1709557200
[reservation]
rating_group=0
unit=octets_total
granted_units=0
money=0
granted_at=0
)";

TEST(OutcomeCodec, RoundTripKeepsEveryFieldOfTheAnswer) {
  const ChargeResult original = full_result();
  const std::string text = encode_outcome(original);
  ASSERT_EQ(text.rfind("v2\n", 0), 0u) << text;
  const ChargeResult back = decode_outcome(text);
  EXPECT_FALSE(back.replayed);
  expect_same(original, back, false);
  EXPECT_EQ(encode_outcome(back), text);
}

TEST(OutcomeCodec, WhatTheRequestWroteIsNotStored) {
  const std::string text = encode_outcome(full_result());
  EXPECT_EQ(text.find("[debit]"), std::string::npos) << text;
  EXPECT_EQ(text.find("[reservation]"), std::string::npos) << text;
  EXPECT_EQ(text.find("released="), std::string::npos) << text;
  const ChargeResult back = decode_outcome(text);
  EXPECT_TRUE(back.decision.released.empty());
  EXPECT_TRUE(back.decision.debits.empty());
  EXPECT_TRUE(back.decision.reservations.empty());
  // The same result took 1,603 bytes in version 1.
  EXPECT_LT(text.size(), kFullResultV1.size() * 3 / 4) << text.size();
}

TEST(OutcomeCodec, ReadsVersion1Texts) {
  const ChargeResult back = decode_outcome(kFullResultV1);
  EXPECT_FALSE(back.replayed);
  expect_same(full_result(), back, true);
  // Written again, it is the version 2 text of the same answer.
  EXPECT_EQ(encode_outcome(back), encode_outcome(full_result()));
}

TEST(OutcomeCodec, RoundTripWithOptionalsAbsent) {
  ChargeResult original;  // defaults: no grant, no optional policy fields
  original.status = ChargeStatus::UnknownSession;
  RatingGroupResult bare;
  bare.rating_group = 1;
  bare.status = RgStatus::NoGrantRequested;
  original.decision.results = {bare};
  const ChargeResult back = decode_outcome(encode_outcome(original));
  expect_same(original, back, false);
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
  expect_invalid("v3\n" + good.substr(3));
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
  expect_invalid(replace_once(good, "[policy]", "\n[policy]"));            // empty line
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
  // What only version 1 held is refused in version 2.
  const auto v1_debit_at = kFullResultV1.find("[debit]");
  expect_invalid(good + kFullResultV1.substr(v1_debit_at));
  expect_invalid(replace_once(good, "session_closed=true\n", "session_closed=true\nreleased=10\n"));
  // Version 1 texts are checked as strictly.
  EXPECT_NO_THROW(decode_outcome(kFullResultV1));
  expect_invalid(replace_once(kFullResultV1, "[debit]", "[debit]\n"));  // empty line
  expect_invalid(replace_once(kFullResultV1, "bucket_use=7:60", "bucket_use=760"));
  expect_invalid(replace_once(kFullResultV1, "released=10\n", "released=ten\n"));
  expect_invalid(replace_once(kFullResultV1, "[reservation]", "[reservations]"));
}

}  // namespace
}  // namespace ocs::store
