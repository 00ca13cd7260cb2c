#include "digsig/http/status.hpp"

#include <gtest/gtest.h>

namespace digsig::http {
namespace {

TEST(StatusTest, ClientMistakesAre4xxServerProblems5xx) {
  EXPECT_EQ(status_for(ErrorKind::bad_request), 400);
  EXPECT_EQ(status_for(ErrorKind::forbidden), 403);
  EXPECT_EQ(status_for(ErrorKind::not_found), 404);
  EXPECT_EQ(status_for(ErrorKind::upload_timeout), 408);
  EXPECT_EQ(status_for(ErrorKind::too_large), 413);
  EXPECT_EQ(status_for(ErrorKind::unsupported_media), 415);
  EXPECT_EQ(status_for(ErrorKind::signing_failed), 500);
  EXPECT_EQ(status_for(ErrorKind::misconfigured), 500);
  EXPECT_EQ(status_for(ErrorKind::internal), 500);
  EXPECT_EQ(status_for(ErrorKind::bad_gateway), 502);
  EXPECT_EQ(status_for(ErrorKind::unavailable), 503);
  EXPECT_EQ(status_for(ErrorKind::overloaded), 503);
  EXPECT_EQ(status_for(ErrorKind::timeout), 504);
}

}  // namespace
}  // namespace digsig::http
