// The shipped freeDiameter configuration (config/freediameter/ocs.conf.in
// and acl_wl.conf) starts Debian's daemon with our extensions and serves Gy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "baseline_fixture.hpp"

namespace ocs::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class ShippedConfigTest : public BaselineTest {
 protected:
  FdDaemonOptions options() override {
    FdDaemonOptions o = baseline_daemon_options();
    o.config_template = slurp(std::string(OCS_FD_CONFIG_DIR) + "/ocs.conf.in");
    o.acl = slurp(std::string(OCS_FD_CONFIG_DIR) + "/acl_wl.conf");
    o.app_threads = 4;
    o.substitutions = {
        {"@EXT_DIR@", std::filesystem::path(OCS_DICT_OCS_FDX).parent_path().string()},
        {"@APP_EXTENSION@", std::filesystem::path(OCS_BASELINE_FDX).filename().string()},
        {"@APP_CONF@", "/dev/null"}};
    return o;
  }
};

TEST_F(ShippedConfigTest, TemplateStartsTheDaemonAndServesGy) {
  const std::string conf = slurp(daemon().config_path());
  EXPECT_FALSE(std::regex_search(conf, std::regex("@[A-Z_]+@"))) << "unsubstituted placeholder in\n" << conf;

  auto peer = connect("pgw.localdomain");
  auto cca = peer->request(make_ccr(*peer, peer->new_session_id(), 1, 0));
  ASSERT_TRUE(cca);
  EXPECT_EQ(cca->result_code(), 2001u);
  EXPECT_THAT(daemon().log(), ::testing::HasSubstr("dict_ocs: ready"));
}

}  // namespace
}  // namespace ocs::test
