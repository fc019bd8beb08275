#include "ocs/config/config.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace ocs::config {
namespace {

namespace fs = std::filesystem;

/// Writes configuration files into a private temporary directory.
class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    dir_ = fs::temp_directory_path() /
           ("ocs_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  ~ConfigFileTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& text, const std::string& name = "ocs.toml") {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  /// The ConfigError message load() throws for `text`; fails the test if none.
  std::string error_for(const std::string& text) {
    const std::string path = write(text);
    try {
      load(path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return {};
  }

  fs::path dir_;
};

TEST(ConfigDefaults, AreTheDemoSettings) {
  const Config c = defaults();
  EXPECT_EQ(c.database.dsn, "host=127.0.0.1 port=54320 user=ocs dbname=ocs");
  EXPECT_EQ(c.database.pool_size, 8u);
  EXPECT_EQ(c.database.connect_timeout_ms, 5000);
  EXPECT_EQ(c.database.answer_retention_days, 14);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_FALSE(c.log.file.has_value());
}

TEST_F(ConfigFileTest, EmptyFileGivesDefaults) {
  const Config c = load(write("# nothing set\n"));
  EXPECT_EQ(c.database.dsn, defaults().database.dsn);
  EXPECT_EQ(c.database.pool_size, defaults().database.pool_size);
  EXPECT_EQ(c.database.connect_timeout_ms, defaults().database.connect_timeout_ms);
  EXPECT_EQ(c.log.level, defaults().log.level);
  EXPECT_FALSE(c.log.file.has_value());
}

TEST_F(ConfigFileTest, FullFileSetsEveryValue) {
  const Config c = load(write(R"(
[database]
dsn = "host=db.example.net port=5432 user=ocs dbname=ocs sslmode=verify-full"
pool_size = 32
connect_timeout_ms = 250
answer_retention_days = 0

[log]
level = "debug"
file = "/var/log/ocs/ocs.log"
)"));
  EXPECT_EQ(c.database.answer_retention_days, 0);
  EXPECT_EQ(c.database.dsn,
            "host=db.example.net port=5432 user=ocs dbname=ocs sslmode=verify-full");
  EXPECT_EQ(c.database.pool_size, 32u);
  EXPECT_EQ(c.database.connect_timeout_ms, 250);
  EXPECT_EQ(c.log.level, "debug");
  ASSERT_TRUE(c.log.file.has_value());
  EXPECT_EQ(*c.log.file, "/var/log/ocs/ocs.log");
}

TEST_F(ConfigFileTest, AnswerRetentionIsDaysFromZero) {
  EXPECT_EQ(load(write("[database]\nanswer_retention_days = 90\n")).database.answer_retention_days, 90);
  const std::string path = write("");
  const std::string msg = error_for("[database]\nanswer_retention_days = -1\n");
  EXPECT_NE(msg.find(path + ":2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("database.answer_retention_days"), std::string::npos) << msg;
  EXPECT_NE(error_for("[database]\nanswer_retention_days = 1.5\n").find("answer_retention_days"),
            std::string::npos);
}

TEST_F(ConfigFileTest, PartialSectionKeepsOtherDefaults) {
  const Config c = load(write("[database]\npool_size = 2\n"));
  EXPECT_EQ(c.database.pool_size, 2u);
  EXPECT_EQ(c.database.dsn, defaults().database.dsn);
  EXPECT_EQ(c.log.level, "info");
}

TEST_F(ConfigFileTest, UnknownKeyIsRejectedWithFileAndLine) {
  const std::string path = write("");
  const std::string msg = error_for(R"([database]
dsn = "host=127.0.0.1"
pool_sise = 4
)");
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("database.pool_sise"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pool_size"), std::string::npos) << "lists the known keys: " << msg;
}

TEST_F(ConfigFileTest, FirstUnknownKeyInFileOrderIsReported) {
  const std::string path = write("");
  const std::string msg = error_for("[log]\nlevel = \"info\"\nfoo = 1\nbar = 2\n");
  EXPECT_NE(msg.find(path + ":3: unknown key 'log.foo'"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, UnknownTableIsRejectedWithFileAndLine) {
  const std::string path = write("");
  const std::string msg = error_for("[database]\npool_size = 4\n\n[datbase]\ndsn = \"x\"\n");
  EXPECT_NE(msg.find(path + ":4:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[datbase]"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, UnknownNestedTableIsRejected) {
  const std::string msg = error_for("[database.replica]\ndsn = \"x\"\n");
  EXPECT_NE(msg.find("[database.replica]"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, UnknownTopLevelKeyIsRejected) {
  const std::string path = write("");
  const std::string msg = error_for("dsn = \"host=x\"\n");
  EXPECT_NE(msg.find(path + ":1: unknown key 'dsn'"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, WrongTypeIsRejectedWithFileAndLine) {
  const std::string path = write("");
  const std::string msg = error_for("[database]\n\npool_size = \"8\"\n");
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("database.pool_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("must be an integer"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, StringWhereIntegerExpectedAndViceVersa) {
  EXPECT_NE(error_for("[database]\ndsn = 5\n").find("must be a string"), std::string::npos);
  EXPECT_NE(error_for("[log]\nlevel = true\n").find("must be a string"), std::string::npos);
  EXPECT_NE(error_for("[database]\nconnect_timeout_ms = 1.5\n").find("must be an integer"),
            std::string::npos);
}

TEST_F(ConfigFileTest, SectionThatIsNotATableIsRejected) {
  const std::string path = write("");
  const std::string msg = error_for("database = \"host=x\"\n");
  EXPECT_NE(msg.find(path + ":1: 'database' must be a table"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, PoolSizeMustBePositive) {
  const std::string path = write("");
  const std::string zero = error_for("[database]\npool_size = 0\n");
  EXPECT_NE(zero.find(path + ":2:"), std::string::npos) << zero;
  EXPECT_NE(zero.find("database.pool_size"), std::string::npos) << zero;
  EXPECT_NE(error_for("[database]\npool_size = -3\n").find("database.pool_size"),
            std::string::npos);
}

TEST_F(ConfigFileTest, ConnectTimeoutMustBePositiveAndFitAnInt) {
  EXPECT_NE(error_for("[database]\nconnect_timeout_ms = 0\n").find("connect_timeout_ms"),
            std::string::npos);
  EXPECT_NE(error_for("[database]\nconnect_timeout_ms = 4294967296\n").find("connect_timeout_ms"),
            std::string::npos);
}

TEST_F(ConfigFileTest, EmptyDsnIsRejected) {
  EXPECT_NE(error_for("[database]\ndsn = \"\"\n").find("must not be empty"), std::string::npos);
}

TEST_F(ConfigFileTest, UnknownLogLevelIsRejectedWithFileAndLine) {
  const std::string path = write("");
  const std::string msg = error_for("[log]\nlevel = \"verbose\"\n");
  EXPECT_NE(msg.find(path + ":2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("verbose"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, EveryDocumentedLevelIsAccepted) {
  for (const char* level :
       {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}) {
    const Config c = load(write(std::string("[log]\nlevel = \"") + level + "\"\n"));
    EXPECT_EQ(c.log.level, level);
  }
}

TEST_F(ConfigFileTest, SyntaxErrorNamesFileAndLine) {
  const std::string path = write("");
  const std::string msg = error_for("[database]\npool_size = 4\ndsn = \n");
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, DuplicateKeyIsAnError) {
  const std::string msg = error_for("[database]\npool_size = 4\npool_size = 5\n");
  EXPECT_NE(msg.find("pool_size"), std::string::npos) << msg;
}

TEST_F(ConfigFileTest, MissingFileNamesThePath) {
  const std::string path = (dir_ / "absent.toml").string();
  try {
    load(path);
    FAIL() << "no error for a missing file";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  }
}

TEST_F(ConfigFileTest, DirectoryIsNotAFile) { EXPECT_THROW(load(dir_.string()), ConfigError); }

// The shipped files must stay loadable: they are what people copy.
TEST(ShippedConfig, DemoFileMatchesTheDemoCluster) {
  const Config c = load(OCS_SOURCE_DIR "/config/ocs.toml");
  EXPECT_EQ(c.database.dsn, "host=127.0.0.1 port=54320 user=ocs dbname=ocs");
}

TEST(ShippedConfig, ProductionExampleLoads) {
  const Config c = load(OCS_SOURCE_DIR "/config/ocs.example-production.toml");
  EXPECT_NE(c.database.dsn.find("sslmode="), std::string::npos);
}

}  // namespace
}  // namespace ocs::config

namespace ocs::config {
namespace {

TEST_F(ConfigFileTest, GySectionSetsEveryValue) {
  const Config c = load(write(R"([gy]
default_rating_group = 10
workers = 6
queue_limit = 50
batch_max = 8
supervision_interval_ms = 1000
reauth_on_credit = false
abort_on_block = false
peer_answer_timeout_ms = 900
server_requests_via_relay = true
tcp_nodelay = false
)"));
  EXPECT_EQ(c.gy.default_rating_group, 10u);
  EXPECT_EQ(c.gy.workers, 6u);
  EXPECT_EQ(c.gy.queue_limit, 50u);
  EXPECT_EQ(c.gy.batch_max, 8u);
  EXPECT_EQ(defaults().gy.batch_max, 32u);
  EXPECT_EQ(c.gy.supervision_interval_ms, 1000);
  EXPECT_FALSE(c.gy.reauth_on_credit);
  EXPECT_FALSE(c.gy.abort_on_block);
  EXPECT_EQ(c.gy.peer_answer_timeout_ms, 900);
  EXPECT_TRUE(c.gy.server_requests_via_relay);
  EXPECT_FALSE(defaults().gy.server_requests_via_relay);
  EXPECT_FALSE(c.gy.tcp_nodelay);
  EXPECT_TRUE(defaults().gy.tcp_nodelay);
  EXPECT_EQ(load(write("")).gy.queue_limit, defaults().gy.queue_limit);
}

TEST(GyConfigTest, WorkersDefaultToTheCoresWithinThePool) {
  GyConfig gy;  // workers = 0
  EXPECT_EQ(gy.worker_count(8, 2), 2u);
  EXPECT_EQ(gy.worker_count(8, 32), 8u);  // never more than the pool
  EXPECT_EQ(gy.worker_count(8, 0), 1u);   // cores unknown
  EXPECT_EQ(gy.worker_count(1, 4), 1u);
  gy.workers = 6;  // an explicit count stands, even above the cores
  EXPECT_EQ(gy.worker_count(8, 2), 6u);
}

TEST_F(ConfigFileTest, GyRejectsBadValuesWithTheLine) {
  EXPECT_THROW(load(write("[gy]\nqueue_limit = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[gy]\nbatch_max = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[gy]\nbatch_max = 1025\n")), ConfigError);
  EXPECT_THROW(load(write("[gy]\ndefault_rating_group = -1\n")), ConfigError);
  EXPECT_THROW(load(write("[gy]\ndefault_rating_group = 4294967296\n")), ConfigError);
  try {
    load(write("[gy]\n\nreauth_on_credit = \"yes\"\n"));
    FAIL() << "a string is not a boolean";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("true or false"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigFileTest, GxSectionSetsEveryValueAndRejectsBadOnes) {
  const Config c = load(write(
      "[gx]\nenabled = false\nworkers = 3\nqueue_limit = 7\nreauth_on_change = false\naudit_after_seconds = 0\n"));
  EXPECT_FALSE(c.gx.enabled);
  EXPECT_EQ(c.gx.audit_after_seconds, 0);
  EXPECT_EQ(defaults().gx.audit_after_seconds, 86400);
  EXPECT_THROW(load(write("[gx]\naudit_after_seconds = -1\n")), ConfigError);
  EXPECT_EQ(c.gx.workers, 3u);
  EXPECT_EQ(c.gx.queue_limit, 7u);
  EXPECT_FALSE(c.gx.reauth_on_change);
  EXPECT_TRUE(defaults().gx.enabled);
  EXPECT_EQ(load(write("")).gx.workers, defaults().gx.workers);
  EXPECT_THROW(load(write("[gx]\nworkers = 0\n")), ConfigError);
  try {
    load(write("[gx]\n\nrelease = true\n"));
    FAIL() << "unknown key";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ocs::config

namespace ocs::config {
namespace {

TEST_F(ConfigFileTest, RadiusSectionSetsEveryValue) {
  const Config c = load(write(R"([radius]
listen = "127.0.0.1"
auth_port = 11812
acct_port = 11813
workers = 3
queue_limit = 10
batch_max = 8
batch_parallel = 3
require_message_authenticator = false
duplicate_cache_entries = 100
duplicate_cache_seconds = 5
nas_reload_seconds = 2
supervision_interval_ms = 700
rating_group = 10
dictionary = "/etc/ocs/dictionary"
coa_enabled = false
coa_timeout_ms = 250
coa_max_timeout_ms = 2000
coa_attempts = 2
coa_normal_filter_id = "full"
)"));
  EXPECT_EQ(c.radius.listen, "127.0.0.1");
  EXPECT_EQ(c.radius.auth_port, 11812);
  EXPECT_EQ(c.radius.acct_port, 11813);
  EXPECT_EQ(c.radius.workers, 3u);
  EXPECT_EQ(c.radius.queue_limit, 10u);
  EXPECT_EQ(c.radius.batch_max, 8u);
  EXPECT_EQ(c.radius.batch_parallel, 3u);
  EXPECT_FALSE(c.radius.require_message_authenticator);
  EXPECT_EQ(c.radius.duplicate_cache_entries, 100u);
  EXPECT_EQ(c.radius.duplicate_cache_seconds, 5);
  EXPECT_EQ(c.radius.nas_reload_seconds, 2);
  EXPECT_EQ(c.radius.supervision_interval_ms, 700);
  EXPECT_EQ(c.radius.rating_group, 10u);
  EXPECT_EQ(c.radius.dictionary, "/etc/ocs/dictionary");
  EXPECT_FALSE(c.radius.coa_enabled);
  EXPECT_EQ(c.radius.coa_timeout_ms, 250);
  EXPECT_EQ(c.radius.coa_max_timeout_ms, 2000);
  EXPECT_EQ(c.radius.coa_attempts, 2);
  EXPECT_EQ(c.radius.coa_normal_filter_id, "full");
  // The contract's defaults.
  const Config d = defaults();
  EXPECT_EQ(d.radius.listen, "0.0.0.0");
  EXPECT_EQ(d.radius.auth_port, 1812);
  EXPECT_EQ(d.radius.acct_port, 1813);
  EXPECT_EQ(d.radius.workers, 128u);
  EXPECT_EQ(d.radius.batch_max, 32u);
  EXPECT_EQ(d.radius.batch_parallel, 2u);
  EXPECT_TRUE(d.radius.require_message_authenticator);
  EXPECT_TRUE(d.radius.coa_enabled);
  EXPECT_EQ(d.radius.coa_timeout_ms, 1000);
  EXPECT_EQ(d.radius.coa_max_timeout_ms, 8000);
  EXPECT_EQ(d.radius.coa_attempts, 4);
  EXPECT_EQ(d.radius.coa_normal_filter_id, "");
}

TEST_F(ConfigFileTest, RadiusRejectsBadValuesWithTheLine) {
  EXPECT_THROW(load(write("[radius]\nauth_port = 65536\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\nworkers = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\nbatch_max = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\nbatch_parallel = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\ncoa_attempts = 0\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\ncoa_timeout_ms = 1\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\nlisten = \"\"\n")), ConfigError);
  EXPECT_THROW(load(write("[radius]\nlisten = \"radius.example.net\"\n")), ConfigError);
  EXPECT_NO_THROW(load(write("[radius]\nlisten = \"::\"\n")));
  // One port for both kinds of request: refused at the line that repeats it
  // (acct_port = 1812 meets the default auth_port); 0 twice is two free ports.
  const std::string same = error_for("[radius]\nauth_port = 1645\nacct_port = 1645\n");
  EXPECT_NE(same.find(":3:"), std::string::npos) << same;
  EXPECT_NE(same.find("acct_port must differ from auth_port (both 1645)"), std::string::npos) << same;
  EXPECT_NE(error_for("[radius]\nacct_port = 1812\n").find(":2:"), std::string::npos);
  EXPECT_NE(error_for("[radius]\nauth_port = 1813\n").find(":2:"), std::string::npos);
  EXPECT_NO_THROW(load(write("[radius]\nauth_port = 0\nacct_port = 0\n")));
  try {
    load(write("[radius]\n\nsecret = \"testing123\"\n"));
    FAIL() << "secrets live in nas_clients, not in the file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown key 'radius.secret'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ocs::config
