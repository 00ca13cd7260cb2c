#include "digsig/jobs/job_slots.hpp"

#include <fmt/format.h>

namespace digsig::jobs {

Result<JobSlots::Slot> JobSlots::acquire(Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (running_ >= max_running_) {
    if (waiting_ >= max_waiting_) {
      return fail(ErrorKind::overloaded,
                  fmt::format("the server is busy ({} signing jobs running, {} waiting); retry later",
                              running_, waiting_));
    }
    ++waiting_;
    bool got = cv_.wait_until(lock, deadline, [this] { return running_ < max_running_; });
    --waiting_;
    if (!got) {
      return fail(ErrorKind::timeout, "the request timed out while waiting for a free signing slot");
    }
  }
  ++running_;
  return Slot(this);
}

void JobSlots::release() {
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  cv_.notify_one();
}

std::size_t JobSlots::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::size_t JobSlots::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

}  // namespace digsig::jobs
