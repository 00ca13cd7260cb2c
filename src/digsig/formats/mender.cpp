#include "digsig/formats/mender.hpp"

#include <fmt/format.h>
#include <openssl/ec.h>

#include <nlohmann/json.hpp>

#include "digsig/crypto/sign.hpp"

namespace digsig::formats {

Result<std::map<std::string, std::string, std::less<>>> parse_mender_manifest(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto sep = line.find("  ");
    bool ok = sep == 64 && line.size() > 66;
    for (std::size_t i = 0; ok && i < 64; ++i) ok = std::isxdigit(static_cast<unsigned char>(line[i])) != 0;
    if (!ok) {
      return fail(ErrorKind::bad_request,
                  "Invalid artifact: the manifest has a line that is not '<sha256>  <name>'");
    }
    out.emplace(std::string(line.substr(66)), std::string(line.substr(0, 64)));
  }
  return out;
}

Result<int> parse_mender_version(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("format", "") != "mender" ||
      !doc.contains("version") || !doc["version"].is_number_integer()) {
    return fail(ErrorKind::bad_request,
                "Invalid artifact: the 'version' member is not a Mender format description");
  }
  return doc["version"].get<int>();
}

Result<void> check_mender_key(EVP_PKEY* key, std::string_view key_description) {
  if (crypto::is_rsa(key)) return {};
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    char curve[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len) == 1 &&
        std::string_view(curve) == "prime256v1") {
      return {};
    }
  }
  return fail(ErrorKind::bad_request,
              fmt::format("{} is neither an RSA key nor an ECDSA P-256 key, the types Mender "
                          "artifacts are signed with",
                          key_description));
}

Result<std::string> mender_manifest_signature(EVP_PKEY* key, std::string_view manifest) {
  auto sig = crypto::sign_buffer(key, manifest.data(), manifest.size(), {});
  if (!sig) return std::unexpected(sig.error());
  std::vector<unsigned char> raw = std::move(*sig);
  if (!crypto::is_rsa(key)) {
    // DER ECDSA-Sig-Value → r||s, each left-padded to 32 bytes.
    const unsigned char* p = raw.data();
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(raw.size()));
    if (ecdsa == nullptr) return fail(ErrorKind::signing_failed, "cannot decode the ECDSA signature");
    std::vector<unsigned char> rs(64);
    bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), rs.data(), 32) == 32 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), rs.data() + 32, 32) == 32;
    ECDSA_SIG_free(ecdsa);
    if (!ok) return fail(ErrorKind::signing_failed, "cannot encode the ECDSA signature");
    raw = std::move(rs);
  }
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), raw.data(),
                          static_cast<int>(raw.size()));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

}  // namespace digsig::formats
