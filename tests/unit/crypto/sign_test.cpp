#include "digsig/crypto/sign.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "digsig/crypto/cms.hpp"
#include "digsig/crypto/keys.hpp"
#include "support/test_support.hpp"

namespace digsig::crypto {
namespace {

bool verify(EVP_PKEY* key, const std::string& data, const std::vector<unsigned char>& sig,
            int padding) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key);
  if (padding != 0) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, padding);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO);
  }
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

keystore::KeyMaterial material(const std::string& bytes, const char* name = "k") {
  return keystore::KeyMaterial({"sel", "swupdate", name}, SecureBytes(bytes));
}

TEST(SignTest, Pkcs1AndPssSignaturesVerify) {
  test::TempDir dir;
  auto key = test::make_key();
  auto file = dir.path() / "data";
  test::write_file(file, "hello");
  auto pkcs1 = sign_file(key.key.get(), file, {});
  ASSERT_TRUE(pkcs1);
  EXPECT_TRUE(verify(key.key.get(), "hello", *pkcs1, 0));
  EXPECT_FALSE(verify(key.key.get(), "hellO", *pkcs1, 0));
  auto pss = sign_file(key.key.get(), file, {.padding = Padding::pss_max_salt});
  ASSERT_TRUE(pss);
  EXPECT_TRUE(verify(key.key.get(), "hello", *pss, RSA_PKCS1_PSS_PADDING));
  EXPECT_FALSE(verify(key.key.get(), "hello", *pss, 0)) << "PSS is not PKCS#1 v1.5";
}

TEST(KeysTest, LoadsPemAndDerKeysAndRefusesGarbage) {
  auto key = test::make_key();
  auto pem = load_private_key(material(key.private_pem));
  ASSERT_TRUE(pem);
  EXPECT_TRUE(is_rsa(pem->get()));
  unsigned char* der = nullptr;
  int n = i2d_PrivateKey(key.key.get(), &der);
  auto from_der = load_private_key(material(std::string(reinterpret_cast<char*>(der), n)));
  OPENSSL_free(der);
  EXPECT_TRUE(from_der);
  auto bad = load_private_key(material("not a key", "rsa-private.key"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::misconfigured);
  EXPECT_EQ(bad.error().message, "key 'rsa-private.key' (swupdate) of 'sel' is not a usable private key");
}

TEST(KeysTest, DetectsACertificateThatDoesNotMatchTheKey) {
  auto a = test::make_key();
  auto b = test::make_key();
  auto cert = load_certificate(material(test::self_signed_cert_pem(a.key.get(), "a")));
  ASSERT_TRUE(cert);
  EXPECT_TRUE(check_key_matches(cert->get(), a.key.get(), material("", "c"), material("", "k")));
  auto mismatch = check_key_matches(cert->get(), b.key.get(), material("", "c"), material("", "k"));
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
}

TEST(CmsTest, DetachedSignatureVerifiesAgainstTheContent) {
  test::TempDir dir;
  auto key = test::make_key();
  auto cert_pem = test::self_signed_cert_pem(key.key.get(), "signer");
  auto cert = load_certificate(material(cert_pem));
  ASSERT_TRUE(cert);
  auto file = dir.path() / "content";
  test::write_file(file, "line1\nline2\n");
  auto der = cms_sign_file(cert->get(), key.key.get(), nullptr, file, {.smime_capabilities = false});
  ASSERT_TRUE(der) << der.error().message;

  auto in = memory_bio(der->data(), der->size());
  CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
  ASSERT_TRUE(cms);
  EXPECT_EQ(CMS_is_detached(cms.get()), 1);
  X509StackPtr certs(CMS_get1_certs(cms.get()));
  ASSERT_EQ(sk_X509_num(certs.get()), 1) << "the signer certificate is included";
  std::string content = "line1\nline2\n";
  auto data = memory_bio(content.data(), content.size());
  EXPECT_EQ(CMS_verify(cms.get(), nullptr, nullptr, data.get(), nullptr,
                       CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
  std::string changed = "line1\nline3\n";
  auto bad = memory_bio(changed.data(), changed.size());
  EXPECT_NE(CMS_verify(cms.get(), nullptr, nullptr, bad.get(), nullptr,
                       CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
  // No S/MIME capabilities attribute.
  auto* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  EXPECT_LT(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1), 0);
}

}  // namespace
}  // namespace digsig::crypto
