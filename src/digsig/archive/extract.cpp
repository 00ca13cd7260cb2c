#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "digsig/archive/archive.hpp"
#include "digsig/util/names.hpp"

namespace digsig::archive {

namespace {

namespace fs = std::filesystem;

using ReadPtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;

Result<void> refuse(std::string_view member, std::string_view why) {
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid artifact: archive member {} {}", quote(member), why));
}

// Splits "./a//b/" into {"a", "b"}; fails on "..", absolute paths, empty.
bool normalise(std::string_view name, std::vector<std::string>& parts) {
  parts.clear();
  if (name.starts_with('/')) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    auto part = name.substr(start, end - start);
    if (part == "..") return false;
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return true;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

// A symlink at `parts` pointing to `target` stays inside the root if,
// resolved lexically from the link's directory, it never climbs above it.
bool link_target_inside(const std::vector<std::string>& parts, std::string_view target) {
  if (target.empty() || target.starts_with('/')) return false;
  long depth = static_cast<long>(parts.size()) - 1;  // the link's directory
  std::size_t start = 0;
  while (start <= target.size()) {
    auto end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    auto part = target.substr(start, end - start);
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    start = end + 1;
  }
  return true;
}

class Extractor {
 public:
  Extractor(const fs::path& dest, const Limits& limits) : dest_(dest), limits_(limits) {}

  Result<void> run(const fs::path& archive_path) {
    ReadPtr in(archive_read_new(), archive_read_free);
    archive_read_support_filter_gzip(in.get());
    archive_read_support_filter_none(in.get());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_gnutar(in.get());
    if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
      return fail(ErrorKind::bad_request,
                  "Invalid artifact: not a gzip-compressed tar archive");
    }
    WritePtr out(archive_write_disk_new(), archive_write_free);
    // Defence in depth: libarchive's own checks on top of ours. Members are
    // written at absolute paths built from checked names (the server is
    // multithreaded and cannot chdir), so absolute paths are not refused here.
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_PERM |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_NO_OVERWRITE);

    std::uint64_t entries = 0;
    for (;;) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(in.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        if (entries == 0) {
          return fail(ErrorKind::bad_request, "Invalid artifact: not a gzip-compressed tar archive");
        }
        return fail(ErrorKind::bad_request, "Invalid artifact: the tar archive is corrupt or truncated");
      }
      if (++entries > limits_.max_entries) {
        return fail(ErrorKind::too_large,
                    fmt::format("Invalid artifact: the archive has more than {} members",
                                limits_.max_entries));
      }
      if (auto ok = one(in.get(), out.get(), entry); !ok) return ok;
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "could not finish extracting the archive");
    }
    return {};
  }

 private:
  Result<void> one(struct archive* in, struct archive* out, archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    std::string name = raw != nullptr ? raw : "";
    if (!normalise(name, parts_)) return refuse(name, "leaves the extraction directory");
    if (parts_.empty()) return {};  // "./" itself
    std::string relative = join(parts_, parts_.size());
    for (char c : relative) {
      if (static_cast<unsigned char>(c) < 0x20) return refuse(name, "has a control character");
    }

    // No component above this member may be a symlink: a file written
    // "through" a link could land anywhere.
    for (std::size_t i = 1; i < parts_.size(); ++i) {
      if (symlinks_.contains(join(parts_, i))) return refuse(name, "lies below a symbolic link");
    }

    auto type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || !link_target_inside(parts_, target)) {
        return refuse(name, "is a symbolic link that points outside the archive");
      }
      symlinks_.insert(relative);
    } else if (const char* hard = archive_entry_hardlink(entry); hard != nullptr) {
      std::vector<std::string> target_parts;
      if (!normalise(hard, target_parts) || target_parts.empty() ||
          !regular_files_.contains(join(target_parts, target_parts.size()))) {
        return refuse(name, "is a hard link to something that is not an earlier file in the archive");
      }
      archive_entry_set_hardlink(entry, (dest_ / join(target_parts, target_parts.size())).c_str());
    } else if (type == AE_IFREG) {
      total_ += static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0));
      if (total_ > limits_.max_total_bytes) {
        return fail(ErrorKind::too_large,
                    fmt::format("Invalid artifact: the archive unpacks to more than {} bytes",
                                limits_.max_total_bytes));
      }
      regular_files_.insert(relative);
    } else if (type != AE_IFDIR) {
      return refuse(name, "is a device, FIFO or socket");
    }
    if (symlinks_.contains(relative) && type != AE_IFLNK) {
      return refuse(name, "replaces a symbolic link");
    }

    archive_entry_set_pathname(entry, (dest_ / relative).c_str());
    archive_entry_set_perm(entry, archive_entry_perm(entry) & 0777);
    if (type == AE_IFDIR) archive_entry_set_perm(entry, (archive_entry_perm(entry) & 0777) | 0700);
    int r = archive_write_header(out, entry);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return refuse(name, fmt::format("cannot be extracted ({})", archive_error_string(out)));
    }
    if (type == AE_IFREG && archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
          return fail(ErrorKind::bad_request,
                      "Invalid artifact: the tar archive is corrupt or truncated");
        }
        if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK) {
          return fail(ErrorKind::internal,
                      fmt::format("could not write archive member {}", quote(name)));
        }
      }
    }
    if (archive_write_finish_entry(out) != ARCHIVE_OK) {
      return refuse(name, fmt::format("cannot be extracted ({})", archive_error_string(out)));
    }
    return {};
  }

  fs::path dest_;
  Limits limits_;
  std::vector<std::string> parts_;
  std::set<std::string> symlinks_;
  std::set<std::string> regular_files_;
  std::uint64_t total_ = 0;
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
