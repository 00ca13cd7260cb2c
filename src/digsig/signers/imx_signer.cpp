#include "digsig/signers/imx_signer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <regex>

#include "digsig/archive/archive.hpp"
#include "digsig/crypto/pkcs11.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

// The families CST signs for (HAB4 and AHAB). The server does not interpret
// soctype: the CSF says what to do; it is only checked against this list.
constexpr std::array<std::string_view, 10> k_soctypes{
    "mx6", "mx7", "mx8m", "mx8mm", "mx8mn", "mx8mp", "mx8mq", "mx8", "mx8x", "mx9"};

constexpr std::string_view k_key_tarball = "imx-cst-keys.tar.gz";

bool valid_version(std::string_view v) {
  static const std::regex k_version("^[0-9]+(\\.[0-9]+){0,3}$");
  return v.size() <= 32 && std::regex_match(v.begin(), v.end(), k_version);
}

class ImxSigner : public Signer {
 public:
  explicit ImxSigner(const SignerContext& context)
      : keys_(context.keys), base_(context.settings.imx_cst_base), pin_(context.settings.pkcs11_pin),
        limits_(context.settings.archive_limits) {
    info_ = SignerInfo{
        .name = "imx",
        .route = "/sign/imx",
        .signtype = "imxsign",
        .selector_field = "machine",
        .summary = "NXP i.MX HAB/AHAB: a binary CSF made by NXP's Code Signing Tool (cst)",
        .fields = {"machine (required)", "soctype (required): mx6 ... mx9, not interpreted",
                   "cstversion (required), e.g. 3.4.1", "csf (file, required): the CSF description",
                   "artifact (file, required): the binary named in the CSF",
                   "backend: ssl (default) or pkcs11 (keys on a token; pin-value=password in the "
                   "CSF is replaced by the configured PIN)"},
        .keys = {std::string(k_key_tarball)},
        .tools = {"cst (NXP Code Signing Tool) at $DIGSIGSERVER_IMX_CST_BASE/cst-<cstversion>/linux64/bin/cst"},
        .token_keys = "with backend=pkcs11: CST's PKCS#11 back end, the CSF naming the token's keys and certificates",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    for (const auto& v : installed_versions()) {
      r.found.push_back(fmt::format("cst {}: {}/cst-{}/linux64/bin/cst", v, base_, v));
    }
    if (r.found.empty()) {
      r.ready = false;
      r.missing.push_back(
          "no NXP CST under DIGSIGSERVER_IMX_CST_BASE (expected cst-<version>/linux64/bin/cst)");
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto soctype = request.required_field("soctype", "Invalid parameters");
    if (!soctype) return std::unexpected(soctype.error());
    if (std::find(k_soctypes.begin(), k_soctypes.end(), *soctype) == k_soctypes.end()) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: soctype {} is not one of {}", quote(*soctype),
                              fmt::join(k_soctypes, ", ")));
    }
    auto version = request.required_field("cstversion", "Invalid parameters");
    if (!version) return std::unexpected(version.error());
    if (!valid_version(*version)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: cstversion {} is not a version number",
                              quote(*version)));
    }
    auto backend = request.field_or("backend", "ssl");
    if (backend != "ssl" && backend != "pkcs11") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: backend {} is not one of ssl, pkcs11",
                              quote(backend)));
    }
    auto csf = request.required_file("csf");
    if (!csf) return std::unexpected(csf.error());
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    // The CSF names the artifact by the file name the client gave: keep its
    // base name only.
    auto artifact_name = safe_basename("artifact file name", (*artifact)->client_filename);
    if (!artifact_name) return std::unexpected(artifact_name.error());

    auto cst = fs::path(base_) / fmt::format("cst-{}", *version) / "linux64/bin/cst";
    std::error_code ec;
    if (!fs::is_regular_file(cst, ec)) {
      auto versions = installed_versions();
      return fail(ErrorKind::bad_request,
                  fmt::format("CST version {} is not installed on this server; installed: {}",
                              *version, versions.empty() ? "none" : fmt::format("{}", fmt::join(versions, ", "))));
    }

    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto tarball = keys->write_for_tool(k_key_tarball, job, "keys/imx-cst-keys.tar.gz");
    if (!tarball) return std::unexpected(tarball.error());
    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);
    if (auto ok = archive::extract(*tarball, *work, limits_); !ok) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("the {} of '{}' cannot be unpacked: {}", k_key_tarball, *machine,
                              ok.error().message));
    }
    fs::remove(*tarball, ec);
    auto artifact_path = *work / *artifact_name;
    if (fs::exists(artifact_path, ec) || *artifact_name == "csf-input.txt") {
      return fail(ErrorKind::bad_request,
                  fmt::format("the artifact file name {} clashes with a file of the key set",
                              quote(*artifact_name)));
    }
    fs::copy_file((*artifact)->path, artifact_path);
    if (backend == "pkcs11") {
      // The configured PIN replaces "pin-value=password" in the CSF's PKCS#11
      // URIs. It is written only into the job directory (0700), never into
      // an argument list, and redacted from every log line and message.
      auto text = read_file((*csf)->path);
      if (!text) return std::unexpected(text.error());
      constexpr std::string_view k_placeholder = "pin-value=password";
      std::string with_pin;
      std::size_t start = 0;
      for (auto pos = text->find(k_placeholder); pos != std::string::npos;
           pos = text->find(k_placeholder, start)) {
        with_pin.append(*text, start, pos - start);
        with_pin += "pin-value=" + pin_;
        start = pos + k_placeholder.size();
      }
      with_pin.append(*text, start, std::string::npos);
      if (auto ok = write_file(*work / "csf-input.txt", with_pin, "the CSF"); !ok) {
        return std::unexpected(ok.error());
      }
    } else {
      fs::copy_file((*csf)->path, *work / "csf-input.txt");
    }

    auto out = *work / "csf.bin";
    std::vector<std::string> argv = {cst.string(), "-i", "csf-input.txt", "-o", "csf.bin"};
    if (backend == "pkcs11") argv.insert(argv.end(), {"-b", "pkcs11"});
    std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=" + work->string()};
    if (backend == "pkcs11") {
      // CST loads libp11's engine: with DIGSIGSERVER_PKCS11_MODULE set, it
      // gets that module (and the PIN) from a configuration file in the job;
      // without it, libp11's default module (p11-kit's proxy).
      if (auto engine_env = crypto::engine_environment_for_tool(job.dir() / "pkcs11"); engine_env) {
        env.insert(env.end(), engine_env->begin(), engine_env->end());
      }
    }
    tools::Command cmd{.argv = argv, .cwd = *work, .env = env, .deadline = job.deadline()};
    auto outcome = tools::run_within_deadline(cmd, *work);
    if (!outcome) return std::unexpected(outcome.error());
    // CST may exit 0 after printing an error; only a clean run with an
    // output counts.
    auto errors = outcome->lines_with({"Error", "error", "Invalid", "Failed"}, *work);
    if (!outcome->succeeded() || !errors.empty() || !fs::is_regular_file(out, ec) ||
        fs::file_size(out, ec) == 0) {
      return fail(ErrorKind::bad_request,
                  fmt::format("cst could not sign: {}",
                              errors.empty() ? outcome->tail_for_client(3, *work) : errors));
    }
    auto result = SignResult::of_file(out, "artifact.signed");
    result.keys_used = {std::string(k_key_tarball)};
    return result;
  }

 private:
  std::vector<std::string> installed_versions() const {
    std::vector<std::string> versions;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(base_, ec)) {
      auto name = entry.path().filename().string();
      if (name.starts_with("cst-") && fs::is_regular_file(entry.path() / "linux64/bin/cst", ec)) {
        versions.push_back(name.substr(4));
      }
    }
    std::sort(versions.begin(), versions.end());
    return versions;
  }

  keystore::KeyStore& keys_;
  std::string base_;
  std::string pin_;  // never logged
  archive::Limits limits_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_imx_signer(const SignerContext& context) {
  return std::make_unique<ImxSigner>(context);
}

}  // namespace digsig::signers
