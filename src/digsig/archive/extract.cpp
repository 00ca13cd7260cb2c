#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "digsig/archive/archive.hpp"
#include "digsig/archive/member_check.hpp"
#include "digsig/archive/reader.hpp"
#include "digsig/util/names.hpp"

namespace digsig::archive {

namespace {

namespace fs = std::filesystem;

using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;

class Extractor {
 public:
  Extractor(const fs::path& dest, const Limits& limits) : dest_(dest), checker_(limits) {}

  Result<void> run(const fs::path& archive_path) {
    auto in = open_reader(archive_path);
    if (!in) return std::unexpected(in.error());
    WritePtr out(archive_write_disk_new(), archive_write_free);
    // Defence in depth: libarchive's own checks on top of ours. Members are
    // written at absolute paths built from checked names (the server is
    // multithreaded and cannot chdir), so absolute paths are not refused here.
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_NO_OVERWRITE);

    for (std::size_t index = 0;; ++index) {
      auto entry = next_header(in->get(), index);
      if (!entry) return std::unexpected(entry.error());
      if (*entry == nullptr) break;
      if (auto ok = one(in->get(), out.get(), *entry); !ok) return ok;
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "could not finish extracting the archive");
    }
    return {};
  }

 private:
  Result<void> one(struct archive* in, struct archive* out, archive_entry* entry) {
    auto member = checker_.check(entry);
    if (!member) return std::unexpected(member.error());
    if (member->name.empty()) return {};  // "./" itself
    const std::string& relative = member->name;
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw != nullptr ? raw : "";
    auto type = member->type;
    if (member->hardlink) {
      archive_entry_set_hardlink(entry, (dest_ / member->link_target).c_str());
    }

    archive_entry_set_pathname(entry, (dest_ / relative).c_str());
    archive_entry_set_perm(entry, archive_entry_perm(entry) & 0777);
    if (type == AE_IFDIR) archive_entry_set_perm(entry, (archive_entry_perm(entry) & 0777) | 0700);
    int r = archive_write_header(out, entry);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid artifact: archive member {} cannot be extracted ({})",
                              quote(name), archive_error_string(out)));
    }
    if (type == AE_IFREG && archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return std::unexpected(corrupt_archive());
        if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK) {
          return fail(ErrorKind::internal,
                      fmt::format("could not write archive member {}", quote(name)));
        }
      }
    }
    if (archive_write_finish_entry(out) != ARCHIVE_OK) {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid artifact: archive member {} cannot be extracted ({})",
                              quote(name), archive_error_string(out)));
    }
    return {};
  }

  fs::path dest_;
  MemberChecker checker_;
};

}  // namespace

Result<void> extract(const fs::path& archive_path, const fs::path& dest, const Limits& limits) {
  // Without symlinks in the destination's own path, libarchive's symlink
  // check applies to what the archive creates only.
  std::error_code ec;
  auto real = fs::canonical(dest, ec);
  if (ec) return fail(ErrorKind::internal, "the extraction directory does not exist");
  return Extractor(real, limits).run(archive_path);
}

}  // namespace digsig::archive
