#include "digsig/formats/optee_ta.hpp"

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include "support/test_support.hpp"

namespace digsig::formats {
namespace {

TEST(OpteeTaTest, ParsesUuids) {
  Uuid u{};
  ASSERT_TRUE(parse_uuid("8aaaf200-2450-11e4-abe2-0002a5d5c51b", u));
  EXPECT_EQ(u[0], 0x8a);
  EXPECT_EQ(u[15], 0x1b);
  EXPECT_TRUE(parse_uuid("8AAAF200-2450-11E4-ABE2-0002A5D5C51B", u));
  for (const char* bad : {"", "8aaaf200245011e4abe20002a5d5c51b", "8aaaf200-2450-11e4-abe2-0002a5d5c51",
                          "8aaaf200-2450-11e4-abe2-0002a5d5c51g", "8aaaf200_2450-11e4-abe2-0002a5d5c51b"}) {
    EXPECT_FALSE(parse_uuid(bad, u)) << bad;
  }
}

TEST(OpteeTaTest, ParsesVersions) {
  std::uint32_t v = 0;
  EXPECT_TRUE(parse_ta_version("3\n", v));
  EXPECT_EQ(v, 3u);
  EXPECT_TRUE(parse_ta_version(" 0x10 ", v));
  EXPECT_EQ(v, 16u);
  EXPECT_TRUE(parse_ta_version("4294967295", v));
  for (const char* bad : {"", "three", "-1", "4294967296", "0x", "1.0"}) {
    EXPECT_FALSE(parse_ta_version(bad, v)) << bad;
  }
}

TEST(OpteeTaTest, HeaderAndSignatureAreWhatOpteeChecks) {
  auto key = test::make_key();
  Uuid uuid{};
  ASSERT_TRUE(parse_uuid("8aaaf200-2450-11e4-abe2-0002a5d5c51b", uuid));
  std::string elf = "\x7f" "ELF....";
  auto ta = make_bootstrap_ta(key.key.get(), elf, uuid, 7, k_ta_alg_pss_sha256);
  ASSERT_TRUE(ta);
  ASSERT_EQ(ta->size(), 20u + 32 + 256 + 16 + 4 + elf.size());
  EXPECT_EQ(ta->substr(0, 4), "HSTO");  // 0x4f545348 little-endian
  EXPECT_TRUE(ta->ends_with(elf));
  // Verify the signature over the embedded digest, PSS with a 32-byte salt.
  auto digest = reinterpret_cast<const unsigned char*>(ta->data() + 20);
  auto sig = reinterpret_cast<const unsigned char*>(ta->data() + 52);
  crypto::PKeyCtxPtr ctx(EVP_PKEY_CTX_new(key.key.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
  EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
  EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32);
  EXPECT_EQ(EVP_PKEY_verify(ctx.get(), sig, 256, digest, 32), 1);
}

}  // namespace
}  // namespace digsig::formats
