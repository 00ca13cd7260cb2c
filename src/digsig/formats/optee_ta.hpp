// OP-TEE bootstrap trusted applications as optee_os's scripts/sign_encrypt.py
// writes them: struct shdr (magic "OTSH", img_type = SHDR_BOOTSTRAP_TA,
// img_size, algo, hash_size, sig_size; little-endian), the SHA-256 digest,
// the signature, struct shdr_bootstrap_ta (16-byte UUID, little-endian
// ta_version), then the ELF. The digest covers shdr, UUID, version and ELF.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "digsig/crypto/ossl.hpp"
#include "digsig/util/error.hpp"

namespace digsig::formats {

inline constexpr std::uint32_t k_shdr_magic = 0x4f545348;
inline constexpr std::uint32_t k_shdr_bootstrap_ta = 1;
inline constexpr std::uint32_t k_ta_alg_pss_sha256 = 0x70414930;    // TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256
inline constexpr std::uint32_t k_ta_alg_pkcs1_sha256 = 0x70004830;  // TEE_ALG_RSASSA_PKCS1_V1_5_SHA256

using Uuid = std::array<unsigned char, 16>;

// "8aaaf200-2450-11e4-abe2-0002a5d5c51b" (any case); false if malformed.
[[nodiscard]] bool parse_uuid(std::string_view text, Uuid& out);

// A ta-version file's content: decimal or 0x-hex, surrounding white space
// allowed, at most 0xffffffff; false if malformed.
[[nodiscard]] bool parse_ta_version(std::string_view text, std::uint32_t& out);

// The signed TA for `elf`. `key` must be RSA.
[[nodiscard]] Result<std::string> make_bootstrap_ta(EVP_PKEY* key, std::string_view elf,
                                                    const Uuid& uuid, std::uint32_t version,
                                                    std::uint32_t algo);

}  // namespace digsig::formats
