#include "digsig/signers/swupdate_signer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "digsig/crypto/cms.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/sign.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

enum class Method { rsa, rsapss, cms };

Result<Method> parse_method(std::string_view value) {
  std::string upper(value);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper.empty() || upper == "RSA") return Method::rsa;
  if (upper == "RSAPSS" || upper == "RSA-PSS") return Method::rsapss;
  if (upper == "CMS") return Method::cms;
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid parameters: unknown method {}; use RSA, RSAPSS or CMS",
                          quote(value)));
}

class SwupdateSigner : public Signer {
 public:
  explicit SwupdateSigner(const SignerContext& context) : keys_(context.keys) {
    info_ = SignerInfo{
        .name = "swupdate",
        .route = "/sign/swupdate",
        .signtype = "swupdate",
        .selector_field = "distro",
        .summary = "detached signature of an SWUpdate sw-description (RSA, RSA-PSS or CMS)",
        .fields = {"distro (required)", "sw-description (file, required)",
                   "method: RSA (default), RSAPSS or CMS", "backend: ssl (default)"},
        .keys = {"rsa-private.key (RSA, RSAPSS)", "cms.cert and cms-private.key (CMS)"},
        .tools = {},
    };
  }

  const SignerInfo& info() const override { return info_; }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto distro = request.required_field("distro", "Distro name missing");
    if (!distro) return std::unexpected(distro.error());
    auto method = parse_method(request.field_or("method", "RSA"));
    if (!method) return std::unexpected(method.error());
    auto backend = request.field_or("backend", "ssl");
    if (backend != "ssl") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: backend {} is not supported; use ssl",
                              quote(backend)));
    }
    auto input = request.required_file("sw-description");
    if (!input) return std::unexpected(input.error());
    auto keys = SelectorKeys::open(keys_, info_, *distro);
    if (!keys) return std::unexpected(keys.error());

    auto out = job.path_for("sw-description.sig");
    if (!out) return std::unexpected(out.error());
    auto signature = *method == Method::cms ? sign_cms(*keys, (*input)->path)
                                            : sign_raw(*keys, (*input)->path, *method);
    if (!signature) return std::unexpected(signature.error());
    std::string_view bytes(reinterpret_cast<const char*>(signature->bytes.data()),
                           signature->bytes.size());
    if (auto ok = write_file(*out, bytes, "the signature"); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(*out, "sw-description.sig");
    result.keys_used = std::move(signature->keys_used);
    return result;
  }

 private:
  struct Signature {
    std::vector<unsigned char> bytes;
    std::vector<std::string> keys_used;
  };

  static Result<Signature> sign_raw(const SelectorKeys& keys, const std::filesystem::path& input,
                                    Method method) {
    auto material = keys.load("rsa-private.key");
    if (!material) return std::unexpected(material.error());
    auto key = crypto::load_private_key(*material);
    if (!key) return std::unexpected(key.error());
    if (!crypto::is_rsa(key->get())) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("{} is not an RSA key", material->describe()));
    }
    crypto::SignParams params;
    params.padding = method == Method::rsapss ? crypto::Padding::pss_max_salt : crypto::Padding::pkcs1;
    auto sig = crypto::sign_file(key->get(), input, params);
    if (!sig) return std::unexpected(sig.error());
    return Signature{std::move(*sig), {"rsa-private.key"}};
  }

  static Result<Signature> sign_cms(const SelectorKeys& keys, const std::filesystem::path& input) {
    auto pair = keys.load_key_and_certificate("cms-private.key", "cms.cert");
    if (!pair) return std::unexpected(pair.error());
    crypto::CmsOptions options;
    options.smime_capabilities = false;
    auto sig = crypto::cms_sign_file(pair->cert.get(), pair->key.get(), pair->chain.get(), input,
                                     options);
    if (!sig) return std::unexpected(sig.error());
    return Signature{std::move(*sig), {"cms.cert", "cms-private.key"}};
  }

  keystore::KeyStore& keys_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_swupdate_signer(const SignerContext& context) {
  return std::make_unique<SwupdateSigner>(context);
}

}  // namespace digsig::signers
