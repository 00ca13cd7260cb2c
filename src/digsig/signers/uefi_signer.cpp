#include "digsig/signers/uefi_signer.hpp"

#include <fmt/format.h>

#include "digsig/crypto/cms.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/pkcs11.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_attach_alignment = 2048;
constexpr const char* k_tool_path = "/usr/local/bin:/usr/bin:/bin";

class UefiSigner : public Signer {
 public:
  explicit UefiSigner(const SignerContext& context) : keys_(context.keys) {
    info_ = SignerInfo{
        .name = "uefi",
        .route = "/sign/tegra/uefi",
        .signtype = "uefisign",
        .selector_field = "machine",
        .summary = "UEFI payloads: Authenticode (sbsign), detached CMS, or CMS attached",
        .fields = {"machine (required)",
                   "signing_type (required): sbsign, signature or attach_signature",
                   "artifact (file, required)"},
        .keys = {"db.key", "db.crt"},
        .tools = {"sbsign (sbsigntool), for signing_type=sbsign"},
        .token_keys = "db.key and db.crt (type=cert); sbsign loads the key through libp11's engine",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    auto path = tools::find_program("sbsign", k_tool_path);
    if (path.empty()) {
      r.missing.push_back("sbsign (Debian package sbsigntool), needed for signing_type=sbsign");
      r.ready = false;
    } else {
      r.found.push_back("sbsign: " + path);
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto type = request.required_field("signing_type", "Invalid parameters");
    if (!type) return std::unexpected(type.error());
    if (*type != "sbsign" && *type != "signature" && *type != "attach_signature") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: signing_type {} is not one of sbsign, "
                              "signature, attach_signature",
                              quote(*type)));
    }
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto out = job.path_for("artifact.signed");
    if (!out) return std::unexpected(out.error());

    auto ok = *type == "sbsign" ? sbsign(*keys, (*artifact)->path, *out, job)
                                : cms(*keys, (*artifact)->path, *out, *type == "attach_signature");
    if (!ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(*out, "artifact.signed");
    result.keys_used = {"db.key", "db.crt"};
    return result;
  }

 private:
  static Result<void> sbsign(const SelectorKeys& keys, const fs::path& in, const fs::path& out,
                             const jobs::Job& job) {
    auto material = keys.load("db.key");
    if (!material) return std::unexpected(material.error());
    std::vector<std::string> env{std::string("PATH=") + k_tool_path};
    std::vector<std::string> key_args;
    if (auto uri = crypto::pkcs11_reference(material->bytes().view()); !uri.empty()) {
      // A key on the token: sbsign loads it through libp11's engine, which
      // gets the module and PIN from a configuration file in the job.
      auto engine_env = crypto::engine_environment_for_tool(job.dir() / "pkcs11");
      if (!engine_env) return std::unexpected(engine_env.error());
      env.insert(env.end(), engine_env->begin(), engine_env->end());
      key_args = {"--engine", "pkcs11", "--key", crypto::without_pin(uri)};
    } else {
      auto key = keys.write_for_tool("db.key", job, "keys/db.key");
      if (!key) return std::unexpected(key.error());
      key_args = {"--key", key->string()};
    }
    // The certificate as PEM (it may be on the token too).
    auto cert_material = keys.load("db.crt");
    if (!cert_material) return std::unexpected(cert_material.error());
    auto cert = crypto::load_certificate(*cert_material);
    if (!cert) return std::unexpected(cert.error());
    auto cert_path = job.path_for("certs/db.crt");
    if (!cert_path) return std::unexpected(cert_path.error());
    fs::create_directories(cert_path->parent_path());
    auto pem = crypto::certificate_pem(cert->get());
    if (auto ok = write_file(*cert_path, pem, "the certificate"); !ok) return std::unexpected(ok.error());

    std::vector<std::string> argv{"sbsign"};
    argv.insert(argv.end(), key_args.begin(), key_args.end());
    argv.insert(argv.end(), {"--cert", cert_path->string(), "--output", out.string(), in.string()});
    tools::Command cmd{.argv = argv, .cwd = job.dir(), .env = env, .deadline = job.deadline()};
    auto outcome = tools::run_within_deadline(cmd, job.dir());
    if (!outcome) return std::unexpected(outcome.error());
    std::error_code ec;
    if (!outcome->succeeded() || !fs::is_regular_file(out, ec) || fs::file_size(out, ec) == 0) {
      if (!key_args.empty() && key_args.front() == "--engine") {
        return fail(ErrorKind::unavailable,
                    fmt::format("sbsign could not sign with the key on the PKCS#11 token: {}",
                                outcome->tail_for_client(3, job.dir())));
      }
      // sbsign refuses what is not a PE/COFF image: the client's mistake.
      return fail(ErrorKind::bad_request,
                  fmt::format("sbsign could not sign the artifact: {}",
                              outcome->tail_for_client(3, job.dir())));
    }
    return {};
  }

  static Result<void> cms(const SelectorKeys& keys, const fs::path& in, const fs::path& out,
                          bool attach) {
    auto pair = keys.load_key_and_certificate("db.key", "db.crt");
    if (!pair) return std::unexpected(pair.error());
    // As `openssl cms -sign -binary -outform der`: default signed attributes,
    // S/MIME capabilities, the signer certificate included.
    auto der = crypto::cms_sign_file(pair->cert.get(), pair->key.get(), nullptr, in, {});
    if (!der) return std::unexpected(der.error());
    std::string_view sig(reinterpret_cast<const char*>(der->data()), der->size());
    if (!attach) return write_file(out, sig, "the signature");
    auto payload = read_file(in);
    if (!payload) return std::unexpected(payload.error());
    auto padded = (payload->size() + k_attach_alignment - 1) / k_attach_alignment * k_attach_alignment;
    payload->resize(padded, '\0');
    payload->append(sig);
    return write_file(out, *payload, "the signed payload");
  }

  keystore::KeyStore& keys_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_uefi_signer(const SignerContext& context) {
  return std::make_unique<UefiSigner>(context);
}

}  // namespace digsig::signers
