// One request's private working directory, its deadline and its cleanup:
// the directory is removed when the Job goes away, whatever happened.
#pragma once

#include <chrono>
#include <filesystem>
#include <string_view>

#include "digsig/util/error.hpp"

namespace digsig::jobs {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

class Job {
 public:
  Job(std::filesystem::path dir, Deadline deadline) : dir_(std::move(dir)), deadline_(deadline) {}
  Job(Job&& other) noexcept;
  Job& operator=(Job&&) = delete;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  ~Job();

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] Deadline deadline() const { return deadline_; }
  [[nodiscard]] bool expired() const { return Clock::now() >= deadline_; }

  // A path inside the job directory for a relative name made of validated
  // components ("out/sw-description.sig"); refuses absolute names, "..",
  // empty components and names that would leave the directory.
  [[nodiscard]] Result<std::filesystem::path> path_for(std::string_view relative) const;

 private:
  std::filesystem::path dir_;
  Deadline deadline_;
};

}  // namespace digsig::jobs
