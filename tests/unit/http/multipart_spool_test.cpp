#include "digsig/http/multipart_spool.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace digsig::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class MultipartSpoolTest : public ::testing::Test {
 protected:
  MultipartSpoolTest() : job_(dir_.path() / "job", jobs::Clock::now() + 10s) {
    fs::create_directories(job_.dir());
  }
  test::TempDir dir_;
  jobs::Job job_;
};

TEST_F(MultipartSpoolTest, FilePartsGoToDiskUnderOurOwnNames) {
  MultipartSpool spool(job_, {});
  ASSERT_TRUE(spool.begin_part("distro", "", ""));
  ASSERT_TRUE(spool.data("po", 2));
  ASSERT_TRUE(spool.data("ky", 2));
  ASSERT_TRUE(spool.begin_part("sw-description", "../../etc/passwd", "text/plain"));
  std::string big(1 << 20, 'x');
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(spool.data(big.data(), big.size()));
  auto request = spool.finish();
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->fields.at("distro"), "poky");
  const auto& file = request->files.at("sw-description");
  EXPECT_EQ(file.client_filename, "../../etc/passwd");
  EXPECT_EQ(file.path.parent_path(), job_.dir());
  EXPECT_EQ(file.size, 4u << 20);
  EXPECT_EQ(fs::file_size(file.path), 4u << 20);
  EXPECT_EQ(file.sha256.size(), 64u);
}

TEST_F(MultipartSpoolTest, StopsPastTheBodyLimitAfterDraining) {
  MultipartSpool spool(job_, {.max_body_bytes = 100, .max_drain_bytes = 10});
  ASSERT_TRUE(spool.begin_part("artifact", "a.bin", ""));
  ASSERT_TRUE(spool.data(std::string(100, 'a').data(), 100));
  EXPECT_TRUE(spool.data("b", 1)) << "over the limit, the rest is drained for a while";
  ASSERT_TRUE(spool.error());
  EXPECT_TRUE(spool.data("123456789", 9));
  EXPECT_FALSE(spool.data("c", 1)) << "but not forever";
  EXPECT_EQ(spool.error()->kind, ErrorKind::too_large);
  EXPECT_NE(spool.error()->message.find("DIGSIGSERVER_REQUEST_MAX_SIZE"), std::string::npos);
  EXPECT_FALSE(spool.finish());
}

TEST_F(MultipartSpoolTest, RefusesDuplicateFieldsLongFieldsAndTooManyParts) {
  {
    MultipartSpool spool(job_, {});
    ASSERT_TRUE(spool.begin_part("distro", "", ""));
    EXPECT_FALSE(spool.begin_part("distro", "", ""));
    EXPECT_NE(spool.error()->message.find("more than once"), std::string::npos);
  }
  {
    MultipartSpool spool(job_, {.max_field_bytes = 8});
    ASSERT_TRUE(spool.begin_part("distro", "", ""));
    EXPECT_FALSE(spool.data("123456789", 9));
    EXPECT_EQ(spool.error()->kind, ErrorKind::too_large);
  }
  {
    MultipartSpool spool(job_, {.max_parts = 2});
    ASSERT_TRUE(spool.begin_part("a", "", ""));
    ASSERT_TRUE(spool.begin_part("b", "", ""));
    EXPECT_FALSE(spool.begin_part("c", "", ""));
  }
  {
    MultipartSpool spool(job_, {});
    EXPECT_FALSE(spool.begin_part("bad\nname", "", ""));
    EXPECT_FALSE(spool.begin_part("", "", ""));
  }
}

}  // namespace
}  // namespace digsig::http
