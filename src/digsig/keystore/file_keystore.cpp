#include "digsig/keystore/file_keystore.hpp"

#include <fstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace digsig::keystore {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_max_key_size = 16 * 1024 * 1024;  // key tarballs (i.MX) included

class FileKeyStore : public KeyStore {
 public:
  explicit FileKeyStore(fs::path root) : root_(std::move(root)) {}

  Result<void> check_selector(std::string_view selector, std::string_view signtype) override {
    std::error_code ec;
    if (!fs::is_directory(root_ / selector / signtype, ec)) {
      return fail(ErrorKind::not_found,
                  fmt::format("no {} keys are configured for '{}'", signtype, selector));
    }
    return {};
  }

  Result<KeyMaterial> load(const KeyRef& ref) override {
    auto path = root_ / ref.selector / ref.signtype / ref.keyname;
    // O_NOFOLLOW is not used: operators may link keys; names are validated.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return fail(ErrorKind::not_found, fmt::format("{} does not exist", keystore::describe(ref)));
      }
      return fail(ErrorKind::misconfigured, fmt::format("{} cannot be read", keystore::describe(ref)));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return fail(ErrorKind::misconfigured, fmt::format("{} is not a regular file", keystore::describe(ref)));
    }
    if (static_cast<std::size_t>(st.st_size) > k_max_key_size) {
      ::close(fd);
      return fail(ErrorKind::misconfigured, fmt::format("{} is too large", keystore::describe(ref)));
    }
    SecureBytes bytes;
    char buf[4096];
    for (;;) {
      auto n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return fail(ErrorKind::misconfigured, fmt::format("{} cannot be read", keystore::describe(ref)));
      }
      if (n == 0) break;
      bytes.append(buf, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buf, sizeof buf);
    ::close(fd);
    return KeyMaterial(ref, std::move(bytes));
  }

  std::string describe() const override { return "file://" + root_.string(); }

  std::optional<std::vector<std::string>> token_references(std::string_view signtype) const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& selector : fs::directory_iterator(root_, ec)) {
      auto dir = selector.path() / signtype;
      std::error_code dir_ec;
      if (!fs::is_directory(dir, dir_ec)) continue;
      for (const auto& file : fs::directory_iterator(dir, dir_ec)) {
        std::error_code file_ec;
        if (!file.is_regular_file(file_ec) || file.file_size(file_ec) > 4096) continue;
        std::ifstream in(file.path(), std::ios::binary);
        std::string head(1024, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        auto start = head.find_first_not_of(" \t\r\n");
        if (start == std::string::npos || head.compare(start, 7, "pkcs11:") != 0) continue;
        auto end = head.find_first_of("\r\n", start);
        out.push_back(head.substr(start, end == std::string::npos ? std::string::npos : end - start));
      }
    }
    return out;
  }

 private:
  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> create_file_keystore(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return fail(ErrorKind::misconfigured,
                "DIGSIGSERVER_KEYFILE_URI: a file:// URI needs an absolute path (file:///...)");
  }
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return fail(ErrorKind::misconfigured,
                fmt::format("DIGSIGSERVER_KEYFILE_URI: {} is not a directory", path));
  }
  return std::make_unique<FileKeyStore>(fs::path(path));
}

}  // namespace digsig::keystore
