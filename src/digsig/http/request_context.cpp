#include "digsig/http/request_context.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <atomic>
#include <cctype>

#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"

namespace digsig::http {

namespace {
thread_local RequestContext t_context;
}

std::string new_request_id() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    static std::atomic<unsigned long> fallback{0};
    return fmt::format("{:016x}", fallback.fetch_add(1));
  }
  return to_hex(bytes, sizeof bytes);
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

RequestContext& begin_request(Phase phase, std::string_view client_id) {
  if (phase == Phase::routing && t_context.seen_by_expect) {
    t_context.seen_by_expect = false;
    return t_context;
  }
  t_context.id = acceptable_request_id(client_id) ? std::string(client_id) : new_request_id();
  t_context.start = std::chrono::steady_clock::now();
  t_context.seen_by_expect = phase == Phase::expect_continue;
  return t_context;
}

RequestContext& current_request() { return t_context; }

void end_request() { t_context = RequestContext{}; }

}  // namespace digsig::http
