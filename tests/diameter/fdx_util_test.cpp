// src/diameter/fdx_util.hpp inside the real daemon, through the test-only
// extension tests/diameter/probe/ocs_test_probe.cpp: reading grouped AVPs,
// building answers, and guard_request turning exceptions into 5012.
#include <gtest/gtest.h>

#include "baseline_fixture.hpp"

namespace ocs::test {
namespace {

using dia::Avp;
using dia::Message;
namespace code = dia::code;

class FdxUtilTest : public BaselineTest {
 protected:
  FdDaemonOptions options() override {
    FdDaemonOptions o = baseline_daemon_options();
    o.extensions.back() = {OCS_TEST_PROBE_FDX, {}};  // instead of ocs_baseline
    return o;
  }
};

TEST_F(FdxUtilTest, ReadsGroupedAvpsAndBuildsGroupedAnswers) {
  auto peer = connect("pgw.localdomain");
  Message ccr = make_ccr(*peer, peer->new_session_id(), 2, 1);
  ccr.add(Avp::grouped(code::SubscriptionId, {Avp::u32(code::SubscriptionIdType, 0), Avp::str(444, "491700000001")}))
      .add(
          Avp::grouped(code::SubscriptionId, {Avp::u32(code::SubscriptionIdType, 1), Avp::str(444, "001010000000001")}))
      .add(Avp::grouped(code::Mscc, {Avp::u32(code::RatingGroup, 10),
                                     Avp::grouped(code::Usu, {Avp::u64(code::CcInputOctets, 5'000'000'000ull)})}))
      .add(Avp::grouped(code::Mscc, {Avp::u32(code::RatingGroup, 20)}));
  auto cca = peer->request(ccr);
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
  EXPECT_EQ(cca->find(code::CcRequestType)->as_u32(), 2u);
  EXPECT_EQ(cca->find(code::CcRequestNumber)->as_u32(), 1u);
  const auto msccs = cca->find_all(code::Mscc);
  ASSERT_EQ(msccs.size(), 2u);
  const std::pair<std::uint32_t, std::uint64_t> expected[] = {{10u, 5'000'000'001ull}, {20u, 1u}};
  for (std::size_t i = 0; i < 2; ++i) {
    auto rg = msccs[i]->child(code::RatingGroup);
    auto gsu = msccs[i]->child(code::Gsu);
    ASSERT_TRUE(rg && gsu);
    auto total = gsu->child(code::CcTotalOctets);
    ASSERT_TRUE(total);
    EXPECT_EQ(rg->as_u32(), expected[i].first);
    EXPECT_EQ(total->as_u64(), expected[i].second);
  }
  const Avp* em = cca->find(281);  // Error-Message
  ASSERT_NE(em, nullptr);
  EXPECT_EQ(em->as_str(), "peer=pgw.localdomain;imsi=001010000000001");
}

TEST_F(FdxUtilTest, ExceptionBeforeAnsweringBecomesUnableToComply) {
  auto peer = connect();
  auto ans = peer->request(make_ccr(*peer, peer->new_session_id("throw-before"), 1, 0));
  ASSERT_TRUE(ans) << "the request must be answered, not dropped";
  EXPECT_EQ(ans->result_code(), 5012u);
  EXPECT_EQ(ans->find_all(code::ResultCode).size(), 1u);
  EXPECT_NE(daemon().log().find("probe: thrown before answering"), std::string::npos);
}

TEST_F(FdxUtilTest, ExceptionWithAHalfBuiltAnswerBecomesUnableToComply) {
  auto peer = connect();
  const std::string sid = peer->new_session_id("throw-after");
  auto ans = peer->request(make_ccr(*peer, sid, 1, 0));
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->result_code(), 5012u);
  EXPECT_EQ(ans->find_all(code::ResultCode).size(), 1u) << "the half-built answer must be discarded";
  EXPECT_EQ(ans->find(code::CcRequestType), nullptr);
  EXPECT_EQ(ans->avps.front().as_str(), sid);
  // The daemon goes on serving.
  auto ok = peer->request(make_ccr(*peer, peer->new_session_id(), 1, 0));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_code(), 2001u);
}

}  // namespace
}  // namespace ocs::test
