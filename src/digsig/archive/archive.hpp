// Safe tar.gz handling for client uploads: extraction that cannot write
// outside the target directory, and packing in the layout clients expect
// (member names starting with "./", as `tar -C dir -czf out.tar.gz .`).
#pragma once

#include <cstdint>
#include <filesystem>

#include "digsig/util/error.hpp"

namespace digsig::archive {

struct Limits {
  std::uint64_t max_entries = 100000;
  std::uint64_t max_total_bytes = 8ull << 30;  // sum of member sizes
};

// Extracts the (gzip-compressed or plain) tar archive `archive` into `dest`,
// which must exist and be empty. Refuses, with a bad_request naming the
// member: absolute names, "..", members below a symlink, symlinks whose
// target leaves `dest`, hard links to anything but an earlier regular file,
// devices, FIFOs and sockets; too_large past `limits`. Modes are kept
// without setuid/setgid/sticky bits; owners are not restored.
[[nodiscard]] Result<void> extract(const std::filesystem::path& archive,
                                   const std::filesystem::path& dest, const Limits& limits);

struct PackOptions {
  int gzip_level = 6;
};

// Packs the tree below `dir` into a gzip-compressed tar at `out`: members
// "./", "./a", "./a/b" in sorted order, modes kept, symlinks stored as
// symlinks, owner root.
[[nodiscard]] Result<void> pack(const std::filesystem::path& dir, const std::filesystem::path& out,
                                const PackOptions& options = {});

}  // namespace digsig::archive
