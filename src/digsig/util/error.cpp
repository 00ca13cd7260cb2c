#include "digsig/util/error.hpp"

namespace digsig {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::too_large: return "too_large";
    case ErrorKind::unsupported_media: return "unsupported_media";
    case ErrorKind::upload_timeout: return "upload_timeout";
    case ErrorKind::signing_failed: return "signing_failed";
    case ErrorKind::misconfigured: return "misconfigured";
    case ErrorKind::bad_gateway: return "bad_gateway";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::overloaded: return "overloaded";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

}  // namespace digsig
