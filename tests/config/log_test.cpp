#include "ocs/common/log.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace ocs::log {
namespace {

namespace fs = std::filesystem;

TEST(LogLevel, KnownNamesMapToSpdlogLevels) {
  EXPECT_EQ(parse_level("trace"), spdlog::level::trace);
  EXPECT_EQ(parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(parse_level("info"), spdlog::level::info);
  EXPECT_EQ(parse_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_level("warning"), spdlog::level::warn);
  EXPECT_EQ(parse_level("error"), spdlog::level::err);
  EXPECT_EQ(parse_level("critical"), spdlog::level::critical);
  EXPECT_EQ(parse_level("off"), spdlog::level::off);
}

TEST(LogLevel, UnknownNamesAreRejected) {
  EXPECT_FALSE(parse_level("verbose"));
  EXPECT_FALSE(parse_level("INFO"));
  EXPECT_FALSE(parse_level(""));
}

TEST(Logger, SameNameGivesTheSameLogger) {
  const auto a = get("test-same");
  const auto b = get("test-same");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->name(), "test-same");
  EXPECT_NE(get("test-other").get(), a.get());
}

TEST(Logger, InitRoutesEveryLoggerToTheFileAtTheLevel) {
  const fs::path file =
      fs::temp_directory_path() / ("ocs_log_test_" + std::to_string(::getpid()) + ".log");
  fs::remove(file);
  const auto before = get("test-before-init");

  config::LogConfig cfg;
  cfg.level = "warn";
  cfg.file = file.string();
  init(cfg);
  const auto after = get("test-after-init");

  before->warn("from before");
  after->error("from after");
  after->info("too quiet to appear");
  before->flush();
  after->flush();

  std::ifstream in(file);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("warning [test-before-init] from before"), std::string::npos) << text;
  EXPECT_NE(text.find("error [test-after-init] from after"), std::string::npos) << text;
  EXPECT_EQ(text.find("too quiet"), std::string::npos) << text;

  init(config::LogConfig{});  // back to stderr so the file can go
  fs::remove(file);
}

TEST(Logger, InitRejectsAnUnknownLevel) {
  config::LogConfig cfg;
  cfg.level = "loud";
  EXPECT_THROW(init(cfg), config::ConfigError);
}

TEST(Logger, InitReportsAFileThatCannotBeOpened) {
  config::LogConfig cfg;
  cfg.file = "/proc/ocs-no-such-dir/ocs.log";
  EXPECT_THROW(init(cfg), std::runtime_error);
}

TEST(RedactDsn, KeywordPasswordIsMasked) {
  EXPECT_EQ(redact_dsn("host=db user=ocs password=s3cret dbname=ocs"),
            "host=db user=ocs password=*** dbname=ocs");
  EXPECT_EQ(redact_dsn("password = 'a \\' secret' host=db"), "password = *** host=db");
  EXPECT_EQ(redact_dsn("host=db password=s3cret"), "host=db password=***");
}

TEST(RedactDsn, UriPasswordIsMasked) {
  EXPECT_EQ(redact_dsn("postgresql://ocs:s3cret@db:5432/ocs?sslmode=require"),
            "postgresql://ocs:***@db:5432/ocs?sslmode=require");
  EXPECT_EQ(redact_dsn("postgres://db/ocs?user=ocs&password=s3cret&sslmode=require"),
            "postgres://db/ocs?user=ocs&password=***&sslmode=require");
}

TEST(RedactDsn, NothingToHideIsUnchanged) {
  EXPECT_EQ(redact_dsn("host=127.0.0.1 port=54320 user=ocs dbname=ocs"),
            "host=127.0.0.1 port=54320 user=ocs dbname=ocs");
  EXPECT_EQ(redact_dsn("postgresql://ocs@db/ocs"), "postgresql://ocs@db/ocs");
  EXPECT_EQ(redact_dsn(""), "");
}

TEST(RedactDsn, MalformedRemainderIsMasked) {
  const std::string out = redact_dsn("host=db s3cret");
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
}

}  // namespace
}  // namespace ocs::log
