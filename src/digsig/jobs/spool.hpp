// The spool directory that holds one private working directory per request.
#pragma once

#include <filesystem>

#include "digsig/jobs/job.hpp"
#include "digsig/util/error.hpp"

namespace digsig::jobs {

class Spool {
 public:
  // Creates `dir` (0700) if needed and removes job directories left behind
  // by a server that did not shut down cleanly. Throws on failure (start-up).
  explicit Spool(std::filesystem::path dir);

  // A new job directory (0700) for request `request_id`.
  [[nodiscard]] Result<Job> create_job(std::string_view request_id, Deadline deadline) const;

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace digsig::jobs
