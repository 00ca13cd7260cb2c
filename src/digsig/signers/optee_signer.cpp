#include "digsig/signers/optee_signer.hpp"

#include <fmt/format.h>


#include "digsig/archive/archive.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/sign.hpp"
#include "digsig/formats/optee_ta.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_elf_suffix = ".stripped.elf";
constexpr std::string_view k_version_suffix = ".ta-version";
constexpr std::string_view k_key_name = "optee-signing-key.pem";

Result<std::uint32_t> parse_algo(std::string_view value) {
  if (value.empty() || value == "TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256") {
    return formats::k_ta_alg_pss_sha256;
  }
  if (value == "TEE_ALG_RSASSA_PKCS1_V1_5_SHA256") return formats::k_ta_alg_pkcs1_sha256;
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid parameters: algo {} is not supported; use "
                          "TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256 or TEE_ALG_RSASSA_PKCS1_V1_5_SHA256",
                          quote(value)));
}

class OpteeSigner : public Signer {
 public:
  explicit OpteeSigner(const SignerContext& context)
      : keys_(context.keys), limits_(context.settings.archive_limits) {
    info_ = SignerInfo{
        .name = "optee",
        .route = "/sign/optee",
        .signtype = "opteesign",
        .selector_field = "machine",
        .summary = "OP-TEE trusted applications (<uuid>.stripped.elf to signed <uuid>.ta)",
        .fields = {"machine (required)",
                   "artifact (file, required): tar.gz with <uuid>.stripped.elf and optional "
                   "<uuid>.ta-version files",
                   "algo: TEE_ALG_RSASSA_PKCS1_PSS_MGF1_SHA256 (default) or "
                   "TEE_ALG_RSASSA_PKCS1_V1_5_SHA256"},
        .keys = {std::string(k_key_name)},
        .tools = {},
        .token_keys = "the signing key",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto algo = parse_algo(request.field_or("algo", ""));
    if (!algo) return std::unexpected(algo.error());
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto material = keys->load(k_key_name);
    if (!material) return std::unexpected(material.error());
    auto key = crypto::load_private_key(*material);
    if (!key) return std::unexpected(key.error());
    if (!crypto::is_rsa(key->get())) {
      return fail(ErrorKind::bad_request,
                  fmt::format("{} is not an RSA key; OP-TEE TAs are signed with RSA",
                              material->describe()));
    }

    auto tree = job.path_for("tree");
    if (!tree) return std::unexpected(tree.error());
    fs::create_directory(*tree);
    if (auto ok = archive::extract((*artifact)->path, *tree, limits_); !ok) {
      return std::unexpected(ok.error());
    }
    // Collect first, then sign: the walk must not see the files it writes.
    std::vector<fs::path> elves;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(*tree, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec) &&
          it->path().filename().string().ends_with(k_elf_suffix)) {
        elves.push_back(it->path());
      }
    }
    for (const auto& elf : elves) {
      if (auto ok = sign_one(key->get(), *tree, elf, *algo); !ok) return std::unexpected(ok.error());
    }
    log::info("signed {} trusted applications", elves.size());
    auto out = job.path_for("signed-tas.tar.gz");
    if (!out) return std::unexpected(out.error());
    if (auto ok = archive::pack(*tree, *out); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(*out, "signed-tas.tar.gz", "application/gzip");
    result.keys_used = {std::string(k_key_name)};
    return result;
  }

 private:
  static Result<void> sign_one(EVP_PKEY* key, const fs::path& tree, const fs::path& elf,
                               std::uint32_t algo) {
    auto filename = elf.filename().string();
    auto relative = fs::relative(elf, tree).string();
    auto uuid_text = filename.substr(0, filename.size() - k_elf_suffix.size());
    formats::Uuid uuid{};
    if (!formats::parse_uuid(uuid_text, uuid)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid artifact: {} is not named <uuid>{} with a valid UUID",
                              quote(relative), k_elf_suffix));
    }
    std::uint32_t version = 0;
    auto version_file = elf.parent_path() / (uuid_text + std::string(k_version_suffix));
    std::error_code ec;
    if (fs::exists(version_file, ec)) {
      auto text = fs::is_regular_file(version_file, ec) ? read_file(version_file)
                                                        : Result<std::string>(std::string("-"));
      if (!text || !formats::parse_ta_version(*text, version)) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid artifact: {} must hold a TA version (a decimal or 0x-hex "
                                "number up to 0xffffffff)",
                                quote(fs::relative(version_file, tree).string())));
      }
    }
    auto image = read_file(elf);
    if (!image) return std::unexpected(image.error());
    auto ta = formats::make_bootstrap_ta(key, *image, uuid, version, algo);
    if (!ta) return std::unexpected(ta.error());
    if (auto ok = write_file(elf.parent_path() / (uuid_text + ".ta"), *ta, "a signed TA"); !ok) {
      return ok;
    }
    fs::remove(elf, ec);
    fs::remove(version_file, ec);
    return {};
  }

  keystore::KeyStore& keys_;
  archive::Limits limits_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_optee_signer(const SignerContext& context) {
  return std::make_unique<OpteeSigner>(context);
}

}  // namespace digsig::signers
