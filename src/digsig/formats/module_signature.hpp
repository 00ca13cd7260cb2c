// The Linux kernel's appended module signature: the module, then a detached
// PKCS#7/CMS SignedData (DER), then a 12-byte `struct module_signature`
// (algo, hash, id_type = PKEY_ID_PKCS7, signer_len, key_id_len, 3 pad bytes,
// big-endian sig_len) and the marker "~Module signature appended~\n".
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace digsig::formats {

inline constexpr std::string_view k_module_sig_magic = "~Module signature appended~\n";

// The length of `module` without any appended signatures (several, if
// sign-file was run more than once). A malformed trailer counts as content.
[[nodiscard]] std::size_t unsigned_module_length(std::string_view module);

// Appends `pkcs7_der`, the trailer and the marker to `module`.
void append_module_signature(std::string& module, std::span<const unsigned char> pkcs7_der);

// Splits a signed module into content and PKCS#7 blob; false if unsigned.
[[nodiscard]] bool split_module_signature(std::string_view module, std::string_view& content,
                                          std::string_view& pkcs7);

}  // namespace digsig::formats
