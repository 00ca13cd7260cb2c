#include "digsig/util/names.hpp"

#include <fmt/format.h>

namespace digsig {

namespace {
constexpr std::size_t k_max_name = 128;

bool allowed_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '/' && c != '\\';
}
}  // namespace

std::string quote(std::string_view value) {
  std::string out = "'";
  std::size_t n = 0;
  for (char c : value) {
    if (++n > 64) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

Result<void> validate_name(std::string_view what, std::string_view value) {
  if (value.empty()) return fail(ErrorKind::bad_request, fmt::format("{} is empty", what));
  if (value.size() > k_max_name) {
    return fail(ErrorKind::bad_request,
                fmt::format("{} is longer than {} characters", what, k_max_name));
  }
  if (value.front() == '.') {
    return fail(ErrorKind::bad_request,
                fmt::format("{} {} must not start with '.'", what, quote(value)));
  }
  for (char c : value) {
    if (!allowed_char(c)) {
      return fail(ErrorKind::bad_request,
                  fmt::format("{} {} may not contain '/', '\\', spaces or control characters",
                              what, quote(value)));
    }
  }
  return {};
}

Result<std::string> safe_basename(std::string_view what, std::string_view value) {
  auto slash = value.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? value : value.substr(slash + 1);
  if (auto ok = validate_name(what, base); !ok) return std::unexpected(ok.error());
  return std::string(base);
}

}  // namespace digsig
