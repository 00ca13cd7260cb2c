#include "digsig/crypto/pkcs11.hpp"

#include <gtest/gtest.h>

namespace digsig::crypto {
namespace {

TEST(Pkcs11Test, RecognisesKeyReferences) {
  EXPECT_EQ(pkcs11_reference("  pkcs11:token=t;object=k;type=private\n"), "pkcs11:token=t;object=k;type=private");
  EXPECT_TRUE(pkcs11_reference("-----BEGIN PRIVATE KEY-----\n...").empty());
  EXPECT_TRUE(pkcs11_reference("pkcs11:object=a\npkcs11:object=b").empty());
}

TEST(Pkcs11Test, ClientUrisGetTheConfiguredPinAndNoModule) {
  auto uri = client_pkcs11_uri("pkcs11:token=t;object=k;type=private;pin-value=password", "1234");
  ASSERT_TRUE(uri);
  EXPECT_EQ(*uri, "pkcs11:token=t;object=k;type=private;pin-value=1234");
  auto query = client_pkcs11_uri("pkcs11:object=k?pin-value=password", "99");
  ASSERT_TRUE(query);
  EXPECT_EQ(*query, "pkcs11:object=k?pin-value=99");

  auto no_pin = client_pkcs11_uri("pkcs11:object=k;pin-value=password", "");
  ASSERT_FALSE(no_pin);
  EXPECT_EQ(no_pin.error().kind, ErrorKind::misconfigured);
  for (const char* bad : {"file:///etc/passwd", "pkcs11:object=k?module-path=/tmp/x.so",
                          "pkcs11:object=k;module-name=evil", "pkcs11:object=a b", "pkcs11:object=\x01"}) {
    auto r = client_pkcs11_uri(bad, "1");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::bad_request) << bad;
  }
}

TEST(Pkcs11Test, PinValuesAreDroppedForLogs) {
  EXPECT_EQ(without_pin("pkcs11:token=t;object=k;pin-value=1234;type=private"), "pkcs11:token=t;object=k;type=private");
  EXPECT_EQ(without_pin("pkcs11:token=t;object=k?pin-value=1234"), "pkcs11:token=t;object=k");
  EXPECT_EQ(without_pin("pkcs11:object=k?pin-value=1&x=y"), "pkcs11:object=k?x=y");
}

TEST(Pkcs11Test, KeysNeedAConfiguredModule) {
  configure_pkcs11({});
  auto key = load_pkcs11_key("pkcs11:token=t;object=k;type=private", "key 'k'");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().kind, ErrorKind::misconfigured);
  EXPECT_NE(key.error().message.find("DIGSIGSERVER_PKCS11_MODULE"), std::string::npos) << key.error().message;
  auto cert_uri = load_pkcs11_key("pkcs11:token=t;object=k;type=cert", "key 'k'");
  ASSERT_FALSE(cert_uri);
  EXPECT_NE(cert_uri.error().message.find("not a private key"), std::string::npos) << cert_uri.error().message;
  auto malformed = load_pkcs11_key("pkcs11:token=t;type=private", "key 'k'");
  ASSERT_FALSE(malformed);
  EXPECT_NE(malformed.error().message.find("names no object"), std::string::npos) << malformed.error().message;
}

}  // namespace
}  // namespace digsig::crypto
