// Turning key material from the key store into OpenSSL objects. Accepts PEM
// (PKCS#1, PKCS#8, SEC1, certificates) and DER; the material never touches
// disk.
#pragma once

#include "digsig/crypto/ossl.hpp"
#include "digsig/keystore/key_material.hpp"
#include "digsig/util/error.hpp"

namespace digsig::crypto {

// A private key. A file that holds no usable key is a server configuration
// problem (ErrorKind::misconfigured) whose message names the key.
[[nodiscard]] Result<PKeyPtr> load_private_key(const keystore::KeyMaterial& key);

// The first certificate of the material (PEM or DER).
[[nodiscard]] Result<X509Ptr> load_certificate(const keystore::KeyMaterial& cert);

// The certificate as PEM text (for tools that want a certificate file).
[[nodiscard]] std::string certificate_pem(const X509* cert);

// Every certificate after the first in a PEM bundle (may be empty).
[[nodiscard]] Result<X509StackPtr> load_extra_certificates(const keystore::KeyMaterial& cert);

// Fails (misconfigured) if the certificate's public key is not the key's.
[[nodiscard]] Result<void> check_key_matches(const X509* cert, EVP_PKEY* key,
                                             const keystore::KeyMaterial& cert_origin,
                                             const keystore::KeyMaterial& key_origin);

}  // namespace digsig::crypto
