// The rules every member of a client's tarball must pass, whether it is
// extracted to disk or rewritten as a stream: a relative name without "..",
// nothing below a symlink, symlinks that stay inside the tree, hard links to
// an earlier regular member only, no devices, FIFOs or sockets, and bounded
// member count and total size.
#pragma once

#include <archive_entry.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "digsig/archive/archive.hpp"
#include "digsig/util/error.hpp"

namespace digsig::archive {

struct CheckedMember {
  std::string name;         // normalised, relative, no "./" prefix ("" for the root)
  std::string link_target;  // hard links: the normalised target
  unsigned type = 0;        // AE_IFREG, AE_IFDIR, AE_IFLNK; hard links are AE_IFREG
  bool hardlink = false;
};

class MemberChecker {
 public:
  explicit MemberChecker(const Limits& limits) : limits_(limits) {}

  // Checks the next member; fails with bad_request or too_large naming it.
  [[nodiscard]] Result<CheckedMember> check(archive_entry* entry);

 private:
  Limits limits_;
  std::uint64_t entries_ = 0;
  std::uint64_t total_ = 0;
  std::set<std::string> symlinks_;
  std::set<std::string> regular_files_;
};

}  // namespace digsig::archive
