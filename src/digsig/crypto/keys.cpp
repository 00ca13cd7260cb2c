#include "digsig/crypto/keys.hpp"

#include <fmt/format.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace digsig::crypto {

using keystore::KeyMaterial;

namespace {

Result<void> not_a(std::string_view what, const KeyMaterial& key) {
  ERR_clear_error();
  return fail(ErrorKind::misconfigured, fmt::format("{} is not a usable {}", key.describe(), what));
}

}  // namespace

Result<PKeyPtr> load_private_key(const KeyMaterial& key) {
  const auto& bytes = key.bytes();
  EVP_PKEY* pkey = nullptr;
  // One decoder for PEM and DER, any supported key structure; no passphrase.
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, nullptr, nullptr, nullptr,
                                                         EVP_PKEY_KEYPAIR, nullptr, nullptr);
  if (dctx == nullptr) return fail(ErrorKind::internal, "cannot create a key decoder");
  auto data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t len = bytes.size();
  bool ok = OSSL_DECODER_from_data(dctx, &data, &len) == 1;
  OSSL_DECODER_CTX_free(dctx);
  PKeyPtr owned(pkey);
  if (!ok || !owned) return std::unexpected(not_a("private key", key).error());
  return owned;
}

Result<X509Ptr> load_certificate(const KeyMaterial& cert) {
  const auto& bytes = cert.bytes();
  auto bio = memory_bio(bytes.data(), bytes.size());
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) {
    ERR_clear_error();
    auto p = reinterpret_cast<const unsigned char*>(bytes.data());
    x.reset(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  }
  if (!x) return std::unexpected(not_a("certificate", cert).error());
  return x;
}

Result<X509StackPtr> load_extra_certificates(const KeyMaterial& cert) {
  const auto& bytes = cert.bytes();
  auto bio = memory_bio(bytes.data(), bytes.size());
  X509StackPtr extra(sk_X509_new_null());
  X509Ptr first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (first) {
    while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(extra.get(), next);
    }
  }
  ERR_clear_error();  // the end of the bundle leaves a "no start line" error
  return extra;
}

Result<void> check_key_matches(const X509* cert, EVP_PKEY* key, const KeyMaterial& cert_origin,
                               const KeyMaterial& key_origin) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return fail(ErrorKind::misconfigured,
                fmt::format("{} does not match the private key {}", cert_origin.describe(),
                            key_origin.describe()));
  }
  return {};
}

}  // namespace digsig::crypto
