#include "digsig/signers/tegra_capsule_signer.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <fstream>
#include <regex>

#include "digsig/signers/bsp_python.hpp"
#include "digsig/signers/l4t_bsp.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 2> k_soctypes{"tegra194", "tegra234"};
constexpr const char* k_script = "generate_capsule/Capsule/GenerateCapsule.py";

// EFI_FIRMWARE_MANAGEMENT_CAPSULE_ID_GUID 6dcbd5ed-e82d-4c44-bda1-7194199ad92a
// as it is stored at the start of an FMP capsule's EFI_CAPSULE_HEADER.
constexpr std::array<unsigned char, 16> k_fmp_capsule_guid{0xed, 0xd5, 0xcb, 0x6d, 0x2d, 0xe8, 0x44, 0x4c,
                                                           0xbd, 0xa1, 0x71, 0x94, 0x19, 0x9a, 0xd9, 0x2a};

bool valid_guid(std::string_view g) {
  static const std::regex k_guid("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return std::regex_match(g.begin(), g.end(), k_guid);
}

// The capsule header: the FMP capsule GUID, and CapsuleImageSize (offset 24)
// equal to the file's size.
Result<void> check_capsule(const fs::path& capsule) {
  std::ifstream in(capsule, std::ios::binary);
  std::array<unsigned char, 28> header{};
  in.read(reinterpret_cast<char*>(header.data()), header.size());
  std::error_code ec;
  auto size = fs::file_size(capsule, ec);
  std::uint32_t image_size = 0;
  for (int i = 3; i >= 0; --i) image_size = (image_size << 8) | header[24 + static_cast<std::size_t>(i)];
  if (!in || std::memcmp(header.data(), k_fmp_capsule_guid.data(), k_fmp_capsule_guid.size()) != 0 ||
      image_size != size) {
    return fail(ErrorKind::signing_failed,
                "GenerateCapsule.py reported success but its output is not an FMP capsule "
                "(wrong header GUID or size)");
  }
  return {};
}

class TegraCapsuleSigner : public Signer {
 public:
  explicit TegraCapsuleSigner(const SignerContext& context)
      : keys_(context.keys), base_(context.settings.l4t_tools_base) {
    info_ = SignerInfo{
        .name = "tegra-ueficapsule",
        .route = "/sign/tegra/ueficapsule",
        .signtype = "ueficapsulesign",
        .selector_field = "machine",
        .summary = "Signed UEFI capsules for Jetson, made by the L4T BSP's GenerateCapsule.py",
        .fields = {"machine (required)", "soctype (required): tegra194, tegra234",
                   "bspversion (required): major.minor.patch, gives --fw-version and --lsv",
                   "guid (required): the capsule's firmware GUID",
                   "artifact (file, required): the payload"},
        .keys = {"signer_private_cert.pem", "other_public_cert.pem", "trusted_public_cert.pem"},
        .tools = {"python3", fmt::format("the L4T BSP's {}", k_script)},
        .token_keys = "none: GenerateCapsule.py reads key files",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override { return bsp_script_readiness(base_, k_script); }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto fields = bsp_fields(request);
    if (!fields) return std::unexpected(fields.error());
    const auto& [machine, soctype, bspversion] = *fields;
    auto guid = request.required_field("guid", "Invalid parameters: guid missing");
    if (!guid) return std::unexpected(guid.error());
    if (!valid_guid(*guid)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: guid {} is not a GUID "
                              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                              quote(*guid)));
    }
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    if (auto parsed = parse_bsp_version(bspversion);
        parsed && (parsed->parts != 3 || parsed->minor > 255 || parsed->patch > 255)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: bspversion {} must be major.minor.patch "
                              "(minor and patch below 256) to give the capsule's version",
                              quote(parsed->text)));
    }
    auto bsp = find_bsp(base_, soctype, bspversion, k_soctypes);
    if (!bsp) return std::unexpected(bsp.error());
    const auto& v = bsp->version;
    auto script = bsp->root / k_script;
    std::error_code ec;
    if (!fs::is_regular_file(script, ec)) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("L4T BSP {} for {} has no {}", v.text, bsp->soctype, k_script));
    }

    auto keys = SelectorKeys::open(keys_, info_, machine);
    if (!keys) return std::unexpected(keys.error());
    std::vector<fs::path> key_files;
    for (const auto& name : info_.keys) {
      auto written = keys->write_for_tool(name, job, "keys/" + name);
      if (!written) return std::unexpected(written.error());
      key_files.push_back(*written);
    }
    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);
    auto input = *work / "artifact";
    fs::copy_file((*artifact)->path, input);
    auto output = *work / "artifact.cap";

    auto version = fmt::format("0x{:x}", (v.major << 16) | (v.minor << 8) | v.patch);
    std::vector<std::string> args{"--encode", "--monotonic-count", "1", "--fw-version", version,
                                  "--lsv", version, "--guid", *guid,
                                  "--signer-private-cert", key_files[0].string(),
                                  "--other-public-cert", key_files[1].string(),
                                  "--trusted-public-cert", key_files[2].string(),
                                  "-o", output.string(), input.string()};
    if (auto ok = run_bsp_python(script, args, output, job); !ok) return std::unexpected(ok.error());
    if (auto ok = check_capsule(output); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(output, "artifact.cap");
    result.keys_used = info_.keys;
    return result;
  }

 private:
  keystore::KeyStore& keys_;
  fs::path base_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_tegra_capsule_signer(const SignerContext& context) {
  return std::make_unique<TegraCapsuleSigner>(context);
}

}  // namespace digsig::signers
