#include "digsig/signers/rk_signer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "digsig/archive/archive.hpp"
#include "digsig/crypto/digest.hpp"
#include "digsig/signers/mkimage.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 3> k_soctypes{"rk3588", "rk3566", "rk3568"};
constexpr std::array<std::string_view, 3> k_artifact_types{"fit-image", "idblock", "usbloader"};
// Copied into the job because rk_sign_tool rewrites setting.ini next to itself.
constexpr std::array<const char*, 3> k_rkbin_files{"rk_sign_tool", "boot_merger", "setting.ini"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<bool> parse_yes_no(std::string_view name, std::string_view value) {
  auto v = lower(value);
  if (v == "yes" || v == "true" || v == "1") return true;
  if (v == "no" || v == "false" || v == "0") return false;
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid parameters: {} {} is not one of yes, no, true, false, 1, 0", name,
                          quote(value)));
}

class RkSigner : public Signer {
 public:
  explicit RkSigner(const SignerContext& context)
      : keys_(context.keys), tools_path_(context.settings.rk_tools_path),
        limits_(context.settings.archive_limits) {
    info_ = SignerInfo{
        .name = "rk",
        .route = "/sign/rk",
        .signtype = "rksign",
        .selector_field = "machine",
        .summary = "Rockchip: FIT images with mkimage; idblock and usbloader images with rk_sign_tool",
        .fields = {"machine (required)", "soctype (required): rk3588, rk3566, rk3568",
                   "artifact_type (required): fit-image, idblock, usbloader",
                   "burn_key_hash: yes/no (default no)", "external_data_offset (fit-image)",
                   "artifact (file, required): a tarball with fitImage [fit.its] [uboot.dtb] for "
                   "fit-image, else the image"},
        .keys = {"dev.key", "dev.crt", "dev.pubkey"},
        .tools = {"mkimage (u-boot-tools)",
                  "rk_sign_tool, boot_merger, setting.ini in $DIGSIGSERVER_RK_TOOLS_PATH/rkbin-tools "
                  "(idblock, usbloader)"},
        .token_keys = "dev.key for fit-image (mkimage -N pkcs11); not for idblock/usbloader: rk_sign_tool reads key files",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    auto mkimage = tools::find_program("mkimage", k_mkimage_path);
    if (mkimage.empty()) {
      r.ready = false;
      r.missing.emplace_back("mkimage (u-boot-tools)");
    } else {
      r.found.push_back("mkimage: " + mkimage);
    }
    if (auto layout = check_layout(); !layout) {
      r.missing.push_back(layout.error().message + " (needed for idblock and usbloader only)");
    } else {
      r.found.push_back("rkbin-tools: " + (fs::path(tools_path_) / "rkbin-tools").string());
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto soctype = request.required_field("soctype", "Invalid parameters: soctype missing");
    if (!soctype) return std::unexpected(soctype.error());
    if (std::find(k_soctypes.begin(), k_soctypes.end(), *soctype) == k_soctypes.end()) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: soctype {} is not one of {}", quote(*soctype),
                              fmt::join(k_soctypes, ", ")));
    }
    auto type_field = request.required_field(
        "artifact_type", "Invalid parameters: artifact_type missing (fit-image, idblock or usbloader)");
    if (!type_field) return std::unexpected(type_field.error());
    auto type = lower(*type_field);
    if (std::find(k_artifact_types.begin(), k_artifact_types.end(), type) == k_artifact_types.end()) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid artifact type {}: use one of {}", quote(*type_field),
                              fmt::join(k_artifact_types, ", ")));
    }
    auto burn = parse_yes_no("burn_key_hash", request.field_or("burn_key_hash", "no"));
    if (!burn) return std::unexpected(burn.error());
    auto offset = request.field_or("external_data_offset", "");
    if (!offset.empty() && !valid_mkimage_offset(offset)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: external_data_offset {} is not a number", quote(offset)));
    }
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    if (type != "fit-image") {
      if (auto layout = check_layout(); !layout) return std::unexpected(layout.error());
    }
    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);
    if (type == "fit-image") return sign_fit(**artifact, offset, *keys, *work, job);
    return sign_loader(**artifact, type, soctype->substr(2), *burn, *keys, *work, job);
  }

 private:
  // $RK_TOOLS_PATH/rkbin-tools with the files that are copied per job.
  Result<void> check_layout() const {
    if (tools_path_.empty()) {
      return fail(ErrorKind::misconfigured, "DIGSIGSERVER_RK_TOOLS_PATH is not set");
    }
    std::error_code ec;
    auto rkbin = fs::path(tools_path_) / "rkbin-tools";
    for (const char* name : k_rkbin_files) {
      if (!fs::is_regular_file(rkbin / name, ec)) {
        return fail(ErrorKind::misconfigured,
                    fmt::format("DIGSIGSERVER_RK_TOOLS_PATH has no rkbin-tools/{}", name));
      }
    }
    return {};
  }

  Result<SignResult> sign_fit(const UploadedFile& artifact, const std::string& offset,
                              const SelectorKeys& keys, const fs::path& work, jobs::Job& job) {
    if (auto ok = archive::extract(artifact.path, work, limits_); !ok) return std::unexpected(ok.error());
    std::error_code ec;
    auto regular = [&](const char* name) { return fs::is_regular_file(fs::symlink_status(work / name, ec)); };
    const bool its = regular("fit.its");
    const bool dtb = regular("uboot.dtb");
    if (!its && !regular("fitImage")) {
      return fail(ErrorKind::bad_request,
                  "Invalid artifact: the fit-image tarball has neither fitImage nor fit.its");
    }
    if (its) {
      if (auto ok = check_its_includes(work / "fit.its", work); !ok) return std::unexpected(ok.error());
    }
    auto key = mkimage_key(keys, "dev", job);
    if (!key) return std::unexpected(key.error());
    std::vector<std::string> argv{"mkimage"};
    if (its) {
      argv.insert(argv.end(), {"-f", "fit.its", "-E"});
    } else {
      argv.emplace_back("-F");
    }
    if (dtb) argv.insert(argv.end(), {"-K", "uboot.dtb"});
    if (!offset.empty()) argv.insert(argv.end(), {"-p", offset});
    argv.insert(argv.end(), key->options.begin(), key->options.end());
    argv.insert(argv.end(), {"-r", "fitImage"});
    std::vector<std::string> env{std::string("PATH=") + k_mkimage_path};
    env.insert(env.end(), key->env.begin(), key->env.end());
    tools::Command cmd{.argv = argv, .cwd = work, .env = env, .deadline = job.deadline()};
    auto outcome = tools::run_within_deadline(cmd, job.dir());
    if (!outcome) return std::unexpected(outcome.error());
    if (auto ok = check_mkimage_signed(*outcome, work / "fitImage", job); !ok) return std::unexpected(ok.error());

    // Only fitImage and uboot.dtb go back.
    auto out = job.path_for("out");
    if (!out) return std::unexpected(out.error());
    fs::create_directory(*out);
    fs::copy_file(work / "fitImage", *out / "fitImage");
    if (dtb) fs::copy_file(work / "uboot.dtb", *out / "uboot.dtb");
    auto tarball = job.path_for("signed-artifact.tar.gz");
    if (!tarball) return std::unexpected(tarball.error());
    if (auto ok = archive::pack(*out, *tarball); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(*tarball, "signed-artifact.tar.gz", "application/gzip");
    result.keys_used = std::move(key->used);
    return result;
  }

  Result<SignResult> sign_loader(const UploadedFile& artifact, const std::string& type, std::string_view chip,
                                 bool burn_key_hash, const SelectorKeys& keys, const fs::path& work,
                                 jobs::Job& job) {
    auto tools = job.dir() / "tools";
    fs::create_directory(tools);
    for (const char* name : k_rkbin_files) {
      fs::copy_file(fs::path(tools_path_) / "rkbin-tools" / name, tools / name);
      fs::permissions(tools / name, fs::perms::owner_write, fs::perm_options::add);
    }
    auto key = keys.write_for_tool("dev.key", job, "keys/dev.key");
    if (!key) return std::unexpected(key.error());
    auto pubkey = keys.write_for_tool("dev.pubkey", job, "keys/dev.pubkey");
    if (!pubkey) return std::unexpected(pubkey.error());
    // rk_sign_tool wants a dot in the file name.
    auto image = work / "artifact.bin";
    fs::copy_file(artifact.path, image);

    std::vector<std::vector<std::string>> steps{
        {"rk_sign_tool", "cc", "--chip", std::string(chip)},
        {"rk_sign_tool", "lk", "--key", key->string(), "--pubkey", pubkey->string()}};
    if (burn_key_hash) steps.push_back({"rk_sign_tool", "ss", "--flag", "0x20"});
    if (type == "idblock") {
      steps.push_back({"rk_sign_tool", "sb", "--idb", image.string()});
    } else {
      steps.push_back({"rk_sign_tool", "sl", "--loader", image.string()});
    }
    std::vector<std::string> env{
        fmt::format("PATH={}:{}:{}", tools.string(), tools_path_, tools::server_path())};
    for (const auto& argv : steps) {
      tools::Command cmd{.argv = argv, .cwd = work, .env = env, .deadline = job.deadline()};
      auto outcome = tools::run_checked(cmd, job.dir(), "rk_sign_tool " + argv[1],
                                        {"error", "Error", "ERROR", "fail", "Fail", "FAIL"});
      if (!outcome) return std::unexpected(outcome.error());
    }
    auto digest = crypto::sha256_file(image);
    if (!digest) return std::unexpected(digest.error());
    if (*digest == artifact.sha256) {
      return fail(ErrorKind::signing_failed, "rk_sign_tool reported success but left the image unchanged");
    }
    auto result = SignResult::of_file(image, "artifact.signed");
    result.keys_used = {"dev.key", "dev.pubkey"};
    return result;
  }

  keystore::KeyStore& keys_;
  std::string tools_path_;
  archive::Limits limits_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_rk_signer(const SignerContext& context) {
  return std::make_unique<RkSigner>(context);
}

}  // namespace digsig::signers
