// A byte buffer for secrets: wiped with OPENSSL_cleanse when it goes away,
// never copied implicitly.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace digsig {

class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::string_view data) : bytes_(data.begin(), data.end()) {}
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  SecureBytes(SecureBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  SecureBytes& operator=(SecureBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      bytes_ = std::move(other.bytes_);
    }
    return *this;
  }
  ~SecureBytes() { wipe(); }

  void append(const void* data, std::size_t n) {
    // Grow by hand so that no reallocation leaves an unwiped copy behind.
    if (bytes_.size() + n > bytes_.capacity()) {
      std::vector<char> bigger;
      bigger.reserve((bytes_.size() + n) * 2);
      bigger.assign(bytes_.begin(), bytes_.end());
      wipe();
      bytes_ = std::move(bigger);
    }
    auto p = static_cast<const char*>(data);
    bytes_.insert(bytes_.end(), p, p + n);
  }

  [[nodiscard]] const char* data() const { return bytes_.data(); }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] bool empty() const { return bytes_.empty(); }
  [[nodiscard]] std::string_view view() const { return {bytes_.data(), bytes_.size()}; }

 private:
  void wipe() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.capacity());
    bytes_.clear();
  }
  std::vector<char> bytes_;
};

}  // namespace digsig
