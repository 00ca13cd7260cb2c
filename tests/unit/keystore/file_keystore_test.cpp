#include "digsig/keystore/file_keystore.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace digsig::keystore {
namespace {

class FileKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(dir_.path() / "keys/poky/swupdate/rsa-private.key", "KEYBYTES");
    test::write_file(dir_.path() / "secret.txt", "outside the store");
    auto store = open("file://" + (dir_.path() / "keys").string());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  test::TempDir dir_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(FileKeyStoreTest, LoadsKeysIntoMemory) {
  auto key = store_->load({"poky", "swupdate", "rsa-private.key"});
  ASSERT_TRUE(key);
  EXPECT_EQ(key->bytes().view(), "KEYBYTES");
  EXPECT_EQ(key->describe(), "key 'rsa-private.key' (swupdate) of 'poky'");
}

TEST_F(FileKeyStoreTest, UnknownSelectorAndMissingKeyAreNotFound) {
  auto sel = store_->check_selector("nope", "swupdate");
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error().kind, ErrorKind::not_found);
  EXPECT_EQ(sel.error().message, "no swupdate keys are configured for 'nope'");
  EXPECT_TRUE(store_->check_selector("poky", "swupdate"));
  auto key = store_->load({"poky", "swupdate", "cms.cert"});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().kind, ErrorKind::not_found);
  EXPECT_EQ(key.error().message.find(dir_.path().string()), std::string::npos)
      << "server paths must not reach clients";
}

TEST_F(FileKeyStoreTest, ValidateRefusesTraversalBeforeTheStoreIsAsked) {
  for (const char* selector : {"..", "../keys", "a/b", ""}) {
    auto r = validate("distro", {selector, "swupdate", "rsa-private.key"});
    ASSERT_FALSE(r) << selector;
    EXPECT_EQ(r.error().kind, ErrorKind::bad_request);
  }
  EXPECT_FALSE(validate("machine", {"poky", "swupdate", "../../secret.txt"}));
  EXPECT_TRUE(validate("machine", {"poky", "swupdate", "rsa-private.key"}));
}

TEST(KeyStoreOpenTest, RefusesUnknownSchemesAndRelativePaths) {
  auto s = open("ftp://x");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("file://"), std::string::npos);
  EXPECT_FALSE(open("file://relative/path"));
  EXPECT_FALSE(open("file:///does/not/exist"));
}

}  // namespace
}  // namespace digsig::keystore
