#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "digsig/jobs/job_slots.hpp"
#include "digsig/jobs/spool.hpp"
#include "support/test_support.hpp"

namespace digsig::jobs {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(JobTest, DirectoryIsPrivateAndRemovedWhateverIsInside) {
  test::TempDir dir;
  Spool spool(dir.path() / "spool");
  fs::path job_dir;
  {
    auto job = spool.create_job("req1", Clock::now() + 10s);
    ASSERT_TRUE(job);
    job_dir = job->dir();
    struct stat st {};
    ASSERT_EQ(::stat(job_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    test::write_file(job_dir / "a/b/c", "x");
    fs::permissions(job_dir / "a/b", fs::perms::owner_read | fs::perms::owner_exec);
  }
  EXPECT_FALSE(fs::exists(job_dir));
  EXPECT_TRUE(fs::is_empty(dir.path() / "spool"));
}

TEST(JobTest, StaleJobsAreRemovedAtStartUp) {
  test::TempDir dir;
  test::write_file(dir.path() / "spool/job-old-1/upload-1", "left over");
  test::write_file(dir.path() / "spool/keep-me", "not ours");
  Spool spool(dir.path() / "spool");
  EXPECT_FALSE(fs::exists(dir.path() / "spool/job-old-1"));
  EXPECT_TRUE(fs::exists(dir.path() / "spool/keep-me"));
}

TEST(JobTest, PathForRefusesNamesThatLeave) {
  test::TempDir dir;
  Job job(dir.path() / "j", Clock::now());
  fs::create_directories(job.dir());
  EXPECT_EQ(job.path_for("out/x.sig").value(), job.dir() / "out/x.sig");
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", ".", "a/./b"}) {
    EXPECT_FALSE(job.path_for(bad)) << bad;
  }
}

TEST(JobSlotsTest, TurnsAwayWhenTheQueueIsFull) {
  JobSlots slots(1, 0);
  auto first = slots.acquire(Clock::now() + 1s);
  ASSERT_TRUE(first);
  auto second = slots.acquire(Clock::now() + 1s);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ErrorKind::overloaded);
}

TEST(JobSlotsTest, WaitersGetTheSlotWhenItIsFreed) {
  JobSlots slots(1, 4);
  std::optional<JobSlots::Slot> held(slots.acquire(Clock::now() + 1s).value());
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    held.reset();
  });
  auto waited = slots.acquire(Clock::now() + 5s);
  releaser.join();
  EXPECT_TRUE(waited);
  EXPECT_EQ(slots.running(), 1u);
}

TEST(JobSlotsTest, WaitingEndsAtTheDeadline) {
  JobSlots slots(1, 4);
  auto held = slots.acquire(Clock::now() + 1s);
  ASSERT_TRUE(held);
  auto late = slots.acquire(Clock::now() + 50ms);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().kind, ErrorKind::timeout);
  EXPECT_EQ(slots.waiting(), 0u);
}

}  // namespace
}  // namespace digsig::jobs
