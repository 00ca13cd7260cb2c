#include "digsig/archive/reader.hpp"

namespace digsig::archive {

namespace {
Error not_an_archive() {
  return Error{ErrorKind::bad_request, "Invalid artifact: not a gzip-compressed tar archive"};
}
}  // namespace

Error corrupt_archive() {
  return Error{ErrorKind::bad_request, "Invalid artifact: the tar archive is corrupt or truncated"};
}

Result<ReadPtr> open_reader(const std::filesystem::path& path) {
  ReadPtr in(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_none(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  // 1 MiB reads: far fewer system calls on large archives.
  if (archive_read_open_filename(in.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    return std::unexpected(not_an_archive());
  }
  return in;
}

Result<archive_entry*> next_header(struct archive* in, std::size_t index) {
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(in, &entry);
  if (r == ARCHIVE_EOF) return nullptr;
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    return std::unexpected(index == 0 ? not_an_archive() : corrupt_archive());
  }
  return entry;
}

}  // namespace digsig::archive
