// The interface every endpoint implements. Signers are created once at
// start-up from the table in signer_table.cpp; sign() runs concurrently for
// many requests and must not keep per-request state in the object.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/archive/archive.hpp"
#include "digsig/jobs/job.hpp"
#include "digsig/keystore/keystore.hpp"
#include "digsig/signers/sign_request.hpp"
#include "digsig/util/error.hpp"

namespace digsig::signers {

// The settings signers may read, built by app/ from the configuration.
struct SignerSettings {
  std::string l4t_tools_base = "/opt/nvidia";
  std::string imx_cst_base = "/opt/NXP";
  std::string rk_tools_path;
  std::string pkcs11_pin;  // never logged
  archive::Limits archive_limits;
  std::vector<std::string> artifact_dirs;  // where file:// artifact URIs may point
};

struct SignerContext {
  keystore::KeyStore& keys;
  const SignerSettings& settings;
};

struct SignerInfo {
  std::string name;            // "swupdate"
  std::string route;           // "/sign/swupdate"
  std::string signtype;        // key store directory: "swupdate"
  std::string selector_field;  // "distro" or "machine"
  std::string summary;         // one line
  std::vector<std::string> fields;  // "distro (required)", ...
  std::vector<std::string> keys;    // key file names
  std::vector<std::string> tools;   // external programs it runs (empty: native)
  std::string token_keys;           // which keys may be pkcs11: references ("none: ...")
};

struct Readiness {
  bool ready = true;
  std::vector<std::string> missing;  // what is missing, in words
  std::vector<std::string> found;    // the tools found: "mkimage: /usr/bin/mkimage"
};

class Signer {
 public:
  virtual ~Signer() = default;
  [[nodiscard]] virtual const SignerInfo& info() const = 0;
  [[nodiscard]] virtual Readiness readiness() const { return {}; }
  [[nodiscard]] virtual Result<SignResult> sign(const SignRequest& request, jobs::Job& job) = 0;
};

using SignerFactory = std::unique_ptr<Signer> (*)(const SignerContext&);

}  // namespace digsig::signers
