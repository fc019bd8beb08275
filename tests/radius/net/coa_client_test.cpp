// The CoA/Disconnect sender against the test NAS over loopback UDP: ACK,
// NAK with Error-Cause, retries with backoff, timeout, answers with a wrong
// authenticator ignored, more requests than identifiers. The test NAS is
// itself checked against FreeRADIUS's radclient, so the two cannot agree on
// a mistake.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/coa.hpp"
#include "ocs/radius/coa_client.hpp"
#include "subprocess.hpp"
#include "test_nas.hpp"

namespace ocs::radius {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::udp;
using ocs::test::TestNas;
constexpr const char* kSecret = "coa-test-secret";

Packet coa_request() {
  CoaPolicy policy;
  policy.on_exhausted = CoaPolicy::OnExhausted::Hotline;
  policy.hotline_filter_id = "hotline";
  CoaSession s;
  s.user_name = "alice";
  s.acct_session_id = "S-1";
  s.nas_ip = 0x7f000001;
  return plan_coa(s, CoaEvent::Exhausted, policy).request;
}

Packet disconnect_request() {
  CoaSession s;
  s.user_name = "bob";
  s.acct_session_id = "S-2";
  s.nas_ip = 0x7f000001;
  return plan_coa(s, CoaEvent::Blocked, CoaPolicy{}).request;
}

TestNas::Behaviour nak(std::uint32_t error_cause) {
  TestNas::Behaviour b;
  b.ack = false;
  b.error_cause = error_cause;
  return b;
}

TestNas::Behaviour dropping(int n) {
  TestNas::Behaviour b;
  b.drop_next = n;
  return b;
}

TestNas::Behaviour signing_with(std::string secret) {
  TestNas::Behaviour b;
  b.answer_secret = std::move(secret);
  return b;
}

class CoaClientTest : public ::testing::Test {
 protected:
  CoaTarget target(std::string secret = kSecret) const {
    return {udp::endpoint(boost::asio::ip::make_address_v4("127.0.0.1"), nas.port()), std::move(secret)};
  }

  /// Sends one request and runs the io_context until its result arrives.
  CoaResult send_one(CoaClient& client, Packet request, CoaTarget t) {
    std::optional<CoaResult> result;
    client.send(std::move(t), std::move(request), [&](const CoaResult& r) {
      result = r;
      io.stop();
    });
    io.run_for(10s);
    io.restart();
    EXPECT_TRUE(result.has_value());
    return result.value_or(CoaResult{});
  }

  boost::asio::io_context io;
  TestNas nas{kSecret};
  CoaRetryPolicy fast{20ms, 80ms, 4};
};

TEST_F(CoaClientTest, CoaAckAndWhatTheNasReceived) {
  CoaClient client(io, fast);
  const CoaResult r = send_one(client, coa_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Ack);
  EXPECT_EQ(r.request_code, code::CoaRequest);
  EXPECT_EQ(r.attempts, 1);
  ASSERT_TRUE(r.answer.has_value());
  EXPECT_EQ(r.answer->code, code::CoaAck);
  EXPECT_EQ(client.pending(), 0u);

  const auto got = nas.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].verified);
  EXPECT_EQ(got[0].packet.code, code::CoaRequest);
  EXPECT_EQ(get_string(got[0].packet, attr::UserName), "alice");
  EXPECT_EQ(get_string(got[0].packet, 44), "S-1");
  EXPECT_EQ(get_string(got[0].packet, 11), "hotline");
}

TEST_F(CoaClientTest, ANasAtAnIpv6AddressIsReachedBesideIpv4Ones) {
  if (!TestNas::ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  TestNas nas6(kSecret, TestNas::Family::Ipv6);
  nas6.set_behaviour(nak(503));
  CoaClient client(io, fast);  // bound to IPv4, as ocs-radiusd's
  CoaSession s;
  s.user_name = "carol";
  s.acct_session_id = "S-6";
  s.nas_ipv6 = boost::asio::ip::make_address_v6("::1").to_bytes();
  const CoaResult r6 = send_one(client, plan_coa(s, CoaEvent::Blocked, CoaPolicy{}).request,
                                {udp::endpoint(boost::asio::ip::make_address_v6("::1"), nas6.port()), kSecret});
  EXPECT_EQ(r6.outcome, CoaOutcome::Nak);  // the answer came back over IPv6
  EXPECT_EQ(r6.error_cause, std::optional<std::uint32_t>(503));
  const auto got = nas6.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].verified);
  EXPECT_EQ(get_string(got[0].packet, attr::UserName), "carol");
  const Attribute* v6 = got[0].packet.find(95);  // NAS-IPv6-Address, RFC 3162
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->value, (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(got[0].packet.find(4), nullptr);  // no NAS-IP-Address
  // The IPv4 NAS still gets its requests on the first socket.
  EXPECT_EQ(send_one(client, coa_request(), target()).outcome, CoaOutcome::Ack);
  EXPECT_EQ(client.local_endpoint().protocol(), udp::v4());
}

TEST_F(CoaClientTest, DisconnectNakCarriesTheErrorCause) {
  nas.set_behaviour(nak(503));
  CoaClient client(io, fast);
  const CoaResult r = send_one(client, disconnect_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Nak);
  EXPECT_EQ(r.request_code, code::DisconnectRequest);
  EXPECT_EQ(r.error_cause, std::optional<std::uint32_t>(503));
  ASSERT_TRUE(r.answer.has_value());
  EXPECT_EQ(r.answer->code, code::DisconnectNak);
}

TEST_F(CoaClientTest, RetriesTheSamePacketWithBackoff) {
  nas.set_behaviour(dropping(2));
  CoaClient client(io, fast);
  const CoaResult r = send_one(client, coa_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Ack);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_GE(r.elapsed, 20ms + 40ms);  // first wait, then doubled
  const auto got = nas.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].wire, got[1].wire);  // same identifier and authenticator
  EXPECT_EQ(got[1].wire, got[2].wire);
}

TEST_F(CoaClientTest, TimesOutAfterMaxAttempts) {
  nas.set_behaviour(dropping(1000));
  CoaClient client(io, fast);
  const CoaResult r = send_one(client, coa_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Timeout);
  EXPECT_EQ(r.attempts, 4);
  EXPECT_GE(r.elapsed, 20ms + 40ms + 80ms + 80ms);  // capped at max_timeout
  EXPECT_EQ(nas.received().size(), 4u);
}

TEST_F(CoaClientTest, WrongSecretMeansNoAnswerAndAForgedAnswerIsIgnored) {
  CoaClient client(io, {20ms, 20ms, 2});
  // The NAS does not verify the request: it stays silent.
  CoaResult r = send_one(client, coa_request(), target("not-the-secret"));
  EXPECT_EQ(r.outcome, CoaOutcome::Timeout);
  ASSERT_EQ(nas.received().size(), 2u);
  EXPECT_FALSE(nas.received()[0].verified);
  // The NAS answers, but signs with another secret: the answer is ignored.
  nas.set_behaviour(signing_with("forged"));
  r = send_one(client, coa_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Timeout);
  EXPECT_TRUE(nas.received().back().answered);
}

TEST_F(CoaClientTest, NotACoaOrDisconnectRequestIsAnError) {
  CoaClient client(io, fast);
  Packet p = coa_request();
  p.code = code::AccessRequest;
  const CoaResult r = send_one(client, p, target());
  EXPECT_EQ(r.outcome, CoaOutcome::Error);
  EXPECT_TRUE(nas.received().empty());
}

TEST_F(CoaClientTest, MoreRequestsThanIdentifiersWaitForOne) {
  CoaClient client(io, {500ms, 2000ms, 4});
  constexpr int kRequests = 300;
  int acks = 0;
  int done = 0;
  std::set<int> ids;
  for (int i = 0; i < kRequests; ++i)
    client.send(target(), i % 2 ? coa_request() : disconnect_request(), [&](const CoaResult& r) {
      if (r.outcome == CoaOutcome::Ack) ++acks;
      ids.insert(r.identifier);
      if (++done == kRequests) io.stop();
    });
  io.run_for(20s);
  EXPECT_EQ(acks, kRequests);
  EXPECT_EQ(ids.size(), 256u);
  EXPECT_EQ(client.pending(), 0u);
}

TEST_F(CoaClientTest, SendFromAnotherThread) {
  CoaClient client(io, fast);
  std::promise<CoaOutcome> outcome;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  client.send(target(), coa_request(), [&](const CoaResult& r) { outcome.set_value(r.outcome); });
  auto f = outcome.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), CoaOutcome::Ack);
  work.reset();
  io.stop();
  runner.join();
}

TEST_F(CoaClientTest, ACallbackThatThrowsDoesNotStopTheClient) {
  CoaClient client(io, fast);
  client.send(target(), coa_request(), [](const CoaResult&) { throw std::runtime_error("boom"); });
  const CoaResult r = send_one(client, coa_request(), target());
  EXPECT_EQ(r.outcome, CoaOutcome::Ack);
}

// The test NAS against FreeRADIUS's radclient: its ACK and NAK (with
// Error-Cause) verify in an independent implementation.
TEST_F(CoaClientTest, TestNasAnswersVerifyInRadclient) {
  const std::string to = "127.0.0.1:" + std::to_string(nas.port());
  const std::string attrs = "User-Name = alice, Acct-Session-Id = S-1";
  auto run = [&](const std::string& type) {
    return ocs::test::run({"/bin/sh", "-c", "echo '" + attrs + "' | /usr/bin/radclient -x -r 1 -t 2 " + to + " " + type +
                                               " " + kSecret + " 2>&1"});
  };
  auto r = run("coa");
  EXPECT_NE(r.out.find("Received CoA-ACK"), std::string::npos) << r.out;
  nas.set_behaviour(nak(503));
  r = run("disconnect");
  EXPECT_NE(r.out.find("Received Disconnect-NAK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Session-Context-Not-Found"), std::string::npos) << r.out;
  ASSERT_GE(nas.received().size(), 2u);
  EXPECT_TRUE(nas.received()[0].verified);
}

}  // namespace
}  // namespace ocs::radius
