#include "digsig/formats/optee_ta.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>

#include "digsig/crypto/sign.hpp"

namespace digsig::formats {

namespace {

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_le16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool parse_uuid(std::string_view text, Uuid& out) {
  if (text.size() != 36) return false;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[byte++] = static_cast<unsigned char>(hi * 16 + lo);
    i += 2;
  }
  return byte == 16;
}

bool parse_ta_version(std::string_view text, std::uint32_t& out) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

Result<std::string> make_bootstrap_ta(EVP_PKEY* key, std::string_view elf, const Uuid& uuid,
                                      std::uint32_t version, std::uint32_t algo) {
  constexpr std::uint16_t k_hash_size = 32;
  auto sig_size = static_cast<std::uint16_t>(EVP_PKEY_get_size(key));
  std::string shdr;
  put_le32(shdr, k_shdr_magic);
  put_le32(shdr, k_shdr_bootstrap_ta);
  put_le32(shdr, static_cast<std::uint32_t>(elf.size()));
  put_le32(shdr, algo);
  put_le16(shdr, k_hash_size);
  put_le16(shdr, sig_size);
  std::string bootstrap(reinterpret_cast<const char*>(uuid.data()), uuid.size());
  put_le32(bootstrap, version);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  crypto::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx.get(), shdr.data(), shdr.size());
  EVP_DigestUpdate(ctx.get(), bootstrap.data(), bootstrap.size());
  EVP_DigestUpdate(ctx.get(), elf.data(), elf.size());
  EVP_DigestFinal_ex(ctx.get(), digest, &len);

  crypto::SignParams params;
  params.digest = "SHA256";
  params.padding =
      algo == k_ta_alg_pss_sha256 ? crypto::Padding::pss_digest_salt : crypto::Padding::pkcs1;
  auto sig = crypto::sign_digest(key, digest, len, params);
  if (!sig) return std::unexpected(sig.error());
  if (sig->size() != sig_size) {
    return fail(ErrorKind::signing_failed, "the signature has an unexpected length");
  }
  std::string out;
  out.reserve(shdr.size() + len + sig->size() + bootstrap.size() + elf.size());
  out += shdr;
  out.append(reinterpret_cast<const char*>(digest), len);
  out.append(reinterpret_cast<const char*>(sig->data()), sig->size());
  out += bootstrap;
  out += elf;
  return out;
}

}  // namespace digsig::formats
