// Where signing keys live: ${KEYFILE_URI}/${selector}/${signtype}/${keyname}.
// One implementation per URI scheme, chosen from one table in keystore.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/keystore/key_material.hpp"
#include "digsig/util/error.hpp"

namespace digsig::keystore {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Succeeds if ${selector}/${signtype}/ exists; otherwise not_found naming
  // the selector (the original server's check, made a clear error).
  [[nodiscard]] virtual Result<void> check_selector(std::string_view selector,
                                                    std::string_view signtype) = 0;

  // Reads one key into memory. not_found if it does not exist.
  [[nodiscard]] virtual Result<KeyMaterial> load(const KeyRef& ref) = 0;

  // The store's URI with any credentials removed, for logs and /signers.
  [[nodiscard]] virtual std::string describe() const = 0;

  // For /signers: the pkcs11: references among the key files of `signtype`
  // (of every selector), or nothing if the store cannot list them cheaply
  // (S3). Only the first bytes of small files are looked at.
  [[nodiscard]] virtual std::optional<std::vector<std::string>> token_references(
      std::string_view /*signtype*/) const {
    return std::nullopt;
  }
};

// Opens the store named by `uri` (file://... now; other schemes register in
// the table in keystore.cpp). Names in `ref` are validated by the caller-
// facing functions below, not by the implementations.
[[nodiscard]] Result<std::unique_ptr<KeyStore>> open(std::string_view uri);

// The schemes compiled in, for --version and /signers.
[[nodiscard]] std::vector<std::string> schemes();

// Validates selector and key names (no '/', '..', control characters,
// leading dot) before they reach a store. `selector_field` is "machine" or
// "distro", used in messages.
[[nodiscard]] Result<void> validate(std::string_view selector_field, const KeyRef& ref);

}  // namespace digsig::keystore
