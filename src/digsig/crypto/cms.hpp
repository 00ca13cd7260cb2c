// Detached CMS SignedData in DER, as `openssl cms -sign -binary -outform der`
// produces it (with options for the variants signers need).
#pragma once

#include <filesystem>
#include <vector>

#include "digsig/crypto/ossl.hpp"
#include "digsig/util/error.hpp"

namespace digsig::crypto {

struct CmsOptions {
  bool smime_capabilities = true;  // false: as `-nosmimecap`
  bool signed_attributes = true;   // false: as `-noattr` (signature over the content digest)
  bool include_certificate = true; // false: as `-nocerts`
  const char* digest = nullptr;    // nullptr: OpenSSL's default for the key (SHA-256)
};

// Signs the content of `file` (streamed) with `key`/`cert`; `extra` certs
// (may be null) are included after the signer certificate.
[[nodiscard]] Result<std::vector<unsigned char>> cms_sign_file(X509* cert, EVP_PKEY* key,
                                                               STACK_OF(X509) * extra,
                                                               const std::filesystem::path& file,
                                                               const CmsOptions& options);

// The same over a buffer.
[[nodiscard]] Result<std::vector<unsigned char>> cms_sign_buffer(X509* cert, EVP_PKEY* key,
                                                                 STACK_OF(X509) * extra,
                                                                 const void* data, std::size_t size,
                                                                 const CmsOptions& options);

}  // namespace digsig::crypto
