#include "digsig/keystore/keystore.hpp"

#include <fmt/format.h>

#include <array>

#include "digsig/keystore/file_keystore.hpp"
#include "digsig/keystore/s3_keystore.hpp"
#include "digsig/util/names.hpp"

namespace digsig::keystore {

namespace {

struct SchemeEntry {
  std::string_view scheme;  // with "://"
  Result<std::unique_ptr<KeyStore>> (*create)(std::string_view rest);
};

constexpr std::array k_schemes{
    SchemeEntry{"file://", &create_file_keystore},
    SchemeEntry{"s3://", &create_s3_keystore},
};

}  // namespace

Result<std::unique_ptr<KeyStore>> open(std::string_view uri) {
  for (const auto& entry : k_schemes) {
    if (uri.starts_with(entry.scheme)) return entry.create(uri.substr(entry.scheme.size()));
  }
  std::string known;
  for (const auto& entry : k_schemes) known += fmt::format(" {}", entry.scheme);
  return fail(ErrorKind::misconfigured,
              fmt::format("DIGSIGSERVER_KEYFILE_URI has an unsupported scheme; supported:{}", known));
}

std::vector<std::string> schemes() {
  std::vector<std::string> out;
  for (const auto& entry : k_schemes) out.emplace_back(entry.scheme.substr(0, entry.scheme.size() - 3));
  return out;
}

Result<void> validate(std::string_view selector_field, const KeyRef& ref) {
  if (auto ok = validate_name(selector_field, ref.selector); !ok) return ok;
  if (auto ok = validate_name("sign type", ref.signtype); !ok) return ok;
  if (ref.keyname.empty()) return {};
  return validate_name("key name", ref.keyname);
}

}  // namespace digsig::keystore
