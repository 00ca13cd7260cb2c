#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "digsig/archive/archive.hpp"

namespace digsig::archive {

namespace {

namespace fs = std::filesystem;

using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

Result<void> write_failed(struct archive* a) {
  return fail(ErrorKind::internal, fmt::format("could not write the response archive: {}",
                                               archive_error_string(a)));
}

// `mode`, when given, replaces the permission bits (for the "./" entry).
Result<void> add(struct archive* a, const fs::path& path, const std::string& name,
                 std::optional<mode_t> mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fail(ErrorKind::internal, "a result file vanished");
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  archive_entry_copy_stat(entry.get(), &st);
  archive_entry_set_pathname(entry.get(), name.c_str());
  if (mode) archive_entry_set_perm(entry.get(), *mode);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_uname(entry.get(), "root");
  archive_entry_set_gname(entry.get(), "root");
  archive_entry_set_nlink(entry.get(), 1);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    if (ec) return fail(ErrorKind::internal, "cannot read a symbolic link");
    archive_entry_set_symlink(entry.get(), target.c_str());
    archive_entry_set_size(entry.get(), 0);
  } else if (!S_ISREG(st.st_mode)) {
    archive_entry_set_size(entry.get(), 0);
  }
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return write_failed(a);
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(ErrorKind::internal, "cannot read a result file");
    std::vector<char> buf(1 << 16);
    for (;;) {
      auto n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      if (archive_write_data(a, buf.data(), static_cast<std::size_t>(n)) != n) {
        ::close(fd);
        return write_failed(a);
      }
    }
    ::close(fd);
  }
  return {};
}

Result<void> walk(struct archive* a, const fs::path& dir, const std::string& prefix) {
  std::vector<fs::directory_entry> children;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) children.push_back(e);
  if (ec) return fail(ErrorKind::internal, "cannot list a result directory");
  std::sort(children.begin(), children.end(),
            [](const auto& x, const auto& y) { return x.path().filename() < y.path().filename(); });
  for (const auto& child : children) {
    bool is_dir = child.is_directory(ec) && !child.is_symlink(ec);
    // Directories end in '/', as GNU tar writes them.
    auto name = prefix + child.path().filename().string() + (is_dir ? "/" : "");
    if (auto ok = add(a, child.path(), name, std::nullopt); !ok) return ok;
    if (is_dir) {
      if (auto ok = walk(a, child.path(), name); !ok) return ok;
    }
  }
  return {};
}

}  // namespace

Result<void> pack(const fs::path& dir, const fs::path& out, const PackOptions& options) {
  WritePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_gnutar(a.get());
  archive_write_add_filter_gzip(a.get());
  auto level = std::to_string(std::clamp(options.gzip_level, 1, 9));
  archive_write_set_filter_option(a.get(), "gzip", "compression-level", level.c_str());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_filename(a.get(), out.c_str()) != ARCHIVE_OK) return write_failed(a.get());
  // The job directory is 0700; a client extracting "./" must not get that.
  if (auto ok = add(a.get(), dir, "./", 0755); !ok) return ok;
  if (auto ok = walk(a.get(), dir, "./"); !ok) return ok;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return write_failed(a.get());
  return {};
}

}  // namespace digsig::archive
