#include "digsig/util/log.hpp"

#include <gtest/gtest.h>

namespace digsig::log {
namespace {

TEST(LogTest, RedactsEveryRegisteredSecret) {
  add_secret("s3cr3t-PIN");
  add_secret("");  // ignored, must not redact everything
  EXPECT_EQ(redact("pin-value=s3cr3t-PIN;x=s3cr3t-PIN"), "pin-value=***;x=***");
  EXPECT_EQ(redact("nothing here"), "nothing here");
}

TEST(LogTest, RequestScopeSetsAndRestoresTheId) {
  EXPECT_EQ(request_id(), "-");
  {
    RequestScope outer("abc");
    EXPECT_EQ(request_id(), "abc");
    {
      RequestScope inner("def");
      EXPECT_EQ(request_id(), "def");
    }
    EXPECT_EQ(request_id(), "abc");
  }
  EXPECT_EQ(request_id(), "-");
}

TEST(LogTest, UnknownLevelIsRefused) {
  EXPECT_FALSE(init("loud"));
  EXPECT_TRUE(init("WARNING"));
  EXPECT_TRUE(init("DEBUG"));
}

}  // namespace
}  // namespace digsig::log
