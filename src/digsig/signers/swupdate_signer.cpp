#include "digsig/signers/swupdate_signer.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <optional>

#include "digsig/crypto/cms.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/pkcs11.hpp"
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
  explicit SwupdateSigner(const SignerContext& context)
      : keys_(context.keys), pin_(context.settings.pkcs11_pin) {
    info_ = SignerInfo{
        .name = "swupdate",
        .route = "/sign/swupdate",
        .signtype = "swupdate",
        .selector_field = "distro",
        .summary = "detached signature of an SWUpdate sw-description (RSA, RSA-PSS or CMS)",
        .fields = {"distro (required; with backend=pkcs11 only for CMS)", "sw-description (file, required)",
                   "method: RSA (default), RSAPSS or CMS",
                   "backend: ssl (default: keys from the key store) or pkcs11 (the key named by key-uri)",
                   "key-uri: a pkcs11: URI (backend=pkcs11); pin-value=password is replaced by the "
                   "configured PIN"},
        .keys = {"rsa-private.key (RSA, RSAPSS)", "cms.cert and cms-private.key (CMS)"},
        .tools = {},
        .token_keys = "the RSA and CMS keys, and CMS certificates (type=cert); backend=pkcs11 with a client key-uri",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto method = parse_method(request.field_or("method", "RSA"));
    if (!method) return std::unexpected(method.error());
    auto backend = request.field_or("backend", "ssl");
    if (backend != "ssl" && backend != "pkcs11") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: backend {} is not one of ssl, pkcs11", quote(backend)));
    }
    const bool token = backend == "pkcs11";
    std::string key_uri;
    if (token) {
      auto field = request.required_field("key-uri", "Key URI missing for PKCS#11 backend");
      if (!field) return std::unexpected(field.error());
      auto uri = crypto::client_pkcs11_uri(*field, pin_);
      if (!uri) return std::unexpected(uri.error());
      key_uri = std::move(*uri);
    }
    auto input = request.required_file("sw-description");
    if (!input) return std::unexpected(input.error());
    // The original needs no distro for an RSA signature with a key-uri.
    std::optional<SelectorKeys> keys;
    if (!token || *method == Method::cms) {
      auto distro = request.required_field("distro", "Distro name missing");
      if (!distro) return std::unexpected(distro.error());
      auto opened = SelectorKeys::open(keys_, info_, *distro);
      if (!opened) return std::unexpected(opened.error());
      keys = std::move(*opened);
    }

    auto out = job.path_for("sw-description.sig");
    if (!out) return std::unexpected(out.error());
    Result<Signature> signature = fail(ErrorKind::internal, "no signature");
    if (token) {
      signature = *method == Method::cms ? sign_cms_token(*keys, key_uri, (*input)->path)
                                         : sign_raw_token(key_uri, (*input)->path, *method);
    } else {
      signature = *method == Method::cms ? sign_cms(*keys, (*input)->path)
                                         : sign_raw(*keys, (*input)->path, *method);
    }
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
    return sign_with(key->get(), material->describe(), input, method, "rsa-private.key");
  }

  static Result<Signature> sign_raw_token(const std::string& uri, const std::filesystem::path& input,
                                          Method method) {
    auto named = crypto::without_pin(uri);
    auto key = crypto::load_pkcs11_key(uri, fmt::format("the key-uri key {}", named));
    if (!key) return std::unexpected(key.error());
    return sign_with(key->get(), named, input, method, "key-uri " + named);
  }

  static Result<Signature> sign_with(EVP_PKEY* key, const std::string& described,
                                     const std::filesystem::path& input, Method method, std::string used) {
    if (!crypto::is_rsa(key)) {
      return fail(ErrorKind::misconfigured, fmt::format("{} is not an RSA key", described));
    }
    crypto::SignParams params;
    params.padding = method == Method::rsapss ? crypto::Padding::pss_max_salt : crypto::Padding::pkcs1;
    auto sig = crypto::sign_file(key, input, params);
    if (!sig) return std::unexpected(sig.error());
    return Signature{std::move(*sig), {std::move(used)}};
  }

  static Result<Signature> sign_cms_token(const SelectorKeys& keys, const std::string& uri,
                                          const std::filesystem::path& input) {
    auto named = crypto::without_pin(uri);
    auto material = keys.load("cms.cert");
    if (!material) return std::unexpected(material.error());
    auto cert = crypto::load_certificate(*material);
    if (!cert) return std::unexpected(cert.error());
    auto key = crypto::load_pkcs11_key(uri, fmt::format("the key-uri key {}", named));
    if (!key) return std::unexpected(key.error());
    if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("{} is not the certificate of the key-uri key {}", material->describe(), named));
    }
    crypto::CmsOptions options;
    options.smime_capabilities = false;
    auto sig = crypto::cms_sign_file(cert->get(), key->get(), nullptr, input, options);
    if (!sig) return std::unexpected(sig.error());
    return Signature{std::move(*sig), {"cms.cert", "key-uri " + named}};
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
  std::string pin_;  // for pin-value=password in key-uri; never logged
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_swupdate_signer(const SignerContext& context) {
  return std::make_unique<SwupdateSigner>(context);
}

}  // namespace digsig::signers
