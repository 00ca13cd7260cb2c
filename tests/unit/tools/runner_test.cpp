#include "digsig/tools/runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "support/test_support.hpp"

namespace digsig::tools {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// True while `pid` runs (a zombie waiting for its new parent counts as gone).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

Command sh(const std::string& script, const fs::path& cwd, std::chrono::milliseconds limit = 10s) {
  return Command{.argv = {"/bin/sh", "-c", script},
                 .cwd = cwd,
                 .env = {"PATH=/usr/bin:/bin", "ONLY=this"},
                 .deadline = jobs::Clock::now() + limit};
}

TEST(RunnerTest, CapturesOutputExitCodeAndRunsInTheDirectory) {
  test::TempDir dir;
  auto out = run(sh("pwd; echo err >&2; exit 3", dir.path()));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_FALSE(out->succeeded());
  EXPECT_EQ(out->output, dir.path().string() + "\nerr\n");
}

TEST(RunnerTest, EnvironmentIsExactlyWhatWasGiven) {
  test::TempDir dir;
  ::setenv("DIGSIG_SHOULD_NOT_LEAK", "leak", 1);
  auto out = run(sh("env | sort", dir.path()));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->output.find("DIGSIG_SHOULD_NOT_LEAK"), std::string::npos);
  EXPECT_NE(out->output.find("ONLY=this\n"), std::string::npos);
}

TEST(RunnerTest, InheritedDescriptorsAreClosed) {
  test::TempDir dir;
  std::FILE* held = std::fopen((dir.path() / "held").c_str(), "w");  // not O_CLOEXEC
  auto out = run(sh("ls /proc/self/fd | wc -l", dir.path()));
  std::fclose(held);
  ASSERT_TRUE(out);
  // 0, 1, 2 and the descriptor ls uses to read the directory.
  EXPECT_EQ(std::stoi(out->output), 4);
}

TEST(RunnerTest, DeadlineKillsTheWholeProcessGroup) {
  test::TempDir dir;
  auto pidfile = dir.path() / "child.pid";
  auto start = jobs::Clock::now();
  auto out = run(sh("sleep 60 & echo $! > " + pidfile.string() + "; echo started; wait",
                    dir.path(), 500ms));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->timed_out);
  EXPECT_FALSE(out->succeeded());
  EXPECT_LT(jobs::Clock::now() - start, 5s);
  EXPECT_NE(out->output.find("started"), std::string::npos);
  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  ASSERT_GT(child, 0);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(alive(child)) << "the background child must be gone";
}

TEST(RunnerTest, LeftoverChildrenAreKilledWhenTheToolExits) {
  test::TempDir dir;
  auto pidfile = dir.path() / "child.pid";
  auto out = run(sh("sleep 60 >/dev/null 2>&1 & echo $! > " + pidfile.string(), dir.path()));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->succeeded());
  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  std::this_thread::sleep_for(100ms);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(alive(child));
}

TEST(RunnerTest, OutputIsCappedToItsTail) {
  test::TempDir dir;
  auto cmd = sh("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done", dir.path());
  cmd.output_cap = 100;
  auto out = run(cmd);
  ASSERT_TRUE(out);
  EXPECT_LE(out->output.size(), 100u);
  EXPECT_NE(out->output.find("line1999"), std::string::npos);
  EXPECT_EQ(out->tail(2), "line1998\nline1999");
}

TEST(RunnerTest, MissingToolIsAnError) {
  test::TempDir dir;
  Command cmd{.argv = {"no-such-tool-here"}, .cwd = dir.path(), .env = {"PATH=/nonexistent"},
              .deadline = jobs::Clock::now() + 1s};
  auto out = run(cmd);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("no-such-tool-here"), std::string::npos);
}

TEST(RunnerTest, ToolIsFoundInTheGivenPath) {
  test::TempDir dir;
  test::write_file(dir.path() / "bin/mytool", "#!/bin/sh\necho from-mytool \"$@\"\n");
  fs::permissions(dir.path() / "bin/mytool", fs::perms::owner_all);
  Command cmd{.argv = {"mytool", "a b", "c"}, .cwd = dir.path(),
              .env = {"PATH=" + (dir.path() / "bin").string() + ":/usr/bin:/bin"},
              .deadline = jobs::Clock::now() + 5s};
  auto out = run(cmd);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->output, "from-mytool a b c\n");
}

TEST(RunnerTest, RelativeToolIsTakenFromTheWorkingDirectory) {
  test::TempDir dir;
  test::write_file(dir.path() / "work/helper", "#!/bin/sh\necho \"$0\" in \"$(pwd)\"\n");
  fs::permissions(dir.path() / "work/helper", fs::perms::owner_all);
  Command cmd{.argv = {"./helper"}, .cwd = dir.path() / "work", .env = {"PATH=/usr/bin:/bin"},
              .deadline = jobs::Clock::now() + 5s};
  auto out = run(cmd);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->output, (dir.path() / "work/helper").string() + " in " + (dir.path() / "work").string() + "\n");
}

}  // namespace
}  // namespace digsig::tools

namespace digsig::tools {
namespace {

TEST(RunnerTest, RunWithinDeadlineTurnsAKillIntoATimeoutWithoutServerPaths) {
  test::TempDir dir;
  auto cmd = sh("echo working in " + dir.path().string() + "; sleep 30", dir.path(),
                std::chrono::milliseconds(300));
  auto out = run_within_deadline(cmd, dir.path());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::timeout);
  EXPECT_NE(out.error().message.find("DIGSIGSERVER_RESPONSE_TIMEOUT"), std::string::npos);
  EXPECT_NE(out.error().message.find("working in ."), std::string::npos) << out.error().message;
  EXPECT_EQ(out.error().message.find(dir.path().string()), std::string::npos);
  auto ok = run_within_deadline(sh("exit 2", dir.path()), dir.path());
  ASSERT_TRUE(ok) << "a tool that ends in time is an outcome, whatever its status";
  EXPECT_EQ(ok->exit_code, 2);
}

}  // namespace
}  // namespace digsig::tools
