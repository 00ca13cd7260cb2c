// Rewrites a client's tar.gz in one streamed pass: every member is checked
// (member_check.hpp) and copied to the output, except the regular files a
// selector picks, whose content is transformed on worker threads while the
// pass goes on. Output order is input order; member names get the "./"
// prefix clients expect, and a "./" root entry is written first. Memory is
// bounded by a window of members in flight.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "digsig/archive/archive.hpp"
#include "digsig/archive/member_check.hpp"
#include "digsig/jobs/job.hpp"
#include "digsig/util/error.hpp"

namespace digsig::archive {

struct RewriteOptions {
  Limits limits;
  int gzip_level = 1;
  std::size_t workers = 2;                         // transforms running at once
  std::uint64_t max_transform_bytes = 256ull << 20;  // one selected member
  jobs::Deadline deadline = jobs::Deadline::max();
};

// True if the member's content should be transformed; an error refuses the
// whole archive (e.g. a directory named like a module).
using Selector = std::function<Result<bool>(const CheckedMember&)>;
// Called on a worker thread with the member's name and content.
using Transform = std::function<Result<std::string>(const std::string& name, std::string content)>;

struct RewriteStats {
  std::size_t members = 0;
  std::size_t transformed = 0;
};

[[nodiscard]] Result<RewriteStats> rewrite(const std::filesystem::path& in,
                                           const std::filesystem::path& out,
                                           const Selector& select, const Transform& transform,
                                           const RewriteOptions& options);

}  // namespace digsig::archive
