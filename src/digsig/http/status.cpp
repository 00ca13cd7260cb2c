#include "digsig/http/status.hpp"

namespace digsig::http {

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request: return 400;
    case ErrorKind::forbidden: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::upload_timeout: return 408;
    case ErrorKind::too_large: return 413;
    case ErrorKind::unsupported_media: return 415;
    case ErrorKind::signing_failed: return 500;
    case ErrorKind::misconfigured: return 500;
    case ErrorKind::internal: return 500;
    case ErrorKind::bad_gateway: return 502;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::overloaded: return 503;
    case ErrorKind::timeout: return 504;
  }
  return 500;
}

}  // namespace digsig::http
