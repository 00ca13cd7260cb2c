// Reading a client's tarball (gzip-compressed or plain tar), with the error
// messages every signer gives for archives that are not archives.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <memory>

#include "digsig/util/error.hpp"

namespace digsig::archive {

using ReadPtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

[[nodiscard]] Result<ReadPtr> open_reader(const std::filesystem::path& path);

// The next member's header, or nullptr at the end. `index` is the number of
// members read so far (a failure on the first means "not an archive").
[[nodiscard]] Result<archive_entry*> next_header(struct archive* in, std::size_t index);

[[nodiscard]] Error corrupt_archive();

}  // namespace digsig::archive
