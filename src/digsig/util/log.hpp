// The logging facade. Every log line goes through one sink that replaces
// registered secrets (PINs, passwords) with "***", and carries the id of the
// request the calling thread is working on.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace digsig::log {

// Sets up the default logger: terminal output, level by name (trace, debug,
// info, warning, error; case-insensitive; "warn" is accepted too).
// Returns false if the level name is unknown.
[[nodiscard]] bool init(std::string_view level_name);

// Registers a secret that must never appear in a log line. Empty strings
// are ignored.
void add_secret(std::string secret);

// `text` with every registered secret replaced by "***".
[[nodiscard]] std::string redact(std::string_view text);

// The request id of the calling thread, or "-".
[[nodiscard]] std::string_view request_id();

// Sets (or, with "", clears) the calling thread's request id.
void set_request_id(std::string id);

// Sets the calling thread's request id for its lifetime; restores the
// previous one afterwards (so worker threads can adopt a request's id).
class RequestScope {
 public:
  explicit RequestScope(std::string id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string previous_;
};

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

}  // namespace digsig::log
