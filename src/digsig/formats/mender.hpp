// Mender artifact (format version 3) pieces: the manifest's checksum list
// and manifest.sig, which is the base64 (standard alphabet, padded, no
// newline) of a signature over the manifest's exact bytes: RSA PKCS#1 v1.5
// with SHA-256, or ECDSA P-256 with SHA-256 as raw r||s (64 bytes).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "digsig/crypto/ossl.hpp"
#include "digsig/util/error.hpp"

namespace digsig::formats {

// "<sha256 hex>  <name>" lines → name → checksum. bad_request if malformed.
[[nodiscard]] Result<std::map<std::string, std::string, std::less<>>> parse_mender_manifest(
    std::string_view text);

// The format version from the "version" member's JSON, or an error.
[[nodiscard]] Result<int> parse_mender_version(std::string_view json);

// Fails (bad_request naming the key) unless the key is RSA or EC P-256.
[[nodiscard]] Result<void> check_mender_key(EVP_PKEY* key, std::string_view key_description);

// The content of manifest.sig for `manifest`.
[[nodiscard]] Result<std::string> mender_manifest_signature(EVP_PKEY* key, std::string_view manifest);

}  // namespace digsig::formats
