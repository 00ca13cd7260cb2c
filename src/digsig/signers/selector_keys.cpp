#include "digsig/signers/selector_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/pkcs11.hpp"

namespace digsig::signers {

Result<SelectorKeys> SelectorKeys::open(keystore::KeyStore& store, const SignerInfo& info,
                                        std::string_view selector) {
  keystore::KeyRef ref{std::string(selector), info.signtype, ""};
  if (auto ok = keystore::validate(info.selector_field, ref); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = store.check_selector(selector, info.signtype); !ok) {
    return std::unexpected(ok.error());
  }
  return SelectorKeys(store, info, std::string(selector));
}

Result<keystore::KeyMaterial> SelectorKeys::load(std::string_view keyname) const {
  keystore::KeyRef ref{selector_, info_->signtype, std::string(keyname)};
  if (auto ok = keystore::validate(info_->selector_field, ref); !ok) {
    return std::unexpected(ok.error());
  }
  return store_->load(ref);
}

Result<KeyAndCertificate> SelectorKeys::load_key_and_certificate(std::string_view key_name,
                                                                 std::string_view cert_name) const {
  auto cert_material = load(cert_name);
  if (!cert_material) return std::unexpected(cert_material.error());
  auto key_material = load(key_name);
  if (!key_material) return std::unexpected(key_material.error());
  auto key = crypto::load_private_key(*key_material);
  if (!key) return std::unexpected(key.error());
  auto cert = crypto::load_certificate(*cert_material);
  if (!cert) return std::unexpected(cert.error());
  auto chain = crypto::load_extra_certificates(*cert_material);
  if (!chain) return std::unexpected(chain.error());
  if (auto ok = crypto::check_key_matches(cert->get(), key->get(), *cert_material, *key_material);
      !ok) {
    return std::unexpected(ok.error());
  }
  return KeyAndCertificate{std::move(*key), std::move(*cert), std::move(*chain)};
}

Result<std::filesystem::path> SelectorKeys::write_for_tool(std::string_view keyname,
                                                           const jobs::Job& job,
                                                           std::string_view relative) const {
  auto material = load(keyname);
  if (!material) return std::unexpected(material.error());
  // A tool would get the URI as its key file and fail with a message of its
  // own about a malformed key.
  if (!crypto::pkcs11_reference(material->bytes().view()).empty()) {
    return fail(ErrorKind::misconfigured,
                fmt::format("{} is a pkcs11: reference, but the {} signer hands this key to its "
                            "tools as a file; keep it as a key file (docs/keys.md lists what can "
                            "use token keys)",
                            material->describe(), info_->name));
  }
  auto path = job.path_for(relative);
  if (!path) return std::unexpected(path.error());
  std::error_code ec;
  std::filesystem::create_directories(path->parent_path(), ec);
  ::chmod(path->parent_path().c_str(), 0700);
  int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(ErrorKind::internal, "cannot create a key file for a tool");
  const auto& bytes = material->bytes();
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return fail(ErrorKind::internal, "cannot write a key file for a tool");
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return *path;
}

}  // namespace digsig::signers
