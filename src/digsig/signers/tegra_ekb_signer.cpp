#include "digsig/signers/tegra_ekb_signer.hpp"

#include <fmt/format.h>

#include <array>

#include "digsig/signers/bsp_python.hpp"
#include "digsig/signers/l4t_bsp.hpp"
#include "digsig/signers/selector_keys.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 2> k_soctypes{"tegra194", "tegra234"};
constexpr const char* k_script = "source/public/optee/samples/hwkey-agent/host/tool/gen_ekb/gen_ekb.py";

class TegraEkbSigner : public Signer {
 public:
  explicit TegraEkbSigner(const SignerContext& context)
      : keys_(context.keys), base_(context.settings.l4t_tools_base) {
    info_ = SignerInfo{
        .name = "tegra-ekb",
        .route = "/sign/tegra/ekb",
        .signtype = "ekbsign",
        .selector_field = "machine",
        .summary = "Encrypted key blobs (EKB) for Jetson OP-TEE, made by the L4T BSP's gen_ekb.py",
        .fields = {"machine (required)", "soctype (required): tegra194, tegra234",
                   "bspversion (required), e.g. 36.4.3"},
        .keys = {"oem_k1.key", "uefi-variable-authentication.key", "fixed-vector (BSP before 36)",
                 "kernel-encryption.key (optional)", "disk-encryption.key (optional)"},
        .tools = {"python3", "the L4T BSP's .../gen_ekb/gen_ekb.py"},
        .token_keys = "none: gen_ekb.py reads key files (symmetric keys)",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override { return bsp_script_readiness(base_, k_script); }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto fields = bsp_fields(request);
    if (!fields) return std::unexpected(fields.error());
    const auto& [machine, soctype, bspversion] = *fields;
    auto bsp = find_bsp(base_, soctype, bspversion, k_soctypes);
    if (!bsp) return std::unexpected(bsp.error());
    auto script = bsp->root / k_script;
    std::error_code ec;
    if (!fs::is_regular_file(script, ec)) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("L4T BSP {} for {} has no {}", bsp->version.text, bsp->soctype, k_script));
    }

    auto keys = SelectorKeys::open(keys_, info_, machine);
    if (!keys) return std::unexpected(keys.error());
    std::vector<std::string> used;
    auto key = [&](std::string_view name) -> Result<fs::path> {
      auto written = keys->write_for_tool(name, job, fmt::format("keys/{}", name));
      if (written) used.emplace_back(name);
      return written;
    };
    auto oem_k1 = key("oem_k1.key");
    if (!oem_k1) return std::unexpected(oem_k1.error());
    auto auth = key("uefi-variable-authentication.key");
    if (!auth) return std::unexpected(auth.error());

    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);
    auto output = *work / "ekb.img";
    std::vector<std::string> args{"-chip", bsp->soctype == "tegra234" ? "t234" : "t194",
                                  "-oem_k1_key", oem_k1->string(), "-in_auth_key", auth->string(),
                                  "-out", output.string()};
    if (bsp->version.major < 36) {
      auto fv = key("fixed-vector");
      if (!fv) return std::unexpected(fv.error());
      args.insert(args.end(), {"-fv", fv->string()});
    }
    for (auto [name, option] : {std::pair{"kernel-encryption.key", "-in_sym_key"},
                                std::pair{"disk-encryption.key", "-in_sym_key2"}}) {
      auto optional = key(name);
      if (optional) {
        args.insert(args.end(), {option, optional->string()});
      } else if (optional.error().kind != ErrorKind::not_found) {
        return std::unexpected(optional.error());
      }
    }
    if (auto ok = run_bsp_python(script, args, output, job); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(output, "ekb.img");
    result.keys_used = std::move(used);
    return result;
  }

 private:
  keystore::KeyStore& keys_;
  fs::path base_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_tegra_ekb_signer(const SignerContext& context) {
  return std::make_unique<TegraEkbSigner>(context);
}

}  // namespace digsig::signers
