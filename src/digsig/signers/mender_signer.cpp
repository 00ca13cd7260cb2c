#include "digsig/signers/mender_signer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <thread>

#include "digsig/archive/reader.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/formats/mender.hpp"
#include "digsig/remote/s3.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using ReadPtr = archive::ReadPtr;
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
    auto s3 = remote::s3_config_from_environment();
    if (!s3.access_key.empty() && !s3.secret_key.empty()) s3_.emplace(std::move(s3));
    info_ = SignerInfo{
        .name = "mender",
        .route = "/sign/mender",
        .signtype = "mender",
        .selector_field = "distro",
        .summary = "Mender artifacts (format 3), signed in place at a file:// or s3:// URI",
        .fields = {"distro (required)",
                   "artifact-uri (required): file:// under DIGSIGSERVER_ARTIFACT_DIRS, or s3://"},
        .keys = {"private.key (RSA or ECDSA P-256)"},
        .tools = {},
        .token_keys = "private.key",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    if (allowed_dirs_.empty()) {
      r.missing.push_back("DIGSIGSERVER_ARTIFACT_DIRS is not set: file:// artifact URIs are refused");
    }
    if (!s3_) {
      r.missing.push_back("AWS credentials are not set: s3:// artifact URIs are refused");
    } else {
      r.found.push_back("S3 credentials for s3:// artifact URIs");
    }
    r.ready = !allowed_dirs_.empty() || s3_.has_value();
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto distro = request.required_field("distro", "Distro name missing");
    if (!distro) return std::unexpected(distro.error());
    auto uri = request.required_field("artifact-uri", "Invalid parameters");
    if (!uri) return std::unexpected(uri.error());
    std::optional<remote::S3Object> s3_object;
    Result<fs::path> path = fs::path();
    if (uri->starts_with("s3://")) {
      auto parsed = remote::parse_s3_uri(*uri);
      if (!parsed) return std::unexpected(parsed.error());
      s3_object = std::move(*parsed);
    } else {
      path = resolve(*uri);
      if (!path) return std::unexpected(path.error());
    }
    auto keys = SelectorKeys::open(keys_, info_, *distro);
    if (!keys) return std::unexpected(keys.error());
    auto material = keys->load("private.key");
    if (!material) return std::unexpected(material.error());
    auto key = crypto::load_private_key(*material);
    if (!key) return std::unexpected(key.error());
    if (auto ok = formats::check_mender_key(key->get(), material->describe()); !ok) {
      return std::unexpected(ok.error());
    }

    if (s3_object) {
      if (auto ok = rewrite_s3(*s3_object, key->get(), job.deadline()); !ok) {
        return std::unexpected(ok.error());
      }
    } else if (auto ok = sign_file(*path, *uri, key->get(), job.deadline()); !ok) {
      return std::unexpected(ok.error());
    }
    log::info("signed Mender artifact {}", *uri);
    auto result = SignResult::of_text(fmt::format("Signed {}\n", *uri));
    result.keys_used = {"private.key"};
    return result;
  }

 private:
  static Result<void> sign_file(const fs::path& path, std::string_view uri, EVP_PKEY* key,
                                jobs::Deadline deadline) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(ErrorKind::not_found, fmt::format("no artifact at {}", uri));
    }
    TempFile out;
    auto fd = out.create(path);
    if (!fd) return std::unexpected(fd.error());
    if (auto ok = rewrite(path, *fd, key, deadline); !ok) return ok;
    return out.commit(path, st.st_mode);
  }

  // file:// URI → canonical path under one of DIGSIGSERVER_ARTIFACT_DIRS.
  Result<fs::path> resolve(std::string_view uri) const {
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

  static WritePtr new_writer() {
    WritePtr out(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(out.get());
    archive_write_set_bytes_per_block(out.get(), 1 << 20);  // large writes, few system calls
    archive_write_set_bytes_in_last_block(out.get(), 1);
    return out;
  }

  // file://: read the file, write the temporary file beside it.
  static Result<void> rewrite(const fs::path& in_path, int out_fd, EVP_PKEY* key,
                              jobs::Deadline deadline) {
    auto in = archive::open_reader(in_path);
    if (!in) return std::unexpected(invalid("not a Mender artifact (not a tar archive)"));
    auto out = new_writer();
    if (archive_write_open_fd(out.get(), out_fd) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the signed artifact");
    }
    if (auto ok = rewrite_members(in->get(), out.get(), key, deadline); !ok) return ok;
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
    }
    return {};
  }

  // s3://: a streamed GET feeds the reader through a pipe; the writer feeds a
  // multipart upload, completed only when everything succeeded (otherwise
  // aborted: the old object stays, no orphan parts). Nothing touches disk.
  Result<void> rewrite_s3(const remote::S3Object& object, EVP_PKEY* key,
                          jobs::Deadline deadline) const {
    if (!s3_) {
      return fail(ErrorKind::misconfigured,
                  "s3:// artifact URIs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on the server");
    }
    if (auto exists = s3_->check_exists(object); !exists) return std::unexpected(exists.error());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(ErrorKind::internal, "cannot create a pipe");
    Result<void> got;
    bool stopped_by_us = false;  // the rewrite stopped reading: its error explains
    std::thread reader([&, write_fd = fds[1]] {
      got = s3_->get_stream(object, [write_fd, &stopped_by_us](const char* data, std::size_t size) {
        while (size > 0) {
          auto n = ::write(write_fd, data, size);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            stopped_by_us = true;
            return false;
          }
          data += n;
          size -= static_cast<std::size_t>(n);
        }
        return true;
      });
      ::close(write_fd);
    });
    auto result = [&]() -> Result<void> {
      auto upload = s3_->start_upload(object);
      if (!upload) return std::unexpected(upload.error());
      ReadPtr in(archive_read_new(), archive_read_free);
      archive_read_support_format_tar(in.get());
      archive_read_support_format_gnutar(in.get());
      archive_read_support_filter_none(in.get());
      if (archive_read_open_fd(in.get(), fds[0], 1 << 20) != ARCHIVE_OK) {
        return std::unexpected(invalid("not a Mender artifact (not a tar archive)"));
      }
      struct Sink {
        remote::S3Client::Upload* upload;
        std::optional<Error> error;
      } sink{&*upload, std::nullopt};
      auto out = new_writer();
      auto write_cb = [](struct archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        auto* k = static_cast<Sink*>(self);
        auto ok = k->upload->write(buf, n);
        if (!ok) {
          k->error = ok.error();
          return -1;
        }
        return static_cast<la_ssize_t>(n);
      };
      if (archive_write_open(out.get(), &sink, nullptr, write_cb, nullptr) != ARCHIVE_OK) {
        return fail(ErrorKind::internal, "cannot start writing the signed artifact");
      }
      auto ok = rewrite_members(in.get(), out.get(), key, deadline);
      if (!ok) return sink.error ? std::unexpected(*sink.error) : ok;
      if (archive_write_close(out.get()) != ARCHIVE_OK) {
        return std::unexpected(sink.error.value_or(
            Error{ErrorKind::bad_gateway, fmt::format("cannot upload to {}", object.uri())}));
      }
      return upload->complete();
    }();
    ::close(fds[0]);  // a reader still sending gets EPIPE and stops
    reader.join();
    // A GET that failed by itself explains a truncated stream best; one that
    // failed because the rewrite stopped reading does not.
    if (!got && !(stopped_by_us && !result)) return std::unexpected(got.error());
    return result;
  }

  // The members, one pass: checks the artifact's structure and the
  // checksums of 'version' and the header, copies everything in order and
  // puts a new manifest.sig after the manifest.
  static Result<void> rewrite_members(struct archive* in_archive, struct archive* out_archive,
                                      EVP_PKEY* key, jobs::Deadline deadline) {
    auto write_member = [&](archive_entry* entry, std::string_view data) -> Result<void> {
      if (archive_write_header(out_archive, entry) != ARCHIVE_OK ||
          (!data.empty() && archive_write_data(out_archive, data.data(), data.size()) !=
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
      auto next = archive::next_header(in_archive, index);
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
        auto data = read_small(in_archive, entry, name);
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
      if (archive_write_header(out_archive, entry) != ARCHIVE_OK) {
        return fail(ErrorKind::internal, "cannot write the signed artifact (disk full?)");
      }
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        int r = archive_read_data_block(in_archive, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return std::unexpected(archive::corrupt_archive());
        if (is_header) EVP_DigestUpdate(sha.get(), buf, size);
        if (archive_write_data(out_archive, buf, size) != static_cast<la_ssize_t>(size)) {
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
  std::optional<remote::S3Client> s3_;  // when AWS credentials are configured
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_mender_signer(const SignerContext& context) {
  return std::make_unique<MenderSigner>(context);
}

}  // namespace digsig::signers
