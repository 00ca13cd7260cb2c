#include "digsig/signers/mender_signer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "digsig/archive/reader.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/formats/mender.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

constexpr std::size_t k_max_small_member = 1 << 20;  // version, manifest

Error invalid(std::string_view what) {
  return Error{ErrorKind::bad_request, fmt::format("Invalid artifact: {}", what)};
}

// A file next to the artifact that is removed unless it is committed
// (renamed over the artifact): a failure leaves no partial file behind.
class TempFile {
 public:
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Result<int> create(const fs::path& next_to) {
    std::string pattern = (next_to.parent_path() / ("." + next_to.filename().string() +
                                                    ".digsig-XXXXXX")).string();
    fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd_ < 0) {
      return fail(ErrorKind::internal,
                  "cannot create the signed artifact next to the original (is its directory writable?)");
    }
    path_ = pattern;
    return fd_;
  }
  Result<void> commit(const fs::path& target, mode_t mode) {
    if (::fchmod(fd_, mode & 07777) != 0 || ::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
    }
    fd_ = -1;
    if (::rename(path_.c_str(), target.c_str()) != 0) {
      return fail(ErrorKind::internal, "cannot replace the artifact with the signed one");
    }
    path_.clear();
    return {};
  }

 private:
  int fd_ = -1;
  fs::path path_;
};

class MenderSigner : public Signer {
 public:
  explicit MenderSigner(const SignerContext& context)
      : keys_(context.keys), allowed_dirs_(context.settings.artifact_dirs) {
    info_ = SignerInfo{
        .name = "mender",
        .route = "/sign/mender",
        .signtype = "mender",
        .selector_field = "distro",
        .summary = "Mender artifacts (format 3), signed in place at a file:// URI",
        .fields = {"distro (required)",
                   "artifact-uri (required): file:// under DIGSIGSERVER_ARTIFACT_DIRS"},
        .keys = {"private.key (RSA or ECDSA P-256)"},
        .tools = {},
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    if (allowed_dirs_.empty()) {
      r.ready = false;
      r.missing.push_back("DIGSIGSERVER_ARTIFACT_DIRS is not set: file:// artifact URIs are refused");
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto distro = request.required_field("distro", "Distro name missing");
    if (!distro) return std::unexpected(distro.error());
    auto uri = request.required_field("artifact-uri", "Invalid parameters");
    if (!uri) return std::unexpected(uri.error());
    auto path = resolve(*uri);
    if (!path) return std::unexpected(path.error());
    auto keys = SelectorKeys::open(keys_, info_, *distro);
    if (!keys) return std::unexpected(keys.error());
    auto material = keys->load("private.key");
    if (!material) return std::unexpected(material.error());
    auto key = crypto::load_private_key(*material);
    if (!key) return std::unexpected(key.error());
    if (auto ok = formats::check_mender_key(key->get(), material->describe()); !ok) {
      return std::unexpected(ok.error());
    }

    struct stat st {};
    if (::stat(path->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(ErrorKind::not_found, fmt::format("no artifact at {}", *uri));
    }
    TempFile out;
    auto fd = out.create(*path);
    if (!fd) return std::unexpected(fd.error());
    if (auto ok = rewrite(*path, *fd, key->get(), job.deadline()); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = out.commit(*path, st.st_mode); !ok) return std::unexpected(ok.error());
    log::info("signed Mender artifact {}", *uri);
    auto result = SignResult::of_text(fmt::format("Signed {}\n", *uri));
    result.keys_used = {"private.key"};
    return result;
  }

 private:
  // file:// URI → canonical path under one of DIGSIGSERVER_ARTIFACT_DIRS.
  Result<fs::path> resolve(std::string_view uri) const {
    if (uri.starts_with("s3://")) {
      return fail(ErrorKind::bad_request,
                  "s3:// artifact URIs are not supported by this server yet; use file://");
    }
    if (!uri.starts_with("file:///")) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: artifact-uri {} is not a file:// URI with an "
                              "absolute path",
                              quote(uri)));
    }
    if (allowed_dirs_.empty()) {
      return fail(ErrorKind::forbidden,
                  "file:// artifact URIs are refused: the server's DIGSIGSERVER_ARTIFACT_DIRS is "
                  "not set");
    }
    fs::path raw(std::string(uri.substr(7)));
    std::error_code ec;
    auto real = fs::canonical(raw, ec);
    if (ec) return fail(ErrorKind::not_found, fmt::format("no artifact at {}", uri));
    for (const auto& dir : allowed_dirs_) {
      auto allowed = fs::canonical(dir, ec);
      if (ec) continue;
      auto rel = real.lexically_relative(allowed);
      if (!rel.empty() && *rel.begin() != ".." && rel != ".") return real;
    }
    return fail(ErrorKind::forbidden,
                fmt::format("{} is not under a directory listed in DIGSIGSERVER_ARTIFACT_DIRS", uri));
  }

  static Result<std::string> read_small(struct archive* in, archive_entry* entry,
                                        std::string_view name) {
    auto size = archive_entry_size(entry);
    if (size < 0 || static_cast<std::size_t>(size) > k_max_small_member) {
      return std::unexpected(invalid(fmt::format("the '{}' member is too large", name)));
    }
    std::string data(static_cast<std::size_t>(size), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
      auto n = archive_read_data(in, data.data() + done, data.size() - done);
      if (n <= 0) return std::unexpected(archive::corrupt_archive());
      done += static_cast<std::size_t>(n);
    }
    return data;
  }

  // One pass over the artifact: checks its structure and the checksums the
  // manifest gives for 'version' and the header, writes every member
  // unchanged in order, with a new manifest.sig right after the manifest.
  static Result<void> rewrite(const fs::path& in_path, int out_fd, EVP_PKEY* key,
                              jobs::Deadline deadline) {
    auto in = archive::open_reader(in_path);
    if (!in) return std::unexpected(invalid("not a Mender artifact (not a tar archive)"));
    WritePtr out(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_per_block(out.get(), 1 << 20);  // large writes, few system calls
    archive_write_set_bytes_in_last_block(out.get(), 1);
    if (archive_write_open_fd(out.get(), out_fd) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the signed artifact");
    }
    auto write_member = [&](archive_entry* entry, std::string_view data) -> Result<void> {
      if (archive_write_header(out.get(), entry) != ARCHIVE_OK ||
          (!data.empty() && archive_write_data(out.get(), data.data(), data.size()) !=
                                static_cast<la_ssize_t>(data.size()))) {
        return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
      }
      return {};
    };

    std::string version_sha;
    std::map<std::string, std::string, std::less<>> manifest;
    std::size_t index = 0;
    bool header_checked = false;
    for (;; ++index) {
      if (jobs::Clock::now() >= deadline) {
        return fail(ErrorKind::timeout, "signing did not finish within DIGSIGSERVER_RESPONSE_TIMEOUT");
      }
      auto next = archive::next_header(in->get(), index);
      if (!next) {
        return std::unexpected(index == 0 ? invalid("not a Mender artifact (not a tar archive)")
                                          : next.error());
      }
      archive_entry* entry = *next;
      if (entry == nullptr) break;
      std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
      if (index == 0 && name != "version") {
        return std::unexpected(invalid("not a Mender artifact: its first member is not 'version'"));
      }
      if (index == 1 && name != "manifest") {
        return std::unexpected(invalid(
            "the second member is not 'manifest' (only Mender artifact format version 3 is supported)"));
      }
      if (name == "version" || name == "manifest") {
        auto data = read_small(in->get(), entry, name);
        if (!data) return std::unexpected(data.error());
        if (name == "version") {
          auto v = formats::parse_mender_version(*data);
          if (!v) return std::unexpected(v.error());
          if (*v != 3) {
            return std::unexpected(invalid(fmt::format(
                "Mender artifact format version {} is not supported; only version 3 is", *v)));
          }
          version_sha = sha256_hex(*data);
        } else {
          auto parsed = formats::parse_mender_manifest(*data);
          if (!parsed) return std::unexpected(parsed.error());
          manifest = std::move(*parsed);
          auto listed = manifest.find("version");
          if (listed == manifest.end() || listed->second != version_sha) {
            return std::unexpected(invalid("the checksum of 'version' does not match the manifest"));
          }
        }
        if (auto ok = write_member(entry, *data); !ok) return ok;
        if (name == "manifest") {
          auto sig = formats::mender_manifest_signature(key, *data);
          if (!sig) return std::unexpected(sig.error());
          EntryPtr sig_entry(archive_entry_new(), archive_entry_free);
          archive_entry_set_pathname(sig_entry.get(), "manifest.sig");
          archive_entry_set_filetype(sig_entry.get(), AE_IFREG);
          archive_entry_set_perm(sig_entry.get(), 0644);
          archive_entry_set_size(sig_entry.get(), static_cast<la_int64_t>(sig->size()));
          if (auto ok = write_member(sig_entry.get(), *sig); !ok) return ok;
        }
        continue;
      }
      if (name == "manifest.sig") continue;  // replaced by ours
      if (archive_entry_filetype(entry) != AE_IFREG) {
        return std::unexpected(invalid(fmt::format("member {} is not a regular file", quote(name))));
      }
      // Everything else is copied as it is; the header's checksum is checked
      // on the way (the payloads inside data/ are the device's to check).
      bool is_header = name.starts_with("header.tar");
      crypto::MdCtxPtr sha(EVP_MD_CTX_new());
      EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
      if (archive_write_header(out.get(), entry) != ARCHIVE_OK) {
        return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
      }
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        int r = archive_read_data_block(in->get(), &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return std::unexpected(archive::corrupt_archive());
        if (is_header) EVP_DigestUpdate(sha.get(), buf, size);
        if (archive_write_data(out.get(), buf, size) != static_cast<la_ssize_t>(size)) {
          return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
        }
      }
      if (is_header) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(sha.get(), digest, &len);
        auto listed = manifest.find(name);
        if (listed == manifest.end() || listed->second != to_hex(digest, len)) {
          return std::unexpected(
              invalid(fmt::format("the checksum of {} does not match the manifest", quote(name))));
        }
        header_checked = true;
      }
    }
    if (index < 2) return std::unexpected(invalid("the artifact has no manifest"));
    if (!header_checked) return std::unexpected(invalid("the artifact has no header"));
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
    }
    return {};
  }

  static std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    return to_hex(digest, len);
  }

  keystore::KeyStore& keys_;
  std::vector<std::string> allowed_dirs_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_mender_signer(const SignerContext& context) {
  return std::make_unique<MenderSigner>(context);
}

}  // namespace digsig::signers
