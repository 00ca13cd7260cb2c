#include "support/test_support.hpp"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace digsig::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "digsig-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string run_command(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void FakeKeyStore::put(const std::string& selector, const std::string& signtype,
                       const std::string& keyname, std::string bytes) {
  keys_[selector + "/" + signtype + "/" + keyname] = std::move(bytes);
}

Result<void> FakeKeyStore::check_selector(std::string_view selector, std::string_view signtype) {
  auto prefix = fmt::format("{}/{}/", selector, signtype);
  for (const auto& [name, _] : keys_) {
    if (name.starts_with(prefix)) return {};
  }
  return fail(ErrorKind::not_found, fmt::format("no {} keys are configured for '{}'", signtype, selector));
}

Result<keystore::KeyMaterial> FakeKeyStore::load(const keystore::KeyRef& ref) {
  auto it = keys_.find(ref.selector + "/" + ref.signtype + "/" + ref.keyname);
  if (it == keys_.end()) {
    return fail(ErrorKind::not_found, fmt::format("{} does not exist", keystore::describe(ref)));
  }
  return keystore::KeyMaterial(ref, SecureBytes(it->second));
}

namespace {
std::string bio_string(BIO* bio) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  return std::string(p, static_cast<std::size_t>(n));
}
}  // namespace

TestKey make_key(const char* type, unsigned bits) {
  TestKey out;
  if (std::string_view(type) == "RSA") {
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  } else {
    out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  }
  if (!out.key) throw std::runtime_error("key generation failed");
  crypto::BioPtr priv(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(priv.get(), out.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.private_pem = bio_string(priv.get());
  crypto::BioPtr pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pub.get(), out.key.get());
  out.public_pem = bio_string(pub.get());
  return out;
}

std::string self_signed_cert_pem(EVP_PKEY* key, const char* cn) {
  crypto::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key, EVP_sha256());
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  return bio_string(bio.get());
}

}  // namespace digsig::test

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace digsig::test {

void write_tar_gz(const fs::path& path, const std::vector<TarEntry>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    throw std::runtime_error("cannot write test tarball");
  }
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_perm(entry, e.mode);
    switch (e.type) {
      case TarEntry::Type::file:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, e.declared_size >= 0 ? e.declared_size
                                                           : static_cast<la_int64_t>(e.content.size()));
        break;
      case TarEntry::Type::dir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case TarEntry::Type::symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.target.c_str());
        break;
      case TarEntry::Type::hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.target.c_str());
        break;
      case TarEntry::Type::chardev:
        archive_entry_set_filetype(entry, AE_IFCHR);
        archive_entry_set_rdev(entry, makedev(1, 3));
        break;
      case TarEntry::Type::fifo:
        archive_entry_set_filetype(entry, AE_IFIFO);
        break;
    }
    archive_write_header(a, entry);
    if (e.type == TarEntry::Type::file && !e.content.empty()) {
      archive_write_data(a, e.content.data(), e.content.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

}  // namespace digsig::test
