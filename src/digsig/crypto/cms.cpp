#include "digsig/crypto/cms.hpp"

#include "digsig/crypto/pkcs11.hpp"

#include <fmt/format.h>

namespace digsig::crypto {

namespace {

Result<std::vector<unsigned char>> cms_sign_bio(X509* cert, EVP_PKEY* key, STACK_OF(X509) * extra,
                                                BIO* in, const CmsOptions& options) {
  TokenOperation token(key);
  unsigned int flags = CMS_BINARY | CMS_DETACHED | CMS_PARTIAL;
  if (!options.smime_capabilities) flags |= CMS_NOSMIMECAP;
  if (!options.signed_attributes) flags |= CMS_NOATTR;
  if (!options.include_certificate) flags |= CMS_NOCERTS;
  CmsPtr cms(CMS_sign(nullptr, nullptr, extra, nullptr, flags));
  if (!cms) {
    return fail(ErrorKind::signing_failed, fmt::format("CMS set-up failed: {}", openssl_errors()));
  }
  const EVP_MD* md = nullptr;
  EVP_MD* fetched = nullptr;
  if (options.digest != nullptr) {
    fetched = EVP_MD_fetch(nullptr, options.digest, nullptr);
    md = fetched;
  }
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), cert, key, md, flags);
  EVP_MD_free(fetched);
  if (si == nullptr) {
    return std::unexpected(
        signing_error(key, fmt::format("CMS signer set-up failed: {}", openssl_errors())));
  }
  if (CMS_final(cms.get(), in, nullptr, flags) != 1) {
    return std::unexpected(
        signing_error(key, fmt::format("CMS signing failed: {}", openssl_errors())));
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) {
    return fail(ErrorKind::signing_failed, fmt::format("CMS encoding failed: {}", openssl_errors()));
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(out.get(), &p);
  return std::vector<unsigned char>(p, p + n);
}

}  // namespace

Result<std::vector<unsigned char>> cms_sign_file(X509* cert, EVP_PKEY* key, STACK_OF(X509) * extra,
                                                 const std::filesystem::path& file,
                                                 const CmsOptions& options) {
  BioPtr in(BIO_new_file(file.c_str(), "rb"));
  if (!in) return fail(ErrorKind::internal, "cannot read the uploaded file");
  return cms_sign_bio(cert, key, extra, in.get(), options);
}

Result<std::vector<unsigned char>> cms_sign_buffer(X509* cert, EVP_PKEY* key, STACK_OF(X509) * extra,
                                                   const void* data, std::size_t size,
                                                   const CmsOptions& options) {
  auto in = memory_bio(data, size);
  return cms_sign_bio(cert, key, extra, in.get(), options);
}

}  // namespace digsig::crypto
