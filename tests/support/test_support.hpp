// Shared helpers for unit tests: a private temporary directory per test, a
// fake key store, and freshly generated keys.
#pragma once

#include <filesystem>
#include <map>
#include <cstdint>
#include <string>
#include <vector>

#include "digsig/crypto/ossl.hpp"
#include "digsig/keystore/keystore.hpp"

namespace digsig::test {

// A temporary directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view content);

// Runs a shell command and returns what it printed on stdout.
[[nodiscard]] std::string run_command(const std::string& command);
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

// An in-memory key store: keys by "selector/signtype/keyname".
class FakeKeyStore : public keystore::KeyStore {
 public:
  void put(const std::string& selector, const std::string& signtype, const std::string& keyname,
           std::string bytes);
  Result<void> check_selector(std::string_view selector, std::string_view signtype) override;
  Result<keystore::KeyMaterial> load(const keystore::KeyRef& ref) override;
  [[nodiscard]] std::string describe() const override { return "fake://"; }

 private:
  std::map<std::string, std::string> keys_;
};

// A new key ("RSA" with bits, or "EC" P-256) and its PEM forms.
struct TestKey {
  crypto::PKeyPtr key;
  std::string private_pem;  // PKCS#8
  std::string public_pem;
};
[[nodiscard]] TestKey make_key(const char* type = "RSA", unsigned bits = 2048);

// A self-signed certificate for `key`, PEM.
[[nodiscard]] std::string self_signed_cert_pem(EVP_PKEY* key, const char* cn);

}  // namespace digsig::test

namespace digsig::test {

// One member of a tarball written by write_tar_gz.
struct TarEntry {
  enum class Type { file, dir, symlink, hardlink, chardev, fifo };
  std::string name;
  Type type = Type::file;
  std::string content;  // file content
  std::string target;   // link target
  unsigned mode = 0644;
  std::int64_t declared_size = -1;  // -1: content.size()
};

// Writes a gzip-compressed tar with exactly these members, in this order
// (no checks: tests use it to craft hostile archives).
void write_tar_gz(const std::filesystem::path& path, const std::vector<TarEntry>& entries);

}  // namespace digsig::test
