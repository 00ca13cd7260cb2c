#include "digsig/archive/member_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "digsig/util/names.hpp"

namespace digsig::archive {

namespace {

Error refused(std::string_view member, std::string_view why) {
  return Error{ErrorKind::bad_request,
               fmt::format("Invalid artifact: archive member {} {}", quote(member), why)};
}

// Splits "./a//b/" into {"a", "b"}; fails on "..", absolute paths.
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

}  // namespace

Result<CheckedMember> MemberChecker::check(archive_entry* entry) {
  if (++entries_ > limits_.max_entries) {
    return fail(ErrorKind::too_large,
                fmt::format("Invalid artifact: the archive has more than {} members",
                            limits_.max_entries));
  }
  const char* raw = archive_entry_pathname(entry);
  std::string name = raw != nullptr ? raw : "";
  std::vector<std::string> parts;
  if (!normalise(name, parts)) return std::unexpected(refused(name, "leaves the extraction directory"));
  CheckedMember out;
  out.name = join(parts, parts.size());
  out.type = archive_entry_filetype(entry);
  if (parts.empty()) {
    if (out.type != AE_IFDIR) return std::unexpected(refused(name, "is not a directory"));
    return out;  // "./" itself
  }
  for (char c : out.name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return std::unexpected(refused(name, "has a control character"));
    }
  }
  // No component above this member may be a symlink: a file written
  // "through" a link could land anywhere.
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (symlinks_.contains(join(parts, i))) {
      return std::unexpected(refused(name, "lies below a symbolic link"));
    }
  }
  if (symlinks_.contains(out.name)) return std::unexpected(refused(name, "replaces a symbolic link"));

  if (out.type == AE_IFLNK) {
    const char* target = archive_entry_symlink(entry);
    if (target == nullptr || !link_target_inside(parts, target)) {
      return std::unexpected(refused(name, "is a symbolic link that points outside the archive"));
    }
    symlinks_.insert(out.name);
  } else if (const char* hard = archive_entry_hardlink(entry); hard != nullptr) {
    std::vector<std::string> target_parts;
    if (!normalise(hard, target_parts) || target_parts.empty() ||
        !regular_files_.contains(join(target_parts, target_parts.size()))) {
      return std::unexpected(
          refused(name, "is a hard link to something that is not an earlier file in the archive"));
    }
    out.hardlink = true;
    out.type = AE_IFREG;
    out.link_target = join(target_parts, target_parts.size());
  } else if (out.type == AE_IFREG) {
    total_ += static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0));
    if (total_ > limits_.max_total_bytes) {
      return fail(ErrorKind::too_large,
                  fmt::format("Invalid artifact: the archive unpacks to more than {} bytes",
                              limits_.max_total_bytes));
    }
    regular_files_.insert(out.name);
  } else if (out.type != AE_IFDIR) {
    return std::unexpected(refused(name, "is a device, FIFO or socket"));
  }
  return out;
}

}  // namespace digsig::archive
