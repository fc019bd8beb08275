// Wireshark's Diameter dissector as a second opinion on the bytes: capture a
// CER/CEA and a CCR/CCA exchange with the baseline and require a clean
// capture. Needs capture rights (root in CI); skips only when tshark says it
// may not capture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baseline_fixture.hpp"
#include "tshark_capture.hpp"

namespace ocs::test {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(BaselineTest, CapturedGyExchangeDissectsCleanly) {
  std::unique_ptr<TsharkCapture> cap;
  try {
    cap = std::make_unique<TsharkCapture>(daemon().port());
  } catch (const CaptureUnavailable& e) {
    GTEST_SKIP() << e.what();
  }

  auto peer = connect();
  const std::string sid = peer->new_session_id("capture");
  auto cca = peer->request(make_ccr(*peer, sid, 1, 0));
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
  peer->close();
  cap->stop();

  EXPECT_THAT(cap->problems(), IsEmpty()) << "capture kept in " << cap->pcap_path()
                                          << " when OCS_KEEP_CAPTURE is set";
  EXPECT_EQ(cap->count("diameter.cmd.code == 257"), 2u) << "CER and CEA";
  EXPECT_EQ(cap->count("diameter.cmd.code == 272 && diameter.flags.request == 1"), 1u);
  EXPECT_EQ(cap->count("diameter.cmd.code == 272 && diameter.flags.request == 0 && diameter.Result-Code == 2001"),
            1u);
  EXPECT_EQ(cap->count("diameter.Session-Id == \"" + sid + "\""), 2u) << "CCR and CCA";
  EXPECT_EQ(cap->count("diameter.cmd.code == 282"), 2u) << "DPR and DPA";
}

// The check is not vacuous: a CCR whose CC-Request-Type has 5 bytes is
// reported (and freeDiameter answers it 5014 DIAMETER_INVALID_AVP_LENGTH).
TEST_F(BaselineTest, CaptureReportsAMalformedAvp) {
  std::unique_ptr<TsharkCapture> cap;
  try {
    cap = std::make_unique<TsharkCapture>(daemon().port());
  } catch (const CaptureUnavailable& e) {
    GTEST_SKIP() << e.what();
  }
  auto peer = connect();
  dia::Message ccr = make_ccr(*peer, peer->new_session_id(), 1, 0);
  for (auto& a : ccr.avps)
    if (a.code == dia::code::CcRequestType) a.data.push_back(0);
  auto ans = peer->request(ccr);
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->result_code(), 5014u);
  peer->close();

  const auto problems = cap->problems();
  EXPECT_THAT(problems, Contains(HasSubstr("Bad Integer32 Length (5)")));
}

}  // namespace
}  // namespace ocs::test
