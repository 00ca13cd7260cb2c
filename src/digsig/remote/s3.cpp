#include "digsig/remote/s3.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

#include "digsig/util/log.hpp"

namespace digsig::remote {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Escapes a key for a URL path, keeping '/'.
std::string escape_key(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string xml_value(std::string_view xml, std::string_view tag) {
  auto open = fmt::format("<{}>", tag);
  auto start = xml.find(open);
  if (start == std::string_view::npos) return {};
  start += open.size();
  auto end = xml.find(fmt::format("</{}>", tag), start);
  if (end == std::string_view::npos) return {};
  return std::string(xml.substr(start, end - start));
}

struct Transfer {
  std::string body;
  std::string etag;
  const std::function<bool(const char*, std::size_t)>* sink = nullptr;
  SecureBytes* secure = nullptr;
  std::size_t max = 0;
  bool too_large = false;
  std::string_view upload;
  std::size_t sent = 0;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  if (t->sink != nullptr) return (*t->sink)(data, len) ? len : 0;
  if (t->secure != nullptr) {
    if (t->max != 0 && t->secure->size() + len > t->max) {
      t->too_large = true;
      return 0;
    }
    t->secure->append(data, len);
    return len;
  }
  if (t->body.size() + len > (1 << 20)) return 0;  // S3 replies are small XML
  t->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.size() > 5 && (line.starts_with("ETag:") || line.starts_with("etag:"))) {
    auto value = line.substr(5);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
    t->etag = std::string(value);
  }
  return size * n;
}

size_t on_upload(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = std::min(size * n, t->upload.size() - t->sent);
  std::memcpy(buffer, t->upload.data() + t->sent, len);
  t->sent += len;
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<S3Object> parse_s3_uri(std::string_view uri) {
  if (!uri.starts_with("s3://")) return fail(ErrorKind::bad_request, "not an s3:// URI");
  auto rest = uri.substr(5);
  auto slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return fail(ErrorKind::bad_request,
                fmt::format("the S3 URI {} is not s3://<bucket>/<key>", uri));
  }
  return S3Object{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

S3Config s3_config_from_environment() {
  S3Config c;
  c.access_key = env("AWS_ACCESS_KEY_ID");
  c.secret_key = env("AWS_SECRET_ACCESS_KEY");
  c.session_token = env("AWS_SESSION_TOKEN");
  if (auto r = env("AWS_REGION"); !r.empty()) {
    c.region = r;
  } else if (auto d = env("AWS_DEFAULT_REGION"); !d.empty()) {
    c.region = d;
  }
  c.endpoint = env("AWS_ENDPOINT_URL");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  log::add_secret(c.secret_key);
  log::add_secret(c.session_token);
  return c;
}

std::string S3Client::url(const S3Object& object, const std::string& query) const {
  auto base = config_.endpoint.empty() ? fmt::format("https://s3.{}.amazonaws.com", config_.region)
                                       : config_.endpoint;
  return fmt::format("{}/{}/{}{}{}", base, object.bucket, escape_key(object.key),
                     query.empty() ? "" : "?", query);
}

Result<S3Client::Response> S3Client::request(const std::string& method, const S3Object& object,
                                             const std::string& query, std::string_view body,
                                             const std::function<bool(const char*, std::size_t)>* sink,
                                             SecureBytes* secure_sink, std::size_t max_secure) const {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail(ErrorKind::internal, "cannot start an S3 request");
  Transfer t;
  t.sink = sink;
  t.secure = secure_sink;
  t.max = max_secure;
  t.upload = body;
  auto target = url(object, query);
  curl_easy_setopt(curl.get(), CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &t);
  auto sigv4 = fmt::format("aws:amz:{}:s3", config_.region);
  curl_easy_setopt(curl.get(), CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_USERNAME, config_.access_key.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_PASSWORD, config_.secret_key.c_str());
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  std::string token_header;
  if (!config_.session_token.empty()) {
    token_header = "x-amz-security-token: " + config_.session_token;
    headers = curl_slist_append(headers, token_header.c_str());
  }
  if (method == "PUT" || method == "POST") {
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl.get(), CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(curl.get(), CURLOPT_READDATA, &t);
    curl_easy_setopt(curl.get(), CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (method == "POST") curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, "POST");
  } else if (method == "HEAD") {
    curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return fail(ErrorKind::timeout, fmt::format("S3 did not answer in time for {}", object.uri()));
  }
  if (rc == CURLE_WRITE_ERROR && t.too_large) {
    return fail(ErrorKind::misconfigured, fmt::format("{} is too large", object.uri()));
  }
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && sink != nullptr)) {
    return fail(ErrorKind::bad_gateway,
                fmt::format("cannot reach the S3 endpoint for {}: {}", object.uri(),
                            curl_easy_strerror(rc)));
  }
  if (rc == CURLE_WRITE_ERROR) {
    return fail(ErrorKind::internal, fmt::format("reading {} was stopped", object.uri()));
  }
  if (status == 404) {
    return fail(ErrorKind::not_found, fmt::format("no object at {}", object.uri()));
  }
  if (status == 403) {
    return fail(ErrorKind::forbidden, fmt::format("access to {} was denied by S3", object.uri()));
  }
  if (status < 200 || status >= 300) {
    auto code = xml_value(t.body, "Code");
    return fail(ErrorKind::bad_gateway, fmt::format("S3 answered {}{}{} for {}", status,
                                                    code.empty() ? "" : " ", code, object.uri()));
  }
  return Response{status, std::move(t.body), std::move(t.etag)};
}

Result<SecureBytes> S3Client::get(const S3Object& object, std::size_t max_bytes) const {
  SecureBytes bytes;
  auto r = request("GET", object, "", {}, nullptr, &bytes, max_bytes);
  if (!r) return std::unexpected(r.error());
  return bytes;
}

Result<bool> S3Client::prefix_exists(std::string_view bucket, std::string_view prefix) const {
  S3Object root{std::string(bucket), ""};
  auto escaped = escape_key(prefix);
  // ListObjects (v1): supported everywhere, and needs no continuation token.
  std::string query = "max-keys=1&prefix=";
  for (char c : escaped) query += c == '/' ? std::string("%2F") : std::string(1, c);
  auto r = request("GET", root, query, {}, nullptr, nullptr);
  if (!r) return std::unexpected(r.error());
  return r->body.find("<Contents>") != std::string::npos;
}

Result<void> S3Client::check_exists(const S3Object& object) const {
  auto r = request("HEAD", object, "", {}, nullptr, nullptr);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> S3Client::get_stream(const S3Object& object,
                                  const std::function<bool(const char*, std::size_t)>& sink) const {
  auto r = request("GET", object, "", {}, &sink, nullptr);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<S3Client::Upload> S3Client::start_upload(const S3Object& object) const {
  auto r = request("POST", object, "uploads", {}, nullptr, nullptr);
  if (!r) return std::unexpected(r.error());
  auto id = xml_value(r->body, "UploadId");
  if (id.empty()) {
    return fail(ErrorKind::bad_gateway,
                fmt::format("S3 did not start an upload for {}", object.uri()));
  }
  return Upload(*this, object, id);
}

S3Client::Upload::~Upload() {
  if (done_ || client_ == nullptr || upload_id_.empty()) return;
  // No orphan parts: a failed upload is aborted; the old object stays.
  auto r = client_->request("DELETE", object_, "uploadId=" + upload_id_, {}, nullptr, nullptr);
  if (!r) {
    log::warn("could not abort the upload to {}: {}", object_.uri(), r.error().message);
  } else {
    log::info("aborted the unfinished upload to {}; the object is unchanged", object_.uri());
  }
}

Result<void> S3Client::Upload::send_part() {
  auto query = fmt::format("partNumber={}&uploadId={}", etags_.size() + 1, upload_id_);
  auto r = client_->request("PUT", object_, query, buffer_, nullptr, nullptr);
  if (!r) return std::unexpected(r.error());
  etags_.push_back(r->etag);
  buffer_.clear();
  return {};
}

Result<void> S3Client::Upload::write(const void* data, std::size_t size) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = std::min(size, k_s3_part_size - buffer_.size());
    buffer_.append(p, n);
    p += n;
    size -= n;
    if (buffer_.size() == k_s3_part_size) {
      if (auto ok = send_part(); !ok) return ok;
    }
  }
  return {};
}

Result<void> S3Client::Upload::complete() {
  if (!buffer_.empty() || etags_.empty()) {
    if (auto ok = send_part(); !ok) return ok;
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags_.size(); ++i) {
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, etags_[i]);
  }
  xml += "</CompleteMultipartUpload>";
  auto r = client_->request("POST", object_, "uploadId=" + upload_id_, xml, nullptr, nullptr);
  if (!r) return std::unexpected(r.error());
  if (r->body.find("<Error>") != std::string::npos) {
    return fail(ErrorKind::bad_gateway,
                fmt::format("S3 could not complete the upload to {}", object_.uri()));
  }
  done_ = true;
  return {};
}

}  // namespace digsig::remote
