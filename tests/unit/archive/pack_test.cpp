#include <gtest/gtest.h>

#include <cstdio>

#include "digsig/archive/archive.hpp"
#include "support/test_support.hpp"

namespace digsig::archive {
namespace {

namespace fs = std::filesystem;

using test::run_command;

TEST(PackTest, MembersStartWithDotSlashAsTarDoes) {
  test::TempDir dir;
  auto tree = dir.path() / "tree";
  test::write_file(tree / "lib/modules/6.1/a.ko", "aaa");
  test::write_file(tree / "top.txt", "top");
  fs::create_symlink("lib/modules/6.1/a.ko", tree / "link");
  auto out = dir.path() / "out.tar.gz";
  ASSERT_TRUE(pack(tree, out));

  auto listing = run_command("tar -tzf " + out.string());
  EXPECT_EQ(listing,
            "./\n./lib/\n./lib/modules/\n./lib/modules/6.1/\n./lib/modules/6.1/a.ko\n"
            "./link\n./top.txt\n");
  // A client extracts by the "./lib/modules" name, as the module class does.
  auto x = dir.path() / "x";
  fs::create_directories(x);
  (void)run_command("tar -C " + x.string() + " -xzf " + out.string() + " --no-same-owner ./lib/modules");
  EXPECT_EQ(test::read_file(x / "lib/modules/6.1/a.ko"), "aaa");
  EXPECT_FALSE(fs::exists(x / "top.txt"));
}

TEST(PackTest, RoundTripsThroughSafeExtraction) {
  test::TempDir dir;
  auto tree = dir.path() / "tree";
  test::write_file(tree / "d/f", std::string(300000, 'z'));
  fs::create_symlink("d/f", tree / "l");
  auto out = dir.path() / "out.tar.gz";
  ASSERT_TRUE(pack(tree, out));
  auto back = dir.path() / "back";
  fs::create_directories(back);
  auto ok = extract(out, back, {});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(test::read_file(back / "d/f"), std::string(300000, 'z'));
  EXPECT_EQ(fs::read_symlink(back / "l"), "d/f");
}

TEST(PackTest, RootEntryIsNotPrivate) {
  test::TempDir dir;
  auto tree = dir.path() / "tree";
  fs::create_directories(tree);
  fs::permissions(tree, fs::perms::owner_all);
  test::write_file(tree / "f", "f");
  auto out = dir.path() / "out.tar.gz";
  ASSERT_TRUE(pack(tree, out));
  auto listing = run_command("tar -tvzf " + out.string() + " | head -1");
  EXPECT_TRUE(listing.starts_with("drwxr-xr-x")) << listing;
}

}  // namespace
}  // namespace digsig::archive
