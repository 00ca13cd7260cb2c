#include "digsig/signers/l4t_bsp.hpp"

#include <gtest/gtest.h>

#include <array>

#include "support/test_support.hpp"

namespace digsig::signers {
namespace {

namespace fs = std::filesystem;

TEST(L4tBspTest, ParsesVersions) {
  auto v = parse_bsp_version("35.5.0");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 35);
  EXPECT_EQ(v->minor, 5);
  EXPECT_EQ(v->patch, 0);
  EXPECT_EQ(v->parts, 3);
  EXPECT_TRUE(v->at_least(35, 5));
  EXPECT_FALSE(v->at_least(35, 6));
  EXPECT_TRUE(v->at_least(32, 7));
  auto two = parse_bsp_version("32.7");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->parts, 2);
  for (const char* bad : {"", "35", "../../x", "35..0", "35.5.", ".35.5", "35.5.0.1.2", "3500.1", "35.5.0;id",
                          "35.5.0/..", "35.a.0"}) {
    auto r = parse_bsp_version(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::bad_request);
  }
}

TEST(L4tBspTest, FindsBspsAndListsInstalledOnes) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "L4T-32.7.4-tegra186/Linux_for_Tegra");
  fs::create_directories(dir.path() / "L4T-35.5.0-tegra234/Linux_for_Tegra");
  fs::create_directories(dir.path() / "L4T-36.0.0-tegra234");  // no Linux_for_Tegra: not a BSP
  constexpr std::array<std::string_view, 4> soctypes{"tegra186", "tegra194", "tegra210", "tegra234"};

  auto bsp = find_bsp(dir.path(), "tegra194", "32.7.4", soctypes);  // tegra194 uses tegra186's
  ASSERT_TRUE(bsp) << bsp.error().message;
  EXPECT_EQ(bsp->root, dir.path() / "L4T-32.7.4-tegra186/Linux_for_Tegra");
  EXPECT_EQ(bsp->soctype, "tegra194");

  auto missing = find_bsp(dir.path(), "tegra234", "36.4.3", soctypes);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::bad_request);
  EXPECT_NE(missing.error().message.find("installed: L4T-32.7.4-tegra186, L4T-35.5.0-tegra234"),
            std::string::npos)
      << missing.error().message;
  EXPECT_EQ(missing.error().message.find(dir.path().string()), std::string::npos);

  auto soc = find_bsp(dir.path(), "tegra999", "35.5.0", soctypes);
  ASSERT_FALSE(soc);
  EXPECT_NE(soc.error().message.find("is not one of tegra186, tegra194, tegra210, tegra234"), std::string::npos);
  auto traversal = find_bsp(dir.path(), "tegra234", "../../x", soctypes);
  ASSERT_FALSE(traversal);
  EXPECT_NE(traversal.error().message.find("bspversion"), std::string::npos);
}

}  // namespace
}  // namespace digsig::signers
