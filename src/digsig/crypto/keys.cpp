#include "digsig/crypto/keys.hpp"

#include "digsig/crypto/pkcs11.hpp"

#include <fmt/format.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/pem.h>

namespace digsig::crypto {

using keystore::KeyMaterial;

namespace {

Result<void> not_a(std::string_view what, const KeyMaterial& key) {
  ERR_clear_error();
  return fail(ErrorKind::misconfigured, fmt::format("{} is not a usable {}", key.describe(), what));
}

}  // namespace

namespace {

// DER bytes with their decoder hints. OpenSSL 3.0's decoder set-up is
// costly when it has to try every format, so PEM is unwrapped here and the
// decoder is told what to expect.
struct Der {
  unsigned char* data = nullptr;
  long size = 0;
  const char* structure = nullptr;  // nullptr: let the decoder find out
  const char* type = nullptr;
  // PEM_FLAG_SECURE buffers belong to the secure heap's functions.
  ~Der() { OPENSSL_secure_clear_free(data, static_cast<std::size_t>(size)); }
};

// The key type named by a PKCS#8 structure's algorithm identifier, or
// nullptr if it is not one of the common ones.
const char* pkcs8_key_type(const unsigned char* data, long size) {
  const unsigned char* p = data;
  PKCS8_PRIV_KEY_INFO* info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, size);
  if (info == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  const ASN1_OBJECT* oid = nullptr;
  PKCS8_pkey_get0(&oid, nullptr, nullptr, nullptr, info);
  const char* type = nullptr;
  switch (OBJ_obj2nid(oid)) {
    case NID_rsaEncryption: type = "RSA"; break;
    case NID_rsassaPss: type = "RSA-PSS"; break;
    case NID_X9_62_id_ecPublicKey: type = "EC"; break;
    case NID_ED25519: type = "ED25519"; break;
    default: break;
  }
  PKCS8_PRIV_KEY_INFO_free(info);
  return type;
}

bool unwrap_pem(const SecureBytes& bytes, Der& der, bool& encrypted) {
  auto bio = memory_bio(bytes.data(), bytes.size());
  // The first private key block: a file may hold a certificate too (the
  // kernel's signing_key.pem holds both).
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long size = 0;
    if (PEM_read_bio_ex(bio.get(), &name, &header, &data, &size, PEM_FLAG_SECURE) != 1) {
      ERR_clear_error();
      return false;
    }
    std::string_view label(name);
    bool is_key = true;
    if (label == "PRIVATE KEY") {
      der.structure = "PrivateKeyInfo";
      der.type = pkcs8_key_type(data, size);
    } else if (label == "RSA PRIVATE KEY") {
      der.structure = "type-specific";
      der.type = "RSA";
    } else if (label == "EC PRIVATE KEY") {
      der.structure = "type-specific";
      der.type = "EC";
    } else if (label == "ENCRYPTED PRIVATE KEY" ||
               std::string_view(header).find("ENCRYPTED") != std::string_view::npos) {
      encrypted = true;
    } else if (label.find("PRIVATE KEY") == std::string_view::npos) {
      is_key = false;
    }
    OPENSSL_secure_free(name);
    OPENSSL_secure_free(header);
    if (is_key) {
      der.data = data;
      der.size = size;
      return true;
    }
    OPENSSL_secure_clear_free(data, static_cast<std::size_t>(size));
  }
}

}  // namespace

Result<PKeyPtr> load_private_key(const KeyMaterial& key) {
  const auto& bytes = key.bytes();
  if (auto uri = pkcs11_reference(bytes.view()); !uri.empty()) {
    return load_pkcs11_key(uri, key.describe());
  }
  Der der;
  bool encrypted = false;
  const unsigned char* data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t len = bytes.size();
  if (unwrap_pem(bytes, der, encrypted)) {
    if (encrypted) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("{} is encrypted; the key store needs unencrypted keys "
                              "(protect the store instead, or use an HSM)",
                              key.describe()));
    }
    data = der.data;
    len = static_cast<std::size_t>(der.size);
  }
  EVP_PKEY* pkey = nullptr;
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", der.structure, der.type,
                                                         EVP_PKEY_KEYPAIR, nullptr, nullptr);
  if (dctx == nullptr) return fail(ErrorKind::internal, "cannot create a key decoder");
  bool ok = OSSL_DECODER_from_data(dctx, &data, &len) == 1;
  OSSL_DECODER_CTX_free(dctx);
  PKeyPtr owned(pkey);
  if (!ok || !owned) return std::unexpected(not_a("private key", key).error());
  return owned;
}

Result<X509Ptr> load_certificate(const KeyMaterial& cert) {
  const auto& bytes = cert.bytes();
  if (auto uri = pkcs11_reference(bytes.view()); !uri.empty()) {
    return load_pkcs11_certificate(uri, cert.describe());
  }
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

std::string certificate_pem(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<X509StackPtr> load_extra_certificates(const KeyMaterial& cert) {
  const auto& bytes = cert.bytes();
  X509StackPtr extra(sk_X509_new_null());
  if (!pkcs11_reference(bytes.view()).empty()) return extra;  // a token certificate comes alone
  auto bio = memory_bio(bytes.data(), bytes.size());
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
