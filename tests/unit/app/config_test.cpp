#include "digsig/app/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace digsig::app {
namespace {

Getenv env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ConfigTest, KeyfileUriIsRequiredAndNamed) {
  auto c = load_environment({}, env({}));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("DIGSIGSERVER_KEYFILE_URI"), std::string::npos);
}

TEST(ConfigTest, DefaultsAreTheOriginalServers) {
  auto c = load_environment({}, env({{"DIGSIGSERVER_KEYFILE_URI", "file:///k"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "0.0.0.0");
  EXPECT_EQ(c->port, 9999);
  EXPECT_EQ(c->l4t_tools_base, "/opt/nvidia");
  EXPECT_EQ(c->imx_cst_base, "/opt/NXP");
  EXPECT_EQ(c->response_timeout.count(), 600);
  EXPECT_EQ(c->request_max_size, 600000000u);
  EXPECT_EQ(c->log_level, "DEBUG");
  EXPECT_GE(c->max_jobs, 2u);
  EXPECT_FALSE(c->spool_dir.empty());
}

TEST(ConfigTest, ReadsEverySetting) {
  auto c = load_environment({}, env({{"DIGSIGSERVER_KEYFILE_URI", "file:///k"},
                                     {"DIGSIGSERVER_RESPONSE_TIMEOUT", "30"},
                                     {"DIGSIGSERVER_REQUEST_MAX_SIZE", "1234"},
                                     {"DIGSIGSERVER_MAX_JOBS", "3"},
                                     {"DIGSIGSERVER_SPOOL_DIR", "/s"},
                                     {"DIGSIGSERVER_YUBIHSM_PASSWORD", "pw"},
                                     {"DIGSIGSERVER_L4T_TOOLS_BASE", "/l4t"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->response_timeout.count(), 30);
  EXPECT_EQ(c->request_max_size, 1234u);
  EXPECT_EQ(c->max_jobs, 3u);
  EXPECT_EQ(c->spool_dir, "/s");
  EXPECT_EQ(c->yubihsm_password, "pw");
  EXPECT_EQ(c->l4t_tools_base, "/l4t");
}

TEST(ConfigTest, MalformedNumbersAreNamed) {
  for (const char* bad : {"ten", "10s", "-1", "0"}) {
    auto c = load_environment({}, env({{"DIGSIGSERVER_KEYFILE_URI", "file:///k"},
                                       {"DIGSIGSERVER_RESPONSE_TIMEOUT", bad}}));
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("DIGSIGSERVER_RESPONSE_TIMEOUT"), std::string::npos);
  }
}

TEST(ConfigTest, HelpListsEveryVariable) {
  auto help = environment_help();
  for (const char* name : {"KEYFILE_URI", "L4T_TOOLS_BASE", "IMX_CST_BASE", "RK_TOOLS_PATH",
                           "YUBIHSM_PASSWORD", "RESPONSE_TIMEOUT", "REQUEST_MAX_SIZE", "LOG_LEVEL",
                           "SPOOL_DIR", "MAX_JOBS", "MAX_QUEUED", "AUDIT_LOG"}) {
    EXPECT_NE(help.find(std::string("DIGSIGSERVER_") + name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace digsig::app
