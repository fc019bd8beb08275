// plan_coa: what to send a NAS for each event, vendor and policy.
#include <gtest/gtest.h>

#include "ocs/radius/coa.hpp"

namespace ocs::radius {
namespace {

constexpr std::uint8_t kFilterId = 11;

CoaSession session(NasVendor vendor, bool with_framed_ip = true) {
  CoaSession s;
  s.user_name = "alice";
  s.acct_session_id = "8000001A";
  s.nas_ip = 0x7f000001;
  if (with_framed_ip) s.framed_ip = 0x0a000005;
  s.vendor = vendor;
  return s;
}

CoaPolicy hotline_policy() {
  CoaPolicy p;
  p.on_exhausted = CoaPolicy::OnExhausted::Hotline;
  p.hotline_filter_id = "hotline";
  p.normal_filter_id = "full";
  p.redirect_url = "https://portal.example/topup";
  return p;
}

void expect_identified(const Packet& p, bool with_framed_ip = true) {
  EXPECT_EQ(get_string(p, attr::UserName), "alice");
  EXPECT_EQ(get_string(p, 44), "8000001A");  // Acct-Session-Id
  EXPECT_EQ(get_ipaddr(p, 4), 0x7f000001u);  // NAS-IP-Address
  if (with_framed_ip)
    EXPECT_EQ(get_ipaddr(p, 8), 0x0a000005u);  // Framed-IP-Address
  else
    EXPECT_EQ(p.count(8), 0u);
}

TEST(PlanCoa, BlockDisconnectsWhateverThePolicy) {
  for (NasVendor v : {NasVendor::Generic, NasVendor::Mikrotik, NasVendor::Cisco, NasVendor::Chillispot,
                      NasVendor::Wispr}) {
    const CoaAction a = plan_coa(session(v), CoaEvent::Blocked, hotline_policy());
    EXPECT_EQ(a.kind, CoaAction::Kind::Disconnect) << to_string(v);
    EXPECT_EQ(a.request.code, code::DisconnectRequest);
    EXPECT_EQ(a.reason, "blocked");
    expect_identified(a.request);
    EXPECT_EQ(a.request.count(kFilterId), 0u);
  }
}

TEST(PlanCoa, ANasAtAnIpv6AddressIsNamedByNasIpv6Address) {
  CoaSession s = session(NasVendor::Mikrotik);
  s.nas_ipv6 = std::array<std::uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
  for (CoaEvent e : {CoaEvent::Blocked, CoaEvent::Exhausted, CoaEvent::TopupWhileHotlined}) {
    const Packet p = plan_coa(s, e, hotline_policy()).request;
    const Attribute* v6 = p.find(95);  // NAS-IPv6-Address (RFC 3162), 16 octets
    ASSERT_NE(v6, nullptr) << to_string(e);
    EXPECT_EQ(v6->value, std::vector<std::uint8_t>(s.nas_ipv6->begin(), s.nas_ipv6->end()));
    EXPECT_EQ(p.count(4), 0u);  // not NAS-IP-Address as well: the NAS must match every attribute
    EXPECT_EQ(get_ipaddr(p, 8), 0x0a000005u);
    EXPECT_TRUE(encode(p).ok());
  }
}

TEST(PlanCoa, RateChangedSendsTheRateLimitsInACoa) {
  CoaPolicy policy;
  EXPECT_EQ(plan_coa(session(NasVendor::Mikrotik), CoaEvent::RateChanged, policy).kind, CoaAction::Kind::None);
  policy.rate_limits = unlimited_rate_attributes(NasVendor::Mikrotik);
  const CoaAction a = plan_coa(session(NasVendor::Mikrotik), CoaEvent::RateChanged, policy);
  EXPECT_EQ(a.kind, CoaAction::Kind::Coa);
  EXPECT_EQ(a.request.code, code::CoaRequest);
  EXPECT_EQ(a.reason, "rate-limits");
  ASSERT_NE(a.request.find(8, vendor_id::Mikrotik), nullptr);
  EXPECT_EQ(as_string(*a.request.find(8, vendor_id::Mikrotik)), "0/0");
  EXPECT_EQ(a.request.find(kFilterId), nullptr);
  expect_identified(a.request, true);
  EXPECT_EQ(to_string(CoaEvent::RateChanged), "rate-changed");
}

TEST(PlanCoa, ExhaustedWithDisconnectPolicy) {
  const CoaAction a = plan_coa(session(NasVendor::Mikrotik), CoaEvent::Exhausted, CoaPolicy{});
  EXPECT_EQ(a.kind, CoaAction::Kind::Disconnect);
  EXPECT_EQ(a.reason, "exhausted");
}

TEST(PlanCoa, ExhaustedWithHotlinePolicyRestrictsByFilterId) {
  for (NasVendor v : {NasVendor::Generic, NasVendor::Mikrotik, NasVendor::Cisco}) {
    const CoaAction a = plan_coa(session(v, false), CoaEvent::Exhausted, hotline_policy());
    EXPECT_EQ(a.kind, CoaAction::Kind::Coa) << to_string(v);
    EXPECT_EQ(a.request.code, code::CoaRequest);
    EXPECT_EQ(a.reason, "hotline");
    EXPECT_EQ(get_string(a.request, kFilterId), "hotline");
    expect_identified(a.request, false);
  }
}

TEST(PlanCoa, ExhaustedOnAHotspotRedirectsToThePortal) {
  for (NasVendor v : {NasVendor::Chillispot, NasVendor::Wispr}) {
    const CoaAction a = plan_coa(session(v), CoaEvent::Exhausted, hotline_policy());
    EXPECT_EQ(a.kind, CoaAction::Kind::Coa) << to_string(v);
    EXPECT_EQ(get_string(a.request, 4, 14122), "https://portal.example/topup");  // WISPr-Redirection-URL
    EXPECT_EQ(a.request.count(kFilterId), 0u);
  }
}

TEST(PlanCoa, HotlineWithoutARestrictionToApplyDisconnects) {
  CoaPolicy p = hotline_policy();
  p.hotline_filter_id.clear();
  p.redirect_url.clear();
  EXPECT_EQ(plan_coa(session(NasVendor::Generic), CoaEvent::Exhausted, p).kind, CoaAction::Kind::Disconnect);
  EXPECT_EQ(plan_coa(session(NasVendor::Wispr), CoaEvent::Exhausted, p).kind, CoaAction::Kind::Disconnect);
}

TEST(PlanCoa, TopupLiftsTheHotlineWithTheNormalFilter) {
  const CoaAction a = plan_coa(session(NasVendor::Cisco), CoaEvent::TopupWhileHotlined, hotline_policy());
  EXPECT_EQ(a.kind, CoaAction::Kind::Coa);
  EXPECT_EQ(a.reason, "lift-hotline");
  EXPECT_EQ(get_string(a.request, kFilterId), "full");
  expect_identified(a.request);
}

TEST(PlanCoa, TopupWithoutANormalFilterOrOnAHotspotReconnects) {
  CoaPolicy p = hotline_policy();
  p.normal_filter_id.clear();
  EXPECT_EQ(plan_coa(session(NasVendor::Generic), CoaEvent::TopupWhileHotlined, p).kind,
            CoaAction::Kind::Disconnect);
  const CoaAction hotspot = plan_coa(session(NasVendor::Chillispot), CoaEvent::TopupWhileHotlined, hotline_policy());
  EXPECT_EQ(hotspot.kind, CoaAction::Kind::Disconnect);
  EXPECT_EQ(hotspot.reason, "lift-hotline-by-reconnect");
}

TEST(PlanCoa, RequestsEncode) {
  const CoaAction a = plan_coa(session(NasVendor::Wispr), CoaEvent::Exhausted, hotline_policy());
  EXPECT_TRUE(encode(a.request).ok());
}

TEST(NasVendor, ParsesTheNasClientsVendorColumn) {
  EXPECT_EQ(nas_vendor_from_string("generic"), NasVendor::Generic);
  EXPECT_EQ(nas_vendor_from_string("mikrotik"), NasVendor::Mikrotik);
  EXPECT_EQ(nas_vendor_from_string("cisco"), NasVendor::Cisco);
  EXPECT_EQ(nas_vendor_from_string("chillispot"), NasVendor::Chillispot);
  EXPECT_EQ(nas_vendor_from_string("wispr"), NasVendor::Wispr);
  EXPECT_FALSE(nas_vendor_from_string("Cisco").has_value());
  EXPECT_EQ(to_string(NasVendor::Chillispot), "chillispot");
}

TEST(ErrorCause, Rfc5176Names) {
  EXPECT_EQ(error_cause_name(503), "Session-Context-Not-Found");
  EXPECT_EQ(error_cause_name(404), "Invalid-Request");
  EXPECT_EQ(error_cause_name(201), "Residual-Session-Context-Removed");
  EXPECT_EQ(error_cause_name(999), "Unknown");
}

}  // namespace
}  // namespace ocs::radius
