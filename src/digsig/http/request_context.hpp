// Per-request bookkeeping on the connection thread: the request id (the
// client's X-Request-Id if it is sane, else a new random one) and the start
// time for the access log. The HTTP library serves one request at a time
// per thread; a request may be seen first by the Expect: 100-continue
// handler and then by routing, and both must share one context.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace digsig::http {

struct RequestContext {
  std::string id;
  std::chrono::steady_clock::time_point start;
  bool seen_by_expect = false;
};

enum class Phase { expect_continue, routing };

// Starts the calling thread's request (or continues the one the expect
// handler started) and returns its context.
RequestContext& begin_request(Phase phase, std::string_view client_id);

// The calling thread's current request.
[[nodiscard]] RequestContext& current_request();

// Ends it (after the access log line).
void end_request();

// A new random id: 16 hex digits.
[[nodiscard]] std::string new_request_id();

// True if a client-supplied id may be used: 1..64 of [A-Za-z0-9._-].
[[nodiscard]] bool acceptable_request_id(std::string_view id);

}  // namespace digsig::http
