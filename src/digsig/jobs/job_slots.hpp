// Bounds the number of signing jobs that run at once. A request waits for a
// slot while fewer than `max_waiting` others wait; beyond that it is turned
// away at once (503 with Retry-After).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

#include "digsig/jobs/job.hpp"
#include "digsig/util/error.hpp"

namespace digsig::jobs {

class JobSlots {
 public:
  class Slot {
   public:
    explicit Slot(JobSlots* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (owner_ != nullptr) owner_->release();
    }

   private:
    JobSlots* owner_;
  };

  JobSlots(std::size_t max_running, std::size_t max_waiting)
      : max_running_(max_running), max_waiting_(max_waiting) {}

  // A slot, or overloaded (queue full) / timeout (deadline passed while waiting).
  [[nodiscard]] Result<Slot> acquire(Deadline deadline);

  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t waiting() const;
  [[nodiscard]] std::size_t max_running() const { return max_running_; }

 private:
  void release();

  const std::size_t max_running_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t running_ = 0;
  std::size_t waiting_ = 0;
};

}  // namespace digsig::jobs
