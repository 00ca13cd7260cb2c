#include "digsig/formats/tegra_manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "digsig/util/names.hpp"

namespace digsig::formats {

namespace {

// PATH, which the server sets itself, and names that make a shell, the dynamic loader or
// Python run something the client chose.
constexpr std::array<std::string_view, 10> k_refused_names{
    "PATH", "BASH_ENV", "ENV", "IFS", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH", "GCONV_PATH",
    "PROMPT_COMMAND"};
constexpr std::array<std::string_view, 4> k_refused_prefixes{"LD_", "PYTHON", "BASH_FUNC_", "OPENSSL_"};

bool is_shell_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto first = static_cast<unsigned char>(name.front());
  if (std::isalpha(first) == 0 && first != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || u == '_';
  });
}

// An absolute path or a ".." component lets a BSP script read (and sign,
// and return) files outside the job's working directory.
bool leaves_work_dir(std::string_view value) {
  if (value.starts_with('/')) return true;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find_first_of("/,:; \t", start);
    if (value.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start) == "..") return true;
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (start < value.size() && value[start] == '/') return true;  // "x,/abs" or "x /abs"
  }
  return false;
}

bool has_control_character(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

void set(Variables& vars, std::string name, std::string value) {
  auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == name; });
  if (it != vars.end()) {
    it->second = std::move(value);
  } else {
    vars.emplace_back(std::move(name), std::move(value));
  }
}

std::string refusal(std::string_view name) {
  if (!is_shell_name(name)) return fmt::format("{} is not a variable name", quote(name));
  return fmt::format("{} may not be set by a client", quote(name));
}

}  // namespace

bool allowed_manifest_name(std::string_view name) {
  if (!is_shell_name(name)) return false;
  if (std::find(k_refused_names.begin(), k_refused_names.end(), name) != k_refused_names.end()) {
    return false;
  }
  return std::none_of(k_refused_prefixes.begin(), k_refused_prefixes.end(),
                      [&](std::string_view p) { return name.starts_with(p); });
}

const std::string* TegraManifest::find(std::string_view name) const {
  for (const auto& [n, v] : variables) {
    if (n == name) return &v;
  }
  return nullptr;
}

Result<TegraManifest> parse_tegra_manifest(std::string_view text) {
  TegraManifest manifest;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    auto end = text.find('\n');
    auto line = trim_right(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid manifest: line {} is not NAME=value: {}", number, quote(line)));
    }
    auto name = line.substr(0, eq);
    auto value = line.substr(eq + 1);
    if (!allowed_manifest_name(name)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid manifest: line {}: {}", number, refusal(name)));
    }
    if (has_control_character(value)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid manifest: line {}: the value of {} has a control character",
                              number, name));
    }
    if (leaves_work_dir(value)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid manifest: line {}: the value of {} is a path outside the working "
                              "directory (absolute, or with ..)",
                              number, name));
    }
    set(manifest.variables, std::string(name), std::string(value));
  }
  return manifest;
}

Result<std::vector<Variables>> parse_bupgen_specs(std::string_view value) {
  std::vector<Variables> specs;
  std::size_t pos = 0;
  while (pos < value.size()) {
    auto start = value.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    auto end = value.find_first_of(" \t", start);
    auto spec = value.substr(start, end == std::string_view::npos ? value.size() - start : end - start);
    pos = end == std::string_view::npos ? value.size() : end;
    Variables settings;
    std::size_t s = 0;
    while (s <= spec.size()) {
      auto semi = spec.find(';', s);
      auto setting = spec.substr(s, semi == std::string_view::npos ? spec.size() - s : semi - s);
      s = semi == std::string_view::npos ? spec.size() + 1 : semi + 1;
      if (setting.empty()) continue;
      auto eq = setting.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid manifest: BUPGENSPECS setting {} is not name=value",
                                quote(setting)));
      }
      std::string name(setting.substr(0, eq));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (!allowed_manifest_name(name)) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid manifest: BUPGENSPECS: {}", refusal(name)));
      }
      if (leaves_work_dir(setting.substr(eq + 1))) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid manifest: BUPGENSPECS: the value of {} is a path outside the "
                                "working directory",
                                name));
      }
      set(settings, std::move(name), std::string(setting.substr(eq + 1)));
    }
    if (settings.empty()) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid manifest: BUPGENSPECS spec {} has no settings", quote(spec)));
    }
    specs.push_back(std::move(settings));
  }
  if (specs.empty()) {
    return fail(ErrorKind::bad_request, "Invalid manifest: BUPGENSPECS is empty");
  }
  return specs;
}

}  // namespace digsig::formats
