// Finding an unpacked NVIDIA L4T BSP for a request: the soctype and
// bspversion fields are checked before either becomes part of a path, then
// ${L4T_TOOLS_BASE}/L4T-<version>-<dir>/Linux_for_Tegra is looked up, where
// <dir> is tegra186 for tegra194 and the soctype otherwise.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/signers/sign_request.hpp"
#include "digsig/signers/signer.hpp"
#include "digsig/util/error.hpp"

namespace digsig::signers {

struct BspVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  int parts = 0;     // how many numbers the text had
  std::string text;  // "35.5.0"

  [[nodiscard]] bool at_least(int maj, int min) const {
    return major > maj || (major == maj && minor >= min);
  }
};

struct Bsp {
  std::filesystem::path root;  // .../Linux_for_Tegra
  std::string soctype;         // as requested: tegra194
  BspVersion version;
};

// Digits and dots only, 2 to 4 numbers of at most 3 digits; bad_request
// "Invalid parameters: bspversion ..." otherwise.
[[nodiscard]] Result<BspVersion> parse_bsp_version(std::string_view text);

// Checks soctype against `soctypes` and bspversion, then finds the BSP;
// bad_request naming the installed L4T-* directories when it is not there.
[[nodiscard]] Result<Bsp> find_bsp(const std::filesystem::path& base, std::string_view soctype,
                                   std::string_view bspversion,
                                   std::span<const std::string_view> soctypes);

// The fields every L4T endpoint takes: machine, soctype, bspversion
// (required; checked by find_bsp).
struct BspFields {
  std::string machine;
  std::string soctype;
  std::string bspversion;
};
[[nodiscard]] Result<BspFields> bsp_fields(const SignRequest& request);

// Ready when at least one installed BSP has `script` (relative to
// Linux_for_Tegra); lists those BSPs.
[[nodiscard]] Readiness bsp_script_readiness(const std::filesystem::path& base, std::string_view script);

// "L4T-35.5.0-tegra234", ... for every BSP directory with a Linux_for_Tegra
// below `base`, sorted.
[[nodiscard]] std::vector<std::string> installed_bsps(const std::filesystem::path& base);

}  // namespace digsig::signers
