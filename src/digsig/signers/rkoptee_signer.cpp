#include "digsig/signers/rkoptee_signer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "digsig/archive/archive.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

enum class Target { tee, ta };

class RkOpteeSigner : public Signer {
 public:
  RkOpteeSigner(const SignerContext& context, Target target)
      : keys_(context.keys), tools_path_(context.settings.rk_tools_path),
        limits_(context.settings.archive_limits), target_(target) {
    if (target == Target::tee) {
      info_ = SignerInfo{
          .name = "rkoptee-tee",
          .route = "/sign/rkoptee-tee",
          .signtype = "rkopteesign",
          .selector_field = "machine",
          .summary = "Rockchip OP-TEE OS: change_puk puts the TA signing public key into tee.bin",
          .fields = {"machine (required)", "artifact (file, required): tee.bin"},
          .keys = {"optee-signing-pubkey.pem"},
          .tools = {"change_puk in $DIGSIGSERVER_RK_TOOLS_PATH"},
          .token_keys = "none: change_puk reads the public key from a file",
      };
      tool_ = "change_puk";
    } else {
      info_ = SignerInfo{
          .name = "rkoptee-ta",
          .route = "/sign/rkoptee-ta",
          .signtype = "rkopteesign",
          .selector_field = "machine",
          .summary = "Rockchip OP-TEE trusted applications: resign_ta.py re-signs every *.ta",
          .fields = {"machine (required)", "artifact (file, required): a tarball holding *.ta files"},
          .keys = {"optee-signing-key.pem"},
          .tools = {"resign_ta.py in $DIGSIGSERVER_RK_TOOLS_PATH", "python3"},
          .token_keys = "none: resign_ta.py reads key files",
      };
      tool_ = "resign_ta.py";
    }
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    if (auto ok = check_tool(); !ok) {
      r.ready = false;
      r.missing.push_back(ok.error().message);
    } else {
      r.found.push_back(fmt::format("{}: {}", tool_, (fs::path(tools_path_) / tool_).string()));
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    if (auto ok = check_tool(); !ok) return std::unexpected(ok.error());
    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto key = keys->write_for_tool(info_.keys.front(), job, "keys/" + info_.keys.front());
    if (!key) return std::unexpected(key.error());
    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);

    SignResult result;
    if (target_ == Target::tee) {
      auto tee = *work / "tee.bin";
      fs::copy_file((*artifact)->path, tee);
      if (auto ok = run({tool_, "--teebin", tee.string(), "--key", key->string()}, *work, job); !ok) {
        return std::unexpected(ok.error());
      }
      std::error_code ec;
      if (fs::file_size(tee, ec) == 0 || ec) {
        return fail(ErrorKind::signing_failed, "change_puk reported success but left tee.bin empty");
      }
      result = SignResult::of_file(tee, "tee.bin.signed");
    } else {
      if (auto ok = archive::extract((*artifact)->path, *work, limits_); !ok) return std::unexpected(ok.error());
      std::vector<fs::path> tas;
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(*work, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file() && !it->is_symlink() && it->path().extension() == ".ta") tas.push_back(it->path());
      }
      if (tas.empty()) return fail(ErrorKind::bad_request, "Invalid artifact: the tarball holds no *.ta file");
      std::sort(tas.begin(), tas.end());
      for (const auto& ta : tas) {
        if (auto ok = run({tool_, "--key", key->string(), "--in", ta.string()}, *work, job); !ok) {
          return std::unexpected(ok.error());
        }
      }
      auto tarball = job.path_for("signed-artifact.tar.gz");
      if (!tarball) return std::unexpected(tarball.error());
      if (auto ok = archive::pack(*work, *tarball); !ok) return std::unexpected(ok.error());
      result = SignResult::of_file(*tarball, "signed-artifact.tar.gz", "application/gzip");
    }
    result.keys_used = {info_.keys.front()};
    return result;
  }

 private:
  Result<void> check_tool() const {
    if (tools_path_.empty()) return fail(ErrorKind::misconfigured, "DIGSIGSERVER_RK_TOOLS_PATH is not set");
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(tools_path_) / tool_, ec)) {
      return fail(ErrorKind::misconfigured, fmt::format("DIGSIGSERVER_RK_TOOLS_PATH has no {}", tool_));
    }
    return {};
  }

  Result<void> run(const std::vector<std::string>& argv, const fs::path& work, const jobs::Job& job) const {
    tools::Command cmd{.argv = argv, .cwd = work,
                       .env = {fmt::format("PATH={}:{}", tools_path_, tools::server_path())},
                       .deadline = job.deadline()};
    auto outcome = tools::run_checked(cmd, job.dir(), tool_,
                                      {"error", "Error", "ERROR", "fail", "Fail", "FAIL", "Traceback"});
    if (!outcome) return std::unexpected(outcome.error());
    return {};
  }

  keystore::KeyStore& keys_;
  std::string tools_path_;
  archive::Limits limits_;
  Target target_;
  std::string tool_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_rkoptee_tee_signer(const SignerContext& context) {
  return std::make_unique<RkOpteeSigner>(context, Target::tee);
}

std::unique_ptr<Signer> create_rkoptee_ta_signer(const SignerContext& context) {
  return std::make_unique<RkOpteeSigner>(context, Target::ta);
}

}  // namespace digsig::signers
