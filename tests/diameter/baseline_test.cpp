// The real freeDiameterd 1.2.1 with dict_ocs.fdx and ocs_baseline.fdx,
// driven by the project's own client: what the framework does before and
// around our handlers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "baseline_fixture.hpp"

namespace ocs::test {
namespace {

using dia::Avp;
using dia::Message;
namespace code = dia::code;
using ::testing::HasSubstr;

std::uint32_t u32_of(const Message& m, std::uint32_t c, std::uint32_t vendor = 0) {
  const Avp* a = m.find(c, vendor);
  if (!a) throw std::runtime_error("AVP " + std::to_string(c) + " missing");
  return a->as_u32();
}

TEST_F(BaselineTest, CapabilitiesExchangeAdvertisesGyAndGx) {
  auto peer = connect();  // throws unless the CEA says 2001
  const Message& cea = peer->capabilities_answer();
  EXPECT_EQ(cea.result_code(), 2001u);
  ASSERT_NE(cea.find(code::OriginHost), nullptr);
  EXPECT_EQ(cea.find(code::OriginHost)->as_str(), "ocs.localdomain");
  EXPECT_EQ(cea.find(code::OriginRealm)->as_str(), "localdomain");

  bool gy = false;
  for (const Avp* a : cea.find_all(code::AuthApplicationId)) gy = gy || a->as_u32() == kGyApp;
  EXPECT_TRUE(gy) << "Auth-Application-Id 4 not advertised";

  bool gx = false;
  for (const Avp* vsai : cea.find_all(code::VendorSpecificApplicationId)) {
    auto vendor = vsai->child(code::VendorId);
    auto app = vsai->child(code::AuthApplicationId);
    gx = gx || (vendor && app && vendor->as_u32() == k3gpp && app->as_u32() == kGxApp);
  }
  EXPECT_TRUE(gx) << "Vendor-Specific-Application-Id {10415, 16777238} not advertised";
  // NoRelay: the relay application must not be advertised.
  for (const Avp* a : cea.find_all(code::AuthApplicationId)) EXPECT_NE(a->as_u32(), 0xffffffffu);
}

TEST_F(BaselineTest, GyInitialRequestIsAnsweredWithSuccess) {
  auto peer = connect();
  const std::string sid = peer->new_session_id("gy");
  auto cca = peer->request(make_ccr(*peer, sid, 1, 0));
  ASSERT_TRUE(cca);
  EXPECT_FALSE(cca->is_request());
  EXPECT_EQ(cca->code, code::CCR);
  EXPECT_EQ(cca->app_id, kGyApp);
  EXPECT_EQ(cca->flags & dia::kFlagError, 0);
  EXPECT_EQ(cca->result_code(), 2001u);
  ASSERT_FALSE(cca->avps.empty());
  EXPECT_EQ(cca->avps.front().code, code::SessionId) << "Session-Id must come first";
  EXPECT_EQ(cca->avps.front().as_str(), sid);
  EXPECT_EQ(cca->find(code::OriginHost)->as_str(), "ocs.localdomain");
  EXPECT_EQ(cca->find(code::OriginRealm)->as_str(), "localdomain");
  EXPECT_EQ(u32_of(*cca, code::AuthApplicationId), kGyApp);
  EXPECT_EQ(u32_of(*cca, code::CcRequestType), 1u);
  EXPECT_EQ(u32_of(*cca, code::CcRequestNumber), 0u);
}

TEST_F(BaselineTest, UpdateAndTerminationEchoTypeAndNumber) {
  auto peer = connect();
  const std::string sid = peer->new_session_id();
  for (auto [type, number] : {std::pair{1u, 0u}, {2u, 1u}, {2u, 2u}, {3u, 3u}}) {
    auto cca = peer->request(make_ccr(*peer, sid, type, number));
    ASSERT_TRUE(cca);
    EXPECT_EQ(cca->result_code(), 2001u);
    EXPECT_EQ(u32_of(*cca, code::CcRequestType), type);
    EXPECT_EQ(u32_of(*cca, code::CcRequestNumber), number);
  }
}

// freeDiameter checks the CCR rules before any handler runs: a missing
// REQUIRED AVP is answered 5005 with the AVP in Failed-AVP.
TEST_F(BaselineTest, MissingRequestTypeIsAnsweredMissingAvpByTheFramework) {
  auto peer = connect();
  Message ccr = make_ccr(*peer, peer->new_session_id(), 1, 0);
  std::erase_if(ccr.avps, [](const Avp& a) { return a.code == code::CcRequestType; });
  auto ans = peer->request(ccr);
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->result_code(), 5005u);
  const Avp* failed = ans->find(code::FailedAvp);
  ASSERT_NE(failed, nullptr) << "5005 must carry Failed-AVP";
  auto missing = failed->child(code::CcRequestType);
  EXPECT_TRUE(missing.has_value()) << "Failed-AVP should name CC-Request-Type";
}

// The reason dict_ocs relaxes the CCR rule: a Gx CCR has no
// Service-Context-Id. With the stock 1.2.1 dictionary this is a 5005.
TEST_F(BaselineTest, GxRequestWithoutServiceContextIdReachesTheHandler) {
  auto peer = connect();
  auto cca = peer->request(make_ccr(*peer, peer->new_session_id("gx"), 1, 0, kGxApp, std::nullopt));
  ASSERT_TRUE(cca);
  EXPECT_NE(cca->result_code(), 5005u);
  EXPECT_EQ(cca->result_code(), 2001u);
  EXPECT_EQ(cca->app_id, kGxApp);
  EXPECT_EQ(u32_of(*cca, code::AuthApplicationId), kGxApp);
  EXPECT_EQ(u32_of(*cca, code::CcRequestType), 1u);
}

// The other side of the relaxation: the rule is per command, not per
// application, so a Gy CCR without Service-Context-Id now reaches the
// handler too. The Gy handler must answer 5005 itself.
TEST_F(BaselineTest, GyRequestWithoutServiceContextIdIsNoLongerRejectedByTheFramework) {
  auto peer = connect();
  auto cca = peer->request(make_ccr(*peer, peer->new_session_id(), 1, 0, kGyApp, std::nullopt));
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u) << "the baseline does not check Service-Context-Id";
}

// A Gx CCR-I the way a PGW sends it, including the AVPs that only dict_ocs
// defines (Extended-APN-AMBR, AN-Trusted). Sent with the M bit, an AVP the
// dictionary does not know is answered 5001 before the handler runs (see the
// next test), so a 2001 here shows dict_ocs defined them.
TEST_F(BaselineTest, GxRequestWithAvpsDefinedByDictOcsIsAccepted) {
  auto peer = connect();
  Message ccr = make_ccr(*peer, peer->new_session_id("gx"), 1, 0, kGxApp, std::nullopt);
  auto with_m = [](Avp a) {
    a.flags |= dia::kAvpMandatory;
    return a;
  };
  ccr.add(Avp::grouped(443, {Avp::u32(450, 1), Avp::str(444, "001010123456789")}))  // Subscription-Id IMSI
      .add(Avp::grouped(628, {Avp::u32(code::VendorId, k3gpp), Avp::u32(629, 1, k3gpp),
                              Avp::u32(630, 3, k3gpp)}, k3gpp))  // Supported-Features
      .add(Avp::u32(1024, 1, k3gpp))                              // Network-Request-Support
      .add(Avp::u32(1027, 5, k3gpp))                              // IP-CAN-Type 3GPP-EPS
      .add(Avp::u32(1032, 1004, k3gpp))                           // RAT-Type EUTRAN
      .add(Avp::grouped(1016,
                        {Avp::u32(1041, 4000000000u, k3gpp), Avp::u32(1040, 4000000000u, k3gpp),
                         with_m(Avp::u32(2849, 10000000, k3gpp)), with_m(Avp::u32(2848, 20000000, k3gpp))},
                        k3gpp))  // QoS-Information with APN-AMBR and Extended-APN-AMBR (kbit/s)
      .add(Avp::grouped(1049,
                        {Avp::u32(1028, 9, k3gpp),
                         Avp::grouped(1034, {Avp::u32(1046, 8, k3gpp), Avp::u32(1047, 1, k3gpp),
                                             Avp::u32(1048, 0, k3gpp)},
                                      k3gpp)},
                        k3gpp))  // Default-EPS-Bearer-QoS
      .add(with_m(Avp::u32(1503, 1, k3gpp)))                     // AN-Trusted UNTRUSTED
      .add(Avp::str(30, "internet"));                            // Called-Station-Id
  auto cca = peer->request(ccr);
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
}

TEST_F(BaselineTest, UnknownMandatoryAvpIsRejectedByTheFramework) {
  auto peer = connect();
  Message ccr = make_ccr(*peer, peer->new_session_id(), 1, 0);
  Avp unknown = Avp::u32(65000, 1, k3gpp);
  unknown.flags |= dia::kAvpMandatory;
  ccr.add(unknown);
  auto ans = peer->request(ccr);
  ASSERT_TRUE(ans);
  EXPECT_EQ(ans->result_code(), 5001u);  // DIAMETER_AVP_UNSUPPORTED
  EXPECT_NE(ans->find(code::FailedAvp), nullptr);
}

TEST_F(BaselineTest, DictOcsLogsWhatItChanged) {
  const std::string log = daemon().log();
  EXPECT_THAT(log, HasSubstr("dict_ocs: created application Gx"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: relaxed CCR Service-Context-Id to optional"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: relaxed RAA Result-Code to optional"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: relaxed ASA Result-Code to optional"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: created AVP Extended-APN-AMBR-UL"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: created AVP AN-Trusted"));
  EXPECT_THAT(log, HasSubstr("dict_ocs: ready (7 AVPs created"));
}

// Many requests in flight on one connection, answered by several
// AppServThreads: every answer must find its request.
TEST_F(BaselineTest, ManyConcurrentRequestsAreAllAnswered) {
  auto peer = connect();
  constexpr int kRequests = 200;
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    peer->request_async(make_ccr(*peer, peer->new_session_id(), 1, 0), [&](std::optional<Message> a) {
      std::lock_guard g(mu);
      ++answered;
      if (a && a->result_code() == 2001u) ++ok;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return answered == kRequests; }));
  EXPECT_EQ(ok, kRequests);
}

// A clean DPR/DPA, then a reconnect under the same Origin-Host a moment
// later: freeDiameter accepts the new CER once the old peer entry has gone
// to ZOMBIE (milliseconds after the DPA).
TEST_F(BaselineTest, DisconnectAndReconnectUnderTheSameIdentity) {
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto peer = connect("pgw.localdomain");
    auto cca = peer->request(make_ccr(*peer, peer->new_session_id(), 1, 0));
    ASSERT_TRUE(cca);
    EXPECT_EQ(cca->result_code(), 2001u);
    peer->close();  // DPR, wait for DPA, close
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The 1.2.1 race behind the ZOMBIE note: a CER that arrives while the
// previous connection's peer state machine is still shutting down is
// discarded ("Message discarded while cleaning peer state machine queue")
// and the connection closed without a CEA. A client that reconnects at once
// must therefore retry; one short retry is enough.
TEST_F(BaselineTest, ImmediateReconnectSucceedsWithOneRetry) {
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    dia::Peer peer(client_config(daemon().port()));
    ASSERT_NO_THROW(peer.connect_retrying(3, std::chrono::milliseconds(100), std::chrono::seconds(3)));
    auto cca = peer.request(make_ccr(peer, peer.new_session_id(), 1, 0));
    ASSERT_TRUE(cca);
    EXPECT_EQ(cca->result_code(), 2001u);
    peer.close();
  }
}

// The same dia::Peer object reconnecting.
TEST_F(BaselineTest, SamePeerObjectReconnects) {
  dia::Peer peer(client_config(daemon().port()));
  peer.connect();
  peer.close();
  // freeDiameter 1.2.1 may drop a CER that follows the same Origin-Host's
  // DPR at once (see Peer::connect_retrying); the object must still reconnect.
  peer.connect_retrying();
  auto cca = peer.request(make_ccr(peer, peer.new_session_id(), 1, 0));
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
}

class WatchdogTest : public BaselineTest {
 protected:
  FdDaemonOptions options() override {
    FdDaemonOptions o = baseline_daemon_options();
    o.tw_timer_s = 6;  // the minimum freeDiameter accepts
    return o;
  }
};

// With the link idle, freeDiameter sends DWR after Tw (6 s +- 2 s jitter);
// the client answers and the connection stays usable.
TEST_F(WatchdogTest, ServerWatchdogIsAnsweredAndTheLinkStaysUp) {
  auto peer = connect();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (peer->watchdogs_answered() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GE(peer->watchdogs_answered(), 1u);
  auto cca = peer->request(make_ccr(*peer, peer->new_session_id(), 1, 0));
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
}

class UnknownPeerTest : public BaselineTest {
 protected:
  FdDaemonOptions options() override {
    FdDaemonOptions o = baseline_daemon_options();
    o.acl = "ALLOW_IPSEC *.other.realm\n";
    return o;
  }
};

// Without an acl_wl entry, freeDiameter refuses an unknown peer at CER.
TEST_F(UnknownPeerTest, PeerOutsideTheWhitelistIsRefused) {
  dia::Peer peer(client_config(daemon().port()));
  EXPECT_THROW(peer.connect(std::chrono::seconds(3)), std::runtime_error);
}

}  // namespace
}  // namespace ocs::test
