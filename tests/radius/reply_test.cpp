// The PortaBilling template engine and the vendor dialects (pure code).
#include "ocs/radius/reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocs::radius {
namespace {

struct ExpandCase {
  const char* text;
  TemplateVars vars;
  const char* expected;  // nullptr: refused
};

TEST(TemplateTest, ExpandsThePortaBillingOperators) {
  const std::vector<ExpandCase> cases = {
      {"plain", {}, "plain"},
      {"${name}", {{"name", "gold"}}, "gold"},
      {"${name}", {}, ""},
      {"${name:-basic}", {}, "basic"},
      {"${name:-basic}", {{"name", "gold"}}, "gold"},
      {"${name:-basic}", {{"name", ""}}, "basic"},  // empty = not defined
      {"${hotlining:+LIMITED}${hotlining:?NORMAL}", {{"hotlining", "1"}}, "LIMITED"},
      {"${hotlining:+LIMITED}${hotlining:?NORMAL}", {}, "NORMAL"},
      {"${hotlining:?$NORMAL}", {}, "NORMAL"},  // the seed's own spelling
      {"${hotlining:?NORMAL}", {{"hotlining", "1"}}, ""},
      {"${pool:=P1}[${pool}]", {}, "[P1]"},  // := sets, outputs nothing
      {"${pool:=P1}[${pool}]", {{"pool", "P0"}}, "[P0]"},
      {"${type}-${name}", {{"type", "prepaid"}, {"name", "demo"}}, "prepaid-demo"},
      {"a$b", {}, "a$b"},
      {"trailing $", {}, "trailing $"},
      {"${name", {}, nullptr},
      {"${}", {}, nullptr},
      {"${name:}", {}, nullptr},
      {"${name:*x}", {}, nullptr},
  };
  for (const auto& c : cases) {
    TemplateVars vars = c.vars;
    std::string error;
    const auto out = expand_template(c.text, vars, &error);
    if (!c.expected) {
      EXPECT_FALSE(out) << c.text;
      EXPECT_FALSE(error.empty()) << c.text;
    } else {
      ASSERT_TRUE(out) << c.text << ": " << error;
      EXPECT_EQ(*out, c.expected) << c.text;
    }
  }
}

TEST(TemplateTest, ParsesResponseLines) {
  using Op = ResponseLine::Op;
  struct Case {
    const char* line;
    std::optional<ResponseLine> expected;
  };
  const std::vector<Case> cases = {
      {"Framed-Pool=P", ResponseLine{"Framed-Pool", Op::AddIfAbsent, "P"}},
      {"Cisco-AVPair+=ip:addr-pool=x", ResponseLine{"Cisco-AVPair", Op::Append, "ip:addr-pool=x"}},
      {"Session-Timeout := 60", ResponseLine{"Session-Timeout", Op::Override, "60"}},
      {"Reply-Message=\"hi there\"", ResponseLine{"Reply-Message", Op::AddIfAbsent, "hi there"}},
      {"no operator", std::nullopt},
      {"=value", std::nullopt},
      {"Two Words=x", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_response_line(c.line), c.expected) << c.line;
}

class ResponseLinesTest : public ::testing::Test {
 protected:
  Dictionary dict = Dictionary::load(OCS_RADIUS_DICTIONARY);

  std::vector<std::string> formatted(const Packet& p) {
    std::vector<std::string> out;
    for (const auto& a : p.attributes) out.push_back(dict.format(a));
    return out;
  }
};

TEST_F(ResponseLinesTest, AddIfAbsentAppendAndOverride) {
  Packet reply;
  add_integer(reply, attr::SessionTimeout, 600);
  add_string(reply, attr::FramedPool, "NORMAL");
  TemplateVars vars{{"name", "demo"}};
  const auto problems = apply_response_lines(reply,
                                             {
                                                 "Framed-Pool=OTHER",               // present: unchanged
                                                 "Filter-Id=${name}-filter",        // absent: added
                                                 "Session-Timeout:=300",            // replaced in place
                                                 "Cisco-AVPair+=a=1",               // appended
                                                 "Cisco-AVPair+=b=2",               // appended again
                                                 "Reply-Message:=hello ${name}",    // override of absent = add
                                                 "Acct-Interim-Interval=${x:-120}"  // integer from template
                                             },
                                             vars, dict);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(formatted(reply), (std::vector<std::string>{
                                  "Session-Timeout = 300",
                                  "Framed-Pool = \"NORMAL\"",
                                  "Filter-Id = \"demo-filter\"",
                                  "Cisco-AVPair = \"a=1\"",
                                  "Cisco-AVPair = \"b=2\"",
                                  "Reply-Message = \"hello demo\"",
                                  "Acct-Interim-Interval = 120",
                              }));
}

TEST_F(ResponseLinesTest, OverrideReplacesEveryOccurrence) {
  Packet reply;
  reply.attributes.push_back(cisco_avpair_attribute("a", "1"));
  add_integer(reply, attr::SessionTimeout, 1);
  reply.attributes.push_back(cisco_avpair_attribute("b", "2"));
  TemplateVars vars;
  EXPECT_TRUE(apply_response_lines(reply, {"Cisco-AVPair:=c=3"}, vars, dict).empty());
  EXPECT_EQ(formatted(reply), (std::vector<std::string>{"Cisco-AVPair = \"c=3\"", "Session-Timeout = 1"}));
}

TEST_F(ResponseLinesTest, BadLinesAreSkippedAndReported) {
  Packet reply;
  TemplateVars vars;
  const auto problems = apply_response_lines(
      reply, {"No-Such-Attribute=1", "Session-Timeout=soon", "Framed-Pool=${x", "Framed-IP-Address=10.0.0.1",
              "Framed-IP-Address+=10.0.0.300", "Acct-Status-Type=Start"},
      vars, dict);
  EXPECT_EQ(problems.size(), 4U);
  EXPECT_EQ(formatted(reply),
            (std::vector<std::string>{"Framed-IP-Address = 10.0.0.1", "Acct-Status-Type = Start"}));
}

// --- vendor dialects ---------------------------------------------------------

class DialectTest : public ResponseLinesTest {};

TEST_F(DialectTest, TableOfVendors) {
  struct Case {
    const char* what;
    Authorization a;
    std::vector<std::string> expected;
  };
  auto base = [](NasVendor v) {
    Authorization a;
    a.vendor = v;
    a.rate_up_kbps = 20000;
    a.rate_down_kbps = 50000;
    a.rate_scaling_percent = 50;  // BQN scaling
    a.acct_interim_interval = 300;
    a.class_value = "ocs:1.2.3.4/s1";
    return a;
  };
  const std::uint64_t five_gib = 5ULL << 30;  // > 2^32: needs gigawords
  std::vector<Case> cases;
  {
    auto a = base(NasVendor::Mikrotik);
    a.quota_octets = five_gib + 7;
    cases.push_back({"mikrotik volume", a,
                     {"Mikrotik-Total-Limit = 1073741831", "Mikrotik-Total-Limit-Gigawords = 1",
                      "Mikrotik-Rate-Limit = \"10000k/25000k\"", "Acct-Interim-Interval = 300",
                      "Class = 0x6f63733a312e322e332e342f7331"}});
  }
  {
    auto a = base(NasVendor::Chillispot);
    a.quota_octets = 1000;
    a.address_pool = "NORMAL";
    cases.push_back({"chillispot volume", a,
                     {"ChilliSpot-Max-Total-Octets = 1000", "ChilliSpot-Bandwidth-Max-Up = 10000",
                      "ChilliSpot-Bandwidth-Max-Down = 25000", "Acct-Interim-Interval = 300",
                      "Framed-Pool = \"NORMAL\"", "Class = 0x6f63733a312e322e332e342f7331"}});
  }
  {
    auto a = base(NasVendor::Wispr);
    a.quota_seconds = 300;
    cases.push_back({"wispr time", a,
                     {"Session-Timeout = 300", "WISPr-Bandwidth-Max-Up = 10000000",
                      "WISPr-Bandwidth-Max-Down = 25000000", "Acct-Interim-Interval = 300",
                      "Class = 0x6f63733a312e322e332e342f7331"}});
  }
  {
    auto a = base(NasVendor::Cisco);
    a.quota_octets = five_gib;
    a.address_pool = "NORMAL";
    cases.push_back(
        {"cisco volume", a,
         {"Cisco-AVPair = \"crb-total-volume=5368709120\"",
          "Cisco-AVPair = \"lcp:interface-config=rate-limit input 10000000 8000 8000 conform-action transmit "
          "exceed-action drop\"",
          "Cisco-AVPair = \"lcp:interface-config=rate-limit output 25000000 8000 8000 conform-action transmit "
          "exceed-action drop\"",
          "Acct-Interim-Interval = 300", "Cisco-AVPair = \"ip:addr-pool=NORMAL\"", "Class = 0x6f63733a312e322e332e342f7331"}});
  }
  {
    Authorization a;
    a.vendor = NasVendor::Cisco;
    a.cisco_crb = true;
    a.quota_seconds = 600;
    cases.push_back({"cisco crb time", a, {"Cisco-AVPair = \"crb-duration=600\""}});
  }
  {
    auto a = base(NasVendor::Generic);
    a.quota_octets = 1000;  // no standard volume attribute
    a.quota_seconds = 60;
    cases.push_back({"generic", a,
                     {"Session-Timeout = 60", "Acct-Interim-Interval = 300", "Class = 0x6f63733a312e322e332e342f7331"}});
  }
  {
    auto a = base(NasVendor::Chillispot);
    a.quota_octets = 1000;  // ignored while hotlined
    a.hotlining = true;
    a.hotline_session_timeout = 300;
    a.address_pool = "LIMITED";
    a.redirect_url = "http://portal/topup";
    a.filter_id = "hotline";
    a.class_value.clear();
    cases.push_back({"chillispot hotline", a,
                     {"Session-Timeout = 300", "ChilliSpot-Bandwidth-Max-Up = 10000",
                      "ChilliSpot-Bandwidth-Max-Down = 25000", "Acct-Interim-Interval = 300",
                      "Framed-Pool = \"LIMITED\"", "Filter-Id = \"hotline\"",
                      "WISPr-Redirection-URL = \"http://portal/topup\""}});
  }
  {
    Authorization a;
    a.vendor = NasVendor::Cisco;
    a.hotlining = true;
    a.hotline_session_timeout = 60;
    a.address_pool = "LIMITED";
    a.redirect_url = "http://portal/topup";
    cases.push_back({"cisco hotline", a,
                     {"Session-Timeout = 60", "Cisco-AVPair = \"ip:addr-pool=LIMITED\"",
                      "Cisco-AVPair = \"url-redirect=http://portal/topup\""}});
  }
  {
    Authorization a;
    a.vendor = NasVendor::Mikrotik;
    a.hotlining = true;
    a.quota_seconds = 600;  // ignored while hotlined
    a.filter_id = "walled";
    cases.push_back({"mikrotik hotline", a, {"Filter-Id = \"walled\"", "Mikrotik-Address-List = \"hotline\""}});
  }
  for (const auto& c : cases) {
    Packet p;
    p.attributes = authorization_attributes(c.a);
    EXPECT_EQ(formatted(p), c.expected) << c.what;
  }
}

TEST_F(ResponseLinesTest, RateLimitAttributesAreThePolicysAfterTheTemplates) {
  Authorization a;
  a.vendor = NasVendor::Mikrotik;
  a.rate_up_kbps = 2000;
  a.rate_down_kbps = 8000;
  a.rate_scaling_percent = 50;
  a.quota_octets = 1000;  // not a rate: left out
  a.acct_interim_interval = 60;
  const TemplateVars vars{{"rate_up", "1000"}, {"rate_down", "4000"}};
  // The policy's own dialect, without templates.
  EXPECT_EQ(formatted(Packet{0, 0, {}, rate_limit_attributes(a, {}, vars, dict)}),
            std::vector<std::string>{"Mikrotik-Rate-Limit = \"1000k/4000k\""});
  // A template that rewrites the rate with bursts wins; other lines are not rates.
  const std::vector<std::string> lines = {"Mikrotik-Rate-Limit:=${rate_up}k/${rate_down}k 0/0 0/0 0/0 8",
                                          "Reply-Message+=Hello", "Mikrotik-Address-List=customers"};
  const auto with_bursts = rate_limit_attributes(a, lines, vars, dict);
  EXPECT_EQ(formatted(Packet{0, 0, {}, with_bursts}),
            std::vector<std::string>{"Mikrotik-Rate-Limit = \"1000k/4000k 0/0 0/0 0/0 8\""});
  // The digest tells them apart, is stable, and is "" for no limits.
  const std::string plain = rate_limit_digest(rate_limit_attributes(a, {}, vars, dict));
  EXPECT_EQ(plain.size(), 16U);
  EXPECT_NE(plain, rate_limit_digest(with_bursts));
  EXPECT_EQ(plain, rate_limit_digest(rate_limit_attributes(a, {}, vars, dict)));
  a.rate_down_kbps = 8002;
  EXPECT_NE(plain, rate_limit_digest(rate_limit_attributes(a, {}, vars, dict)));
  Authorization none;
  none.vendor = NasVendor::Mikrotik;
  EXPECT_TRUE(rate_limit_attributes(none, {}, vars, dict).empty());
  EXPECT_EQ(rate_limit_digest({}), "");
  // Cisco: only the rate-limit AVPairs.
  a.vendor = NasVendor::Cisco;
  a.rate_down_kbps = 8000;
  const auto cisco = rate_limit_attributes(a, {"Cisco-AVPair+=ip:addr-pool=x"}, vars, dict);
  ASSERT_EQ(cisco.size(), 2U);
  for (const auto& attribute : cisco) EXPECT_TRUE(is_rate_limit_attribute(attribute));
  EXPECT_FALSE(is_rate_limit_attribute(cisco_avpair_attribute("ip:addr-pool", "x")));
  EXPECT_FALSE(is_rate_limit_attribute(cisco_avpair_attribute("lcp:interface-config", "ip unnumbered lo0")));
}

TEST_F(ResponseLinesTest, UnlimitedRateAttributesPerVendor) {
  EXPECT_EQ(formatted(Packet{0, 0, {}, unlimited_rate_attributes(NasVendor::Mikrotik)}),
            std::vector<std::string>{"Mikrotik-Rate-Limit = \"0/0\""});
  EXPECT_EQ(unlimited_rate_attributes(NasVendor::Chillispot).size(), 2U);
  EXPECT_EQ(unlimited_rate_attributes(NasVendor::Wispr).size(), 2U);
  for (const auto& a : unlimited_rate_attributes(NasVendor::Wispr)) EXPECT_TRUE(is_rate_limit_attribute(a));
  EXPECT_TRUE(unlimited_rate_attributes(NasVendor::Cisco).empty());
  EXPECT_TRUE(unlimited_rate_attributes(NasVendor::Generic).empty());
}

TEST(ScaleRateTest, IntegerPercentages) {
  EXPECT_EQ(scale_rate(20000, 100), 20000U);
  EXPECT_EQ(scale_rate(20000, 50), 10000U);
  EXPECT_EQ(scale_rate(333, 33), 109U);  // rounded down
  EXPECT_EQ(scale_rate(1, 10), 1U);      // never 0 for a non-zero rate
  EXPECT_EQ(scale_rate(0, 50), 0U);
  EXPECT_EQ(scale_rate(1000, 250), 2500U);
}

TEST(CiscoAvpairTest, FindsByNameWithOrWithoutIndex) {
  Packet p;
  p.attributes.push_back(cisco_avpair_attribute("crb-auth-reason", "3"));
  p.attributes.push_back(cisco_avpair_attribute("lcp:interface-config#1", "x"));
  p.attributes.push_back(cisco_avpair_attribute("crb-total-volume", " 1024 "));
  EXPECT_EQ(cisco_avpair(p, "crb-auth-reason"), "3");
  EXPECT_EQ(cisco_avpair(p, "lcp:interface-config"), "x");
  EXPECT_EQ(cisco_avpair(p, "crb-total-volume"), "1024");
  EXPECT_FALSE(cisco_avpair(p, "crb-duration"));
}

TEST(NasVendorTest, RoundTrip) {
  for (auto v : {NasVendor::Generic, NasVendor::Mikrotik, NasVendor::Cisco, NasVendor::Chillispot, NasVendor::Wispr})
    EXPECT_EQ(nas_vendor_from_string(to_string(v)), v);
  EXPECT_FALSE(nas_vendor_from_string("juniper"));
}

}  // namespace
}  // namespace ocs::radius
