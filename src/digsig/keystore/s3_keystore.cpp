#include "digsig/keystore/s3_keystore.hpp"

#include <fmt/format.h>

#include "digsig/remote/s3.hpp"

namespace digsig::keystore {

namespace {

constexpr std::size_t k_max_key_size = 16 * 1024 * 1024;

class S3KeyStore : public KeyStore {
 public:
  S3KeyStore(std::string bucket, std::string prefix, remote::S3Config config)
      : bucket_(std::move(bucket)), prefix_(std::move(prefix)), client_(std::move(config)) {}

  Result<void> check_selector(std::string_view selector, std::string_view signtype) override {
    auto exists = client_.prefix_exists(bucket_, fmt::format("{}{}/{}/", prefix_, selector, signtype));
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) {
      return fail(ErrorKind::not_found,
                  fmt::format("no {} keys are configured for '{}'", signtype, selector));
    }
    return {};
  }

  Result<KeyMaterial> load(const KeyRef& ref) override {
    remote::S3Object object{bucket_, fmt::format("{}{}/{}/{}", prefix_, ref.selector, ref.signtype,
                                                 ref.keyname)};
    auto bytes = client_.get(object, k_max_key_size);
    if (!bytes) {
      if (bytes.error().kind == ErrorKind::not_found) {
        return fail(ErrorKind::not_found, fmt::format("{} does not exist", keystore::describe(ref)));
      }
      // Name the key, not the bucket layout, to the client; the kind says why.
      return fail(bytes.error().kind,
                  fmt::format("{} could not be read from the key store: {}", keystore::describe(ref),
                              bytes.error().message));
    }
    return KeyMaterial(ref, std::move(*bytes));
  }

  std::string describe() const override {
    return fmt::format("s3://{}/{}", bucket_, prefix_);
  }

 private:
  std::string bucket_;
  std::string prefix_;  // "" or ending in '/'
  remote::S3Client client_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> create_s3_keystore(std::string_view rest) {
  auto slash = rest.find('/');
  std::string bucket(rest.substr(0, slash));
  std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty()) prefix += '/';
  if (bucket.empty()) {
    return fail(ErrorKind::misconfigured,
                "DIGSIGSERVER_KEYFILE_URI: an s3:// URI needs a bucket (s3://bucket/prefix)");
  }
  auto config = remote::s3_config_from_environment();
  if (config.access_key.empty() || config.secret_key.empty()) {
    return fail(ErrorKind::misconfigured,
                "DIGSIGSERVER_KEYFILE_URI is s3:// but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
                "are not set");
  }
  return std::make_unique<S3KeyStore>(std::move(bucket), std::move(prefix), std::move(config));
}

}  // namespace digsig::keystore
