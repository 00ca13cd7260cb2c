#include "digsig/formats/module_signature.hpp"

#include <array>
#include <cstdint>

namespace digsig::formats {

namespace {

constexpr std::size_t k_trailer_size = 12;
constexpr unsigned char k_id_pkcs7 = 2;

}  // namespace

bool split_module_signature(std::string_view module, std::string_view& content,
                            std::string_view& pkcs7) {
  if (module.size() < k_trailer_size + k_module_sig_magic.size() ||
      !module.ends_with(k_module_sig_magic)) {
    return false;
  }
  auto trailer = module.substr(module.size() - k_module_sig_magic.size() - k_trailer_size,
                               k_trailer_size);
  if (static_cast<unsigned char>(trailer[2]) != k_id_pkcs7) return false;
  std::uint32_t sig_len = 0;
  for (int i = 8; i < 12; ++i) sig_len = (sig_len << 8) | static_cast<unsigned char>(trailer[i]);
  std::size_t fixed = k_trailer_size + k_module_sig_magic.size();
  if (sig_len == 0 || sig_len > module.size() - fixed) return false;
  content = module.substr(0, module.size() - fixed - sig_len);
  pkcs7 = module.substr(content.size(), sig_len);
  return true;
}

std::size_t unsigned_module_length(std::string_view module) {
  std::string_view content;
  std::string_view pkcs7;
  while (split_module_signature(module, content, pkcs7)) module = content;
  return module.size();
}

void append_module_signature(std::string& module, std::span<const unsigned char> pkcs7_der) {
  module.append(reinterpret_cast<const char*>(pkcs7_der.data()), pkcs7_der.size());
  auto len = static_cast<std::uint32_t>(pkcs7_der.size());
  std::array<char, k_trailer_size> trailer{
      0, 0, static_cast<char>(k_id_pkcs7), 0, 0, 0, 0, 0,
      static_cast<char>(len >> 24), static_cast<char>(len >> 16),
      static_cast<char>(len >> 8), static_cast<char>(len)};
  module.append(trailer.data(), trailer.size());
  module.append(k_module_sig_magic);
}

}  // namespace digsig::formats
