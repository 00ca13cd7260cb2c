// The one error type of the server: a kind (what HTTP status it becomes is
// decided in http/status.cpp and nowhere else) and a message that is safe to
// show to a client: no server path, no key material, no stack trace.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace digsig {

enum class ErrorKind {
  bad_request,        // a field or an upload is missing or malformed
  forbidden,          // the request names something it may not use
  not_found,          // unknown selector, missing key, missing tool version
  too_large,          // over a size or count limit
  unsupported_media,  // not multipart/form-data
  upload_timeout,     // the client did not finish sending in time
  signing_failed,     // the signing step itself failed
  misconfigured,      // the server's keys or tools are not usable
  bad_gateway,        // an upstream store (S3) failed
  unavailable,        // a dependency (token, store) is down for now
  overloaded,         // too many requests in flight; retry later
  timeout,            // the request ran past DIGSIGSERVER_RESPONSE_TIMEOUT
  internal,           // a bug or an unexpected system failure
};

struct Error {
  ErrorKind kind;
  std::string message;
};

[[nodiscard]] std::string_view to_string(ErrorKind kind);

[[nodiscard]] inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected(Error{kind, std::move(message)});
}

template <typename T>
using Result = std::expected<T, Error>;

}  // namespace digsig
