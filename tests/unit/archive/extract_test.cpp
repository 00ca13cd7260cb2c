#include <gtest/gtest.h>
#include <sys/stat.h>

#include "digsig/archive/archive.hpp"
#include "support/test_support.hpp"

namespace digsig::archive {
namespace {

namespace fs = std::filesystem;
using test::TarEntry;
using Type = TarEntry::Type;

class ExtractTest : public ::testing::Test {
 protected:
  fs::path tarball() const { return dir_.path() / "in.tar.gz"; }
  fs::path dest() const { return dir_.path() / "out"; }
  fs::path outside() const { return dir_.path() / "outside"; }

  Result<void> extract_entries(const std::vector<TarEntry>& entries, Limits limits = {}) {
    test::write_tar_gz(tarball(), entries);
    fs::create_directories(dest());
    return extract(tarball(), dest(), limits);
  }

  // Nothing may appear next to the destination directory.
  void expect_nothing_outside() const {
    EXPECT_FALSE(fs::exists(outside())) << "something was written outside the destination";
    EXPECT_FALSE(fs::exists(dir_.path() / "x"));
  }

  test::TempDir dir_;
};

TEST_F(ExtractTest, ExtractsFilesDirectoriesAndInsideLinks) {
  auto ok = extract_entries({
      {.name = "./lib/", .type = Type::dir, .mode = 0755},
      {.name = "./lib/modules/a.ko", .content = "module", .mode = 0600},
      {.name = "./lib/run.sh", .content = "#!/bin/sh\n", .mode = 04755},
      {.name = "./lib/link.ko", .type = Type::symlink, .target = "modules/a.ko"},
      {.name = "./lib/hard.ko", .type = Type::hardlink, .target = "./lib/modules/a.ko"},
  });
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(test::read_file(dest() / "lib/modules/a.ko"), "module");
  EXPECT_EQ(fs::read_symlink(dest() / "lib/link.ko"), "modules/a.ko");
  EXPECT_EQ(test::read_file(dest() / "lib/hard.ko"), "module");
  struct stat st {};
  ASSERT_EQ(::stat((dest() / "lib/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "setuid must be dropped, the rest kept";
  ASSERT_EQ(::stat((dest() / "lib/modules/a.ko").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ExtractTest, RefusesDotDot) {
  auto ok = extract_entries({{.name = "../x", .content = "evil"}});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::bad_request);
  EXPECT_NE(ok.error().message.find("'../x'"), std::string::npos) << ok.error().message;
  expect_nothing_outside();
}

TEST_F(ExtractTest, RefusesDotDotInTheMiddle) {
  auto ok = extract_entries({{.name = "a/../../x", .content = "evil"}});
  ASSERT_FALSE(ok);
  expect_nothing_outside();
}

TEST_F(ExtractTest, RefusesAbsolutePaths) {
  auto target = outside() / "abs";
  auto ok = extract_entries({{.name = target.string(), .content = "evil"}});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::bad_request);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(ExtractTest, RefusesSymlinkToRoot) {
  auto ok = extract_entries({{.name = "root", .type = Type::symlink, .target = "/"}});
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("points outside"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest() / "root"));
}

TEST_F(ExtractTest, RefusesSymlinkClimbingOut) {
  auto ok = extract_entries({{.name = "a/up", .type = Type::symlink, .target = "../../outside"}});
  ASSERT_FALSE(ok);
}

TEST_F(ExtractTest, RefusesFileWrittenThroughASymlink) {
  fs::create_directories(outside());
  // Even a link that points inside may not be used as a directory: the
  // second member would otherwise be written wherever the link leads.
  auto ok = extract_entries({
      {.name = "d", .type = Type::symlink, .target = "."},
      {.name = "d/x", .content = "through the link"},
  });
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("below a symbolic link"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest() / "x"));
}

TEST_F(ExtractTest, RefusesHardLinkOut) {
  auto ok = extract_entries({{.name = "h", .type = Type::hardlink, .target = "/etc/passwd"}});
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("hard link"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest() / "h"));
}

TEST_F(ExtractTest, RefusesDeviceNodesAndFifos) {
  auto dev = extract_entries({{.name = "null", .type = Type::chardev}});
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().message.find("device"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest() / "null"));
  auto fifo = extract_entries({{.name = "pipe", .type = Type::fifo}});
  ASSERT_FALSE(fifo);
  EXPECT_FALSE(fs::exists(dest() / "pipe"));
}

TEST_F(ExtractTest, RefusesTooManyEntries) {
  std::vector<TarEntry> many;
  for (int i = 0; i < 11; ++i) many.push_back({.name = "f" + std::to_string(i), .content = "x"});
  auto ok = extract_entries(many, Limits{.max_entries = 10, .max_total_bytes = 1 << 20});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::too_large);
  EXPECT_NE(ok.error().message.find("more than 10 members"), std::string::npos);
}

TEST_F(ExtractTest, RefusesTooLarge) {
  auto ok = extract_entries({{.name = "big", .content = std::string(2000, 'x')}},
                            Limits{.max_entries = 10, .max_total_bytes = 1000});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::too_large);
  EXPECT_FALSE(fs::exists(dest() / "big"));
}

TEST_F(ExtractTest, RefusesSomethingThatIsNotATarball) {
  test::write_file(tarball(), "this is not an archive at all, just some text\n");
  fs::create_directories(dest());
  auto ok = extract(tarball(), dest(), {});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::bad_request);
  EXPECT_NE(ok.error().message.find("not a gzip-compressed tar"), std::string::npos);
}

TEST_F(ExtractTest, RefusesATruncatedTarball) {
  test::write_tar_gz(tarball(), {{.name = "a", .content = std::string(100000, 'a')}});
  auto whole = test::read_file(tarball());
  test::write_file(tarball(), whole.substr(0, whole.size() / 2));
  fs::create_directories(dest());
  auto ok = extract(tarball(), dest(), {});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().kind, ErrorKind::bad_request);
}

}  // namespace
}  // namespace digsig::archive
