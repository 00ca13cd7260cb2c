#include "digsig/archive/rewrite.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "support/test_support.hpp"

namespace digsig::archive {
namespace {

namespace fs = std::filesystem;
using test::TarEntry;
using Type = TarEntry::Type;

std::string listing(const fs::path& tarball) { return test::run_command("tar -tzf " + tarball.string()); }

TEST(RewriteTest, TransformsSelectedFilesInOrderAndCopiesTheRest) {
  test::TempDir dir;
  std::vector<TarEntry> entries = {{.name = "lib/", .type = Type::dir, .mode = 0755}};
  for (int i = 0; i < 40; ++i) {
    entries.push_back({.name = "lib/m" + std::to_string(i) + ".ko", .content = "module" + std::to_string(i)});
    entries.push_back({.name = "lib/f" + std::to_string(i), .content = std::string(i * 100, 'f')});
  }
  entries.push_back({.name = "lib/big", .content = std::string(3 << 20, 'b')});
  entries.push_back({.name = "lib/l.ko", .type = Type::symlink, .target = "m0.ko"});
  test::write_tar_gz(dir.path() / "in.tar.gz", entries);

  Selector select = [](const CheckedMember& m) -> Result<bool> {
    return m.type == AE_IFREG && m.name.ends_with(".ko");
  };
  Transform transform = [](const std::string& name, std::string content) -> Result<std::string> {
    return "signed(" + name + ":" + content + ")";
  };
  auto stats = rewrite(dir.path() / "in.tar.gz", dir.path() / "out.tar.gz", select, transform,
                       RewriteOptions{.workers = 3});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->transformed, 40u);

  auto list = listing(dir.path() / "out.tar.gz");
  EXPECT_TRUE(list.starts_with("./\n./lib/\n./lib/m0.ko\n./lib/f0\n./lib/m1.ko\n")) << list;
  EXPECT_TRUE(list.ends_with("./lib/big\n./lib/l.ko\n")) << list;
  auto x = dir.path() / "x";
  fs::create_directories(x);
  ASSERT_TRUE(extract(dir.path() / "out.tar.gz", x, {}));
  EXPECT_EQ(test::read_file(x / "lib/m7.ko"), "signed(lib/m7.ko:module7)");
  EXPECT_EQ(test::read_file(x / "lib/f7"), std::string(700, 'f'));
  EXPECT_EQ(fs::file_size(x / "lib/big"), 3u << 20);
  EXPECT_EQ(fs::read_symlink(x / "lib/l.ko"), "m0.ko");
}

TEST(RewriteTest, ATransformErrorFailsTheWholeArchive) {
  test::TempDir dir;
  test::write_tar_gz(dir.path() / "in.tar.gz",
                     {{.name = "a.ko", .content = "a"}, {.name = "b.ko", .content = "b"}});
  Selector select = [](const CheckedMember&) -> Result<bool> { return true; };
  Transform transform = [](const std::string& name, std::string) -> Result<std::string> {
    if (name == "b.ko") return fail(ErrorKind::signing_failed, "b failed");
    return std::string("ok");
  };
  auto stats = rewrite(dir.path() / "in.tar.gz", dir.path() / "out.tar.gz", select, transform, {});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().message, "b failed");
}

TEST(RewriteTest, HostileMembersAreRefused) {
  test::TempDir dir;
  test::write_tar_gz(dir.path() / "in.tar.gz", {{.name = "../evil.ko", .content = "x"}});
  Selector select = [](const CheckedMember&) -> Result<bool> { return true; };
  Transform transform = [](const std::string&, std::string c) -> Result<std::string> { return c; };
  auto stats = rewrite(dir.path() / "in.tar.gz", dir.path() / "out.tar.gz", select, transform, {});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind, ErrorKind::bad_request);
}

}  // namespace
}  // namespace digsig::archive
