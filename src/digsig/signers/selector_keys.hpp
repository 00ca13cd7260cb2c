// The keys of one selector (machine or distro) for one signer: validates the
// selector, checks that its key directory exists, and loads keys by name.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "digsig/crypto/ossl.hpp"
#include "digsig/keystore/keystore.hpp"
#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// A private key with its certificate (and any chain certificates after it in
// the certificate file), checked to belong together.
struct KeyAndCertificate {
  crypto::PKeyPtr key;
  crypto::X509Ptr cert;
  crypto::X509StackPtr chain;
};

class SelectorKeys {
 public:
  [[nodiscard]] static Result<SelectorKeys> open(keystore::KeyStore& store, const SignerInfo& info,
                                                 std::string_view selector);

  // not_found if missing; the message names the key and the selector.
  [[nodiscard]] Result<keystore::KeyMaterial> load(std::string_view keyname) const;

  // Loads and decodes both; a certificate that is not the key's is reported
  // (misconfigured, naming both) before anything is signed.
  [[nodiscard]] Result<KeyAndCertificate> load_key_and_certificate(std::string_view key_name,
                                                                   std::string_view cert_name) const;

  // For tools that demand a key file: writes the key to `relative` inside
  // the job directory (file 0600, its directory 0700), where it lives only
  // as long as the job. Returns the path. A key file holding a pkcs11: URI
  // is refused (misconfigured): callers that can use token keys check for
  // one first.
  [[nodiscard]] Result<std::filesystem::path> write_for_tool(std::string_view keyname,
                                                             const jobs::Job& job,
                                                             std::string_view relative) const;

  [[nodiscard]] const std::string& selector() const { return selector_; }

 private:
  SelectorKeys(keystore::KeyStore& store, const SignerInfo& info, std::string selector)
      : store_(&store), info_(&info), selector_(std::move(selector)) {}

  keystore::KeyStore* store_;
  const SignerInfo* info_;
  std::string selector_;
};

}  // namespace digsig::signers
