// ocs-radiusd end to end: the real daemon on free UDP ports, a fresh
// PostgreSQL database, FreeRADIUS's radclient as the NAS (and, where a test
// needs byte-exact retransmissions, broken packets or another source
// address, a raw UDP socket with packets built by our codec).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include <pqxx/pqxx>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/packet.hpp"
#include "ocs/radius/reply.hpp"
#include "pg_test_db.hpp"
#include "radius_daemon.hpp"
#include "subprocess.hpp"
#include "test_nas.hpp"
#include "udp_socket.hpp"

namespace ocs::test {
namespace {

namespace r = ocs::radius;
constexpr std::uint64_t MiB = 1024 * 1024;
constexpr const char* kRadclient = "/usr/bin/radclient";
constexpr const char* kSecret = "testing123";

// Rating group 1 (the daemon's [radius] rating_group): data at 2 cents per
// started MiB, grants of 10 MiB; the 'timed' plan: 5 cents per started
// minute, grants of 300 s.
const char* kSchemaSql = R"SQL(
INSERT INTO policies (name, validity_time, rate_limit_up_kbps, rate_limit_down_kbps, rate_limit_scaling_percent,
                      hotline_url, hotline_validity_time, acct_interim_interval, radius_address_pool,
                      radius_on_no_credit, radius_on_blocked, supervision_time)
VALUES ('radius', 600, 20000, 50000, 50, 'http://portal.localdomain/topup', 120, 300, 'NORMAL',
        'hotline', 'reject', 3600);
INSERT INTO policies (name, validity_time, radius_on_no_credit, supervision_time)
VALUES ('strict', 600, 'reject', 3600);
INSERT INTO policies (name, validity_time, final_unit_action, restriction_filter_id, radius_on_blocked,
                      hotline_validity_time, supervision_time)
VALUES ('walled', 600, 'restrict', 'walled-garden', 'hotline', 90, 3600);
INSERT INTO plans (name, currency, policy_id) SELECT 'flat', 'EUR', id FROM policies WHERE name = 'radius';
INSERT INTO plans (name, currency, policy_id) SELECT 'timed', 'EUR', id FROM policies WHERE name = 'radius';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant)
  SELECT id, 1, 'octets_total', 1048576, 10485760, 104857600 FROM plans WHERE name = 'flat';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant)
  SELECT id, 1, 'seconds', 60, 300, 3600 FROM plans WHERE name = 'timed';
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block)
  SELECT g.id, CASE p.name WHEN 'flat' THEN 2 ELSE 5 END
  FROM plan_rating_groups g JOIN plans p ON p.id = g.plan_id;
INSERT INTO radius_templates (policy_id, vendor, kind, position, line)
SELECT p.id, t.vendor, t.kind, t.position, t.line
FROM policies p,
     (VALUES ('mikrotik', 'radius_response', 1, 'Mikrotik-Rate-Limit:=${rate_up}k/${rate_down}k 0/0 0/0 0/0 8'),
             ('mikrotik', 'radius_response', 2, 'Mikrotik-Address-List=${hotlining:+hotline}${hotlining:?customers}'),
             ('any',      'radius_response', 3, 'Reply-Message+=Hello ${user}'),
             ('any',      'radius_response', 4, 'Reply-Message+=Policy ${name} (${type})'),
             ('any',      'radius_response', 5, 'Acct-Interim-Interval=60'),
             ('any',      'addr-pool-mask',  1, '${hotlining:+LIMITED}${hotlining:?NORMAL}')
     ) AS t (vendor, kind, position, line)
WHERE p.name = 'radius';
)SQL";

struct Reply {
  bool received = false;
  std::string code;                     // "Access-Accept", ...
  std::vector<std::string> attributes;  // "Session-Timeout = 300"
  std::string output;

  bool has(const std::string& line) const {
    return std::find(attributes.begin(), attributes.end(), line) != attributes.end();
  }
  std::size_t count_prefix(const std::string& prefix) const {
    return static_cast<std::size_t>(std::count_if(attributes.begin(), attributes.end(),
                                                  [&](const std::string& a) { return a.starts_with(prefix); }));
  }
};

std::ostream& operator<<(std::ostream& o, const Reply& r) { return o << r.output; }

class RadiusEndToEnd : public ::testing::Test {
 protected:
  /// `coa_port`: the NAS's CoA/Disconnect port (a TestNas), `radius_toml`:
  /// more [radius] lines.
  /// `address`: nas1's address, where the daemon listens and radclient
  /// sends from (127.0.0.1, or ::1).
  static void start(const std::string& vendor, int coa_port = 3799, const std::string& radius_toml = "",
                    const std::string& address = "127.0.0.1") {
    db_ = new TestDatabase();
    db_->exec(kSchemaSql);
    db_->exec("INSERT INTO nas_clients (name, address, secret, vendor, coa_port) VALUES ('nas1', '" + address +
              "', '" + std::string(kSecret) + "', '" + vendor + "', " + std::to_string(coa_port) + ")");
    RadiusDaemonOptions o;
    o.executable = OCS_RADIUSD;
    o.dsn = db_->dsn();
    o.dictionary = OCS_RADIUS_DICTIONARY;
    o.radius_toml = "rating_group = 1\nduplicate_cache_seconds = 30\n" + radius_toml;
    o.listen = address;
    server_ = address.find(':') == std::string::npos ? address : "[" + address + "]";
    daemon_ = new RadiusDaemon(o);
  }
  static void TearDownTestSuite() {
    if (daemon_) {
      EXPECT_EQ(daemon_->stop(), 0) << "ocs-radiusd did not exit cleanly on SIGTERM";
    }
    delete daemon_;
    daemon_ = nullptr;
    delete db_;
    db_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "--- ocs-radiusd log tail ---\n" << daemon_->log_tail(40) << "\n";
  }

  /// A subscriber with a username identity, a plan and a balance in cents.
  static void subscriber(const std::string& id, const std::string& password, long balance,
                         const std::string& plan = "flat", const std::string& policy = "",
                         const std::string& status = "active") {
    db_->exec("INSERT INTO subscribers (external_id, plan_id, policy_id, status) SELECT '" + id +
              "', p.id, (SELECT id FROM policies WHERE name = '" + policy + "'), '" + status +
              "' FROM plans p WHERE p.name = '" + plan +
              "';"
              "INSERT INTO subscriber_identities (subscriber_id, kind, value, password) SELECT id, 'username', '" +
              id + "', '" + password + "' FROM subscribers WHERE external_id = '" + id +
              "';"
              "INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', " +
              std::to_string(balance) + " FROM subscribers WHERE external_id = '" + id + "';" +
              (balance > 0 ? "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after) "
                             "SELECT id, 'topup', " +
                                 std::to_string(balance) + ", 'EUR', " + std::to_string(balance) +
                                 " FROM subscribers WHERE external_id = '" + id + "';"
                           : std::string()));
  }

  static long query_long(const std::string& sql) { return db_->query_long(sql); }
  static std::string query_text(const std::string& sql) { return db_->query_value(sql).value_or("NULL"); }
  static long balance(const std::string& id) {
    return query_long("SELECT balance FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id "
                      "WHERE s.external_id = '" + id + "'");
  }
  static long held(const std::string& session) {
    return query_long("SELECT coalesce(sum(money), 0) FROM reservations WHERE session_id = '" + session + "'");
  }
  static long debited(const std::string& session) {
    return query_long("SELECT coalesce(-sum(amount), 0) FROM ledger WHERE kind = 'debit' AND session_id = '" +
                      session + "'");
  }
  static std::string session_state(const std::string& session) {
    return query_text("SELECT state FROM charging_sessions WHERE id = '" + session + "'");
  }
  /// The audit query of docs/data-model.md: every drift must be zero.
  static void expect_ledger_consistent() {
    EXPECT_EQ(query_long("SELECT count(*) FROM accounts a WHERE a.balance <> coalesce((SELECT sum(amount) FROM "
                         "ledger l WHERE l.subscriber_id = a.subscriber_id AND kind IN ('topup','debit','adjustment')), 0)"),
              0);
    EXPECT_EQ(query_long("SELECT count(*) FROM accounts a WHERE coalesce((SELECT sum(money) FROM reservations r "
                         "WHERE r.subscriber_id = a.subscriber_id), 0) <> coalesce((SELECT sum(amount) FROM ledger l "
                         "WHERE l.subscriber_id = a.subscriber_id AND kind IN ('reserve','release')), 0)"),
              0);
    EXPECT_EQ(query_long("SELECT count(*) FROM reservations r JOIN charging_sessions s ON s.id = r.session_id "
                         "WHERE s.state = 'closed'"),
              0);
  }

  /// Runs radclient once (one request) and parses its -x output.
  static Reply radclient(const std::string& type, const std::string& attributes, const std::string& secret = kSecret,
                         int timeout_s = 2) {
    const std::string file = (std::filesystem::temp_directory_path() /
                              ("ocs-radclient-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
                                 .string();
    {
      std::ofstream f(file);
      f << attributes << "\n";
    }
    const int port = type == "acct" ? daemon_->acct_port() : daemon_->auth_port();
    const RunResult run = ocs::test::run({kRadclient, "-x", "-r", "1", "-t", std::to_string(timeout_s), "-f", file,
                                          server_ + ":" + std::to_string(port), type, secret},
                                         std::chrono::seconds(30));
    std::filesystem::remove(file);
    Reply reply;
    reply.output = run.out + run.err;
    std::istringstream in(run.out);
    bool in_reply = false;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("Received ")) {
        reply.received = true;
        in_reply = true;
        reply.code = line.substr(9, line.find(' ', 9) - 9);
        continue;
      }
      if (line.starts_with("Sent ")) in_reply = false;
      if (in_reply && !line.empty() && (line[0] == '\t' || line[0] == ' ')) {
        const auto start = line.find_first_not_of(" \t");
        reply.attributes.push_back(line.substr(start));
      }
    }
    return reply;
  }

  /// A signed request built by our codec, for the raw-socket tests.
  static std::vector<std::uint8_t> signed_request(r::Packet p, const std::string& secret = kSecret,
                                                  bool message_authenticator = true) {
    static std::mt19937 rng(42);
    for (auto& b : p.authenticator) b = static_cast<std::uint8_t>(rng());
    if (message_authenticator && p.code == r::code::AccessRequest) r::add_message_authenticator(p);
    auto bytes = r::encode(p).bytes;
    EXPECT_TRUE(r::finish_request(bytes, secret));
    return bytes;
  }
  /// `q` as a PAP Access-Request with Message-Authenticator: the password
  /// hidden with kSecret under an authenticator of `fill` bytes, the packet
  /// signed with `secret`.
  static std::vector<std::uint8_t> pap_request(r::Packet q, std::uint8_t fill, const std::string& password,
                                               const std::string& secret = kSecret) {
    for (auto& b : q.authenticator) b = fill;
    auto pw = r::hide_password(password, q.authenticator, kSecret);
    r::add_octets(q, r::attr::UserPassword, *pw);
    r::add_message_authenticator(q);
    auto bytes = r::encode(q).bytes;
    EXPECT_TRUE(r::finish_request(bytes, secret));
    return bytes;
  }
  /// An Access-Request naming `user`, without a password yet.
  static r::Packet access_request(std::uint8_t id, const std::string& user) {
    r::Packet p;
    p.code = r::code::AccessRequest;
    p.identifier = id;
    r::add_string(p, r::attr::UserName, user);
    return p;
  }
  static r::Packet accounting(std::uint8_t id, std::uint32_t status, const std::string& session,
                              const std::string& user) {
    r::Packet p;
    p.code = r::code::AccountingRequest;
    p.identifier = id;
    r::add_string(p, r::attr::UserName, user);
    r::add_integer(p, r::attr::AcctStatusType, status);
    r::add_string(p, r::attr::AcctSessionId, session);
    return p;
  }

  static inline TestDatabase* db_ = nullptr;
  static inline RadiusDaemon* daemon_ = nullptr;
  static inline std::string server_ = "127.0.0.1";  // radclient's target host
  static inline int counter_ = 0;
};

// ---------------------------------------------------------------------------
// A MikroTik NAS at 127.0.0.1
// ---------------------------------------------------------------------------

class RadiusMikrotik : public RadiusEndToEnd {
 protected:
  static void SetUpTestSuite() {
    start("mikrotik");
    subscriber("alice", "alicepw", 1000);
    subscriber("bob", "bobpw", 100000);
    subscriber("dave", "davepw", 0);                                // no credit, hotline policy
    subscriber("erin", "erinpw", 0, "flat", "strict");              // no credit, reject policy
    subscriber("carol", "carolpw", 500, "flat", "", "blocked");     // blocked, reject policy
    subscriber("frank", "frankpw", 500, "flat", "walled", "blocked");  // blocked, hotline policy
    subscriber("gina", "ginapw", 1000, "timed");
    subscriber("hank", "hankpw", 10000);
    subscriber("ivan", "ivanpw", 10000);
  }
};

TEST_F(RadiusMikrotik, PapAcceptCarriesQuotaRateLimitPoolClassAndTemplates) {
  const Reply reply = radclient("auth",
                                "User-Name = \"alice\"\nUser-Password = \"alicepw\"\n"
                                "Acct-Session-Id = \"pap-1\"\nMessage-Authenticator = 0x00");
  ASSERT_EQ(reply.code, "Access-Accept") << reply;
  // radclient checked the Response Authenticator and Message-Authenticator;
  // ours is the first attribute (BlastRADIUS).
  ASSERT_FALSE(reply.attributes.empty());
  EXPECT_TRUE(reply.attributes.front().starts_with("Message-Authenticator")) << reply;
  EXPECT_TRUE(reply.has("Mikrotik-Total-Limit = 10485760")) << reply;
  // 20000/50000 kbit/s at 50 %, overridden by the := template.
  EXPECT_TRUE(reply.has("Mikrotik-Rate-Limit = \"10000k/25000k 0/0 0/0 0/0 8\"")) << reply;
  EXPECT_EQ(reply.count_prefix("Mikrotik-Rate-Limit"), 1U) << reply;
  EXPECT_TRUE(reply.has("Mikrotik-Address-List = \"customers\"")) << reply;
  EXPECT_TRUE(reply.has("Framed-Pool = \"NORMAL\"")) << reply;  // addr-pool-mask
  EXPECT_TRUE(reply.has("Class = 0x6f63733a3132372e302e302e312f7061702d31") ||
              reply.has("Class = \"ocs:127.0.0.1/pap-1\""))
      << reply;
  EXPECT_TRUE(reply.has("Acct-Interim-Interval = 300")) << reply;  // '=' keeps the policy's
  EXPECT_TRUE(reply.has("Reply-Message = \"Hello alice\"")) << reply;
  EXPECT_TRUE(reply.has("Reply-Message = \"Policy radius (prepaid)\"")) << reply;
  // The grant is held: 10 MiB at 2 cents.
  EXPECT_EQ(held("127.0.0.1/pap-1"), 20);
  EXPECT_EQ(balance("alice"), 1000);
}

TEST_F(RadiusMikrotik, ChapAccept) {
  const Reply reply = radclient("auth",
                                "User-Name = \"alice\"\nCHAP-Password = \"alicepw\"\n"
                                "Acct-Session-Id = \"chap-1\"\nMessage-Authenticator = 0x00");
  EXPECT_EQ(reply.code, "Access-Accept") << reply;
  EXPECT_TRUE(reply.has("Mikrotik-Total-Limit = 10485760")) << reply;
}

TEST_F(RadiusMikrotik, WrongPasswordUnknownUserAndBadChapAreRejectedWithReplyMessage) {
  for (const std::string attrs : {"User-Name = \"alice\"\nUser-Password = \"wrong\"",
                                  "User-Name = \"nobody\"\nUser-Password = \"alicepw\"",
                                  "User-Name = \"alice\"\nCHAP-Password = \"wrong\"",
                                  "User-Name = \"alice\""}) {
    const Reply reply = radclient("auth", attrs + "\nMessage-Authenticator = 0x00");
    EXPECT_EQ(reply.code, "Access-Reject") << attrs << "\n" << reply;
    EXPECT_TRUE(reply.has("Reply-Message = \"Authentication failed\"")) << reply;
    EXPECT_TRUE(reply.attributes.front().starts_with("Message-Authenticator")) << reply;
  }
}

// A User-Name that is not UTF-8 cannot be anyone's in the UTF8 database:
// an Access-Reject like any unknown user, not a dropped packet (it once made
// the user lookup's statement fail, and the NAS retransmit for ever).
TEST_F(RadiusMikrotik, UserNameThatIsNotUtf8IsRejected) {
  UdpSocket nas("127.0.0.1");
  nas.send_to(daemon_->auth_port(), pap_request(access_request(11, "alice\xff"), 0x44, "alicepw"));
  const auto answer = nas.receive(3000);
  ASSERT_TRUE(answer) << daemon_->log();
  r::Authenticator sent;
  sent.fill(0x44);
  EXPECT_EQ(r::verify_response(*answer, sent, kSecret, true), r::VerifyResult::Ok);
  EXPECT_EQ((*answer)[0], r::code::AccessReject);
  EXPECT_NE(daemon_->log().find("reason=unknown_user"), std::string::npos) << daemon_->log();
}

TEST_F(RadiusMikrotik, WrongSecretIsDropped) {
  const Reply reply = radclient("auth", "User-Name = \"alice\"\nUser-Password = \"alicepw\"\nMessage-Authenticator = 0x00",
                                "not-the-secret", 1);
  EXPECT_FALSE(reply.received) << reply;
  // Accounting with a wrong secret: the Request Authenticator does not verify.
  const Reply acct = radclient("acct", "User-Name = \"alice\"\nAcct-Status-Type = Start\nAcct-Session-Id = \"ws-1\"",
                               "not-the-secret", 1);
  EXPECT_FALSE(acct.received) << acct;
  EXPECT_EQ(session_state("127.0.0.1/ws-1"), "NULL");
}

TEST_F(RadiusMikrotik, MessageAuthenticatorMissingOrBadIsDropped) {
  UdpSocket nas("127.0.0.1");
  const r::Packet p = access_request(7, "alice");
  // Missing.
  {
    r::Packet q = p;
    for (auto& b : q.authenticator) b = 0x11;
    auto pw = r::hide_password("alicepw", q.authenticator, kSecret);
    r::add_octets(q, r::attr::UserPassword, *pw);
    auto bytes = r::encode(q).bytes;
    nas.send_to(daemon_->auth_port(), bytes);
    EXPECT_FALSE(nas.receive(700)) << "answered without Message-Authenticator";
  }
  // Present but wrong (computed with another secret).
  {
    nas.send_to(daemon_->auth_port(), pap_request(p, 0x22, "alicepw", "other-secret"));
    EXPECT_FALSE(nas.receive(700)) << "answered with a bad Message-Authenticator";
  }
  // The same request, signed properly, is answered.
  {
    nas.send_to(daemon_->auth_port(), pap_request(p, 0x33, "alicepw"));
    const auto answer = nas.receive(3000);
    ASSERT_TRUE(answer);
    r::Authenticator sent;
    sent.fill(0x33);
    EXPECT_EQ(r::verify_response(*answer, sent, kSecret, true), r::VerifyResult::Ok);
    EXPECT_EQ((*answer)[0], r::code::AccessAccept);
  }
  EXPECT_NE(daemon_->log().find("radius.drop.unverified nas=nas1 code=Access-Request reason="), std::string::npos);
}

// database.answer_retention_days (default 14): ocs-radiusd's supervision
// purges old stored answers too (the purge itself is tested end to end
// through ocs.fdx: GyEndToEnd.OldAnswersOfClosedSessionsArePurgedByTheDaemon).
TEST_F(RadiusMikrotik, OldStoredAnswersArePurgedByDefault) {
  EXPECT_NE(daemon_->log().find("radius.retention stored answers of closed sessions are purged after 1209600 s"),
            std::string::npos)
      << daemon_->log_tail();
  // The first pass runs at the first supervision tick.
  for (int i = 0; i < 100 && daemon_->log().find("radius.retention purged=") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(daemon_->log().find("radius.retention purged="), std::string::npos) << daemon_->log_tail();
}

TEST_F(RadiusMikrotik, UnknownNasIsDroppedAndLogged) {
  UdpSocket stranger("127.0.0.9");
  stranger.send_to(daemon_->auth_port(), signed_request(access_request(9, "alice")));
  EXPECT_FALSE(stranger.receive(700));
  EXPECT_NE(daemon_->log().find("radius.drop.unknown_nas from=127.0.0.9"), std::string::npos) << daemon_->log_tail();
}

TEST_F(RadiusMikrotik, MalformedPacketsAreDroppedAndTheServerStillAnswers) {
  UdpSocket nas("127.0.0.1");
  std::vector<std::vector<std::uint8_t>> bad = {
      {},                                        // empty
      {1, 2, 0, 19},                             // shorter than a header
      std::vector<std::uint8_t>(20, 0),          // code 0
  };
  {
    // Header Length beyond the datagram.
    std::vector<std::uint8_t> b(20, 0);
    b[0] = 1;
    b[3] = 200;
    bad.push_back(b);
  }
  {
    // A truncated attribute (length runs past the packet).
    std::vector<std::uint8_t> b(24, 0);
    b[0] = 4;
    b[3] = 24;
    b[20] = 1;
    b[21] = 30;
    bad.push_back(b);
  }
  {
    // Attribute length 1, and a broken Mikrotik VSA.
    std::vector<std::uint8_t> b = {4, 1, 0, 31, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   26, 11, 0, 0, 0x3a, 0x8c, 8, 9, 'a', 'b', 'c'};
    bad.push_back(b);
  }
  for (const auto& b : bad) nas.send_to(daemon_->acct_port(), b);
  for (const auto& b : bad) nas.send_to(daemon_->auth_port(), b);
  EXPECT_FALSE(nas.receive(500));
  const Reply reply = radclient("auth", "User-Name = \"alice\"\nUser-Password = \"alicepw\"\nMessage-Authenticator = 0x00");
  EXPECT_EQ(reply.code, "Access-Accept") << reply;
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("radius.drop.malformed from=127.0.0.1"), std::string::npos);
  EXPECT_NE(log.find("reason=AttributeOverrun"), std::string::npos) << daemon_->log_tail();
}

// An Acct-Session-Id that is not UTF-8 names its session in hex, the same at
// every packet; a User-Name that is not UTF-8 is left out (no one's). The
// session is opened, charged and closed like any other: nothing is lost to
// bytes the database cannot hold (they once failed every packet of it).
TEST_F(RadiusMikrotik, AccountingWithBytesThatAreNotUtf8IsChargedUnderAHexSessionId) {
  subscriber("bytes", "bytespw", 100000);
  UdpSocket nas("127.0.0.1");
  std::string acct_session = "acct-\xff\x01";
  const std::string sid = "127.0.0.1/hex:616363742dff01";
  std::uint8_t id = 40;
  const auto send = [&](std::uint32_t status, std::uint32_t output_octets, const std::string& user) {
    r::Packet q = accounting(id++, status, acct_session, user);
    r::add_integer(q, r::attr::AcctOutputOctets, output_octets);
    const auto bytes = signed_request(q);
    r::Authenticator sent{};
    std::copy_n(bytes.begin() + 4, sent.size(), sent.begin());
    nas.send_to(daemon_->acct_port(), bytes);
    const auto answer = nas.receive(3000);
    return answer && (*answer)[0] == r::code::AccountingResponse &&
           r::verify_response(*answer, sent, kSecret) == r::VerifyResult::Ok;
  };
  ASSERT_TRUE(send(r::acct_status::Start, 0, "bytes")) << daemon_->log_tail();
  EXPECT_EQ(session_state(sid), "open");
  EXPECT_EQ(held(sid), 20);
  // The Start's details: the User-Name, but no acct_session_id (not text).
  EXPECT_EQ(query_text("SELECT (client_info ->> 'user_name') || ' ' || (client_info ? 'acct_session_id') "
                       "FROM charging_sessions WHERE id = '" + sid + "'"),
            "bytes false");
  ASSERT_TRUE(send(r::acct_status::InterimUpdate, 3 * MiB, "b\xf6" "b")) << daemon_->log_tail();
  EXPECT_EQ(debited(sid), 6);
  ASSERT_TRUE(send(r::acct_status::Stop, 4 * MiB, "b\xf6" "b")) << daemon_->log_tail();
  EXPECT_EQ(debited(sid), 8);
  EXPECT_EQ(session_state(sid), "closed");
  EXPECT_EQ(held(sid), 0);
  EXPECT_EQ(balance("bytes"), 100000 - 8);
  expect_ledger_consistent();

  // A Start that names its user only in bytes that are not UTF-8: answered
  // (no one to charge, so no session), not dropped.
  acct_session = "acct-2";
  EXPECT_TRUE(send(r::acct_status::Start, 0, "b\xf6" "b")) << daemon_->log_tail();
  EXPECT_EQ(session_state("127.0.0.1/acct-2"), "NULL");
}

TEST_F(RadiusMikrotik, StartInterimStopWithGigawordsChargesExactDeltas) {
  const std::string sid = "127.0.0.1/acct-1";
  const std::string who = "User-Name = \"bob\"\nAcct-Session-Id = \"acct-1\"\nNAS-IP-Address = 127.0.0.1\n";
  ASSERT_EQ(radclient("acct", who + "Acct-Status-Type = Start").code, "Accounting-Response");
  EXPECT_EQ(session_state(sid), "open");
  EXPECT_EQ(held(sid), 20);  // 10 MiB at 2 cents
  EXPECT_EQ(balance("bob"), 100000);

  // 1 gigaword + 100 octets in = 4 GiB + 100 octets = 4097 started MiB.
  ASSERT_EQ(radclient("acct", who +
                                  "Acct-Status-Type = Interim-Update\nAcct-Input-Octets = 100\n"
                                  "Acct-Input-Gigawords = 1\nAcct-Output-Octets = 0\nAcct-Session-Time = 60")
                .code,
            "Accounting-Response");
  EXPECT_EQ(debited(sid), 4097 * 2);
  EXPECT_EQ(balance("bob"), 100000 - 8194);

  // Running totals: +1 MiB in, +5 MiB out since the last report = 6 MiB.
  ASSERT_EQ(radclient("acct", who + "Acct-Status-Type = Interim-Update\nAcct-Input-Octets = " +
                                  std::to_string(100 + MiB) + "\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = " +
                                  std::to_string(5 * MiB) + "\nAcct-Session-Time = 120")
                .code,
            "Accounting-Response");
  EXPECT_EQ(debited(sid), 8194 + 12);

  // Stop: +0.5 MiB out = 1 started MiB; the reservation is released.
  ASSERT_EQ(radclient("acct", who + "Acct-Status-Type = Stop\nAcct-Input-Octets = " + std::to_string(100 + MiB) +
                                  "\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = " +
                                  std::to_string(5 * MiB + MiB / 2) + "\nAcct-Session-Time = 150")
                .code,
            "Accounting-Response");
  EXPECT_EQ(debited(sid), 8194 + 12 + 2);
  EXPECT_EQ(balance("bob"), 100000 - 8208);
  EXPECT_EQ(held(sid), 0);
  EXPECT_EQ(session_state(sid), "closed");
  // What was charged is what the NAS reported, octet for octet.
  EXPECT_EQ(query_long("SELECT sum(input_octets) FROM usage_records WHERE session_id = '" + sid + "'"),
            static_cast<long>((1ULL << 32) + 100 + MiB));
  EXPECT_EQ(query_long("SELECT sum(output_octets) FROM usage_records WHERE session_id = '" + sid + "'"),
            static_cast<long>(5 * MiB + MiB / 2));
  EXPECT_EQ(query_text("SELECT protocol || ' ' || nas_address FROM charging_sessions WHERE id = '" + sid + "'"),
            "radius 127.0.0.1");

  // The same Stop again (radclient picks a new identifier and
  // authenticator): answered, not charged again.
  ASSERT_EQ(radclient("acct", who + "Acct-Status-Type = Stop\nAcct-Input-Octets = " + std::to_string(100 + MiB) +
                                  "\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = " +
                                  std::to_string(5 * MiB + MiB / 2) + "\nAcct-Session-Time = 150")
                .code,
            "Accounting-Response");
  EXPECT_EQ(balance("bob"), 100000 - 8208);
  expect_ledger_consistent();
}

// One session's Start, two Interim-Updates and Stop sent at once, while its
// account is locked: the first waits for the lock, the others wait behind it
// in the daemon (one request per session in progress), and they are handled
// and answered in the order they came. Out of order, the Stop would close the
// session before an Interim, which would open it again (interim_open).
TEST_F(RadiusMikrotik, ASessionsPacketsSentAtOnceAreHandledOneAtATimeInOrder) {
  subscriber("jill", "jillpw", 10000);
  const std::string sid = "127.0.0.1/order-1";
  UdpSocket nas;
  std::map<std::uint8_t, r::Authenticator> sent;
  std::vector<std::uint8_t> answered;
  {
    pqxx::connection blocker(db_->dsn());
    pqxx::work tx(blocker);
    tx.exec("SELECT 1 FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id "
            "WHERE s.external_id = 'jill' FOR UPDATE");
    std::uint8_t id = 60;
    for (const auto& [status, mib] : {std::pair{r::acct_status::Start, 0u}, std::pair{r::acct_status::InterimUpdate, 1u},
                                     std::pair{r::acct_status::InterimUpdate, 2u}, std::pair{r::acct_status::Stop, 3u}}) {
      r::Packet p = accounting(id++, status, "order-1", "jill");
      r::add_integer(p, r::attr::AcctInputOctets, mib * MiB);
      r::add_integer(p, r::attr::AcctOutputOctets, mib * MiB);
      r::add_integer(p, r::attr::AcctSessionTime, 60 * mib);
      const auto bytes = signed_request(p);
      std::copy_n(bytes.begin() + 4, 16, sent[p.identifier].begin());
      nas.send_to(daemon_->acct_port(), bytes);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE(nas.receive(0)) << "answered while the account was locked";
    tx.abort();
  }
  for (int n = 0; n < 4; ++n) {
    const auto reply = nas.receive(10000);
    ASSERT_TRUE(reply && reply->size() >= 20);
    const auto it = sent.find((*reply)[1]);
    ASSERT_NE(it, sent.end());
    EXPECT_EQ(r::verify_response(*reply, it->second, kSecret), r::VerifyResult::Ok);
    answered.push_back((*reply)[1]);
  }
  EXPECT_EQ(answered, (std::vector<std::uint8_t>{60, 61, 62, 63}));
  EXPECT_EQ(query_text("SELECT string_agg(request_key, ' ' ORDER BY id) FROM usage_records WHERE session_id = '" +
                       sid + "'"),
            "interim/1048576/1048576/60 interim/2097152/2097152/120 stop/3145728/3145728/180");
  EXPECT_EQ(session_state(sid), "closed");
  EXPECT_EQ(held(sid), 0);
  EXPECT_EQ(balance("jill"), 10000 - 3 * 4);  // 2 MiB a report at 2 cents a MiB
  expect_ledger_consistent();
}

// Many sessions at once (two per subscriber), every packet of a phase sent
// before the first answer: the requests' charges share transactions (group
// commit, [radius] batch_max), and every session is still charged exactly
// what it reported, once.
TEST_F(RadiusMikrotik, ConcurrentSessionsShareCommitsAndAreChargedExactly) {
  constexpr int kSubscribers = 24;
  constexpr int kSessions = 2 * kSubscribers;
  for (int i = 0; i < kSubscribers; ++i) subscriber("crowd" + std::to_string(i), "pw", 100000);
  UdpSocket nas;
  std::uint8_t id = 0;
  // Sends one packet per session, then counts the answers that verify
  // against their request.
  const auto phase = [&](std::uint32_t status, std::uint32_t in, std::uint32_t out) {
    std::map<std::uint8_t, r::Authenticator> sent;
    for (int n = 0; n < kSessions; ++n) {
      r::Packet p = accounting(id++, status, "crowd-" + std::to_string(n), "crowd" + std::to_string(n % kSubscribers));
      r::add_integer(p, r::attr::AcctInputOctets, in);
      r::add_integer(p, r::attr::AcctOutputOctets, out);
      r::add_integer(p, r::attr::AcctSessionTime, 60);
      const auto bytes = signed_request(p);
      std::copy_n(bytes.begin() + 4, 16, sent[p.identifier].begin());
      nas.send_to(daemon_->acct_port(), bytes);
    }
    int answered = 0;
    for (int n = 0; n < kSessions; ++n) {
      const auto reply = nas.receive(10000);
      if (!reply || reply->size() < 20) break;
      const auto it = sent.find((*reply)[1]);
      if (it != sent.end() && (*reply)[0] == r::code::AccountingResponse &&
          r::verify_response(*reply, it->second, kSecret) == r::VerifyResult::Ok)
        ++answered;
    }
    return answered;
  };
  ASSERT_EQ(phase(r::acct_status::Start, 0, 0), kSessions);
  // 1 MiB in + 1 MiB out = 2 started MiB = 4 cents; then +3 MiB out = 6 cents.
  ASSERT_EQ(phase(r::acct_status::InterimUpdate, MiB, MiB), kSessions);
  {
    // crowd0's and crowd1's accounts stay locked while the Stops arrive:
    // the first batches ([radius] batch_parallel = 2 by default) wait for
    // them and the rest queue up behind them, so that batches form however
    // fast this machine commits.
    pqxx::connection blocker(db_->dsn());
    pqxx::work tx(blocker);
    tx.exec("SELECT 1 FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id "
            "WHERE s.external_id IN ('crowd0', 'crowd1') FOR UPDATE");
    std::thread unlock([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      tx.abort();
    });
    const int answered = phase(r::acct_status::Stop, MiB, 4 * MiB);
    unlock.join();
    ASSERT_EQ(answered, kSessions);
  }

  EXPECT_EQ(query_long("SELECT count(*) FROM charging_sessions WHERE id LIKE '127.0.0.1/crowd-%' AND state = 'closed'"),
            kSessions);
  EXPECT_EQ(query_long("SELECT count(*) FROM reservations WHERE session_id LIKE '127.0.0.1/crowd-%'"), 0);
  for (int i = 0; i < kSubscribers; ++i) EXPECT_EQ(balance("crowd" + std::to_string(i)), 100000 - 2 * 10);
  EXPECT_EQ(query_long("SELECT sum(input_octets + output_octets) FROM usage_records "
                       "WHERE session_id LIKE '127.0.0.1/crowd-%'"),
            static_cast<long>(kSessions * 5 * MiB));
  // Usage records written by one transaction share its xmin: some
  // transactions held several sessions' charges.
  EXPECT_GT(query_long("SELECT max(n) FROM (SELECT count(*) AS n FROM usage_records "
                       "WHERE session_id LIKE '127.0.0.1/crowd-%' GROUP BY xmin::text) t"),
            1);
  expect_ledger_consistent();
}

TEST_F(RadiusMikrotik, RetransmissionIsAnsweredFromTheCacheAndChargedOnce) {
  const std::string sid = "127.0.0.1/dup-1";
  UdpSocket nas("127.0.0.1");
  nas.send_to(daemon_->acct_port(), signed_request(accounting(40, r::acct_status::Start, "dup-1", "hank")));
  ASSERT_TRUE(nas.receive(3000));

  r::Packet interim = accounting(41, r::acct_status::InterimUpdate, "dup-1", "hank");
  r::add_integer(interim, r::attr::AcctOutputOctets, static_cast<std::uint32_t>(3 * MiB));
  const auto bytes = signed_request(interim);
  // Twice at once (the second arrives while the first is in progress), then
  // once more after the answer.
  nas.send_to(daemon_->acct_port(), bytes);
  nas.send_to(daemon_->acct_port(), bytes);
  const auto first = nas.receive(3000);
  ASSERT_TRUE(first);
  if (const auto maybe_second = nas.receive(500)) {
    EXPECT_EQ(*maybe_second, *first);
  }
  nas.send_to(daemon_->acct_port(), bytes);
  const auto third = nas.receive(3000);
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, *first);  // byte for byte: the cached answer
  r::Authenticator sent{};
  std::copy(bytes.begin() + 4, bytes.begin() + 20, sent.begin());
  EXPECT_EQ(r::verify_response(*first, sent, kSecret), r::VerifyResult::Ok);
  EXPECT_EQ(debited(sid), 6);  // 3 MiB once
  EXPECT_EQ(query_long("SELECT count(*) FROM usage_records WHERE session_id = '" + sid + "'"), 1);
  EXPECT_NE(daemon_->log().find("radius.duplicate.answered"), std::string::npos);

  // The same report under a new identifier (a NAS that re-sends after a
  // reboot): the idempotency key still holds.
  r::Packet again = interim;
  again.identifier = 42;
  nas.send_to(daemon_->acct_port(), signed_request(again));
  ASSERT_TRUE(nas.receive(3000));
  EXPECT_EQ(debited(sid), 6);
  expect_ledger_consistent();
}

TEST_F(RadiusMikrotik, LostStartNeverLosesUsage) {
  // An Interim-Update for a session never started opens it with its usage.
  ASSERT_EQ(radclient("acct", "User-Name = \"hank\"\nAcct-Session-Id = \"lost-1\"\n"
                              "Acct-Status-Type = Interim-Update\nAcct-Output-Octets = " +
                                  std::to_string(2 * MiB))
                .code,
            "Accounting-Response");
  EXPECT_EQ(session_state("127.0.0.1/lost-1"), "open");
  EXPECT_EQ(debited("127.0.0.1/lost-1"), 4);
  // A Stop alone is charged and closes.
  ASSERT_EQ(radclient("acct", "User-Name = \"hank\"\nAcct-Session-Id = \"lost-2\"\n"
                              "Acct-Status-Type = Stop\nAcct-Output-Octets = " +
                                  std::to_string(MiB))
                .code,
            "Accounting-Response");
  EXPECT_EQ(debited("127.0.0.1/lost-2"), 2);
  EXPECT_EQ(session_state("127.0.0.1/lost-2"), "closed");
  // The NAS reuses the id after a reboot: the new Stop (other totals) is
  // charged for its own usage only.
  ASSERT_EQ(radclient("acct", "User-Name = \"hank\"\nAcct-Session-Id = \"lost-2\"\n"
                              "Acct-Status-Type = Stop\nAcct-Output-Octets = " +
                                  std::to_string(4 * MiB))
                .code,
            "Accounting-Response");
  EXPECT_EQ(debited("127.0.0.1/lost-2"), 8);  // 1 MiB, then 3 more
  EXPECT_EQ(session_state("127.0.0.1/lost-2"), "closed");
  expect_ledger_consistent();
}

TEST_F(RadiusMikrotik, AccountingOnClosesTheNasSessions) {
  for (const std::string s : {"on-1", "on-2"})
    ASSERT_EQ(radclient("acct", "User-Name = \"ivan\"\nAcct-Session-Id = \"" + s + "\"\nAcct-Status-Type = Start").code,
              "Accounting-Response");
  EXPECT_EQ(session_state("127.0.0.1/on-1"), "open");
  EXPECT_EQ(held("127.0.0.1/on-1") + held("127.0.0.1/on-2"), 40);
  ASSERT_EQ(radclient("acct", "Acct-Status-Type = Accounting-On\nNAS-IP-Address = 127.0.0.1").code,
            "Accounting-Response");
  EXPECT_EQ(session_state("127.0.0.1/on-1"), "closed");
  EXPECT_EQ(session_state("127.0.0.1/on-2"), "closed");
  EXPECT_EQ(held("127.0.0.1/on-1") + held("127.0.0.1/on-2"), 0);
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_sessions WHERE protocol = 'radius' AND state = 'open' "
                       "AND nas_address = '127.0.0.1'"),
            0);
  EXPECT_EQ(balance("ivan"), 10000);
  expect_ledger_consistent();
}

// The usual NAS: Access-Request with Acct-Session-Id, then Start. The
// Start keeps the Access's grant (no second reservation, one UPDATE) and
// records the NAS's details; a hotlined session's Start still asks for a
// grant (a top-up may have come in between).
TEST_F(RadiusMikrotik, StartAfterAccessKeepsItsGrantAndRecordsTheNasDetails) {
  subscriber("jane", "janepw", 5000);
  const std::string sid = "127.0.0.1/att-1";
  ASSERT_EQ(radclient("auth", "User-Name = \"jane\"\nUser-Password = \"janepw\"\n"
                              "Acct-Session-Id = \"att-1\"\nMessage-Authenticator = 0x00")
                .code,
            "Access-Accept");
  EXPECT_EQ(held(sid), 20);
  ASSERT_EQ(radclient("acct", "User-Name = \"jane\"\nAcct-Session-Id = \"att-1\"\nAcct-Status-Type = Start\n"
                              "Framed-IP-Address = 10.9.8.7")
                .code,
            "Accounting-Response");
  EXPECT_EQ(held(sid), 20);
  EXPECT_EQ(query_long("SELECT count(*) FROM ledger WHERE kind = 'reserve' AND session_id = '" + sid + "'"), 1);
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_events WHERE session_id = '" + sid + "'"), 1);
  EXPECT_EQ(query_text("SELECT (client_info ->> 'framed_ip') || ' ' || (client_info ->> 'user_name') || ' ' || "
                       "(client_info ->> 'acct_session_id') FROM charging_sessions WHERE id = '" + sid + "'"),
            "10.9.8.7 jane att-1");

  // lena has no credit: her Access is hotlined (no grant); her Start is
  // charged as an Initial, and after a top-up it gets a grant.
  subscriber("lena", "lenapw", 0);
  ASSERT_EQ(radclient("auth", "User-Name = \"lena\"\nUser-Password = \"lenapw\"\n"
                              "Acct-Session-Id = \"att-2\"\nMessage-Authenticator = 0x00")
                .code,
            "Access-Accept");
  db_->exec("UPDATE accounts SET balance = balance + 100 WHERE subscriber_id = (SELECT id FROM subscribers "
            "WHERE external_id = 'lena'); INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after) "
            "SELECT s.id, 'topup', 100, 'EUR', a.balance FROM subscribers s JOIN accounts a ON a.subscriber_id = s.id "
            "WHERE s.external_id = 'lena'");
  ASSERT_EQ(radclient("acct", "User-Name = \"lena\"\nAcct-Session-Id = \"att-2\"\nAcct-Status-Type = Start").code,
            "Accounting-Response");
  EXPECT_EQ(held("127.0.0.1/att-2"), 20);
  expect_ledger_consistent();
}

TEST_F(RadiusMikrotik, NoCreditIsHotlinedByPolicy) {
  const Reply reply = radclient("auth", "User-Name = \"dave\"\nUser-Password = \"davepw\"\n"
                                        "Acct-Session-Id = \"hot-1\"\nMessage-Authenticator = 0x00");
  ASSERT_EQ(reply.code, "Access-Accept") << reply;
  EXPECT_TRUE(reply.has("Framed-Pool = \"LIMITED\"")) << reply;
  EXPECT_TRUE(reply.has("Mikrotik-Address-List = \"hotline\"")) << reply;
  EXPECT_TRUE(reply.has("Session-Timeout = 120")) << reply;  // the hotline period
  EXPECT_EQ(reply.count_prefix("Mikrotik-Total-Limit"), 0U) << reply;
  EXPECT_EQ(held("127.0.0.1/hot-1"), 0);
}

TEST_F(RadiusMikrotik, NoCreditIsRejectedByPolicy) {
  const Reply reply = radclient("auth", "User-Name = \"erin\"\nUser-Password = \"erinpw\"\nMessage-Authenticator = 0x00");
  EXPECT_EQ(reply.code, "Access-Reject") << reply;
  EXPECT_TRUE(reply.has("Reply-Message = \"No credit left\"")) << reply;
}

TEST_F(RadiusMikrotik, BlockedIsRejectedOrHotlinedByPolicy) {
  const Reply carol = radclient("auth", "User-Name = \"carol\"\nUser-Password = \"carolpw\"\nMessage-Authenticator = 0x00");
  EXPECT_EQ(carol.code, "Access-Reject") << carol;
  EXPECT_TRUE(carol.has("Reply-Message = \"Account blocked\"")) << carol;

  const Reply frank = radclient("auth", "User-Name = \"frank\"\nUser-Password = \"frankpw\"\nMessage-Authenticator = 0x00");
  ASSERT_EQ(frank.code, "Access-Accept") << frank;
  EXPECT_TRUE(frank.has("Filter-Id = \"walled-garden\"")) << frank;
  EXPECT_TRUE(frank.has("Framed-Pool = \"LIMITED\"")) << frank;
  EXPECT_TRUE(frank.has("Session-Timeout = 90")) << frank;
  EXPECT_EQ(balance("frank"), 500);
}

TEST_F(RadiusMikrotik, TimePlanGivesSessionTimeout) {
  const Reply reply = radclient("auth", "User-Name = \"gina\"\nUser-Password = \"ginapw\"\n"
                                        "Acct-Session-Id = \"time-1\"\nMessage-Authenticator = 0x00");
  ASSERT_EQ(reply.code, "Access-Accept") << reply;
  EXPECT_TRUE(reply.has("Session-Timeout = 300")) << reply;
  EXPECT_EQ(held("127.0.0.1/time-1"), 25);  // 5 minutes at 5 cents
}

TEST_F(RadiusMikrotik, GrantWithoutAcctSessionIdMovesToTheSessionAtStart) {
  const Reply reply = radclient("auth", "User-Name = \"alice\"\nUser-Password = \"alicepw\"\nMessage-Authenticator = 0x00");
  ASSERT_EQ(reply.code, "Access-Accept") << reply;
  const long provisional = query_long("SELECT count(*) FROM charging_sessions WHERE id LIKE '127.0.0.1/auth/%' "
                                      "AND state = 'open'");
  ASSERT_GE(provisional, 1);
  std::string cls;
  for (const auto& a : reply.attributes)
    if (a.starts_with("Class = ")) cls = a.substr(8);
  ASSERT_FALSE(cls.empty()) << reply;
  // radclient prints Class as hex (octets) or a string; send it back as is.
  ASSERT_EQ(radclient("acct", "User-Name = \"alice\"\nAcct-Session-Id = \"late-1\"\nAcct-Status-Type = Start\nClass = " +
                                  cls)
                .code,
            "Accounting-Response");
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_sessions WHERE id LIKE '127.0.0.1/auth/%' AND state = 'open'"),
            provisional - 1);
  EXPECT_EQ(session_state("127.0.0.1/late-1"), "open");
}

// A second daemon on ports already taken (by the fixture's) stops at once
// with a message naming the port; it never shares them. One number for both
// ports is refused by the configuration.
TEST_F(RadiusMikrotik, PortsAlreadyTakenStopItWithAClearError) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string config = (dir / ("ocs-radiusd-taken-" + std::to_string(::getpid()) + ".toml")).string();
  auto write = [&](int auth, int acct) {
    std::ofstream(config) << "[database]\ndsn = \"" << db_->dsn() << "\"\npool_size = 2\n"
                          << "[radius]\nlisten = \"127.0.0.1\"\nauth_port = " << auth << "\nacct_port = " << acct
                          << "\ndictionary = \"" OCS_RADIUS_DICTIONARY "\"\n";
  };
  write(daemon_->auth_port(), 0);
  RunResult r = run({OCS_RADIUSD, "--config", config}, std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.status << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("UDP port " + std::to_string(daemon_->auth_port()) + " (auth_port)"), std::string::npos)
      << r.out << r.err;
  write(0, daemon_->acct_port());
  r = run({OCS_RADIUSD, "--config", config}, std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.status << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("UDP port " + std::to_string(daemon_->acct_port()) + " (acct_port)"), std::string::npos)
      << r.out << r.err;
  // The same number for both ports is a configuration error (exit 2).
  write(11645, 11645);
  r = run({OCS_RADIUSD, "--config", config}, std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2) << r.status << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("acct_port must differ from auth_port"), std::string::npos) << r.out << r.err;
  std::filesystem::remove(config);
  // The fixture's daemon still answers.
  EXPECT_EQ(radclient("status", "Message-Authenticator = 0x00").code, "Access-Accept");
}

TEST_F(RadiusMikrotik, StatusServerIsAnswered) {
  const Reply reply = radclient("status", "Message-Authenticator = 0x00");
  EXPECT_EQ(reply.code, "Access-Accept") << reply;
}

// ---------------------------------------------------------------------------
// A Cisco NAS at 127.0.0.1: CRB prepaid re-authorization
// ---------------------------------------------------------------------------

class RadiusCisco : public RadiusEndToEnd {
 protected:
  static void SetUpTestSuite() {
    start("cisco");
    subscriber("kate", "katepw", 50);
    subscriber("liam", "liampw", 1000);
  }
  static Reply crb(const std::string& user, const std::string& session, int reason, const std::string& used = "") {
    return radclient("auth", "User-Name = \"" + user + "\"\nUser-Password = \"" + user +
                                 "pw\"\nAcct-Session-Id = \"" + session +
                                 "\"\nCisco-AVPair = \"crb-auth-reason=" + std::to_string(reason) + "\"\n" + used +
                                 "Message-Authenticator = 0x00");
  }
};

TEST_F(RadiusCisco, DialectAndPoolMask) {
  const Reply reply = crb("liam", "c-1", 1);
  ASSERT_EQ(reply.code, "Access-Accept") << reply;
  EXPECT_TRUE(reply.has("Cisco-AVPair = \"crb-total-volume=10485760\"")) << reply;
  EXPECT_TRUE(reply.has("Cisco-AVPair = \"ip:addr-pool=NORMAL\"")) << reply;
  EXPECT_TRUE(reply.has("Cisco-AVPair = \"lcp:interface-config=rate-limit input 10000000 8000 8000 conform-action "
                        "transmit exceed-action drop\""))
      << reply;
  EXPECT_EQ(reply.count_prefix("Mikrotik-"), 0U) << reply;  // mikrotik templates not applied
  EXPECT_TRUE(reply.has("Reply-Message = \"Hello liam\"")) << reply;
}

TEST_F(RadiusCisco, CrbReauthorizationChargesAndReturnsTheNextQuotaUntilTheBalanceIsGone) {
  const std::string sid = "127.0.0.1/crb-1";
  // Initial authorization: 10 MiB held (20 of kate's 50 cents).
  Reply r1 = crb("kate", "crb-1", 1);
  ASSERT_EQ(r1.code, "Access-Accept") << r1;
  EXPECT_TRUE(r1.has("Cisco-AVPair = \"crb-total-volume=10485760\"")) << r1;
  EXPECT_EQ(held(sid), 20);

  // Re-authorization with 10 MiB used: 20 cents charged, next 10 MiB.
  Reply r2 = crb("kate", "crb-1", 3, "Cisco-AVPair += \"crb-total-volume=" + std::to_string(10 * MiB) + "\"\n");
  ASSERT_EQ(r2.code, "Access-Accept") << r2;
  EXPECT_TRUE(r2.has("Cisco-AVPair = \"crb-total-volume=10485760\"")) << r2;
  EXPECT_EQ(balance("kate"), 30);
  EXPECT_EQ(held(sid), 20);

  // 20 MiB used in all: 20 more cents; 10 left buys the last 5 MiB.
  Reply r3 = crb("kate", "crb-1", 3, "Cisco-AVPair += \"crb-total-volume=" + std::to_string(20 * MiB) + "\"\n");
  ASSERT_EQ(r3.code, "Access-Accept") << r3;
  EXPECT_TRUE(r3.has("Cisco-AVPair = \"crb-total-volume=5242880\"")) << r3;
  EXPECT_EQ(balance("kate"), 10);

  // 25 MiB used: the balance is gone -> crb-terminate-cause 1.
  Reply r4 = crb("kate", "crb-1", 3, "Cisco-AVPair += \"crb-total-volume=" + std::to_string(25 * MiB) + "\"\n");
  ASSERT_EQ(r4.code, "Access-Reject") << r4;
  EXPECT_TRUE(r4.has("Cisco-AVPair = \"crb-terminate-cause=1\"")) << r4;
  EXPECT_EQ(balance("kate"), 0);
  EXPECT_EQ(debited(sid), 50);
  EXPECT_EQ(held(sid), 0);

  // A re-authorization for a session that does not exist.
  Reply r5 = crb("kate", "crb-none", 3, "Cisco-AVPair += \"crb-total-volume=1\"\n");
  EXPECT_EQ(r5.code, "Access-Reject") << r5;
  EXPECT_TRUE(r5.has("Cisco-AVPair = \"crb-terminate-cause=14\"")) << r5;
  expect_ledger_consistent();
}

// ---------------------------------------------------------------------------
// --check-config
// ---------------------------------------------------------------------------

TEST(RadiusCheckConfig, ExitsZeroForAValidFileAndTwoOtherwise) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string good = (dir / ("ocs-radiusd-good-" + std::to_string(::getpid()) + ".toml")).string();
  const std::string bad = (dir / ("ocs-radiusd-bad-" + std::to_string(::getpid()) + ".toml")).string();
  std::ofstream(good) << "[radius]\nauth_port = 11812\ndictionary = \"" OCS_RADIUS_DICTIONARY "\"\n";
  std::ofstream(bad) << "[radius]\nauth_port = 70000\n";
  const RunResult ok = run({OCS_RADIUSD, "--config", good, "--check-config"});
  EXPECT_TRUE(ok.exited_ok()) << ok.out << ok.err;
  const RunResult no = run({OCS_RADIUSD, "--config", bad, "--check-config"});
  EXPECT_TRUE(WIFEXITED(no.status) && WEXITSTATUS(no.status) == 2) << no.out << no.err;
  EXPECT_NE(no.err.find(":2:"), std::string::npos) << no.err;
  const RunResult missing_dict = run({OCS_RADIUSD, "--config", bad + ".absent", "--check-config"});
  EXPECT_TRUE(WIFEXITED(missing_dict.status) && WEXITSTATUS(missing_dict.status) == 2);
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

// ---------------------------------------------------------------------------
// CoA/Disconnect (RFC 5176): account events reach the NAS (a TestNas on
// 127.0.0.1 registered as nas1's coa_port)
// ---------------------------------------------------------------------------

class RadiusCoa : public RadiusEndToEnd {
 protected:
  static void SetUpTestSuite() {
    nas_ = new TestNas(kSecret);
    start("mikrotik", nas_->port(),
          "coa_timeout_ms = 300\ncoa_max_timeout_ms = 600\ncoa_attempts = 3\ncoa_normal_filter_id = \"full-access\"\n");
    subscriber("hilda", "hildapw", 0);     // no credit: hotlined by the 'radius' policy
    subscriber("ida", "idapw", 0);         // no credit, hotlined; a top-up too small to lift it
    subscriber("jack", "jackpw", 10000);   // blocked while online
    subscriber("kate", "katepw", 10000);   // blocked while online; the NAS drops, then NAKs
    subscriber("liam", "liampw", 10000);   // topped up while not hotlined: nothing to send
    // 30 cents: the 10 MiB grant (20 cents) and then 15 MiB used take it all.
    subscriber("mona", "monapw", 30, "flat", "strict");  // exhausted, reject policy: Disconnect
    subscriber("nora", "norapw", 30, "flat", "walled");  // exhausted, hotline with a Filter-Id: CoA
    // The daemon LISTENs on its own thread: wait until it does.
    EXPECT_TRUE(log_has("radius.coa.listening")) << daemon_->log_tail();
  }
  static void TearDownTestSuite() {
    RadiusEndToEnd::TearDownTestSuite();
    delete nas_;
    nas_ = nullptr;
  }

  /// Access-Request then Accounting-Start (with Framed-IP-Address) for `user`.
  static void online(const std::string& user, const std::string& acct_session, const std::string& framed_ip,
                     const std::string& expect_code = "Access-Accept") {
    const Reply auth = radclient("auth", "User-Name = \"" + user + "\"\nUser-Password = \"" + user +
                                             "pw\"\nAcct-Session-Id = \"" + acct_session +
                                             "\"\nMessage-Authenticator = 0x00");
    ASSERT_EQ(auth.code, expect_code) << auth;
    const Reply start = radclient("acct", "User-Name = \"" + user + "\"\nAcct-Status-Type = Start\nAcct-Session-Id = \"" +
                                              acct_session + "\"\nFramed-IP-Address = " + framed_ip);
    ASSERT_EQ(start.code, "Accounting-Response") << start;
  }
  static RunResult ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {OCS_CTL, "--db", db_->dsn()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, std::chrono::seconds(30));
  }
  /// Polls `done` until it holds or 5 s have passed.
  template <class Predicate>
  static bool eventually(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  /// Waits until the daemon's log holds `needle`.
  static bool log_has(const std::string& needle) {
    return eventually([&] { return daemon_->log().find(needle) != std::string::npos; });
  }
  /// The requests the NAS received for `acct_session` (by Acct-Session-Id).
  static std::vector<TestNas::Received> received_for(const std::string& acct_session) {
    std::vector<TestNas::Received> out;
    for (const auto& r : nas_->received())
      if (r.decoded && r::get_string(r.packet, r::attr::AcctSessionId) == acct_session) out.push_back(r);
    return out;
  }
  static bool wait_received(const std::string& acct_session, std::size_t n) {
    return eventually([&] { return received_for(acct_session).size() >= n; });
  }
  static std::string ip(const r::Packet& p, std::uint8_t type) {
    const auto v = r::get_ipaddr(p, type);
    if (!v) return "none";
    return std::to_string(*v >> 24) + "." + std::to_string((*v >> 16) & 255) + "." + std::to_string((*v >> 8) & 255) +
           "." + std::to_string(*v & 255);
  }

  /// Waits for the one request the NAS must receive for `acct_session` and
  /// checks that it is signed and names the session as RFC 5176 3 says.
  static r::Packet the_one_request(const std::string& acct_session, std::uint8_t code, const std::string& user,
                                   const std::string& framed_ip) {
    EXPECT_TRUE(wait_received(acct_session, 1)) << daemon_->log_tail();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // nothing more may come
    const auto got = received_for(acct_session);
    EXPECT_EQ(got.size(), 1U);
    if (got.empty()) return {};
    const r::Packet& p = got[0].packet;
    EXPECT_TRUE(got[0].verified);
    EXPECT_EQ(p.code, code);
    EXPECT_EQ(r::get_string(p, r::attr::UserName), user);
    EXPECT_EQ(ip(p, 4), "127.0.0.1");  // NAS-IP-Address
    EXPECT_EQ(ip(p, 8), framed_ip);    // Framed-IP-Address, from the Start
    return p;
  }

  static inline TestNas* nas_ = nullptr;
};

TEST_F(RadiusCoa, TopupOfAHotlinedSessionSendsACoaWithTheNormalFilter) {
  nas_->set_behaviour({});
  online("hilda", "coa-hotline-1", "10.0.0.7");
  ASSERT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '127.0.0.1/coa-hotline-1'"), "exhausted");
  EXPECT_TRUE(received_for("coa-hotline-1").empty());

  const RunResult topup = ctl({"topup", "hilda", "10.00"});
  ASSERT_TRUE(topup.exited_ok()) << topup.out << topup.err;

  const r::Packet p = the_one_request("coa-hotline-1", r::code::CoaRequest, "hilda", "10.0.0.7");
  EXPECT_EQ(r::get_string(p, 11), "full-access");  // Filter-Id: [radius] coa_normal_filter_id
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-hotline-1 nas=nas1 request=coa reason=lift-hotline"))
      << daemon_->log_tail();
  // The session was re-authorised in the store: credit again, a grant held.
  EXPECT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '127.0.0.1/coa-hotline-1'"), "ok");
  EXPECT_GT(held("127.0.0.1/coa-hotline-1"), 0);
  // Not closed: the NAS's Stop ends it.
  EXPECT_EQ(session_state("127.0.0.1/coa-hotline-1"), "open");
  expect_ledger_consistent();
}

TEST_F(RadiusCoa, TopupTooSmallToAffordAGrantSendsNothing) {
  nas_->set_behaviour({});
  online("ida", "coa-small-1", "10.0.0.8");
  // 1 cent: less than one 1 MiB block at 2 cents.
  ASSERT_TRUE(ctl({"topup", "ida", "0.01"}).exited_ok());
  ASSERT_TRUE(log_has("radius.coa.recheck session=127.0.0.1/coa-small-1")) << daemon_->log_tail();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(received_for("coa-small-1").empty());
  EXPECT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '127.0.0.1/coa-small-1'"), "exhausted");
}

TEST_F(RadiusCoa, TopupOfASessionWithCreditSendsNothing) {
  nas_->set_behaviour({});
  online("liam", "coa-liam-1", "10.0.0.9");
  ASSERT_TRUE(ctl({"topup", "liam", "1.00"}).exited_ok());
  // A later block of the same subscriber is sent: the top-up before it was not.
  ASSERT_TRUE(ctl({"subscriber", "block", "liam"}).exited_ok());
  ASSERT_TRUE(wait_received("coa-liam-1", 1)) << daemon_->log_tail();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto got = received_for("coa-liam-1");
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].packet.code, r::code::DisconnectRequest);
}

TEST_F(RadiusCoa, ExhaustionMidSessionDisconnectsUnderARejectPolicy) {
  nas_->set_behaviour({});
  online("mona", "coa-exhausted-1", "10.0.0.12");
  EXPECT_TRUE(received_for("coa-exhausted-1").empty());
  const Reply interim = radclient("acct", "User-Name = \"mona\"\nAcct-Status-Type = Interim-Update\n"
                                          "Acct-Session-Id = \"coa-exhausted-1\"\nAcct-Output-Octets = 15728640");
  ASSERT_EQ(interim.code, "Accounting-Response") << interim;
  EXPECT_EQ(balance("mona"), 0);
  the_one_request("coa-exhausted-1", r::code::DisconnectRequest, "mona", "10.0.0.12");
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-exhausted-1 nas=nas1 request=disconnect reason=exhausted"))
      << daemon_->log_tail();
  // A second Interim of a session already without credit sends nothing more.
  const Reply again = radclient("acct", "User-Name = \"mona\"\nAcct-Status-Type = Interim-Update\n"
                                        "Acct-Session-Id = \"coa-exhausted-1\"\nAcct-Output-Octets = 15728641");
  ASSERT_EQ(again.code, "Accounting-Response") << again;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(received_for("coa-exhausted-1").size(), 1U);
  expect_ledger_consistent();
}

TEST_F(RadiusCoa, ExhaustionMidSessionHotlinesWithTheRestrictionFilter) {
  nas_->set_behaviour({});
  online("nora", "coa-exhausted-2", "10.0.0.13");
  const Reply interim = radclient("acct", "User-Name = \"nora\"\nAcct-Status-Type = Interim-Update\n"
                                          "Acct-Session-Id = \"coa-exhausted-2\"\nAcct-Output-Octets = 15728640");
  ASSERT_EQ(interim.code, "Accounting-Response") << interim;
  const r::Packet p = the_one_request("coa-exhausted-2", r::code::CoaRequest, "nora", "10.0.0.13");
  EXPECT_EQ(r::get_string(p, 11), "walled-garden");  // the policy's restriction_filter_id
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-exhausted-2 nas=nas1 request=coa reason=hotline"))
      << daemon_->log_tail();
}

TEST_F(RadiusCoa, BlockSendsADisconnectRequest) {
  nas_->set_behaviour({});
  online("jack", "coa-block-1", "10.0.0.10");
  ASSERT_TRUE(ctl({"subscriber", "block", "jack"}).exited_ok());
  const r::Packet p = the_one_request("coa-block-1", r::code::DisconnectRequest, "jack", "10.0.0.10");
  EXPECT_EQ(p.find(11), nullptr);  // no Filter-Id in a Disconnect
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-block-1 nas=nas1 request=disconnect reason=blocked"))
      << daemon_->log_tail();
  // The session stays open until the NAS's Stop, which closes it.
  EXPECT_EQ(session_state("127.0.0.1/coa-block-1"), "open");
  const Reply stop = radclient("acct", "User-Name = \"jack\"\nAcct-Status-Type = Stop\nAcct-Session-Id = \"coa-block-1\"\n"
                                       "Acct-Input-Octets = 1000\nAcct-Output-Octets = 1000");
  ASSERT_EQ(stop.code, "Accounting-Response") << stop;
  EXPECT_EQ(session_state("127.0.0.1/coa-block-1"), "closed");
  expect_ledger_consistent();
}

TEST_F(RadiusCoa, DroppedRequestIsRetriedAndTheNakIsLoggedWithItsErrorCause) {
  online("kate", "coa-nak-1", "10.0.0.11");
  TestNas::Behaviour b;
  b.ack = false;
  b.error_cause = 503;
  b.drop_next = 1;
  nas_->set_behaviour(b);
  ASSERT_TRUE(ctl({"subscriber", "block", "kate"}).exited_ok());
  ASSERT_TRUE(wait_received("coa-nak-1", 2)) << daemon_->log_tail();
  const auto got = received_for("coa-nak-1");
  ASSERT_EQ(got.size(), 2U);
  // The retransmission is the same request (identifier and authenticator).
  EXPECT_EQ(got[0].wire, got[1].wire);
  EXPECT_TRUE(log_has("radius.coa.nak session=127.0.0.1/coa-nak-1 nas=nas1 request=disconnect reason=blocked "
                      "attempts=2 error_cause=503 (Session-Context-Not-Found)"))
      << daemon_->log_tail();
  nas_->set_behaviour({});
}

// An operator's edit of a policy, or a subscriber moved to another policy,
// reaches the online sessions: a CoA-Request with the new rate limits
// (Mikrotik-Rate-Limit, the 'radius' policy's template included), once per
// change, and nothing to sessions whose limits did not change.
TEST_F(RadiusCoa, PolicyEditSendsTheNewRateLimitsByCoa) {
  nas_->set_behaviour({});
  db_->exec("INSERT INTO policies (name, validity_time, rate_limit_up_kbps, rate_limit_down_kbps, supervision_time) "
            "VALUES ('speedy', 600, 1000, 4000, 3600)");
  subscriber("olga", "olgapw", 10000, "flat", "speedy");
  subscriber("pete", "petepw", 10000);  // the 'radius' policy: online throughout, never sent anything
  online("olga", "coa-rate-1", "10.0.0.12");
  online("pete", "coa-rate-2", "10.0.0.13");
  const std::string digest_sql =
      "SELECT client_info ->> 'rate_digest' FROM charging_sessions WHERE id = '127.0.0.1/coa-rate-1'";
  const std::string first_digest = query_text(digest_sql);
  ASSERT_EQ(first_digest.size(), 16U) << first_digest;  // recorded by the Access-Request's charge
  const auto rate_limit = [](const r::Packet& p) {
    const auto* a = p.find(8, r::vendor_id::Mikrotik);
    return a ? r::as_string(*a) : std::string("none");
  };

  // 1. The operator raises the policy's download rate.
  db_->exec("UPDATE policies SET rate_limit_down_kbps = 8000 WHERE name = 'speedy'");
  const r::Packet p = the_one_request("coa-rate-1", r::code::CoaRequest, "olga", "10.0.0.12");
  EXPECT_EQ(rate_limit(p), "1000k/8000k");
  EXPECT_EQ(p.find(11), nullptr);  // no Filter-Id: only the limits change
  ASSERT_TRUE(eventually([&] { return query_text(digest_sql) != first_digest; })) << daemon_->log_tail();
  const std::string second_digest = query_text(digest_sql);
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-rate-1 nas=nas1 request=coa reason=rate-limits"))
      << daemon_->log_tail();

  // 2. An edit that leaves the limits as they are sends nothing (the ACK
  // recorded what the NAS enforces now).
  const auto sweeps = [&] {
    const std::string log = daemon_->log();
    const std::string needle = "why=\"configuration changed\"";
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  const std::size_t before = sweeps();
  db_->exec("UPDATE policies SET hotline_validity_time = 100 WHERE name = 'speedy'");
  ASSERT_TRUE(eventually([&] { return sweeps() > before; })) << daemon_->log_tail();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(received_for("coa-rate-1").size(), 1U);

  // 3. The subscriber moves to the 'radius' policy, whose Mikrotik template
  // writes the rate with bursts (20000/50000 kbit/s scaled by 50 %).
  db_->exec("UPDATE subscribers SET policy_id = (SELECT id FROM policies WHERE name = 'radius') "
            "WHERE external_id = 'olga'");
  ASSERT_TRUE(wait_received("coa-rate-1", 2)) << daemon_->log_tail();
  EXPECT_EQ(rate_limit(received_for("coa-rate-1")[1].packet), "10000k/25000k 0/0 0/0 0/0 8");
  EXPECT_TRUE(log_has("radius.coa.rates why=\"plan changed\"")) << daemon_->log_tail();
  ASSERT_TRUE(eventually([&] { return query_text(digest_sql) != second_digest; })) << daemon_->log_tail();

  // 4. A policy without limits: the CoA lifts them ("0/0").
  db_->exec("UPDATE subscribers SET policy_id = (SELECT id FROM policies WHERE name = 'strict') "
            "WHERE external_id = 'olga'");
  ASSERT_TRUE(wait_received("coa-rate-1", 3)) << daemon_->log_tail();
  EXPECT_EQ(rate_limit(received_for("coa-rate-1")[2].packet), "0/0");
  for (const auto& got : received_for("coa-rate-1")) EXPECT_TRUE(got.verified);

  // pete's policy did not change: nothing reached his session.
  EXPECT_TRUE(received_for("coa-rate-2").empty());
  expect_ledger_consistent();
}

// A NAK (or no answer) leaves the recorded limits as they were: the next
// edit sends the CoA again.
TEST_F(RadiusCoa, RateLimitCoaThatIsRefusedIsSentAgainAtTheNextEdit) {
  nas_->set_behaviour({});
  db_->exec("INSERT INTO policies (name, validity_time, rate_limit_up_kbps, rate_limit_down_kbps, supervision_time) "
            "VALUES ('steady', 600, 2000, 2000, 3600)");
  subscriber("quinn", "quinnpw", 10000, "flat", "steady");
  online("quinn", "coa-rate-3", "10.0.0.14");
  TestNas::Behaviour nak;
  nak.ack = false;
  nak.error_cause = 503;
  nas_->set_behaviour(nak);
  db_->exec("UPDATE policies SET rate_limit_up_kbps = 3000 WHERE name = 'steady'");
  ASSERT_TRUE(wait_received("coa-rate-3", 1)) << daemon_->log_tail();
  EXPECT_TRUE(log_has("radius.coa.nak session=127.0.0.1/coa-rate-3 nas=nas1 request=coa reason=rate-limits"))
      << daemon_->log_tail();
  nas_->set_behaviour({});
  db_->exec("UPDATE policies SET hotline_validity_time = 100 WHERE name = 'steady'");  // limits as they were
  ASSERT_TRUE(wait_received("coa-rate-3", 2)) << daemon_->log_tail();
  const auto got = received_for("coa-rate-3");
  const auto* a = got[1].packet.find(8, r::vendor_id::Mikrotik);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(r::as_string(*a), "3000k/2000k");
  EXPECT_NE(got[0].wire, got[1].wire);  // a new request, not a retransmission
  EXPECT_TRUE(log_has("radius.coa.ack session=127.0.0.1/coa-rate-3 nas=nas1 request=coa reason=rate-limits"))
      << daemon_->log_tail();
}

// ---------------------------------------------------------------------------
// CoA/Disconnect to a NAS at an IPv6 address: the daemon listens on ::1,
// radclient sends from ::1, the test NAS listens on ::1. Skipped where the
// machine has no IPv6 loopback (a container with IPv6 off).
// ---------------------------------------------------------------------------

class RadiusCoaIpv6 : public RadiusCoa {
 protected:
  static void SetUpTestSuite() {
    if (!TestNas::ipv6_loopback()) return;
    nas_ = new TestNas(kSecret, TestNas::Family::Ipv6);
    start("mikrotik", nas_->port(), "coa_timeout_ms = 300\ncoa_attempts = 3\ncoa_normal_filter_id = \"full-access\"\n",
          "::1");
    subscriber("olga", "olgapw", 0);       // no credit: hotlined
    subscriber("pavel", "pavelpw", 10000);  // blocked while online
    EXPECT_TRUE(log_has("radius.coa.listening")) << daemon_->log_tail();
  }
  static void TearDownTestSuite() {
    RadiusCoa::TearDownTestSuite();
    server_ = "127.0.0.1";
  }
  void SetUp() override {
    if (!daemon_) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  }
  static void expect_named_by_ipv6(const r::Packet& p) {
    const r::Attribute* v6 = p.find(95);  // NAS-IPv6-Address
    ASSERT_NE(v6, nullptr);
    EXPECT_EQ(v6->value, (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(p.find(4), nullptr);  // NAS-IP-Address
  }
};

TEST_F(RadiusCoaIpv6, TopupAndBlockReachTheNasOverIpv6NamedByNasIpv6Address) {
  online("olga", "coa6-hotline", "10.0.0.21");
  ASSERT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '::1/coa6-hotline'"), "exhausted");
  ASSERT_TRUE(ctl({"topup", "olga", "10.00"}).exited_ok());
  ASSERT_TRUE(wait_received("coa6-hotline", 1)) << daemon_->log_tail();
  auto got = received_for("coa6-hotline");
  ASSERT_EQ(got.size(), 1U);
  EXPECT_TRUE(got[0].verified);
  EXPECT_EQ(got[0].packet.code, r::code::CoaRequest);
  EXPECT_EQ(r::get_string(got[0].packet, r::attr::UserName), "olga");
  EXPECT_EQ(ip(got[0].packet, 8), "10.0.0.21");
  EXPECT_EQ(r::get_string(got[0].packet, 11), "full-access");
  expect_named_by_ipv6(got[0].packet);
  EXPECT_TRUE(log_has("radius.coa.ack session=::1/coa6-hotline nas=nas1 request=coa reason=lift-hotline"))
      << daemon_->log_tail();
  EXPECT_EQ(query_text("SELECT credit_state FROM charging_sessions WHERE id = '::1/coa6-hotline'"), "ok");

  online("pavel", "coa6-block", "10.0.0.22");
  ASSERT_TRUE(ctl({"subscriber", "block", "pavel"}).exited_ok());
  ASSERT_TRUE(wait_received("coa6-block", 1)) << daemon_->log_tail();
  got = received_for("coa6-block");
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].packet.code, r::code::DisconnectRequest);
  expect_named_by_ipv6(got[0].packet);
  EXPECT_TRUE(log_has("radius.coa.ack session=::1/coa6-block nas=nas1 request=disconnect reason=blocked"))
      << daemon_->log_tail();
  expect_ledger_consistent();
}

}  // namespace
}  // namespace ocs::test