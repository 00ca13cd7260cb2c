#include "digsig/crypto/sign.hpp"

#include "digsig/crypto/pkcs11.hpp"

#include <fmt/format.h>
#include <openssl/rsa.h>

#include <fstream>

namespace digsig::crypto {

namespace {

Result<MdCtxPtr> start(EVP_PKEY* key, const SignParams& params) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), &pctx, params.digest, nullptr, nullptr, key,
                                    nullptr) != 1) {
    return std::unexpected(signing_error(
        key, fmt::format("cannot start a {} signature: {}", params.digest, openssl_errors())));
  }
  if (is_rsa(key) && params.padding != Padding::pkcs1) {
    int salt = params.padding == Padding::pss_max_salt ? RSA_PSS_SALTLEN_MAX : RSA_PSS_SALTLEN_DIGEST;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1) {
      return fail(ErrorKind::signing_failed,
                  fmt::format("cannot set RSA-PSS padding: {}", openssl_errors()));
    }
  }
  return ctx;
}

Result<std::vector<unsigned char>> finish(EVP_MD_CTX* ctx, const EVP_PKEY* key) {
  std::size_t len = 0;
  if (EVP_DigestSignFinal(ctx, nullptr, &len) != 1) {
    return std::unexpected(signing_error(key, fmt::format("signing failed: {}", openssl_errors())));
  }
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSignFinal(ctx, sig.data(), &len) != 1) {
    return std::unexpected(signing_error(key, fmt::format("signing failed: {}", openssl_errors())));
  }
  sig.resize(len);
  return sig;
}

}  // namespace

bool is_rsa(const EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1 || EVP_PKEY_is_a(key, "RSA-PSS") == 1;
}

Result<std::vector<unsigned char>> sign_file(EVP_PKEY* key, const std::filesystem::path& file,
                                             const SignParams& params) {
  TokenOperation token(key);
  auto ctx = start(key, params);
  if (!ctx) return std::unexpected(ctx.error());
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorKind::internal, "cannot read the uploaded file");
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0 && EVP_DigestSignUpdate(ctx->get(), buf.data(), n) != 1) {
      return fail(ErrorKind::signing_failed, fmt::format("signing failed: {}", openssl_errors()));
    }
  }
  if (in.bad()) return fail(ErrorKind::internal, "error while reading the uploaded file");
  return finish(ctx->get(), key);
}

Result<std::vector<unsigned char>> sign_buffer(EVP_PKEY* key, const void* data, std::size_t size,
                                               const SignParams& params) {
  TokenOperation token(key);
  auto ctx = start(key, params);
  if (!ctx) return std::unexpected(ctx.error());
  if (EVP_DigestSignUpdate(ctx->get(), data, size) != 1) {
    return fail(ErrorKind::signing_failed, fmt::format("signing failed: {}", openssl_errors()));
  }
  return finish(ctx->get(), key);
}

Result<std::vector<unsigned char>> sign_digest(EVP_PKEY* key, const unsigned char* digest,
                                               std::size_t size, const SignParams& params) {
  TokenOperation token(key);
  PKeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  EVP_MD* md = EVP_MD_fetch(nullptr, params.digest, nullptr);
  bool ok = ctx && md != nullptr && EVP_PKEY_sign_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1;
  EVP_MD_free(md);
  if (ok && is_rsa(key) && params.padding != Padding::pkcs1) {
    int salt = params.padding == Padding::pss_max_salt ? RSA_PSS_SALTLEN_MAX : RSA_PSS_SALTLEN_DIGEST;
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt) == 1;
  } else if (ok && is_rsa(key)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1;
  }
  std::size_t len = 0;
  if (!ok || EVP_PKEY_sign(ctx.get(), nullptr, &len, digest, size) != 1) {
    return std::unexpected(signing_error(key, fmt::format("signing failed: {}", openssl_errors())));
  }
  std::vector<unsigned char> sig(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest, size) != 1) {
    return std::unexpected(signing_error(key, fmt::format("signing failed: {}", openssl_errors())));
  }
  sig.resize(len);
  return sig;
}

}  // namespace digsig::crypto
