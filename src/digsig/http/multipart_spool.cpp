#include "digsig/http/multipart_spool.hpp"

#include <fmt/format.h>

#include <utility>

#include "digsig/util/files.hpp"
#include "digsig/util/names.hpp"

namespace digsig::http {

namespace {
constexpr std::size_t k_file_buffer = 64 * 1024;
constexpr std::size_t k_max_field_name = 64;
}  // namespace

MultipartSpool::MultipartSpool(const jobs::Job& job, SpoolLimits limits)
    : job_(job), limits_(limits) {}

MultipartSpool::~MultipartSpool() {
  if (file_ != nullptr) std::fclose(file_);
}

bool MultipartSpool::stop(ErrorKind kind, std::string message) {
  if (!error_) error_ = Error{kind, std::move(message)};
  return false;
}

bool MultipartSpool::close_current() {
  if (!current_is_file_ || file_ == nullptr) return true;
  bool ok = std::fflush(file_) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) return stop(ErrorKind::internal, "could not store the uploaded file");
  auto& upload = request_.files[current_name_];
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(sha_.get(), digest, &len);
  upload.sha256 = to_hex(digest, len);
  return true;
}

bool MultipartSpool::begin_part(std::string_view name, std::string_view filename,
                                std::string_view content_type) {
  if (draining_) return true;
  if (!close_current()) return false;
  if (++parts_ > limits_.max_parts) {
    return stop(ErrorKind::too_large,
                fmt::format("the request has more than {} form fields", limits_.max_parts));
  }
  if (name.empty() || name.size() > k_max_field_name) {
    return stop(ErrorKind::bad_request, "a form field has an empty or overlong name");
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) {
      return stop(ErrorKind::bad_request,
                  fmt::format("the form field name {} is not allowed", quote(name)));
    }
  }
  if (request_.fields.contains(name) || request_.files.contains(name)) {
    return stop(ErrorKind::bad_request,
                fmt::format("the form field '{}' was sent more than once", name));
  }
  current_name_ = std::string(name);
  current_is_file_ = !filename.empty();
  if (!current_is_file_) {
    request_.fields[current_name_];
    return true;
  }
  // The stored name is ours, never the client's: "upload-<n>".
  auto path = job_.path_for(fmt::format("upload-{}", parts_));
  if (!path) return stop(path.error().kind, path.error().message);
  file_ = std::fopen(path->c_str(), "wbx");
  if (file_ == nullptr) return stop(ErrorKind::internal, "could not store the uploaded file");
  std::setvbuf(file_, nullptr, _IOFBF, k_file_buffer);
  sha_.reset(EVP_MD_CTX_new());
  EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr);
  signers::UploadedFile upload;
  upload.path = *path;
  upload.client_filename = std::string(filename);
  upload.content_type = std::string(content_type);
  request_.files[current_name_] = std::move(upload);
  return true;
}

bool MultipartSpool::data(const char* bytes, std::size_t size) {
  total_ += size;
  if (draining_) return total_ - limits_.max_body_bytes <= limits_.max_drain_bytes;
  if (error_) return false;
  if (total_ > limits_.max_body_bytes) {
    // Close the file and read on (discarding) for a while, so that a client
    // that sent no Content-Length gets to read the answer.
    if (file_ != nullptr) std::fclose(std::exchange(file_, nullptr));
    draining_ = true;
    stop(ErrorKind::too_large,
         fmt::format("the request is larger than the server's limit of {} bytes "
                     "(DIGSIGSERVER_REQUEST_MAX_SIZE)",
                     limits_.max_body_bytes));
    return true;
  }
  if (current_name_.empty()) return stop(ErrorKind::bad_request, "malformed multipart body");
  if (!current_is_file_) {
    auto& value = request_.fields[current_name_];
    if (value.size() + size > limits_.max_field_bytes) {
      return stop(ErrorKind::too_large,
                  fmt::format("the form field '{}' is longer than {} bytes; send it as a file",
                              current_name_, limits_.max_field_bytes));
    }
    value.append(bytes, size);
    return true;
  }
  if (std::fwrite(bytes, 1, size, file_) != size) {
    return stop(ErrorKind::internal, "could not store the uploaded file (is the spool disk full?)");
  }
  EVP_DigestUpdate(sha_.get(), bytes, size);
  request_.files[current_name_].size += size;
  return true;
}

Result<signers::SignRequest> MultipartSpool::finish() {
  close_current();
  current_name_.clear();
  if (error_) return std::unexpected(*error_);
  return std::move(request_);
}

}  // namespace digsig::http
