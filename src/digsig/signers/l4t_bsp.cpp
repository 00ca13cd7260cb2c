#include "digsig/signers/l4t_bsp.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace fs = std::filesystem;

Result<BspVersion> parse_bsp_version(std::string_view text) {
  auto invalid = [&] {
    return fail(ErrorKind::bad_request,
                fmt::format("Invalid parameters: bspversion {} is not a version like 35.5.0",
                            quote(text)));
  };
  BspVersion v;
  v.text = std::string(text);
  std::array<int*, 4> slots{&v.major, &v.minor, &v.patch, nullptr};
  int extra = 0;
  std::size_t pos = 0;
  while (true) {
    auto dot = text.find('.', pos);
    auto part = text.substr(pos, dot == std::string_view::npos ? text.size() - pos : dot - pos);
    if (part.empty() || part.size() > 3 || v.parts == 4) return invalid();
    int value = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || end != part.data() + part.size()) return invalid();
    int* slot = slots[static_cast<std::size_t>(v.parts)];
    *(slot != nullptr ? slot : &extra) = value;
    ++v.parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (v.parts < 2) return invalid();
  return v;
}

std::vector<std::string> installed_bsps(const fs::path& base) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    auto name = entry.path().filename().string();
    if (name.starts_with("L4T-") && fs::is_directory(entry.path() / "Linux_for_Tegra", ec)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<BspFields> bsp_fields(const SignRequest& request) {
  auto machine = request.required_field("machine", "Machine name missing");
  if (!machine) return std::unexpected(machine.error());
  auto soctype = request.required_field("soctype", "Invalid parameters: soctype missing");
  if (!soctype) return std::unexpected(soctype.error());
  auto bspversion = request.required_field("bspversion", "Invalid parameters: bspversion missing");
  if (!bspversion) return std::unexpected(bspversion.error());
  return BspFields{std::move(*machine), std::move(*soctype), std::move(*bspversion)};
}

Readiness bsp_script_readiness(const fs::path& base, std::string_view script) {
  Readiness r;
  std::error_code ec;
  for (const auto& name : installed_bsps(base)) {
    if (fs::exists(base / name / "Linux_for_Tegra" / script, ec)) r.found.push_back(name);
  }
  if (r.found.empty()) {
    r.ready = false;
    r.missing.push_back(
        fmt::format("no L4T BSP with Linux_for_Tegra/{} under DIGSIGSERVER_L4T_TOOLS_BASE", script));
  }
  return r;
}

Result<Bsp> find_bsp(const fs::path& base, std::string_view soctype, std::string_view bspversion,
                     std::span<const std::string_view> soctypes) {
  if (std::find(soctypes.begin(), soctypes.end(), soctype) == soctypes.end()) {
    return fail(ErrorKind::bad_request,
                fmt::format("Invalid parameters: soctype {} is not one of {}", quote(soctype),
                            fmt::join(soctypes, ", ")));
  }
  auto version = parse_bsp_version(bspversion);
  if (!version) return std::unexpected(version.error());
  std::string dir = soctype == "tegra194" ? "tegra186" : std::string(soctype);
  auto name = fmt::format("L4T-{}-{}", version->text, dir);
  auto root = base / name / "Linux_for_Tegra";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    auto installed = installed_bsps(base);
    return fail(ErrorKind::bad_request,
                fmt::format("L4T BSP {} for {} is not installed on this server (no {}); installed: {}",
                            version->text, soctype, name,
                            installed.empty() ? "none" : fmt::format("{}", fmt::join(installed, ", "))));
  }
  return Bsp{.root = root, .soctype = std::string(soctype), .version = *version};
}

}  // namespace digsig::signers
