// Raw signatures over a stream of bytes (a file in a job directory).
#pragma once

#include <filesystem>
#include <vector>

#include "digsig/crypto/ossl.hpp"
#include "digsig/util/error.hpp"

namespace digsig::crypto {

enum class Padding { pkcs1, pss_max_salt, pss_digest_salt };

struct SignParams {
  const char* digest = "SHA256";
  Padding padding = Padding::pkcs1;  // ignored for non-RSA keys
};

// Signs the whole content of `file` (read in chunks, never held in memory).
[[nodiscard]] Result<std::vector<unsigned char>> sign_file(EVP_PKEY* key,
                                                           const std::filesystem::path& file,
                                                           const SignParams& params);

// Signs a buffer.
[[nodiscard]] Result<std::vector<unsigned char>> sign_buffer(EVP_PKEY* key, const void* data,
                                                             std::size_t size,
                                                             const SignParams& params);

// Signs a digest computed elsewhere ("prehashed"); `params.digest` names
// the hash it was made with. For RSA-PSS the salt length is the digest's.
[[nodiscard]] Result<std::vector<unsigned char>> sign_digest(EVP_PKEY* key,
                                                             const unsigned char* digest,
                                                             std::size_t size,
                                                             const SignParams& params);

[[nodiscard]] bool is_rsa(const EVP_PKEY* key);

}  // namespace digsig::crypto
