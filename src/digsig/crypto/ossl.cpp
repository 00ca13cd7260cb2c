#include "digsig/crypto/ossl.hpp"

#include <openssl/err.h>

namespace digsig::crypto {

std::string openssl_errors() {
  std::string out;
  char buf[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

BioPtr memory_bio(const void* data, std::size_t size) {
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

}  // namespace digsig::crypto
