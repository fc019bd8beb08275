// PgRadiusStore's user lookups against a fresh PostgreSQL database: one
// statement for many users (find_users, which ocs-radiusd's Pipeline
// batches its requests' lookups into); a name that is not UTF-8 is unknown;
// a database that cannot be reached fails a whole batch at once; the open
// sessions a policy edit must reach, and the recording of their rate digest.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "ocs/store/pg_pool.hpp"
#include "ocs/store/pg_radius.hpp"
#include "pg_test_db.hpp"

namespace ocs::store {
namespace {

// alice: policy 'std' (its own override), with templates for mikrotik and
// for any vendor, written out of position order. bob: the plan's policy
// 'plain', no templates, blocked, no password.
constexpr const char* kFixture = R"SQL(
INSERT INTO policies (name, validity_time, radius_on_blocked, radius_address_pool, acct_interim_interval)
  VALUES ('plain', 600, 'hotline', 'POOL1', 300), ('std', 600, 'reject', NULL, NULL);
INSERT INTO plans (name, currency, policy_id) SELECT 'basic', 'EUR', id FROM policies WHERE name = 'plain';
INSERT INTO subscribers (external_id, plan_id, policy_id, status)
  SELECT 'alice', p.id, (SELECT id FROM policies WHERE name = 'std'), 'active' FROM plans p;
INSERT INTO subscribers (external_id, plan_id, status, account_type)
  SELECT 'bob', p.id, 'blocked', 'postpaid' FROM plans p;
INSERT INTO subscriber_identities (subscriber_id, kind, value, password)
  SELECT id, 'username', 'alice', 'alicepw' FROM subscribers WHERE external_id = 'alice';
INSERT INTO subscriber_identities (subscriber_id, kind, value, password)
  SELECT id, 'username', 'bob"\,x', NULL FROM subscribers WHERE external_id = 'bob';
INSERT INTO subscriber_identities (subscriber_id, kind, value)
  SELECT id, 'msisdn', '491700000002' FROM subscribers WHERE external_id = 'bob';
INSERT INTO radius_templates (policy_id, vendor, kind, position, line)
  SELECT id, 'any', 'radius_response', 2, 'Reply-Message = "any"' FROM policies WHERE name = 'std';
INSERT INTO radius_templates (policy_id, vendor, kind, position, line)
  SELECT id, 'mikrotik', 'radius_response', 1, 'Mikrotik-Group := "${type}"' FROM policies WHERE name = 'std';
INSERT INTO radius_templates (policy_id, vendor, kind, position, line)
  SELECT id, 'cisco', 'addr-pool-mask', 0, 'cisco-pool' FROM policies WHERE name = 'std';
)SQL";

std::vector<std::string> template_lines(const RadiusUser& u) {
  std::vector<std::string> out;
  for (const auto& t : u.templates) out.push_back(t.kind + ":" + t.line);
  return out;
}

class RadiusStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_.exec(kFixture); }

  test::TestDatabase db_;
};

TEST_F(RadiusStoreTest, FindUsersAnswersEachQueryInOrderWithItsVendorsTemplates) {
  ConnectionPool pool(db_.dsn(), 1, PgRadiusStore::prepare_statements);
  PgRadiusStore store(pool);
  const std::vector<PgRadiusStore::UserQuery> queries{
      {"alice", "mikrotik"}, {"nosuch", "generic"}, {"bob\"\\,x", "generic"},
      {std::string("alice\0x", 7), "generic"},  // a NUL: no identity can hold one
      {"alice", "cisco"},    {"491700000002", "generic"}};  // an msisdn is not a User-Name
  const auto found = store.find_users(queries);
  ASSERT_EQ(found.size(), queries.size());

  ASSERT_TRUE(found[0]);
  EXPECT_EQ(found[0]->external_id, "alice");
  EXPECT_EQ(found[0]->password, "alicepw");
  EXPECT_EQ(found[0]->status, SubscriberStatus::Active);
  EXPECT_EQ(found[0]->account_type, "prepaid");
  EXPECT_EQ(found[0]->policy.name, "std");  // the subscriber's policy, not the plan's
  EXPECT_FALSE(found[0]->policy.hotline_when_blocked);
  EXPECT_EQ(template_lines(*found[0]),
            (std::vector<std::string>{"radius_response:Mikrotik-Group := \"${type}\"",
                                      "radius_response:Reply-Message = \"any\""}));

  EXPECT_FALSE(found[1]);

  ASSERT_TRUE(found[2]);  // quotes, a backslash and a comma survive the array
  EXPECT_EQ(found[2]->external_id, "bob");
  EXPECT_FALSE(found[2]->password);
  EXPECT_EQ(found[2]->status, SubscriberStatus::Blocked);
  EXPECT_EQ(found[2]->account_type, "postpaid");
  EXPECT_EQ(found[2]->policy.name, "plain");
  EXPECT_TRUE(found[2]->policy.hotline_when_blocked);
  EXPECT_EQ(found[2]->policy.address_pool, "POOL1");
  EXPECT_EQ(found[2]->policy.acct_interim_interval, 300u);
  EXPECT_TRUE(found[2]->templates.empty());

  EXPECT_FALSE(found[3]);

  ASSERT_TRUE(found[4]);
  EXPECT_EQ(template_lines(*found[4]),
            (std::vector<std::string>{"addr-pool-mask:cisco-pool", "radius_response:Reply-Message = \"any\""}));

  EXPECT_FALSE(found[5]);

  // find_user is the same lookup, one at a time.
  const auto one = store.find_user("alice", "mikrotik");
  ASSERT_TRUE(one);
  EXPECT_EQ(template_lines(*one), template_lines(*found[0]));
  EXPECT_FALSE(store.find_user("nosuch", "generic"));
}

// What a policy edit must reach: open RADIUS sessions with a recorded
// rate digest and credit, at a known NAS; recording needs an open session.
TEST_F(RadiusStoreTest, RateLimitedSessionsAndRecordingTheirDigest) {
  db_.exec(R"SQL(
INSERT INTO nas_clients (name, address, secret, vendor, coa_port) VALUES ('mt', '10.1.1.1', 's', 'mikrotik', 3799);
INSERT INTO charging_sessions (id, subscriber_id, protocol, state, credit_state, nas_address, client_info, created_at)
SELECT v.id, s.id, v.protocol, v.state, v.credit, v.nas, v.info::jsonb, now() - v.age * interval '1 s'
FROM subscribers s,
     (VALUES ('10.1.1.1/a', 'radius', 'open', 'ok', '10.1.1.1',
              '{"rate_digest": "00000000000000aa", "user_name": "alice", "acct_session_id": "a"}', 5),
             ('10.1.1.1/b', 'radius', 'open', 'ok', '10.1.1.1', '{"rate_digest": ""}', 4),
             ('10.1.1.1/c', 'radius', 'open', 'exhausted', '10.1.1.1', '{"rate_digest": "00000000000000cc"}', 3),
             ('10.1.1.1/d', 'radius', 'closed', 'ok', '10.1.1.1', '{"rate_digest": "00000000000000dd"}', 2),
             ('10.1.1.1/e', 'radius', 'open', 'ok', '10.1.1.1', '{}', 1),
             ('10.9.9.9/f', 'radius', 'open', 'ok', '10.9.9.9', '{"rate_digest": "00000000000000ff"}', 1),
             ('gy;1', 'gy', 'open', 'ok', NULL, '{"rate_digest": "0000000000000011"}', 1)
     ) AS v (id, protocol, state, credit, nas, info, age)
WHERE s.external_id = 'alice';
)SQL");
  ConnectionPool pool(db_.dsn(), 1, PgRadiusStore::prepare_statements);
  PgRadiusStore store(pool);
  const auto listed = store.rate_limited_sessions();
  ASSERT_EQ(listed.size(), 2U);  // not exhausted, closed, unrecorded, at an unknown NAS, or Gy
  EXPECT_EQ(listed[0].session_id, "10.1.1.1/a");  // oldest first
  EXPECT_EQ(listed[0].rate_digest, "00000000000000aa");
  EXPECT_EQ(listed[0].user_name, "alice");
  EXPECT_EQ(listed[0].nas.vendor, "mikrotik");
  EXPECT_EQ(listed[1].session_id, "10.1.1.1/b");
  EXPECT_EQ(listed[1].rate_digest, "");  // recorded: no limits
  // coa_sessions carries the digest too (nullopt when none is recorded).
  const auto own = store.coa_sessions(listed[0].subscriber_id);
  ASSERT_EQ(own.size(), 4U);
  EXPECT_EQ(own[2].session_id, "10.1.1.1/c");
  EXPECT_EQ(own[2].rate_digest, "00000000000000cc");
  EXPECT_FALSE(own[3].rate_digest);

  EXPECT_TRUE(store.record_rate_digest("10.1.1.1/a", "0123456789abcdef"));
  EXPECT_FALSE(store.record_rate_digest("10.1.1.1/d", "0123456789abcdef"));  // closed
  EXPECT_FALSE(store.record_rate_digest("gy;1", "0123456789abcdef"));        // not RADIUS
  EXPECT_EQ(db_.query_value("SELECT client_info::text FROM charging_sessions WHERE id = '10.1.1.1/a'"),
            R"({"user_name": "alice", "rate_digest": "0123456789abcdef", "acct_session_id": "a"})");
  EXPECT_EQ(db_.query_value("SELECT client_info ->> 'rate_digest' FROM charging_sessions WHERE id = '10.1.1.1/d'"),
            "00000000000000dd");
}

// The lookup is planned once per connection, not at every Access-Request.
// PostgreSQL's default plan_cache_mode re-planned it at every call (a
// custom plan for each batch of names), which was a tenth of PostgreSQL's
// CPU under the RADIUS benchmark (docs/benchmarks.md). pg_prepared_statements
// counts the plans of the connection's own statements.
TEST_F(RadiusStoreTest, TheLookupKeepsOneGenericPlanPerConnection) {
  ConnectionPool pool(db_.dsn(), 1, PgRadiusStore::prepare_statements);
  PgRadiusStore store(pool);
  for (std::size_t i = 0; i < 12; ++i) {
    const std::vector<PgRadiusStore::UserQuery> queries(1 + i % 3, {"alice", "mikrotik"});
    const auto found = store.find_users(queries);
    ASSERT_EQ(found.size(), queries.size());
    for (const auto& u : found) EXPECT_TRUE(u);
  }
  auto lease = pool.acquire();
  const auto row = pqxx::nontransaction(*lease).exec1(
      "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'rad_find_users'");
  EXPECT_EQ(row[1].as<long>(), 0) << "custom plans";
  EXPECT_EQ(row[0].as<long>(), 12) << "executions of the generic plan";
}

// A name that is not UTF-8 is no one's, and does not fail the statement
// for the others (it is not sent).
TEST_F(RadiusStoreTest, ANameThatIsNotUtf8IsUnknownAndTheOthersAreFound) {
  ConnectionPool pool(db_.dsn(), 1, PgRadiusStore::prepare_statements);
  PgRadiusStore store(pool);
  const std::vector<PgRadiusStore::UserQuery> queries{{"alice", "generic"}, {"bad\xff", "generic"}};
  const auto found = store.find_users(queries);
  ASSERT_EQ(found.size(), 2u);
  ASSERT_TRUE(found[0]);
  EXPECT_EQ(found[0]->external_id, "alice");
  EXPECT_FALSE(found[1]);
  EXPECT_FALSE(store.find_user("bad\xff", "generic"));  // an Access-Reject, not a dropped packet
  EXPECT_TRUE(store.find_user("alice", "generic"));
}

// A "database" that accepts TCP connections and never answers: libpq waits
// for its reply until connect_timeout. Counts the connections.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // shut down
        accepted_.push_back(c);
        ++connections_;
      }
    });
  }
  ~SilentServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    for (const int c : accepted_) ::close(c);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<int> accepted_;  // the thread's
  std::atomic<int> connections_{0};
};

// With the database unreachable, a lookup fails with
// StoreError(Unavailable) after one connection attempt (connect_timeout, two
// seconds, libpq's least), and a whole batch of them with it: ocs-radiusd
// then drops every packet of the batch (the NASes retransmit).
TEST(RadiusStoreUnavailable, ALookupBatchThatCannotConnectFailsWithOneAttempt) {
  std::optional<SilentServer> server(std::in_place);
  ConnectionPool pool("host=127.0.0.1 port=" + std::to_string(server->port()) +
                          " user=ocs dbname=ocs sslmode=disable connect_timeout=2",
                      1, PgRadiusStore::prepare_statements);
  PgRadiusStore store(pool);
  const std::vector<PgRadiusStore::UserQuery> queries(8, PgRadiusStore::UserQuery{"alice", "generic"});
  try {
    store.find_users(queries);
    ADD_FAILURE() << "find_users answered without a database";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::Unavailable);
  }
  EXPECT_EQ(server->connections(), 1);
  server.reset();
}

}  // namespace
}  // namespace ocs::store
