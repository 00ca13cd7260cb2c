#include "digsig/util/names.hpp"

#include <gtest/gtest.h>

namespace digsig {
namespace {

TEST(NamesTest, AcceptsOrdinaryNames) {
  for (const char* ok : {"jetson-agx-orin", "poky", "imx8mp_evk", "rsa-private.key", "a", "v1.2"}) {
    EXPECT_TRUE(validate_name("machine", ok)) << ok;
  }
}

TEST(NamesTest, RefusesWhatCouldLeaveADirectory) {
  for (const char* bad : {"", ".", "..", "../etc", "a/b", "/etc", ".hidden", "a\\b", "a b",
                          "tab\there", "nl\n"}) {
    auto r = validate_name("distro", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::bad_request);
    EXPECT_NE(r.error().message.find("distro"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(validate_name("distro", std::string(129, 'a')));
  EXPECT_FALSE(validate_name("distro", std::string("a\0b", 3)));
}

TEST(NamesTest, BasenameKeepsOnlyTheLastComponent) {
  EXPECT_EQ(safe_basename("file", "../../x/flash.bin").value(), "flash.bin");
  EXPECT_EQ(safe_basename("file", "C:\\x\\u-boot.imx").value(), "u-boot.imx");
  EXPECT_FALSE(safe_basename("file", "dir/"));
  EXPECT_FALSE(safe_basename("file", "../.."));
}

TEST(NamesTest, QuoteEscapesControlCharactersAndTruncates) {
  EXPECT_EQ(quote("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(quote(std::string(100, 'x')).size(), 64u + 2 + 3);
}

}  // namespace
}  // namespace digsig
