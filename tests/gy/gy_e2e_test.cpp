// Gy end to end: Debian's freeDiameterd with dict_ocs.fdx and ocs.fdx, a real
// PostgreSQL, and the project's independent client (tools/diameter) as PGW.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <regex>
#include <thread>

#include <pqxx/pqxx>

#include "codec.hpp"
#include "fd_daemon.hpp"
#include "gy_messages.hpp"
#include "ocs_daemon.hpp"
#include "peer.hpp"
#include "pg_test_db.hpp"
#include "tshark_capture.hpp"

namespace ocs::test {
namespace {

using dia::Avp;
using dia::Message;
namespace code = dia::code;
namespace gy = dia::gy;
constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::uint32_t kData = 10, kVoice = 20;

// Prices: data 2 cents per started MiB, voice 5 cents per started minute.
const char* kPlanSql = R"SQL(
INSERT INTO policies (name, validity_time, volume_quota_threshold, time_quota_threshold,
                      quota_holding_time, quota_consumption_time, supervision_time)
VALUES ('gy', 600, 1048576, 60, 300, 30, 3600);
INSERT INTO policies (name, validity_time, final_unit_action, hotline_url, hotline_validity_time,
                      rating_group_in_disconnect, supervision_time)
VALUES ('portal', 600, 'redirect', 'http://portal.localdomain/topup', 120, true, 3600);
INSERT INTO policies (name, validity_time, supervision_time) VALUES ('short', 600, 1);
INSERT INTO policies (name, validity_time, final_unit_action, restriction_filter_id)
VALUES ('restrict', 600, 'restrict', 'walled-garden');
INSERT INTO plans (name, currency, policy_id) SELECT 'flat', 'EUR', id FROM policies WHERE name = 'gy';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant)
  SELECT id, 10, 'octets_total', 1048576, 10485760, 104857600 FROM plans WHERE name = 'flat';
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, default_grant, max_grant)
  SELECT id, 20, 'seconds', 60, 300, 3600 FROM plans WHERE name = 'flat';
INSERT INTO tariff_periods (plan_rating_group_id, price_per_block)
  SELECT g.id, CASE g.rating_group WHEN 10 THEN 2 ELSE 5 END
  FROM plan_rating_groups g JOIN plans p ON p.id = g.plan_id WHERE p.name = 'flat';
)SQL";

class GyEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->exec(kPlanSql);
    const std::string toml = "[database]\ndsn = \"" + db_->dsn() +
                             "\"\npool_size = 4\n[log]\nlevel = \"info\"\n"
                             "[gy]\ndefault_rating_group = 10\nsupervision_interval_ms = 200\n"
                             "peer_answer_timeout_ms = 2000\nbatch_max = " +
                             std::to_string(batch_max()) + "\n";
    daemon_ = new FdDaemon(ocs_daemon(toml));
  }
  /// gy.batch_max for the suite: OCS_TEST_GY_BATCH_MAX (CTest runs the
  /// suite once with batches, once without), else the default of 32.
  static std::size_t batch_max() {
    const char* v = std::getenv("OCS_TEST_GY_BATCH_MAX");
    return v && *v ? std::stoul(v) : 32;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    dia::PeerConfig c;
    c.port = daemon_->port();
    c.origin_host = "pgw.localdomain";
    // Each test reconnects right after the previous one's DPR.
    peer_ = std::make_unique<dia::Peer>(c);
    peer_->connect_retrying();
  }
  void TearDown() override {
    peer_->close();
    if (HasFailure()) std::cerr << "--- freeDiameterd log tail ---\n" << daemon_->log_tail(40) << "\n";
  }

  /// A subscriber on the flat plan with MSISDN `msisdn` and a balance in cents.
  static void subscriber(const std::string& id, const std::string& msisdn, long balance,
                         const std::string& policy = "", const std::string& status = "active") {
    db_->exec("INSERT INTO subscribers (external_id, plan_id, policy_id, status) SELECT '" + id +
              "', p.id, (SELECT id FROM policies WHERE name = '" + policy + "'), '" + status +
              "' FROM plans p WHERE p.name = 'flat';"
              "INSERT INTO subscriber_identities (subscriber_id, kind, value) SELECT id, 'msisdn', '" +
              msisdn + "' FROM subscribers WHERE external_id = '" + id +
              "';"
              "INSERT INTO accounts (subscriber_id, currency, balance) SELECT id, 'EUR', " +
              std::to_string(balance) + " FROM subscribers WHERE external_id = '" + id + "';" +
              (balance > 0 ? "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
                             "SELECT id, 'topup', " +
                                 std::to_string(balance) + ", 'EUR', " + std::to_string(balance) + ", 'open-" + id +
                                 "' FROM subscribers WHERE external_id = '" + id + "';"
                           : std::string()));
  }

  static long query_long(const std::string& sql) { return db_->query_long(sql); }
  static long balance(const std::string& id) {
    return query_long("SELECT balance FROM accounts a JOIN subscribers s ON s.id = a.subscriber_id "
                      "WHERE s.external_id = '" + id + "'");
  }
  static long held(const std::string& id) {
    return query_long("SELECT coalesce(sum(money), 0) FROM reservations r JOIN subscribers s ON "
                      "s.id = r.subscriber_id WHERE s.external_id = '" + id + "'");
  }
  /// The ledger adds up: movements = balance, holds = reservations.
  static void expect_ledger_consistent(const std::string& id) {
    const std::string sub = "(SELECT id FROM subscribers WHERE external_id = '" + id + "')";
    EXPECT_EQ(query_long("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind IN ('topup','debit','adjustment') "
                         "AND subscriber_id = " + sub),
              balance(id));
    EXPECT_EQ(query_long("SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind IN ('reserve','release') "
                         "AND subscriber_id = " + sub),
              held(id));
  }

  Message ccr(const std::string& sid, std::uint32_t type, std::uint32_t number) {
    return gy::ccr(sid, peer_->config().origin_host, peer_->config().origin_realm, type, number);
  }
  Message initial(const std::string& sid, const std::string& msisdn, std::vector<Avp> msccs) {
    Message m = ccr(sid, gy::kInitial, 0);
    m.add(gy::subscription_id(0, msisdn));
    for (auto& x : msccs) m.add(std::move(x));
    return m;
  }
  Message send(Message m) {
    auto a = peer_->request(std::move(m), std::chrono::seconds(10));
    if (!a) throw std::runtime_error("no answer");
    return *a;
  }

  static std::uint32_t rc(const Avp& mscc) { return mscc.child(code::ResultCode)->as_u32(); }
  static std::optional<std::uint64_t> granted_octets(const Avp& mscc) {
    auto gsu = mscc.child(code::Gsu);
    if (!gsu) return std::nullopt;
    auto t = gsu->child(code::CcTotalOctets);
    return t ? std::optional(t->as_u64()) : std::nullopt;
  }

  static TestDatabase* db_;
  static FdDaemon* daemon_;
  std::unique_ptr<dia::Peer> peer_;
};

TestDatabase* GyEndToEnd::db_ = nullptr;
FdDaemon* GyEndToEnd::daemon_ = nullptr;

TEST_F(GyEndToEnd, FullSessionChargesExactlyAndBalancesAddUp) {
  subscriber("full", "491710000001", 1000);
  const std::string sid = peer_->new_session_id("full");
  Message a = send(initial(sid, "491710000001", {gy::mscc(kData), gy::mscc(kVoice)}));
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(a.find(code::CcRequestType)->as_u32(), 1u);
  EXPECT_EQ(a.find(code::CcRequestNumber)->as_u32(), 0u);
  EXPECT_EQ(a.find(code::AuthApplicationId)->as_u32(), 4u);
  auto msccs = gy::answer_msccs(a);
  ASSERT_EQ(msccs.size(), 2u);
  EXPECT_EQ(rc(msccs[0]), 2001u);
  EXPECT_EQ(granted_octets(msccs[0]), 10 * MiB);
  EXPECT_EQ(msccs[0].child(code::ValidityTime)->as_u32(), 600u);
  EXPECT_EQ(msccs[0].child(code::VolumeQuotaThreshold, dia::kVendor3gpp)->as_u32(), MiB);
  EXPECT_EQ(msccs[0].child(code::QuotaHoldingTime, dia::kVendor3gpp)->as_u32(), 300u);
  EXPECT_EQ(msccs[0].child(code::QuotaConsumptionTime, dia::kVendor3gpp)->as_u32(), 30u);
  EXPECT_EQ(msccs[1].child(code::Gsu)->child(code::CcTime)->as_u32(), 300u);
  EXPECT_EQ(msccs[1].child(code::TimeQuotaThreshold, dia::kVendor3gpp)->as_u32(), 60u);
  EXPECT_FALSE(msccs[0].child(code::Fui));
  EXPECT_EQ(held("full"), 20 + 25);

  // Update: 3 MiB + 1 byte used (4 started MiB = 8), 90 s of voice (2 minutes = 10).
  Message u = ccr(sid, gy::kUpdate, 1);
  u.add(gy::mscc(kData, gy::Units{}, {gy::octets(3 * MiB + 1)}));
  u.add(gy::mscc(kVoice, std::nullopt, {gy::seconds(90)}));
  a = send(u);
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(balance("full"), 1000 - 8 - 10);
  EXPECT_EQ(held("full"), 20);  // data re-granted, voice released

  // Termination with directions only (Open5GS style).
  Message t = ccr(sid, gy::kTermination, 2);
  t.add(gy::mscc(kData, std::nullopt, {gy::directions(MiB, MiB)}));
  a = send(t);
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(balance("full"), 1000 - 8 - 10 - 4);
  EXPECT_EQ(held("full"), 0);
  expect_ledger_consistent("full");
  EXPECT_EQ(query_long("SELECT count(*) FROM usage_records WHERE session_id = '" + sid + "'"), 3);
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_sessions WHERE id = '" + sid + "' AND state = 'closed'"), 1);
}

TEST_F(GyEndToEnd, MsccWithoutRatingGroupUsesTheDefault) {
  subscriber("norg", "491710000002", 1000);
  Message a = send(initial(peer_->new_session_id(), "491710000002", {gy::mscc(std::nullopt)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto m = gy::answer_msccs(a).at(0);
  EXPECT_FALSE(m.child(code::RatingGroup));  // mirrors the request
  EXPECT_EQ(granted_octets(m), 10 * MiB);
}

TEST_F(GyEndToEnd, RetransmissionIsAnsweredFromStoreAndChargedOnce) {
  subscriber("retx", "491710000003", 1000);
  const std::string sid = peer_->new_session_id();
  ASSERT_EQ(send(initial(sid, "491710000003", {gy::mscc(kData)})).result_code(), 2001u);
  Message u = ccr(sid, gy::kUpdate, 1);
  u.add(gy::mscc(kData, gy::Units{}, {gy::octets(5 * MiB)}));
  Message first = send(u);
  const long after_first = balance("retx");
  Message again = u;
  again.flags |= dia::kFlagRetransmit;
  again.hop_by_hop = 0;
  Message second = send(again);
  Message third = send(u);  // even without the T flag
  EXPECT_EQ(balance("retx"), after_first);
  EXPECT_EQ(after_first, 1000 - 10);
  for (const Message* m : {&second, &third}) {
    EXPECT_EQ(m->result_code(), first.result_code());
    EXPECT_EQ(dia::encode_avps(gy::answer_msccs(*m)), dia::encode_avps(gy::answer_msccs(first)));
  }
  expect_ledger_consistent("retx");
}

TEST_F(GyEndToEnd, UnknownBlockedAndBrokeSubscribers) {
  subscriber("blocked", "491710000004", 1000, "", "blocked");
  subscriber("broke", "491710000005", 0);
  EXPECT_EQ(send(initial(peer_->new_session_id(), "491719999999", {gy::mscc(kData)})).result_code(), 5030u);
  EXPECT_EQ(send(initial(peer_->new_session_id(), "491710000004", {gy::mscc(kData)})).result_code(), 4010u);
  EXPECT_EQ(send(initial(peer_->new_session_id(), "491710000005", {gy::mscc(kData)})).result_code(), 4012u);
}

TEST_F(GyEndToEnd, LastAffordableGrantCarriesFinalUnitIndication) {
  subscriber("last", "491710000006", 5);  // 2 MiB affordable
  Message a = send(initial(peer_->new_session_id(), "491710000006", {gy::mscc(kData)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto m = gy::answer_msccs(a).at(0);
  EXPECT_EQ(granted_octets(m), 2 * MiB);
  ASSERT_TRUE(m.child(code::Fui));
  EXPECT_EQ(m.child(code::Fui)->child(code::FinalUnitAction)->as_u32(), 0u);  // TERMINATE
}

TEST_F(GyEndToEnd, RestrictAccessFinalUnitsCarryTheFilter) {
  subscriber("restricted", "491710000014", 3, "restrict");  // 1 MiB affordable
  Message a = send(initial(peer_->new_session_id(), "491710000014", {gy::mscc(kData)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto m = gy::answer_msccs(a).at(0);
  EXPECT_EQ(granted_octets(m), MiB);
  auto fui = m.child(code::Fui);
  ASSERT_TRUE(fui);
  EXPECT_EQ(fui->child(code::FinalUnitAction)->as_u32(), 2u);  // RESTRICT_ACCESS
  EXPECT_EQ(fui->child(code::FilterId)->as_str(), "walled-garden");
}

TEST_F(GyEndToEnd, OneRatingGroupRefusedWhileAnotherIsGranted) {
  subscriber("split", "491710000015", 20);  // data holds all 20, nothing left for voice
  Message a = send(initial(peer_->new_session_id(), "491710000015", {gy::mscc(kData), gy::mscc(kVoice)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto msccs = gy::answer_msccs(a);
  EXPECT_EQ(rc(msccs.at(0)), 2001u);
  EXPECT_EQ(granted_octets(msccs.at(0)), 10 * MiB);
  EXPECT_EQ(rc(msccs.at(1)), 4012u);
  EXPECT_FALSE(msccs.at(1).child(code::Gsu));
  EXPECT_EQ(held("split"), 20);
}

TEST_F(GyEndToEnd, PerRatingGroupFailureStaysInItsMscc) {
  subscriber("multi", "491710000007", 1000);
  Message a = send(initial(peer_->new_session_id(), "491710000007", {gy::mscc(kData), gy::mscc(99)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto msccs = gy::answer_msccs(a);
  EXPECT_EQ(rc(msccs.at(0)), 2001u);
  EXPECT_EQ(rc(msccs.at(1)), 5031u);  // RATING_FAILED: the plan has no RG 99
}

TEST_F(GyEndToEnd, HotlineRedirectThenRarAfterTopUp) {
  subscriber("hot", "491710000008", 0, "portal");
  const std::string sid = peer_->new_session_id();
  Message a = send(initial(sid, "491710000008", {gy::mscc(kData)}));
  ASSERT_EQ(a.result_code(), 2001u);
  auto m = gy::answer_msccs(a).at(0);
  EXPECT_FALSE(m.child(code::Gsu));
  EXPECT_EQ(m.child(code::ValidityTime)->as_u32(), 120u);
  auto fui = m.child(code::Fui);
  ASSERT_TRUE(fui);
  EXPECT_EQ(fui->child(code::FinalUnitAction)->as_u32(), 1u);  // REDIRECT
  EXPECT_EQ(fui->child(code::RedirectServer)->child(code::RedirectServerAddress)->as_str(),
            "http://portal.localdomain/topup");

  // A top-up (plain SQL, as an operator's billing system might do it).
  const std::size_t before = peer_->received_requests().size();
  db_->exec("UPDATE accounts SET balance = balance + 500 WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'hot');"
            "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
            "SELECT subscriber_id, 'topup', 500, 'EUR', balance, 'hot-1' FROM accounts WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'hot');");
  ASSERT_TRUE(peer_->wait_for_requests(before + 1, std::chrono::seconds(10)));
  const Message rar = peer_->received_requests().back();
  EXPECT_EQ(rar.code, code::RAR);
  EXPECT_EQ(rar.app_id, 4u);
  EXPECT_EQ(rar.find(code::SessionId)->as_str(), sid);
  EXPECT_EQ(rar.find(code::AuthApplicationId)->as_u32(), 4u);
  EXPECT_EQ(rar.find(code::ReAuthRequestType)->as_u32(), 0u);
  EXPECT_EQ(rar.find(code::DestinationHost)->as_str(), "pgw.localdomain");
  ASSERT_TRUE(rar.find(code::RatingGroup));  // the portal policy has rating-group-in-disconnect
  EXPECT_EQ(rar.find(code::RatingGroup)->as_u32(), kData);

  // The client comes back with CCR-U and gets quota.
  Message u = ccr(sid, gy::kUpdate, 1);
  u.add(gy::mscc(kData));
  a = send(u);
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(granted_octets(gy::answer_msccs(a).at(0)), 10 * MiB);
}

TEST_F(GyEndToEnd, RarToAPeerThatIsGoneIsLoggedAndHarmless) {
  subscriber("gone", "491710000016", 0, "portal");
  {
    dia::PeerConfig c;
    c.port = daemon_->port();
    c.origin_host = "pgw-gone.localdomain";
    dia::Peer gone(c);
    gone.connect();
    Message m = gy::ccr(gone.new_session_id(), "pgw-gone.localdomain", "localdomain", gy::kInitial, 0);
    m.add(gy::subscription_id(0, "491710000016"));
    m.add(gy::mscc(kData));
    auto a = gone.request(m, std::chrono::seconds(10));
    ASSERT_TRUE(a);
    ASSERT_EQ(a->result_code(), 2001u);  // hotlined
    gone.close();
  }
  db_->exec("UPDATE accounts SET balance = balance + 100 WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'gone');"
            "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
            "SELECT subscriber_id, 'topup', 100, 'EUR', balance, 'gone-1' FROM accounts WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'gone');");
  // No other client may receive it: freeDiameter answers 3002 locally.
  const std::string log_line = "RAR session=pgw-gone.localdomain";
  const auto logged = [&] {
    const std::string log = daemon_->log();
    const auto at = log.find(log_line + "");
    return at != std::string::npos && log.find("refused with 3002", at) != std::string::npos;
  };
  for (int i = 0; i < 100 && !logged(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(logged()) << "the undeliverable RAR is logged with 3002 UNABLE_TO_DELIVER";
  for (const auto& r : peer_->received_requests())
    EXPECT_EQ(r.find(code::SessionId)->as_str().rfind("pgw-gone.localdomain", 0), std::string::npos)
        << "a RAR for another client's session reached this one";
  EXPECT_TRUE(daemon_->running());
  subscriber("after-gone", "491710000017", 100);
  EXPECT_EQ(send(initial(peer_->new_session_id(), "491710000017", {gy::mscc(kData)})).result_code(), 2001u);
}

TEST_F(GyEndToEnd, RarAnsweredUnknownSessionClosesIt) {
  subscriber("forgot", "491710000018", 0, "portal");
  const std::string sid = peer_->new_session_id("forgot");
  ASSERT_EQ(send(initial(sid, "491710000018", {gy::mscc(kData)})).result_code(), 2001u);  // hotlined
  // This client has lost the session: it answers the RAR with 5002.
  peer_->forget_session(sid);
  db_->exec("UPDATE accounts SET balance = balance + 100 WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'forgot');"
            "INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
            "SELECT subscriber_id, 'topup', 100, 'EUR', balance, 'forgot-1' FROM accounts WHERE subscriber_id = "
            "(SELECT id FROM subscribers WHERE external_id = 'forgot');");
  const std::string closed = "SELECT count(*) FROM charging_sessions WHERE id = '" + sid +
                             "' AND state = 'closed' AND close_reason = 'client: unknown session'";
  for (int i = 0; i < 100 && query_long(closed) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(query_long(closed), 1);
  expect_ledger_consistent("forgot");
}

TEST_F(GyEndToEnd, TopUpMissedWhileTheListenerWasDownStillTriggersRar) {
  subscriber("missed", "491710000019", 0, "portal");
  const std::string sid = peer_->new_session_id("missed");
  ASSERT_EQ(send(initial(sid, "491710000019", {gy::mscc(kData)})).result_code(), 2001u);  // hotlined
  pqxx::connection operator_conn(db_->dsn());  // opened before connections are refused
  pqxx::connection admin(admin_dsn());
  {
    pqxx::nontransaction n(admin);
    n.exec("ALTER DATABASE " + n.quote_name(db_->name()) + " ALLOW_CONNECTIONS false");
    const auto killed = n.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                               n.quote(db_->name()) + " AND query ILIKE 'listen%'");
    ASSERT_EQ(killed.size(), 1u) << "the extension's LISTEN connection";
  }
  const std::size_t before = peer_->received_requests().size();
  {
    // The top-up's NOTIFY reaches nobody: the listener cannot reconnect yet.
    pqxx::work w(operator_conn);
    w.exec("UPDATE accounts SET balance = balance + 500 WHERE subscriber_id = "
           "(SELECT id FROM subscribers WHERE external_id = 'missed')");
    w.exec("INSERT INTO ledger (subscriber_id, kind, amount, currency, balance_after, reference) "
           "SELECT subscriber_id, 'topup', 500, 'EUR', balance, 'missed-1' FROM accounts WHERE subscriber_id = "
           "(SELECT id FROM subscribers WHERE external_id = 'missed')");
    w.commit();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(peer_->received_requests().size(), before);
  {
    pqxx::nontransaction n(admin);
    n.exec("ALTER DATABASE " + n.quote_name(db_->name()) + " ALLOW_CONNECTIONS true");
  }
  // The resync re-checks every session waiting for credit (other tests leave
  // some): wait for the one of this session.
  const auto rar_for_sid = [&] {
    for (const auto& r : peer_->received_requests())
      if (r.code == code::RAR && r.find(code::SessionId)->as_str() == sid) return true;
    return false;
  };
  for (int i = 0; i < 150 && !rar_for_sid(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(rar_for_sid());
}

TEST_F(GyEndToEnd, BlockSendsAbortSession) {
  subscriber("toblock", "491710000009", 1000);
  const std::string sid = peer_->new_session_id();
  ASSERT_EQ(send(initial(sid, "491710000009", {gy::mscc(kData)})).result_code(), 2001u);
  const std::size_t before = peer_->received_requests().size();
  db_->exec("UPDATE subscribers SET status = 'blocked', status_reason = 'fraud' WHERE external_id = 'toblock'");
  ASSERT_TRUE(peer_->wait_for_requests(before + 1, std::chrono::seconds(10)));
  const Message asr = peer_->received_requests().back();
  EXPECT_EQ(asr.code, code::ASR);
  EXPECT_EQ(asr.app_id, 4u);
  EXPECT_EQ(asr.find(code::SessionId)->as_str(), sid);
  // The client's next update is refused with the denied code, usage still charged.
  Message u = ccr(sid, gy::kUpdate, 1);
  u.add(gy::mscc(kData, gy::Units{}, {gy::octets(MiB)}));
  EXPECT_EQ(send(u).result_code(), 4010u);
  EXPECT_EQ(balance("toblock"), 1000 - 2);
  expect_ledger_consistent("toblock");
}

TEST_F(GyEndToEnd, EventDirectDebitChargesOnce) {
  subscriber("event", "491710000010", 100);
  const std::string sid = peer_->new_session_id();
  Message e = ccr(sid, gy::kEvent, 0);
  e.add(gy::subscription_id(0, "491710000010"));
  e.add(Avp::u32(code::RequestedAction, 0));
  e.add(gy::mscc(kVoice, gy::seconds(120)));
  Message a = send(e);
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(gy::answer_msccs(a).at(0).child(code::Gsu)->child(code::CcTime)->as_u32(), 120u);
  EXPECT_EQ(send(e).result_code(), 2001u);  // replay
  EXPECT_EQ(balance("event"), 100 - 10);
  expect_ledger_consistent("event");
}

// Many CCRs in flight at once: the workers charge what is queued in
// batches (gy.batch_max), with sessions of one subscriber and a
// retransmission in the same burst. Every CCR is charged exactly once, and
// each answer is the committed one.
TEST_F(GyEndToEnd, BalanceCheckAndPriceEnquiryAnswerAndWriteNothing) {
  subscriber("enquirer", "491710000030", 30);  // 30 cents
  subscriber("enquirer-blocked", "491710000031", 1000, "", "blocked");
  const auto event = [&](const std::string& msisdn, std::uint32_t action, std::vector<Avp> msccs) {
    Message e = ccr(peer_->new_session_id(), gy::kEvent, 0);
    e.add(gy::subscription_id(0, msisdn));
    e.add(Avp::u32(code::RequestedAction, action));
    for (auto& m : msccs) e.add(std::move(m));
    return send(e);
  };
  constexpr std::uint32_t kCheckBalanceResult = 422, kCostInformation = 423, kUnitValue = 445, kValueDigits = 447,
                          kExponent = 429, kCurrencyCode = 425;
  // CHECK_BALANCE: 120 s of voice cost 10 cents (enough), 600 s cost 50 (not).
  Message a = event("491710000030", 2, {gy::mscc(kVoice, gy::seconds(120))});
  ASSERT_EQ(a.result_code(), 2001u);
  ASSERT_TRUE(a.find(kCheckBalanceResult));
  EXPECT_EQ(a.find(kCheckBalanceResult)->as_u32(), 0u);  // ENOUGH_CREDIT
  EXPECT_TRUE(gy::answer_msccs(a).empty());
  a = event("491710000030", 2, {gy::mscc(kVoice, gy::seconds(600))});
  ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(a.find(kCheckBalanceResult)->as_u32(), 1u);  // NO_CREDIT
  // PRICE_ENQUIRY: 600 s of voice (50 cents) and 3 MiB of data (6 cents),
  // though she cannot afford them: 0.56 EUR.
  a = event("491710000030", 3, {gy::mscc(kVoice, gy::seconds(600)), gy::mscc(kData, gy::octets(3 * MiB))});
  ASSERT_EQ(a.result_code(), 2001u);
  const Avp* cost = a.find(kCostInformation);
  ASSERT_TRUE(cost);
  ASSERT_TRUE(cost->child(kUnitValue));
  EXPECT_EQ(static_cast<std::int64_t>(cost->child(kUnitValue)->child(kValueDigits)->as_u64()), 56);
  EXPECT_EQ(static_cast<std::int32_t>(cost->child(kUnitValue)->child(kExponent)->as_u32()), -2);
  EXPECT_EQ(cost->child(kCurrencyCode)->as_u32(), 978u);  // EUR
  EXPECT_FALSE(a.find(kCheckBalanceResult));
  // A rating group without a tariff cannot be priced; a blocked subscriber
  // is refused; refunds are not offered.
  EXPECT_EQ(event("491710000030", 3, {gy::mscc(99, gy::seconds(60))}).result_code(), 5031u);
  EXPECT_EQ(event("491710000031", 2, {gy::mscc(kVoice, gy::seconds(60))}).result_code(), 4010u);
  EXPECT_EQ(event("491710000031", 3, {gy::mscc(kVoice, gy::seconds(60))}).result_code(), 4010u);
  a = event("491710000030", 1, {gy::mscc(kVoice, gy::seconds(60))});
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  EXPECT_TRUE(a.find(code::FailedAvp)->child(code::RequestedAction));
  // Nothing was written for either subscriber.
  EXPECT_EQ(balance("enquirer"), 30);
  for (const std::string table : {"charging_events", "charging_sessions", "usage_records"})
    EXPECT_EQ(query_long("SELECT count(*) FROM " + table + " t JOIN subscribers s ON s.id = t.subscriber_id "
                         "WHERE s.external_id LIKE 'enquirer%'"),
              0)
        << table;
  expect_ledger_consistent("enquirer");
}

TEST_F(GyEndToEnd, BurstsAreChargedInBatchesExactlyOnce) {
  constexpr int kSubscribers = 3;
  constexpr int kSessionsEach = 10;
  std::vector<std::string> sids;
  for (int s = 0; s < kSubscribers; ++s) {
    subscriber("burst" + std::to_string(s), "49171100000" + std::to_string(s), 1000);
    for (int n = 0; n < kSessionsEach; ++n) sids.push_back(peer_->new_session_id("burst"));
  }
  const auto msisdn = [&](std::size_t i) { return "49171100000" + std::to_string(i % kSubscribers); };
  // Sends every message at once; the answers, in the same order.
  const auto burst = [&](std::vector<Message> msgs) {
    std::vector<std::future<std::optional<Message>>> answers;
    for (auto& m : msgs) {
      auto promise = std::make_shared<std::promise<std::optional<Message>>>();
      answers.push_back(promise->get_future());
      peer_->request_async(std::move(m), [promise](std::optional<Message> a) { promise->set_value(std::move(a)); });
    }
    std::vector<Message> out;
    for (auto& f : answers) {
      if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) throw std::runtime_error("no answer");
      auto a = f.get();
      if (!a) throw std::runtime_error("no answer");
      out.push_back(std::move(*a));
    }
    return out;
  };

  std::vector<Message> initials;
  for (std::size_t i = 0; i < sids.size(); ++i) initials.push_back(initial(sids[i], msisdn(i), {gy::mscc(kData)}));
  Message retransmitted = initials[4];
  retransmitted.flags |= dia::kFlagRetransmit;
  initials.push_back(retransmitted);
  auto answers = burst(initials);
  for (const auto& a : answers) ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(dia::encode_avps(gy::answer_msccs(answers.back())), dia::encode_avps(gy::answer_msccs(answers[4])));

  std::vector<Message> updates;
  for (const auto& sid : sids) {
    Message u = ccr(sid, gy::kUpdate, 1);
    u.add(gy::mscc(kData, gy::Units{}, {gy::octets(3 * MiB + 1)}));  // 4 started MiB: 8 cents
    updates.push_back(u);
  }
  updates.push_back(updates[7]);  // the same update again, in the same burst
  answers = burst(updates);
  for (const auto& a : answers) ASSERT_EQ(a.result_code(), 2001u);
  EXPECT_EQ(dia::encode_avps(gy::answer_msccs(answers.back())), dia::encode_avps(gy::answer_msccs(answers[7])));

  std::vector<Message> terminates;
  for (const auto& sid : sids) {
    Message t = ccr(sid, gy::kTermination, 2);
    t.add(gy::mscc(kData, std::nullopt, {gy::octets(MiB)}));  // 2 cents
    terminates.push_back(t);
  }
  answers = burst(terminates);
  for (const auto& a : answers) ASSERT_EQ(a.result_code(), 2001u);

  for (int s = 0; s < kSubscribers; ++s) {
    const std::string id = "burst" + std::to_string(s);
    EXPECT_EQ(balance(id), 1000 - kSessionsEach * (8 + 2)) << id;
    EXPECT_EQ(held(id), 0) << id;
    expect_ledger_consistent(id);
  }
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_events e JOIN subscribers s ON s.id = e.subscriber_id "
                       "WHERE s.external_id LIKE 'burst%'"),
            3 * kSubscribers * kSessionsEach);
  EXPECT_EQ(query_long("SELECT count(*) FROM usage_records u JOIN subscribers s ON s.id = u.subscriber_id "
                       "WHERE s.external_id LIKE 'burst%'"),
            2 * kSubscribers * kSessionsEach);
  // The handler logs how many CCRs each was charged with: some together.
  if (batch_max() > 1) {
    EXPECT_TRUE(std::regex_search(daemon_->log(), std::regex(" batch=([2-9]|[1-9][0-9]+) ")))
        << "no CCR was charged in a batch";
  }
}

TEST_F(GyEndToEnd, MalformedRequestsGetTheRightCodes) {
  subscriber("bad", "491710000011", 1000);
  // Unknown session for an update.
  Message u = ccr("pgw.localdomain;nope;1", gy::kUpdate, 1);
  u.add(gy::mscc(kData));
  EXPECT_EQ(send(u).result_code(), 5002u);
  // Bad CC-Request-Type value.
  Message bad_type = ccr(peer_->new_session_id(), 9, 0);
  bad_type.add(gy::subscription_id(0, "491710000011"));
  Message a = send(bad_type);
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  EXPECT_TRUE(a.find(code::FailedAvp)->child(code::CcRequestType));
  // Initial without Subscription-Id.
  Message no_sub = ccr(peer_->new_session_id(), gy::kInitial, 0);
  no_sub.add(gy::mscc(kData));
  a = send(no_sub);
  EXPECT_EQ(a.result_code(), 5005u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  EXPECT_TRUE(a.find(code::FailedAvp)->child(code::SubscriptionId));
  // Missing CC-Request-Number: freeDiameter's own rule check answers 5005.
  Message no_number = ccr(peer_->new_session_id(), gy::kInitial, 0);
  no_number.avps.erase(no_number.avps.end() - 1);
  EXPECT_EQ(send(no_number).result_code(), 5005u);
  // UTF8String values that are not UTF-8 (RFC 6733 4.3.1): 5004 naming the
  // AVP, whether in the Session-Id or in Subscription-Id-Data; nothing is
  // written for them.
  const std::string bad_sid = "pgw.localdomain;\xff\xfe;1";
  a = send(initial(bad_sid, "491710000011", {gy::mscc(kData)}));
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  ASSERT_TRUE(a.find(code::FailedAvp)->child(code::SessionId));
  EXPECT_EQ(a.find(code::FailedAvp)->child(code::SessionId)->as_str(), bad_sid);
  a = send(initial(peer_->new_session_id(), "4917\xc3\x28", {gy::mscc(kData)}));
  EXPECT_EQ(a.result_code(), 5004u);
  ASSERT_TRUE(a.find(code::FailedAvp));
  ASSERT_TRUE(a.find(code::FailedAvp)->child(code::SubscriptionIdData));
  EXPECT_EQ(a.find(code::FailedAvp)->child(code::SubscriptionIdData)->as_str(), "4917\xc3\x28");
  // The daemon is still there.
  EXPECT_EQ(send(initial(peer_->new_session_id(), "491710000011", {gy::mscc(kData)})).result_code(), 2001u);
}

TEST_F(GyEndToEnd, SilentSessionIsReleasedBySupervision) {
  subscriber("silent", "491710000012", 1000, "short");
  const std::string sid = peer_->new_session_id();
  ASSERT_EQ(send(initial(sid, "491710000012", {gy::mscc(kData)})).result_code(), 2001u);
  EXPECT_EQ(held("silent"), 20);
  for (int i = 0; i < 50 && held("silent") != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(held("silent"), 0);
  EXPECT_EQ(query_long("SELECT count(*) FROM charging_sessions WHERE id = '" + sid +
                       "' AND state = 'closed' AND close_reason = 'supervision'"),
            1);
  expect_ledger_consistent("silent");
}

// database.answer_retention_days: a daemon's supervision purges the stored
// answers of closed sessions older than that, and keeps an open session's.
// A retransmission of a purged request is then one to a closed session.
TEST_F(GyEndToEnd, OldAnswersOfClosedSessionsArePurgedByTheDaemon) {
  subscriber("aged", "491710000032", 1000);
  const std::string closed = peer_->new_session_id("aged-closed");
  ASSERT_EQ(send(initial(closed, "491710000032", {gy::mscc(kData)})).result_code(), 2001u);
  Message t = ccr(closed, gy::kTermination, 1);
  t.add(gy::mscc(kData, std::nullopt, {gy::octets(MiB)}));
  ASSERT_EQ(send(t).result_code(), 2001u);
  const std::string open = peer_->new_session_id("aged-open");
  ASSERT_EQ(send(initial(open, "491710000032", {gy::mscc(kData)})).result_code(), 2001u);
  // 10 days old: past the 7 days of the daemon below, not yet past the
  // suite's daemon's default of 14.
  db_->exec("UPDATE charging_events SET created_at = now() - interval '10 days' WHERE session_id IN ('" + closed +
            "', '" + open + "')");
  const long ledger = query_long("SELECT count(*) FROM ledger");

  // A second daemon on the same database, keeping 7 days: its first
  // supervision tick purges.
  const std::string toml = "[database]\ndsn = \"" + db_->dsn() +
                           "\"\npool_size = 2\nanswer_retention_days = 7\n[log]\nlevel = \"info\"\n"
                           "[gy]\ndefault_rating_group = 10\nsupervision_interval_ms = 200\n";
  FdDaemon other(ocs_daemon(toml));
  const std::string answers = "SELECT count(*) FROM charging_events WHERE session_id = '";
  for (int i = 0; i < 50 && query_long(answers + closed + "'") != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(query_long(answers + closed + "'"), 0);
  EXPECT_EQ(query_long(answers + open + "'"), 1);
  EXPECT_EQ(query_long("SELECT count(*) FROM ledger"), ledger);
  EXPECT_NE(other.log().find("gy.retention purged=2 "), std::string::npos) << other.log_tail(20);
  // The Terminate again, its answer gone: the session is closed, 5002.
  Message again = ccr(closed, gy::kTermination, 1);
  again.add(gy::mscc(kData, std::nullopt, {gy::octets(MiB)}));
  EXPECT_EQ(send(again).result_code(), 5002u);
  EXPECT_EQ(balance("aged"), 998);
  expect_ledger_consistent("aged");
}

TEST_F(GyEndToEnd, DiameterConnectionsHaveNagleOffUnlessConfiguredOtherwise) {
  // The suite's daemon (gy.tcp_nodelay by default): the listening socket is
  // changed once freeDiameter has created it, which the log line says.
  for (int i = 0; i < 50 && daemon_->log().find("gy.tcp_nodelay ") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(daemon_->log().find("gy.tcp_nodelay listening_sockets="), std::string::npos) << daemon_->log_tail(20);
  // peer_ (SetUp), and a connection accepted after the change: it inherits.
  dia::PeerConfig c;
  c.port = daemon_->port();
  c.origin_host = "pgw-nagle.localdomain";
  dia::Peer later(c);
  later.connect();
  const auto on = daemon_->tcp_nodelay_of_connections();
  EXPECT_GE(on.size(), 2u);
  for (int v : on) EXPECT_EQ(v, 1);
  later.close();

  // gy.tcp_nodelay = false: freeDiameter's own setting (Nagle on) stays.
  const std::string toml = "[database]\ndsn = \"" + db_->dsn() +
                           "\"\npool_size = 2\n[log]\nlevel = \"info\"\n"
                           "[gy]\ndefault_rating_group = 10\ntcp_nodelay = false\n";
  FdDaemon other(ocs_daemon(toml));
  c.port = other.port();
  dia::Peer p(c);
  p.connect();
  const auto off = other.tcp_nodelay_of_connections();
  EXPECT_EQ(off.size(), 1u);
  for (int v : off) EXPECT_EQ(v, 0);
  EXPECT_EQ(other.log().find("gy.tcp_nodelay"), std::string::npos) << other.log_tail(20);
  p.close();
}

TEST_F(GyEndToEnd, DatabaseUnreachableAnswersPromptly) {
  // A second daemon whose database is gone after start-up.
  TestDatabase lost;
  const std::string toml = "[database]\ndsn = \"" + lost.dsn() +
                           "\"\npool_size = 2\nconnect_timeout_ms = 1000\n[gy]\ndefault_rating_group = 10\n";
  FdDaemon other(ocs_daemon(toml));
  {
    pqxx::connection c(admin_dsn());
    pqxx::nontransaction n(c);
    n.exec("ALTER DATABASE " + n.quote_name(lost.name()) + " ALLOW_CONNECTIONS false");
    n.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + n.quote(lost.name()));
  }
  dia::PeerConfig c;
  c.port = other.port();
  c.origin_host = "pgw2.localdomain";
  dia::Peer p(c);
  p.connect();
  const auto started = std::chrono::steady_clock::now();
  Message m = gy::ccr(p.new_session_id(), "pgw2.localdomain", "localdomain", gy::kInitial, 0);
  m.add(gy::subscription_id(0, "491710000001"));
  auto a = p.request(m, std::chrono::seconds(10));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->result_code(), 3004u);
  EXPECT_TRUE(a->flags & dia::kFlagError);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  p.close();
  EXPECT_TRUE(other.running());
  {
    pqxx::connection c2(admin_dsn());
    pqxx::nontransaction n(c2);
    n.exec("ALTER DATABASE " + n.quote_name(lost.name()) + " ALLOW_CONNECTIONS true");
  }
}

TEST_F(GyEndToEnd, WiresharkFindsNothingMalformedInAFullScenario) {
  subscriber("wire", "491710000013", 23);  // the data grant becomes final: FUI on the wire
  TsharkCapture cap(daemon_->port());
  const std::string sid = peer_->new_session_id();
  // Sized RSUs: Wireshark warns "Data is empty" on an empty (legal) RSU.
  Message a = send(initial(sid, "491710000013", {gy::mscc(kData, gy::octets(20 * MiB)), gy::mscc(kVoice, gy::seconds(60))}));
  ASSERT_EQ(a.result_code(), 2001u);
  Message u = ccr(sid, gy::kUpdate, 1);
  u.add(gy::mscc(kData, gy::octets(MiB), {[] { auto x = gy::octets(MiB); x.tariff_change_usage = 2; return x; }()}));
  ASSERT_EQ(send(u).result_code(), 2001u);
  Message t = ccr(sid, gy::kTermination, 2);
  t.add(gy::mscc(kVoice, std::nullopt, {gy::seconds(30)}));
  ASSERT_EQ(send(t).result_code(), 2001u);
  // A balance check and a price enquiry: Check-Balance-Result and
  // Cost-Information (Integer64 Value-Digits, Integer32 Exponent).
  for (std::uint32_t action : {2u, 3u}) {
    Message e = ccr(peer_->new_session_id(), gy::kEvent, 0);
    e.add(gy::subscription_id(0, "491710000013"));
    e.add(Avp::u32(code::RequestedAction, action));
    e.add(gy::mscc(kVoice, gy::seconds(120)));
    ASSERT_EQ(send(e).result_code(), 2001u);
  }
  cap.stop();
  EXPECT_EQ(cap.problems(), std::vector<std::string>{});
  EXPECT_EQ(cap.count("diameter.cmd.code == 272 && diameter.flags.request == 0"), 5);
  EXPECT_EQ(cap.count("diameter.Check-Balance-Result"), 1);
  EXPECT_EQ(cap.count("diameter.Value-Digits == 10 && diameter.Exponent == -2 && diameter.Currency-Code == 978"), 1);
  EXPECT_GE(cap.count("diameter.Final-Unit-Indication"), 1);
  EXPECT_GE(cap.count("diameter.Volume-Quota-Threshold"), 1);
}

}  // namespace
}  // namespace ocs::test
