#include "digsig/jobs/spool.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <atomic>
#include <stdexcept>

#include "digsig/util/log.hpp"

namespace digsig::jobs {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view k_prefix = "job-";
std::atomic<unsigned long> g_counter{0};
}  // namespace

Spool::Spool(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    throw std::runtime_error(fmt::format("cannot create spool directory {}: {}", dir_.string(),
                                         ec ? ec.message() : "not a directory"));
  }
  if (::chmod(dir_.c_str(), 0700) != 0) {
    throw std::runtime_error(fmt::format("cannot make spool directory {} private", dir_.string()));
  }
  std::size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (!entry.path().filename().string().starts_with(k_prefix)) continue;
    { Job stale(entry.path(), Clock::now()); }  // its destructor removes it
    ++removed;
  }
  if (removed > 0) log::warn("removed {} job directories left by an earlier run", removed);
}

Result<Job> Spool::create_job(std::string_view request_id, Deadline deadline) const {
  auto name = fmt::format("{}{}-{}", k_prefix, request_id, g_counter.fetch_add(1));
  auto path = dir_ / name;
  if (::mkdir(path.c_str(), 0700) != 0) {
    return fail(ErrorKind::internal, "cannot create a working directory for the request");
  }
  return Job(path, deadline);
}

}  // namespace digsig::jobs
