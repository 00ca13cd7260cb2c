#include "digsig/jobs/job.hpp"

#include <fmt/format.h>

#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::jobs {

namespace fs = std::filesystem;

Job::Job(Job&& other) noexcept : dir_(std::move(other.dir_)), deadline_(other.deadline_) {
  other.dir_.clear();
}

Job::~Job() {
  if (dir_.empty()) return;
  std::error_code ec;
  // Tools may leave read-only directories behind; make them writable first.
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(dir_, ec);
  if (ec) log::error("could not remove job directory {}: {}", dir_.string(), ec.message());
}

Result<fs::path> Job::path_for(std::string_view relative) const {
  if (relative.empty() || relative.front() == '/') {
    return fail(ErrorKind::bad_request, fmt::format("file name {} is not allowed", quote(relative)));
  }
  fs::path out = dir_;
  std::size_t start = 0;
  while (start <= relative.size()) {
    auto end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    auto part = relative.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos) {
      return fail(ErrorKind::bad_request,
                  fmt::format("file name {} is not allowed", quote(relative)));
    }
    out /= part;
    start = end + 1;
  }
  return out;
}

}  // namespace digsig::jobs
