// Receives the parts of a multipart/form-data body as the HTTP library
// parses them and writes file parts straight into the job directory (never
// holding a file in memory); text parts are kept as fields, each bounded.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "digsig/crypto/ossl.hpp"
#include "digsig/jobs/job.hpp"
#include "digsig/signers/sign_request.hpp"
#include "digsig/util/error.hpp"

namespace digsig::http {

struct SpoolLimits {
  std::uint64_t max_body_bytes = 600000000;  // all parts' content together
  std::size_t max_field_bytes = 64 * 1024;   // one text field
  std::size_t max_parts = 32;
  // Past max_body_bytes, up to this much more is read and discarded before
  // the connection is dropped, so that the client can read the 413.
  std::uint64_t max_drain_bytes = 64ull << 20;
};

class MultipartSpool {
 public:
  MultipartSpool(const jobs::Job& job, SpoolLimits limits);
  MultipartSpool(const MultipartSpool&) = delete;
  MultipartSpool& operator=(const MultipartSpool&) = delete;
  ~MultipartSpool();

  // A new part begins. `filename` empty means a text field. Returns false
  // (and records the error) to stop reading.
  bool begin_part(std::string_view name, std::string_view filename, std::string_view content_type);
  // Content of the current part.
  bool data(const char* bytes, std::size_t size);

  // The first error, if reading was stopped by this spool.
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }

  // Closes the last file and hands over what was received.
  [[nodiscard]] Result<signers::SignRequest> finish();

 private:
  bool stop(ErrorKind kind, std::string message);
  bool close_current();

  const jobs::Job& job_;
  SpoolLimits limits_;
  signers::SignRequest request_;
  std::optional<Error> error_;
  std::uint64_t total_ = 0;
  std::size_t parts_ = 0;
  std::string current_name_;
  bool current_is_file_ = false;
  bool draining_ = false;
  std::FILE* file_ = nullptr;
  crypto::MdCtxPtr sha_;
};

}  // namespace digsig::http
