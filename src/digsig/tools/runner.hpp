// Runs a vendor tool under a written contract: argv only (never a shell
// string), its own process group, an explicit environment (nothing of the
// server's is inherited), a working directory, stdin from /dev/null, every
// other descriptor closed, stdout and stderr captured together (the last
// `output_cap` bytes kept, each line logged at debug level), and a deadline
// after which the whole group is killed. Leftover processes of the group are
// killed when the tool exits.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/jobs/job.hpp"
#include "digsig/util/error.hpp"

namespace digsig::tools {

struct Command {
  std::vector<std::string> argv;  // argv[0]: a path (relative ones from cwd), or a name looked up in env's PATH
  std::filesystem::path cwd;
  std::vector<std::string> env;   // "NAME=value", exactly what the tool gets
  jobs::Deadline deadline;
  std::size_t output_cap = 64 * 1024;
};

struct Outcome {
  int exit_code = -1;      // -1 if killed by a signal
  int signal = 0;          // the signal that ended it, or 0
  bool timed_out = false;  // killed at the deadline
  std::string output;      // the tail of stdout+stderr
  [[nodiscard]] bool succeeded() const { return exit_code == 0 && !timed_out; }
  // The last `lines` lines of output, for an error message.
  [[nodiscard]] std::string tail(std::size_t lines) const;
  // The same with every occurrence of `dir` (the job directory) replaced by
  // ".", so that no server path reaches a client, and secrets redacted.
  [[nodiscard]] std::string tail_for_client(std::size_t lines,
                                            const std::filesystem::path& dir) const;
  // The output lines that contain any of `markers`, for a client (as above).
  [[nodiscard]] std::string lines_with(std::initializer_list<std::string_view> markers,
                                       const std::filesystem::path& dir) const;
};

// The server's own PATH (or a plain default), for tools that should find
// what the operator installed (python2, python3, openssl).
[[nodiscard]] std::string server_path();

// The full path of `name` looked up in the colon-separated `path` (a name
// with a '/' is returned as it is), or "" if it is not there.
[[nodiscard]] std::string find_program(const std::string& name, const std::string& path);

// Fails only if the tool cannot be started (not found, not executable).
[[nodiscard]] Result<Outcome> run(const Command& command);

// The same, but a tool killed at the deadline is an error too (timeout,
// with the tool's last lines, `job_dir` replaced by "." and secrets redacted).
[[nodiscard]] Result<Outcome> run_within_deadline(const Command& command,
                                                  const std::filesystem::path& job_dir);

// For vendor tools whose exit status cannot be trusted alone: a non-zero
// exit, a kill at the deadline, or an output line containing one of
// `error_markers` is a signing_failed error that quotes the tool's own
// lines (as tail_for_client). `name` names the tool in the message.
[[nodiscard]] Result<Outcome> run_checked(const Command& command, const std::filesystem::path& job_dir,
                                          std::string_view name,
                                          std::initializer_list<std::string_view> error_markers);

}  // namespace digsig::tools
