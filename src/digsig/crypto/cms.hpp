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
  const char* digest = nullptr;    // nullptr: OpenSSL's default for the key (SHA-256)
};

// Signs the content of `file` (streamed) with `key`/`cert`; `extra` certs
// (may be null) are included after the signer certificate.
[[nodiscard]] Result<std::vector<unsigned char>> cms_sign_file(X509* cert, EVP_PKEY* key,
                                                               STACK_OF(X509) * extra,
                                                               const std::filesystem::path& file,
                                                               const CmsOptions& options);

}  // namespace digsig::crypto
