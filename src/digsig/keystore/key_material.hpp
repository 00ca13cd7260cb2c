// Bytes of one key or certificate, held in memory only and wiped when the
// object goes away. Knows where it came from, for error messages that name
// the key without revealing server paths.
#pragma once

#include <string>

#include "digsig/util/secure_bytes.hpp"

namespace digsig::keystore {

struct KeyRef {
  std::string selector;  // machine or distro
  std::string signtype;  // "swupdate", "kmodsign", ...
  std::string keyname;   // "rsa-private.key"
};

class KeyMaterial {
 public:
  KeyMaterial(KeyRef ref, SecureBytes bytes) : ref_(std::move(ref)), bytes_(std::move(bytes)) {}

  [[nodiscard]] const KeyRef& ref() const { return ref_; }
  [[nodiscard]] const SecureBytes& bytes() const { return bytes_; }
  // "key 'rsa-private.key' (swupdate) of 'mydistro'"
  [[nodiscard]] std::string describe() const;

 private:
  KeyRef ref_;
  SecureBytes bytes_;
};

// The same wording for a key that is not there.
[[nodiscard]] std::string describe(const KeyRef& ref);

}  // namespace digsig::keystore
