// A small S3 client on libcurl's built-in AWS Signature V4: objects are read
// into memory (keys) or streamed (artifacts), and written with multipart
// uploads that are aborted on failure, so an object is replaced only when
// the new one is complete. Credentials and endpoint come from the standard
// AWS environment variables; the secret is never logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/util/error.hpp"
#include "digsig/util/secure_bytes.hpp"

namespace digsig::remote {

struct S3Object {
  std::string bucket;
  std::string key;
  [[nodiscard]] std::string uri() const { return "s3://" + bucket + "/" + key; }
};

// "s3://bucket/key" → parts; bad_request if malformed.
[[nodiscard]] Result<S3Object> parse_s3_uri(std::string_view uri);

struct S3Config {
  std::string access_key;
  std::string secret_key;  // never logged
  std::string session_token;
  std::string region = "us-east-1";
  std::string endpoint;  // "" → https://s3.<region>.amazonaws.com; path-style addressing
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL.
[[nodiscard]] S3Config s3_config_from_environment();

class S3Client {
 public:
  explicit S3Client(S3Config config) : config_(std::move(config)) {}

  // A small object into wiped memory; not_found if it does not exist.
  [[nodiscard]] Result<SecureBytes> get(const S3Object& object, std::size_t max_bytes) const;
  // Whether any object has this key prefix.
  [[nodiscard]] Result<bool> prefix_exists(std::string_view bucket, std::string_view prefix) const;
  // Succeeds if the object exists (HEAD); not_found, forbidden, ... otherwise.
  [[nodiscard]] Result<void> check_exists(const S3Object& object) const;
  // Streams the object into `sink` (return false to stop).
  [[nodiscard]] Result<void> get_stream(const S3Object& object,
                                        const std::function<bool(const char*, std::size_t)>& sink) const;

  class Upload {
   public:
    Upload(const S3Client& client, S3Object object, std::string upload_id)
        : client_(&client), object_(std::move(object)), upload_id_(std::move(upload_id)) {}
    Upload(Upload&& other) noexcept
        : client_(other.client_), object_(std::move(other.object_)),
          upload_id_(std::move(other.upload_id_)), buffer_(std::move(other.buffer_)),
          etags_(std::move(other.etags_)), done_(other.done_) {
      other.done_ = true;  // the moved-from object must not abort
    }
    Upload& operator=(Upload&&) = delete;
    ~Upload();  // aborts unless completed
    [[nodiscard]] Result<void> write(const void* data, std::size_t size);
    [[nodiscard]] Result<void> complete();

   private:
    Result<void> send_part();
    const S3Client* client_;
    S3Object object_;
    std::string upload_id_;
    std::string buffer_;
    std::vector<std::string> etags_;
    bool done_ = false;
  };
  [[nodiscard]] Result<Upload> start_upload(const S3Object& object) const;

 private:
  friend class Upload;
  struct Response {
    long status = 0;
    std::string body;
    std::string etag;
  };
  Result<Response> request(const std::string& method, const S3Object& object,
                           const std::string& query, std::string_view body,
                           const std::function<bool(const char*, std::size_t)>* sink,
                           SecureBytes* secure_sink, std::size_t max_secure = 0) const;
  std::string url(const S3Object& object, const std::string& query) const;

  S3Config config_;
};

// A part of an upload (S3's minimum is 5 MiB except for the last).
inline constexpr std::size_t k_s3_part_size = 8 << 20;

}  // namespace digsig::remote
