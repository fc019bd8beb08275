// Runs the real ocsctl binary against a fresh database holding the demo data
// (sql/demo/demo_data.sql): every verb in human and --json form, the exit
// codes, and the single "ocsctl: ..." line on stderr for each failure.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "json_reader.hpp"
#include "ocs/store/store.hpp"
#include "pg_test_db.hpp"

extern char** environ;

namespace ocs::test {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  double seconds = 0;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
  return os << "exit " << r.code << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

struct RunOptions {
  std::map<std::string, std::string> env;  // added to the environment
  std::string cwd;                         // empty: a scratch directory
  std::string program;                     // empty: the ocsctl of this build
};

/// Runs ocsctl (or opts.program: the install test runs cmake through
/// /bin/sh and an installed ocs-radiusd the same way) with `args`, without
/// OCS_DB / OCS_CONFIG from the caller's environment, in a directory without
/// config/ocs.toml unless told otherwise.
Result ocsctl(const std::vector<std::string>& args, const RunOptions& opts = {}) {
  static const fs::path scratch = [] {
    auto p = fs::temp_directory_path() / ("ocsctl_test_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (kv.rfind("OCS_DB=", 0) == 0 || kv.rfind("OCS_CONFIG=", 0) == 0) continue;
    env_strings.push_back(kv);
  }
  for (const auto& [k, v] : opts.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings = {opts.program.empty() ? std::string(OCS_CTL_PATH) : opts.program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const std::string cwd = opts.cwd.empty() ? scratch.string() : opts.cwd;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");

  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  Result r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (elapsed > std::chrono::seconds(30)) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, 1000) < 0) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const auto n = ::read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[k]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A TCP port on 127.0.0.1 that nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  sockaddr* sa = reinterpret_cast<sockaddr*>(&addr);
  socklen_t len = sizeof addr;
  if (::bind(fd, sa, sizeof addr) != 0 || ::getsockname(fd, sa, &len) != 0) {
    ::close(fd);
    return 1;
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// Exactly one line on stderr, "ocsctl: ...", and nothing on stdout.
::testing::AssertionResult one_error_line(const Result& r) {
  const auto newlines = std::count(r.err.begin(), r.err.end(), '\n');
  if (r.err.rfind("ocsctl: ", 0) != 0 || newlines != 1 || r.err.back() != '\n')
    return ::testing::AssertionFailure() << "stderr is not one 'ocsctl: ' line\n" << r;
  if (!r.out.empty()) return ::testing::AssertionFailure() << "stdout is not empty\n" << r;
  return ::testing::AssertionSuccess();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { db_.exec(read_file(std::string(OCS_SQL_DIR) + "/demo/demo_data.sql")); }

  /// ocsctl --db <test database> args...
  Result ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db_.dsn()});
    return ocsctl(args);
  }

  /// Runs a --json command that must succeed, and parses its output.
  JsonValue json(std::vector<std::string> args) {
    args.push_back("--json");
    const Result r = ctl(args);
    EXPECT_EQ(r.code, 0) << r;
    EXPECT_TRUE(r.err.empty()) << r;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r;
    try {
      return parse_json(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << r;
      return {};
    }
  }

  std::int64_t balance(const std::string& id) { return json({"subscriber", "show", id})["balance_minor"].as_int(); }

  TestDatabase db_;
};

// ---------------------------------------------------------------------------
// Help and usage errors.
// ---------------------------------------------------------------------------

TEST(CliUsage, HelpListsEveryVerbAndTheExitCodes) {
  const Result r = ocsctl({"--help"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(r.err.empty());
  for (const char* verb : {"subscriber add", "subscriber show", "subscriber list", "subscriber block",
                           "subscriber unblock", "topup", "sessions", "plans", "db migrate", "db version", "--db",
                           "--config", "--json", "OCS_DB", "OCS_CONFIG", "config/ocs.toml"})
    EXPECT_TRUE(contains(r.out, verb)) << verb;
  for (const char* code : {"0  success", "1  other", "2  usage", "3  not found", "4  duplicate", "5  invalid",
                           "6  database unavailable"})
    EXPECT_TRUE(contains(r.out, code)) << code;
  EXPECT_EQ(ocsctl({"help"}).out, r.out);
  EXPECT_EQ(ocsctl({"-h"}).out, r.out);
}

TEST(CliUsage, HelpForOneVerb) {
  Result r = ocsctl({"help", "topup"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "ocsctl topup ID AMOUNT [--reference REF]")) << r;
  EXPECT_TRUE(contains(r.out, "already credited")) << r;
  r = ocsctl({"help", "subscriber", "add"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "--credit-limit AMOUNT")) << r;
  r = ocsctl({"subscriber", "show", "--help"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "ocsctl subscriber show ID")) << r;
  r = ocsctl({"help", "frobnicate"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(one_error_line(r));
}

TEST(CliUsage, UsageErrorsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                            // no command
      {"frobnicate"},                                // unknown command
      {"subscriber"},                                // missing subcommand
      {"subscriber", "frob"},                        // unknown subcommand
      {"subscriber", "show"},                        // missing ID
      {"subscriber", "show", "a", "b"},              // extra argument
      {"subscriber", "add", "x"},                    // missing --plan
      {"subscriber", "add", "x", "--plan"},          // option without value
      {"subscriber", "add", "x", "--plan", "demo", "--username", "u"},  // username without password
      {"topup", "alice"},                            // missing AMOUNT
      {"topup"},                                     // missing ID
      {"subscriber", "list", "--frobnicate"},        // unknown flag
      {"subscriber", "list", "-x"},                  // unknown short flag
      {"subscriber", "show", "alice", "--plan", "demo"},  // flag of another verb
      {"plans", "--json", "--json"},                 // repeated flag
      {"--db"},                                      // global option without value
  };
  for (const auto& args : cases) {
    auto with_db = args;
    with_db.insert(with_db.begin(), {"--db", "host=127.0.0.1 port=1 dbname=none"});
    const Result r = args == std::vector<std::string>{"--db"} ? ocsctl(args) : ocsctl(with_db);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.code, 2) << line << "\n" << r;
    EXPECT_TRUE(one_error_line(r)) << line;
  }
  // The messages say what is missing or wrong.
  EXPECT_TRUE(contains(ocsctl({"subscriber", "list", "--frobnicate"}).err, "--frobnicate"));
  EXPECT_TRUE(contains(ocsctl({"--db", "x", "topup", "alice"}).err, "AMOUNT"));
  EXPECT_TRUE(contains(ocsctl({"--db", "x", "subscriber", "show"}).err, "subscriber ID"));
}

TEST(CliUsage, NoDatabaseConfiguredIsAUsageError) {
  const Result r = ocsctl({"plans"});  // scratch directory: no config/ocs.toml
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(one_error_line(r));
  EXPECT_TRUE(contains(r.err, "--db")) << r;

  const Result missing = ocsctl({"plans", "--config", "/nonexistent/ocs.toml"});
  EXPECT_EQ(missing.code, 2) << missing;
  EXPECT_TRUE(contains(missing.err, "/nonexistent/ocs.toml")) << missing;
}

// ---------------------------------------------------------------------------
// Subscribers.
// ---------------------------------------------------------------------------

TEST_F(CliTest, ShowHuman) {
  const Result r = ctl({"subscriber", "show", "alice"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(r.err.empty());
  for (const char* s : {"alice", "active", "demo", "10.00 EUR", "msisdn 491700000001", "imsi 262010000000001",
                        "username alice", "open sessions"})
    EXPECT_TRUE(contains(r.out, s)) << s << "\n" << r;
  EXPECT_FALSE(contains(r.out, "alicepw")) << r;

  const Result dave = ctl({"subscriber", "show", "dave"});
  ASSERT_EQ(dave.code, 0) << dave;
  EXPECT_TRUE(contains(dave.out, "100 MiB")) << dave;
}

TEST_F(CliTest, ShowJson) {
  const auto alice = json({"subscriber", "show", "alice"});
  EXPECT_EQ(alice["subscriber"].as_string(), "alice");
  EXPECT_EQ(alice["status"].as_string(), "active");
  EXPECT_TRUE(alice["status_reason"].is_null());
  EXPECT_EQ(alice["plan"].as_string(), "demo");
  EXPECT_EQ(alice["policy"].as_string(), "demo");
  EXPECT_EQ(alice["currency"].as_string(), "EUR");
  EXPECT_EQ(alice["currency_exponent"].as_int(), 2);
  EXPECT_EQ(alice["balance_minor"].as_int(), 1000);
  EXPECT_EQ(alice["balance"].as_string(), "10.00");
  EXPECT_EQ(alice["credit_limit_minor"].as_int(), 0);
  EXPECT_EQ(alice["reserved_minor"].as_int(), 0);
  EXPECT_EQ(alice["open_sessions"].as_int(), 0);
  ASSERT_EQ(alice["identities"].size(), 3u);
  EXPECT_EQ(alice["identities"][0]["kind"].as_string(), "msisdn");
  EXPECT_EQ(alice["identities"][0]["value"].as_string(), "491700000001");
  EXPECT_EQ(alice["identities"][1]["kind"].as_string(), "imsi");
  EXPECT_EQ(alice["identities"][2]["kind"].as_string(), "username");
  EXPECT_EQ(alice["identities"][2]["value"].as_string(), "alice");
  EXPECT_FALSE(alice["identities"][2].has("password"));
  EXPECT_EQ(alice["buckets"].size(), 0u);

  const auto bob = json({"subscriber", "show", "bob"});
  EXPECT_EQ(bob["balance_minor"].as_int(), 50);
  EXPECT_EQ(bob["balance"].as_string(), "0.50");

  const auto carol = json({"subscriber", "show", "carol"});
  EXPECT_EQ(carol["status"].as_string(), "blocked");
  EXPECT_EQ(carol["status_reason"].as_string(), "unpaid");
  EXPECT_EQ(carol["balance_minor"].as_int(), 500);

  const auto dave = json({"subscriber", "show", "dave"});
  EXPECT_EQ(dave["balance_minor"].as_int(), 0);
  ASSERT_EQ(dave["buckets"].size(), 1u);
  EXPECT_EQ(dave["buckets"][0]["rating_group"].as_int(), 10);
  EXPECT_EQ(dave["buckets"][0]["unit_family"].as_string(), "octets");
  EXPECT_EQ(dave["buckets"][0]["remaining"].as_int(), 104857600);
  EXPECT_FALSE(dave["buckets"][0]["valid_until"].is_null());
}

TEST_F(CliTest, ListHumanIsAnAlignedTable) {
  const Result r = ctl({"subscriber", "list"});
  ASSERT_EQ(r.code, 0) << r;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u) << r;
  EXPECT_EQ(lines[0].rfind("SUBSCRIBER", 0), 0u) << r;
  const char* ids[] = {"alice", "bob", "carol", "dave"};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(lines[i + 1].rfind(ids[i], 0), 0u) << r;
  // BALANCE is right-aligned: the header and the amounts end in one column.
  const auto header_end = lines[0].find("BALANCE") + std::string("BALANCE").size();
  EXPECT_EQ(lines[1].substr(header_end - 5, 5), "10.00") << r;
  EXPECT_EQ(lines[2].substr(header_end - 4, 4), "0.50") << r;
  // STATUS starts in one column.
  const auto status_col = lines[0].find("STATUS");
  EXPECT_EQ(lines[3].substr(status_col, 7), "blocked") << r;
}

TEST_F(CliTest, ListJson) {
  const auto all = json({"subscriber", "list"});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0]["subscriber"].as_string(), "alice");
  EXPECT_EQ(all[3]["subscriber"].as_string(), "dave");
  EXPECT_EQ(all[2]["status"].as_string(), "blocked");
  EXPECT_EQ(all[1]["balance_minor"].as_int(), 50);
}

TEST_F(CliTest, AddHumanAndJson) {
  Result r = ctl({"subscriber", "add", "erin", "--plan", "demo", "--msisdn", "491700000005", "--imsi", "262010000000005",
               "--nai", "erin@example.net", "--username", "erin", "--password", "erin-secret-pw", "--balance", "2.5",
               "--credit-limit", "1.00"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "added subscriber erin")) << r;
  EXPECT_TRUE(contains(r.out, "2.50 EUR")) << r;
  EXPECT_FALSE(contains(r.out + r.err, "erin-secret-pw")) << r;

  const auto erin = json({"subscriber", "show", "erin"});
  EXPECT_EQ(erin["balance_minor"].as_int(), 250);
  EXPECT_EQ(erin["credit_limit_minor"].as_int(), 100);
  EXPECT_EQ(erin["available_minor"].as_int(), 350);
  EXPECT_EQ(erin["identities"].size(), 4u);

  const auto frank = json({"subscriber", "add", "frank", "--plan", "demo", "--msisdn", "+491700000006"});
  EXPECT_EQ(frank["subscriber"].as_string(), "frank");
  EXPECT_EQ(frank["balance_minor"].as_int(), 0);
  EXPECT_EQ(frank["identities"][0]["value"].as_string(), "491700000006");
  EXPECT_EQ(json({"subscriber", "list"}).size(), 6u);
}

TEST_F(CliTest, AddErrors) {
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {{"subscriber", "add", "x1", "--plan", "demo", "--msisdn", "491700000001"}, 4, "MSISDN"},
      {{"subscriber", "add", "x2", "--plan", "demo", "--imsi", "262010000000002"}, 4, "bob"},
      {{"subscriber", "add", "x3", "--plan", "demo", "--username", "alice", "--password", "p"}, 4, "username"},
      {{"subscriber", "add", "alice", "--plan", "demo"}, 4, "alice"},
      {{"subscriber", "add", "x4", "--plan", "gold"}, 3, "gold"},
      {{"subscriber", "add", "x5", "--plan", "gold", "--balance", "1"}, 3, "gold"},
      {{"subscriber", "add", "x6", "--plan", "demo", "--msisdn", "49-170"}, 5, "MSISDN"},
      {{"subscriber", "add", "x7", "--plan", "demo", "--imsi", "12345"}, 5, "IMSI"},
      {{"subscriber", "add", "x8", "--plan", "demo", "--balance", "1.234"}, 5, "1.234"},
      {{"subscriber", "add", "x9", "--plan", "demo", "--balance", "-1"}, 5, "-1"},
      {{"subscriber", "add", "x10", "--plan", "demo", "--credit-limit", "ten"}, 5, "ten"},
  };
  for (const auto& c : cases) {
    const Result r = ctl(c.args);
    EXPECT_EQ(r.code, c.code) << c.args[2] << "\n" << r;
    EXPECT_TRUE(one_error_line(r)) << c.args[2];
    EXPECT_TRUE(contains(r.err, c.mentions)) << c.args[2] << "\n" << r;
  }
  // Nothing half-written.
  EXPECT_EQ(json({"subscriber", "list"}).size(), 4u);
  EXPECT_EQ(ctl({"subscriber", "show", "x1"}).code, 3);
}

TEST_F(CliTest, JsonStringsAreEscaped) {
  const std::string id = "we\"ird\\name/\xc3\xbc\xe2\x82\xac";  // quote, backslash, ü, €
  ASSERT_EQ(ctl({"subscriber", "add", id, "--plan", "demo"}).code, 0);
  const std::string reason = "said \"later\" \\ ok";
  ASSERT_EQ(ctl({"subscriber", "block", id, "--reason", reason}).code, 0);
  const auto s = json({"subscriber", "show", id});
  EXPECT_EQ(s["subscriber"].as_string(), id);
  EXPECT_EQ(s["status_reason"].as_string(), reason);
}

TEST_F(CliTest, BlockAndUnblock) {
  Result r = ctl({"subscriber", "block", "bob", "--reason", "fraud check"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "blocked subscriber bob")) << r;
  EXPECT_TRUE(contains(r.out, "fraud check")) << r;
  auto bob = json({"subscriber", "show", "bob"});
  EXPECT_EQ(bob["status"].as_string(), "blocked");
  EXPECT_EQ(bob["status_reason"].as_string(), "fraud check");

  bob = json({"subscriber", "unblock", "bob"});
  EXPECT_EQ(bob["status"].as_string(), "active");
  EXPECT_TRUE(bob["status_reason"].is_null());

  r = ctl({"subscriber", "unblock", "carol"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "unblocked subscriber carol")) << r;
  EXPECT_EQ(json({"subscriber", "show", "carol"})["status"].as_string(), "active");

  const auto blocked = json({"subscriber", "block", "carol"});
  EXPECT_EQ(blocked["status"].as_string(), "blocked");
}

TEST_F(CliTest, UnknownSubscriberExitsThree) {
  const std::vector<std::vector<std::string>> cases = {
      {"subscriber", "show", "zed"},  {"subscriber", "block", "zed"}, {"subscriber", "unblock", "zed"},
      {"topup", "zed", "1.00"},       {"sessions", "zed"},            {"subscriber", "show", "zed", "--json"},
  };
  for (const auto& args : cases) {
    const Result r = ctl(args);
    EXPECT_EQ(r.code, 3) << args[0] << " " << args[1] << "\n" << r;
    EXPECT_TRUE(one_error_line(r));
    EXPECT_TRUE(contains(r.err, "zed")) << r;
  }
}

// ---------------------------------------------------------------------------
// Top-ups.
// ---------------------------------------------------------------------------

TEST_F(CliTest, TopupHumanAndJson) {
  Result r = ctl({"topup", "bob", "1.25"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "credited 1.25 EUR to bob")) << r;
  EXPECT_TRUE(contains(r.out, "1.75 EUR")) << r;
  EXPECT_EQ(balance("bob"), 175);

  const auto t = json({"topup", "bob", "3"});
  EXPECT_TRUE(t["applied"].as_bool());
  EXPECT_EQ(t["amount_minor"].as_int(), 300);
  EXPECT_EQ(t["amount"].as_string(), "3.00");
  EXPECT_EQ(t["balance_minor"].as_int(), 475);
  EXPECT_EQ(t["balance"].as_string(), "4.75");
  EXPECT_EQ(t["currency"].as_string(), "EUR");
  EXPECT_TRUE(t["reference"].is_null());
  EXPECT_EQ(balance("bob"), 475);
}

TEST_F(CliTest, RepeatedReferenceIsCreditedOnce) {
  Result r = ctl({"topup", "alice", "5.00", "--reference", "PAY-0001"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "credited 5.00 EUR")) << r;
  EXPECT_EQ(balance("alice"), 1500);

  r = ctl({"topup", "alice", "5.00", "--reference", "PAY-0001"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "already credited")) << r;
  EXPECT_TRUE(r.err.empty()) << r;
  EXPECT_EQ(balance("alice"), 1500);

  const auto again = json({"topup", "alice", "5.00", "--reference", "PAY-0001"});
  EXPECT_FALSE(again["applied"].as_bool());
  EXPECT_EQ(again["reference"].as_string(), "PAY-0001");
  EXPECT_EQ(again["balance_minor"].as_int(), 1500);
  EXPECT_EQ(balance("alice"), 1500);

  // Someone else's reference is a conflict, not a silent no-op.
  r = ctl({"topup", "bob", "5.00", "--reference", "PAY-0001"});
  EXPECT_EQ(r.code, 4) << r;
  EXPECT_TRUE(one_error_line(r));
  EXPECT_EQ(balance("bob"), 50);
}

TEST_F(CliTest, MalformedAndNegativeAmountsExitFive) {
  for (const std::string amount : {"10.001", "-5", "abc", "", "0", "1e3", "1,50", " 1"}) {
    for (bool as_json : {false, true}) {
      std::vector<std::string> args = {"topup", "alice", amount};
      if (as_json) args.push_back("--json");
      const Result r = ctl(args);
      EXPECT_EQ(r.code, 5) << "'" << amount << "'\n" << r;
      EXPECT_TRUE(one_error_line(r)) << "'" << amount << "'";
      EXPECT_TRUE(contains(r.err, "invalid amount '" + amount + "'")) << r;
    }
  }
  EXPECT_EQ(balance("alice"), 1000);
}

TEST_F(CliTest, AmountsFollowTheCurrencyExponent) {
  db_.exec(R"SQL(
    INSERT INTO plans (name, currency, policy_id) SELECT 'yen', 'JPY', id FROM policies WHERE name = 'demo';
  )SQL");
  ASSERT_EQ(ctl({"subscriber", "add", "kenji", "--plan", "yen", "--balance", "500"}).code, 0);
  EXPECT_EQ(balance("kenji"), 500);
  const Result r = ctl({"topup", "kenji", "1.5"});
  EXPECT_EQ(r.code, 5) << r;
  EXPECT_TRUE(contains(r.err, "at most 0 decimals")) << r;
  EXPECT_EQ(json({"topup", "kenji", "100"})["balance"].as_string(), "600");
}

// ---------------------------------------------------------------------------
// Sessions, plans, schema.
// ---------------------------------------------------------------------------

TEST_F(CliTest, Sessions) {
  Result r = ctl({"sessions"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "no open sessions")) << r;
  EXPECT_EQ(json({"sessions"}).size(), 0u);

  db_.exec(R"SQL(
    INSERT INTO charging_sessions (id, subscriber_id, protocol, origin_host, expires_at)
      SELECT 'pgw.example;1;42', id, 'gy', 'pgw.example', now() + interval '20 minutes'
      FROM subscribers WHERE external_id = 'alice';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 'pgw.example;1;42', 10, id, 'octets_total', 10485760, 20, now() FROM subscribers WHERE external_id = 'alice';
    INSERT INTO reservations (session_id, rating_group, subscriber_id, unit, granted_units, money, granted_at)
      SELECT 'pgw.example;1;42', 20, id, 'seconds', 300, 25, now() FROM subscribers WHERE external_id = 'alice';
  )SQL");

  r = ctl({"sessions"});
  ASSERT_EQ(r.code, 0) << r;
  for (const char* s : {"SESSION", "pgw.example;1;42", "alice", "gy", "0.45", "10,20"})
    EXPECT_TRUE(contains(r.out, s)) << s << "\n" << r;

  const auto mine = json({"sessions", "alice"});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["session_id"].as_string(), "pgw.example;1;42");
  EXPECT_EQ(mine[0]["subscriber"].as_string(), "alice");
  EXPECT_EQ(mine[0]["reserved_minor"].as_int(), 45);
  EXPECT_EQ(mine[0]["reserved"].as_string(), "0.45");
  EXPECT_EQ(mine[0]["currency"].as_string(), "EUR");
  ASSERT_EQ(mine[0]["rating_groups"].size(), 2u);
  EXPECT_EQ(mine[0]["rating_groups"][0].as_int(), 10);
  EXPECT_FALSE(mine[0]["expires_at"].is_null());
  EXPECT_EQ(json({"sessions", "bob"}).size(), 0u);

  const auto alice = json({"subscriber", "show", "alice"});
  EXPECT_EQ(alice["reserved_minor"].as_int(), 45);
  EXPECT_EQ(alice["available_minor"].as_int(), 955);
  EXPECT_EQ(alice["open_sessions"].as_int(), 1);
}

TEST_F(CliTest, PlansHuman) {
  const Result r = ctl({"plans"});
  ASSERT_EQ(r.code, 0) << r;
  for (const char* s : {"PLAN", "demo", "peak", "off-peak", "Mon-Fri", "08:00-20:00", "0.02 EUR", "0.01 EUR",
                        "0.05 EUR", "1 MiB", "60 s", "other"})
    EXPECT_TRUE(contains(r.out, s)) << s << "\n" << r;
}

TEST_F(CliTest, PlansJson) {
  const auto plans = json({"plans"});
  ASSERT_EQ(plans.size(), 1u);
  const auto& demo = plans[0];
  EXPECT_EQ(demo["name"].as_string(), "demo");
  EXPECT_EQ(demo["currency"].as_string(), "EUR");
  EXPECT_EQ(demo["currency_exponent"].as_int(), 2);
  EXPECT_EQ(demo["policy"].as_string(), "demo");
  const auto& rgs = demo["rating_groups"];
  ASSERT_EQ(rgs.size(), 3u);
  EXPECT_EQ(rgs[0]["rating_group"].as_int(), 10);
  EXPECT_EQ(rgs[0]["unit"].as_string(), "octets_total");
  EXPECT_EQ(rgs[0]["block_units"].as_int(), 1048576);
  EXPECT_EQ(rgs[0]["default_grant"].as_int(), 10485760);
  EXPECT_EQ(rgs[0]["max_grant"].as_int(), 104857600);
  ASSERT_EQ(rgs[0]["periods"].size(), 2u);
  EXPECT_EQ(rgs[0]["periods"][0]["name"].as_string(), "peak");
  EXPECT_EQ(rgs[0]["periods"][0]["days_mask"].as_int(), 31);
  EXPECT_EQ(rgs[0]["periods"][0]["start_minute"].as_int(), 480);
  EXPECT_EQ(rgs[0]["periods"][0]["end_minute"].as_int(), 1200);
  EXPECT_EQ(rgs[0]["periods"][0]["price_minor"].as_int(), 2);
  EXPECT_EQ(rgs[0]["periods"][1]["price"].as_string(), "0.01");
  EXPECT_EQ(rgs[1]["rating_group"].as_int(), 20);
  EXPECT_EQ(rgs[1]["unit"].as_string(), "seconds");
  EXPECT_EQ(rgs[1]["block_units"].as_int(), 60);
  EXPECT_EQ(rgs[1]["default_grant"].as_int(), 300);
  EXPECT_EQ(rgs[1]["periods"][0]["price_minor"].as_int(), 5);
  EXPECT_TRUE(rgs[2]["rating_group"].is_null());
}

TEST_F(CliTest, DbVersion) {
  const Result r = ctl({"db", "version"});
  ASSERT_EQ(r.code, 0) << r;
  const int want = store::kSchemaVersion;
  EXPECT_TRUE(contains(r.out, "schema version " + std::to_string(want))) << r;
  const auto v = json({"db", "version"});
  EXPECT_EQ(v["version"].as_int(), want);
  EXPECT_EQ(v["expected"].as_int(), want);
}

TEST_F(CliTest, DbPurgeAnswers) {
  db_.exec(R"SQL(
    INSERT INTO charging_sessions (id, subscriber_id, protocol, state)
      SELECT 'old-closed', id, 'gy', 'closed' FROM subscribers WHERE external_id = 'alice';
    INSERT INTO charging_events (session_id, request_key, kind, outcome, created_at) VALUES
      ('old-closed', '0', 'initial', 'v1', now() - interval '40 days'),
      ('old-closed', '1', 'terminate', 'v1', now() - interval '3 days');
  )SQL");
  const auto events = [&] { return db_.query_long("SELECT count(*) FROM charging_events"); };
  const long all = events();
  Result r = ctl({"db", "purge-answers", "--days", "30"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "purged 1 stored answer older than ")) << r;
  EXPECT_EQ(events(), all - 1);
  const auto j = json({"db", "purge-answers", "--days", "1"});
  EXPECT_EQ(j["purged"].as_int(), 1);  // the 3-day-old one
  EXPECT_EQ(j["before"].as_string().size(), 20u);  // 2026-11-22T10:00:00Z
  EXPECT_EQ(events(), all - 2);
  // Bad --days: a message and exit 5, nothing deleted.
  for (const std::string bad : {"0", "-1", "x", "7d", "36501", ""}) {
    r = ctl({"db", "purge-answers", "--days", bad});
    EXPECT_EQ(r.code, 5) << "'" << bad << "'\n" << r;
    EXPECT_TRUE(one_error_line(r)) << r;
  }
  EXPECT_TRUE(contains(ctl({"db", "purge-answers", "--days", "0"}).err, "--days '0'"));
  EXPECT_EQ(events(), all - 2);
}

TEST_F(CliTest, SchemaMismatchExitsSix) {
  db_.exec("INSERT INTO schema_version (version) VALUES (99)");
  for (const auto& args : std::vector<std::vector<std::string>>{{"subscriber", "list"},
                                                                {"subscriber", "show", "alice", "--json"},
                                                                {"topup", "alice", "1"},
                                                                {"db", "version"}}) {
    const Result r = ctl(args);
    EXPECT_EQ(r.code, 6) << args[0] << "\n" << r;
    EXPECT_TRUE(one_error_line(r));
    EXPECT_TRUE(contains(r.err, "schema is version 99")) << r;
  }
  // Nothing was credited.
  db_.exec("DELETE FROM schema_version WHERE version = 99");
  EXPECT_EQ(balance("alice"), 1000);
}

/// A new database without any schema (dropped first if a crashed run left
/// it); its DSN.
std::string create_empty_database(const std::string& name) {
  pqxx::connection c(admin_dsn());
  pqxx::nontransaction n(c);
  n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name));
  n.exec("CREATE DATABASE " + n.quote_name(name));
  return admin_dsn() + " dbname=" + name;
}

void drop_database(const std::string& name) {
  pqxx::connection c(admin_dsn());
  pqxx::nontransaction n(c);
  n.exec("DROP DATABASE IF EXISTS " + n.quote_name(name) + " WITH (FORCE)");
}

TEST(CliDatabase, MigrateAnEmptyDatabase) {
  const std::string name = "ocs_cli_empty_" + std::to_string(::getpid());
  const std::string dsn = create_empty_database(name);

  Result r = ocsctl({"--db", dsn, "plans"});
  EXPECT_EQ(r.code, 6) << r;
  EXPECT_TRUE(one_error_line(r));
  EXPECT_TRUE(contains(r.err, "version 0")) << r;

  r = ocsctl({"db", "migrate", "--db", dsn});
  EXPECT_EQ(r.code, 0) << r;
  const std::string want = std::to_string(store::kSchemaVersion);
  EXPECT_TRUE(contains(r.out, "from version 0 to " + want)) << r;
  r = ocsctl({"db", "migrate", "--db", dsn});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "already at version " + want)) << r;
  r = ocsctl({"db", "migrate", "--db", dsn, "--json"});
  ASSERT_EQ(r.code, 0) << r;
  const auto j = parse_json(r.out);
  EXPECT_EQ(j["from"].as_int(), store::kSchemaVersion);
  EXPECT_EQ(j["version"].as_int(), store::kSchemaVersion);
  r = ocsctl({"db", "migrate", "--db", dsn, "--migrations", "/nonexistent"});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(one_error_line(r));

  r = ocsctl({"--db", dsn, "plans", "--json"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(parse_json(r.out).size(), 0u);
  r = ocsctl({"--db", dsn, "subscriber", "list"});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, "no subscribers")) << r;

  drop_database(name);
}

// `cmake --install` into a scratch prefix: the programs, the extensions, the
// dictionaries and the SQL land where the production examples expect them,
// and the installed ocsctl migrates with the installed migrations, not with
// the source tree's.
TEST(CliInstall, AnInstalledOcsctlMigratesWithTheInstalledSql) {
  const fs::path prefix = fs::temp_directory_path() / ("ocs_install_" + std::to_string(::getpid()));
  fs::remove_all(prefix);
  Result r = ocsctl({"-c", std::string("'") + OCS_CMAKE_COMMAND + "' --install '" + OCS_BUILD_DIR + "' --prefix '" +
                        prefix.string() + "' >/dev/null"},
             {.env = {}, .cwd = {}, .program = "/bin/sh"});
  ASSERT_EQ(r.code, 0) << r;
  for (const char* f : {"bin/ocsctl", "sbin/ocs-radiusd", "lib/ocs/ocs.fdx", "lib/ocs/dict_ocs.fdx",
                        "share/ocs/dict/radius/dictionary", "share/ocs/dict/radius/dictionary.rfc2865",
                        "share/ocs/sql/migrations/0001_initial.sql", "share/ocs/sql/demo/demo_data.sql",
                        "share/doc/ocs/examples/ocs.example-production.toml",
                        "share/doc/ocs/examples/ocs-tls.conf.example"})
    EXPECT_TRUE(fs::is_regular_file(prefix / f)) << f;
  // The benchmark's answer-everything extension is never installed.
  EXPECT_FALSE(fs::exists(prefix / "lib/ocs/ocs_baseline.fdx"));

  // Without the last migration in the installed tree, the installed ocsctl
  // stops one version short (and says that this build needs the next): it
  // read the installed directory.
  const std::string last = std::to_string(store::kSchemaVersion);
  std::string removed;
  for (const auto& e : fs::directory_iterator(prefix / "share/ocs/sql/migrations"))
    if (e.path().filename().string().rfind(std::string(4 - last.size(), '0') + last + "_", 0) == 0)
      removed = e.path().string();
  ASSERT_FALSE(removed.empty());
  fs::remove(removed);
  const std::string name = "ocs_cli_install_" + std::to_string(::getpid());
  const std::string dsn = create_empty_database(name);
  const std::string installed = (prefix / "bin/ocsctl").string();
  r = ocsctl({"help", "db", "migrate"}, {.env = {}, .cwd = {}, .program = installed});
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_TRUE(contains(r.out, (prefix / "share/ocs/sql/migrations").string())) << r;
  r = ocsctl({"db", "migrate", "--db", dsn, "--json"}, {.env = {}, .cwd = {}, .program = installed});
  EXPECT_EQ(r.code, 6) << r;
  ASSERT_FALSE(r.out.empty()) << r;
  EXPECT_EQ(parse_json(r.out)["version"].as_int(), store::kSchemaVersion - 1) << r;
  EXPECT_EQ(parse_json(r.out)["expected"].as_int(), store::kSchemaVersion) << r;
  // The build tree's ocsctl still uses the source tree: all of them.
  r = ocsctl({"db", "migrate", "--db", dsn, "--json"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(parse_json(r.out)["version"].as_int(), store::kSchemaVersion) << r;

  // ocs-radiusd accepts the installed dictionary (what the production
  // example's [radius] dictionary names under /usr).
  const fs::path conf = prefix / "ocs.toml";
  std::ofstream(conf) << "[database]\ndsn = \"" << dsn << "\"\n[radius]\ndictionary = \""
                      << (prefix / "share/ocs/dict/radius/dictionary").string() << "\"\n";
  r = ocsctl({"--config", conf.string(), "--check-config"},
             {.env = {}, .cwd = {}, .program = (prefix / "sbin/ocs-radiusd").string()});
  EXPECT_EQ(r.code, 0) << r;

  drop_database(name);
  fs::remove_all(prefix);
}

TEST(CliDatabase, DatabaseDownExitsSixPromptlyWithoutThePassword) {
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(closed_port()) + " user=ocs password=t0p-s3cret dbname=ocs";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"subscriber", "list"}, {"subscriber", "show", "alice", "--json"}, {"topup", "alice", "1"},
           {"db", "migrate"}, {"db", "version"}}) {
    auto with_db = args;
    with_db.insert(with_db.begin(), {"--db", dsn});
    const Result r = ocsctl(with_db);
    EXPECT_EQ(r.code, 6) << args[0] << "\n" << r;
    EXPECT_TRUE(one_error_line(r));
    EXPECT_LT(r.seconds, 5.0) << r;
    EXPECT_TRUE(contains(r.err, "host=127.0.0.1")) << r;
    EXPECT_FALSE(contains(r.err, "t0p-s3cret")) << r;
  }
  // The same through a URI.
  const Result r = ocsctl({"plans", "--db", "postgresql://ocs:t0p-s3cret@127.0.0.1:" + std::to_string(closed_port()) + "/ocs"});
  EXPECT_EQ(r.code, 6) << r;
  EXPECT_FALSE(contains(r.err, "t0p-s3cret")) << r;
}

// ---------------------------------------------------------------------------
// Where the DSN comes from.
// ---------------------------------------------------------------------------

class CliDsnTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    dir_ = fs::temp_directory_path() / ("ocsctl_dsn_" + std::to_string(::getpid()) + "_" + db_.name());
    fs::create_directories(dir_ / "config");
    good_ = (dir_ / "good.toml").string();
    std::ofstream(good_) << "[database]\ndsn = \"" << db_.dsn() << "\"\n";
    bad_ = (dir_ / "bad.toml").string();
    std::ofstream(bad_) << "[database]\ndsn = 42\n";
    down_ = "host=127.0.0.1 port=" + std::to_string(closed_port()) + " dbname=none";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string good_, bad_, down_;
};

TEST_F(CliDsnTest, ResolutionOrder) {
  // $OCS_DB alone.
  Result r = ocsctl({"db", "version"}, {{{"OCS_DB", db_.dsn()}}, "", ""});
  EXPECT_EQ(r.code, 0) << r;
  // --db beats $OCS_DB.
  r = ocsctl({"db", "version", "--db", db_.dsn()}, {{{"OCS_DB", down_}}, "", ""});
  EXPECT_EQ(r.code, 0) << r;
  r = ocsctl({"db", "version", "--db", down_}, {{{"OCS_DB", db_.dsn()}}, "", ""});
  EXPECT_EQ(r.code, 6) << r;
  // $OCS_DB beats --config.
  r = ocsctl({"db", "version", "--config", bad_}, {{{"OCS_DB", db_.dsn()}}, "", ""});
  EXPECT_EQ(r.code, 0) << r;
  // --config FILE.
  r = ocsctl({"--config", good_, "db", "version"});
  EXPECT_EQ(r.code, 0) << r;
  // --config beats $OCS_CONFIG.
  r = ocsctl({"--config", good_, "db", "version"}, {{{"OCS_CONFIG", bad_}}, "", ""});
  EXPECT_EQ(r.code, 0) << r;
  // $OCS_CONFIG.
  r = ocsctl({"db", "version"}, {{{"OCS_CONFIG", good_}}, "", ""});
  EXPECT_EQ(r.code, 0) << r;
  // ./config/ocs.toml.
  fs::copy_file(good_, dir_ / "config" / "ocs.toml");
  r = ocsctl({"db", "version"}, {{}, dir_.string(), ""});
  EXPECT_EQ(r.code, 0) << r;
  // A broken configuration file is a usage error naming the file.
  r = ocsctl({"db", "version", "--config", bad_});
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(one_error_line(r));
  EXPECT_TRUE(contains(r.err, "bad.toml")) << r;
}

}  // namespace
}  // namespace ocs::test
