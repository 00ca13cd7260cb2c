#include "digsig/tools/runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <cstdlib>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "digsig/util/log.hpp"

namespace digsig::tools {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string find_in_path(const std::string& name, const std::vector<std::string>& env) {
  std::string path = "/usr/bin:/bin";
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) path = e.substr(5);
  }
  return find_program(name, path);
}

}  // namespace

std::string server_path() {
  const char* path = std::getenv("PATH");
  return path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
}

std::string find_program(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    fs::path candidate = fs::path(path.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

namespace {

// Logs complete lines from `pending`, keeping an incomplete last line.
void log_lines(const std::string& tool, std::string& pending, bool flush_all) {
  std::size_t start = 0;
  for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
    log::debug("[{}] {}", tool, std::string_view(pending).substr(start, nl - start));
    start = nl + 1;
  }
  pending.erase(0, start);
  if (flush_all && !pending.empty()) {
    log::debug("[{}] {}", tool, pending);
    pending.clear();
  }
}

}  // namespace

std::string Outcome::tail(std::size_t lines) const {
  std::string_view text(output);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::size_t start = text.size();
  std::size_t count = 0;
  while (start > 0) {
    auto nl = text.rfind('\n', start - 1);
    if (nl == std::string_view::npos) {
      start = 0;
      break;
    }
    if (++count == lines) {
      start = nl + 1;
      break;
    }
    start = nl;
  }
  return std::string(text.substr(start));
}

namespace {
std::string without_dir(const std::string& text, const std::filesystem::path& dir) {
  const auto needle = dir.string();
  if (needle.empty()) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, start)) {
    out.append(text, start, pos - start);
    out.push_back('.');
    start = pos + needle.size();
  }
  out.append(text, start, std::string::npos);
  return out;
}
}  // namespace

std::string Outcome::tail_for_client(std::size_t lines, const std::filesystem::path& dir) const {
  return log::redact(without_dir(tail(lines), dir));
}

std::string Outcome::lines_with(std::initializer_list<std::string_view> markers,
                                const std::filesystem::path& dir) const {
  std::string found;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string_view line(output.data() + start, end - start);
    for (auto marker : markers) {
      if (line.find(marker) != std::string_view::npos) {
        if (!found.empty()) found += "; ";
        found += line;
        break;
      }
    }
    start = end + 1;
  }
  return log::redact(without_dir(found, dir));
}

Result<Outcome> run(const Command& command) {
  if (command.argv.empty()) return fail(ErrorKind::internal, "empty command");
  std::string tool_name = fs::path(command.argv[0]).filename().string();
  std::string exe = find_in_path(command.argv[0], command.env);
  // "./tool" is relative to the tool's working directory, not the server's.
  if (!command.cwd.empty() && !exe.empty() && exe.front() != '/') exe = (command.cwd / exe).lexically_normal().string();
  if (exe.empty() || ::access(exe.c_str(), X_OK) != 0) {
    return fail(ErrorKind::misconfigured, fmt::format("the tool '{}' was not found", tool_name));
  }

  std::vector<char*> argv;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : command.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(ErrorKind::internal, "cannot create a pipe");
  log::debug("running {} (in {})", fmt::join(command.argv, " "), command.cwd.string());

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(ErrorKind::internal, "cannot start a process");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(fds[1], 1) < 0 || ::dup2(fds[1], 2) < 0) {
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0);
    if (!command.cwd.empty() && ::chdir(command.cwd.c_str()) != 0) ::_exit(126);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so the group exists before any kill
  ::close(fds[1]);

  Outcome outcome;
  std::string pending;
  bool pipe_open = true;
  bool exited = false;
  int status = 0;
  auto reap = [&](int flags) {
    pid_t w = ::waitpid(pid, &status, flags);
    if (w == pid || (w < 0 && errno != EINTR)) exited = true;
  };
  char buf[8192];
  while (!exited) {
    if (jobs::Clock::now() >= command.deadline) {
      outcome.timed_out = true;
      log::warn("{} ran past the request's time limit; killing its process group", tool_name);
      ::kill(-pid, SIGTERM);
      auto grace = jobs::Clock::now() + 2s;
      while (!exited && jobs::Clock::now() < grace) {
        reap(WNOHANG);
        if (!exited) std::this_thread::sleep_for(20ms);
      }
      ::kill(-pid, SIGKILL);
      if (!exited) reap(0);
      break;
    }
    if (pipe_open) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        auto n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) {
          outcome.output.append(buf, static_cast<std::size_t>(n));
          pending.append(buf, static_cast<std::size_t>(n));
          log_lines(tool_name, pending, false);
          if (outcome.output.size() > command.output_cap) {
            outcome.output.erase(0, outcome.output.size() - command.output_cap);
          }
          if (pending.size() > command.output_cap) pending.clear();
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          pipe_open = false;
        }
      }
    } else {
      std::this_thread::sleep_for(20ms);
    }
    reap(WNOHANG);
  }
  // Whatever the tool left running in its group goes too.
  ::kill(-pid, SIGKILL);
  // Drain what is still buffered in the pipe (no more than is there now).
  if (pipe_open) {
    int flags = ::fcntl(fds[0], F_GETFL);
    ::fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
    for (;;) {
      auto n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      outcome.output.append(buf, static_cast<std::size_t>(n));
      pending.append(buf, static_cast<std::size_t>(n));
    }
    if (outcome.output.size() > command.output_cap) {
      outcome.output.erase(0, outcome.output.size() - command.output_cap);
    }
  }
  log_lines(tool_name, pending, true);
  ::close(fds[0]);

  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  log::debug("{} finished: exit {}, signal {}{}", tool_name, outcome.exit_code, outcome.signal,
             outcome.timed_out ? ", timed out" : "");
  return outcome;
}

Result<Outcome> run_within_deadline(const Command& command, const std::filesystem::path& job_dir) {
  auto outcome = run(command);
  if (outcome && outcome->timed_out) {
    return fail(ErrorKind::timeout,
                fmt::format("{} ran past the request's time limit (DIGSIGSERVER_RESPONSE_TIMEOUT): {}",
                            std::filesystem::path(command.argv[0]).filename().string(),
                            outcome->tail_for_client(3, job_dir)));
  }
  return outcome;
}

Result<Outcome> run_checked(const Command& command, const fs::path& job_dir, std::string_view name,
                            std::initializer_list<std::string_view> error_markers) {
  auto outcome = run_within_deadline(command, job_dir);
  if (!outcome) return outcome;
  if (!outcome->succeeded()) {
    return fail(ErrorKind::signing_failed,
                fmt::format("{} failed (exit status {}); its last lines:\n{}", name, outcome->exit_code,
                            outcome->tail_for_client(12, job_dir)));
  }
  auto errors = outcome->lines_with(error_markers, job_dir);
  if (!errors.empty()) {
    return fail(ErrorKind::signing_failed,
                fmt::format("{} exited 0 but reported errors:\n{}\nits last lines:\n{}", name, errors,
                            outcome->tail_for_client(8, job_dir)));
  }
  return outcome;
}

}  // namespace digsig::tools
