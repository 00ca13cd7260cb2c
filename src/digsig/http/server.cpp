#include "digsig/http/server.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "digsig/crypto/digest.hpp"
#include "digsig/crypto/pkcs11.hpp"
#include "digsig/http/request_context.hpp"
#include "digsig/http/status.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::http {

namespace {

using Clock = std::chrono::steady_clock;

// Serves a result file from the job directory; the job (and its directory)
// lives until the library releases the provider.
struct FileBody {
  std::shared_ptr<jobs::Job> job;
  int fd = -1;
  ~FileBody() {
    if (fd >= 0) ::close(fd);
  }
};

void set_error(httplib::Response& res, const Error& error) {
  res.status = status_for(error.kind);
  res.set_content(error.message + "\n", "text/plain; charset=utf-8");
  if (error.kind == ErrorKind::overloaded) res.set_header("Retry-After", "5");
  // The body may not have been read to its end: do not reuse the connection.
  res.set_header("Connection", "close");
  if (res.status >= 500) {
    log::error("{} {}: {}", res.status, to_string(error.kind), error.message);
  } else {
    log::warn("{} {}: {}", res.status, to_string(error.kind), error.message);
  }
}

std::uint64_t content_length(const httplib::Request& req) {
  auto text = req.get_header_value("Content-Length");
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

std::string default_message(int status) {
  switch (status) {
    case 400: return "Bad request";
    case 404: return "No such endpoint; GET /signers lists them";
    case 405: return "Method not allowed; signing endpoints take POST with multipart/form-data";
    case 413: return "The request is larger than the server's limit (DIGSIGSERVER_REQUEST_MAX_SIZE)";
    default: return fmt::format("HTTP error {}", status);
  }
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, ServerParts parts) : options_(std::move(options)), parts_(parts) {
    configure();
  }

  int bind() {
    if (options_.port == 0) return server_.bind_to_any_port(options_.address);
    return server_.bind_to_port(options_.address, options_.port) ? options_.port : -1;
  }
  bool serve() { return server_.listen_after_bind(); }
  void stop() { server_.stop(); }

 private:
  void configure() {
    std::size_t threads = options_.threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_payload_max_length(options_.spool_limits.max_body_bytes +
                                   k_multipart_overhead);
    server_.set_read_timeout(std::chrono::seconds(30));
    server_.set_write_timeout(std::chrono::seconds(30));
    server_.set_keep_alive_timeout(5);
    // Small responses must not wait for delayed ACKs (Nagle): without this a
    // keep-alive client sees ~40 ms per request.
    server_.set_tcp_nodelay(true);

    server_.set_expect_100_continue_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          auto& ctx = begin_request(Phase::expect_continue, req.get_header_value("X-Request-Id"));
          log::set_request_id(ctx.id);
          res.set_header("X-Request-Id", ctx.id);
          auto length = content_length(req);
          if (length > options_.spool_limits.max_body_bytes + k_multipart_overhead) {
            set_error(res, too_large_error());
            return res.status;
          }
          return 100;
        });
    server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      auto& ctx = begin_request(Phase::routing, req.get_header_value("X-Request-Id"));
      log::set_request_id(ctx.id);
      res.set_header("X-Request-Id", ctx.id);
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      res.set_content(default_message(res.status) + "\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }));
    server_.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          log::error("internal error: {}", what);
          res.status = 500;
          res.set_content("Internal server error; the server log has the details\n", "text/plain");
        });
    server_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      auto& ctx = current_request();
      auto seconds = std::chrono::duration<double>(Clock::now() - ctx.start).count();
      auto bytes = res.content_length_ > 0 ? res.content_length_ : res.body.size();
      log::info("{} {} {} {}B {:.3f}s {}", req.method, req.path, res.status, bytes, seconds,
                req.remote_addr);
      end_request();
      log::set_request_id("");
    });

    server_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server_.Get("/signers", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(signers_json().dump(2) + "\n", "application/json");
    });
    for (auto& signer : parts_.signers) {
      signers::Signer* s = signer.get();
      server_.Post(s->info().route,
                   [this, s](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) { handle(*s, req, res, reader); });
    }
  }

  Error too_large_error() const {
    return Error{ErrorKind::too_large,
                 fmt::format("the request is larger than the server's limit of {} bytes "
                             "(DIGSIGSERVER_REQUEST_MAX_SIZE)",
                             options_.spool_limits.max_body_bytes)};
  }

  nlohmann::json signers_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& signer : parts_.signers) {
      const auto& info = signer->info();
      auto ready = signer->readiness();
      list.push_back({{"name", info.name},
                      {"route", info.route},
                      {"method", "POST"},
                      {"summary", info.summary},
                      {"keys_dir", fmt::format("<{}>/{}/", info.selector_field, info.signtype)},
                      {"fields", info.fields},
                      {"keys", info.keys},
                      {"tools", info.tools},
                      {"ready", ready.ready},
                      {"missing", ready.missing},
                      {"found", ready.found},
                      {"token_keys", info.token_keys},
                      {"token", token_json(info.signtype)}});
    }
    nlohmann::json out = options_.about;
    out["signers"] = list;
    out["jobs"] = {{"running", parts_.slots.running()}, {"waiting", parts_.slots.waiting()},
                   {"max_running", parts_.slots.max_running()}};
    auto token = crypto::token_status();
    out["pkcs11"] = {{"configured", token.configured}, {"opened", token.opened},
                     {"max_operations", token.max_operations}, {"running", token.running},
                     {"peak", token.peak}, {"reinits", token.reinits}};
    return out;
  }

  // Which of the signer's key files are pkcs11: references, and whether
  // their tokens are present (no login): null when none are, a note when the
  // store cannot be listed cheaply (S3).
  nlohmann::json token_json(const std::string& signtype) const {
    auto refs = parts_.keys.token_references(signtype);
    if (!refs) return "not checked for this key store";
    if (refs->empty()) return nullptr;
    std::map<std::string, bool> tokens;
    for (const auto& ref : *refs) {
      auto label = crypto::pkcs11_token_label(ref);
      if (label.empty()) label = "(any)";
      if (!tokens.contains(label)) tokens[label] = crypto::token_present(ref);
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [label, present] : tokens) list.push_back({{"token", label}, {"present", present}});
    return {{"keys_on_token", refs->size()}, {"tokens", list}};
  }

  // One signing request, start to end.
  void handle(signers::Signer& signer, const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader) {
    auto start = Clock::now();
    auto deadline = start + options_.response_timeout;
    audit::Record record;
    record.request_id = current_request().id;
    record.client = req.remote_addr;
    record.signer = signer.info().name;

    auto outcome = run(signer, req, reader, deadline, record);
    record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!outcome) {
      set_error(res, outcome.error());
      record.status = res.status;
      record.outcome = std::string(to_string(outcome.error().kind));
      record.message = outcome.error().message;
      parts_.audit.write(record);
      return;
    }
    auto& [job, result] = *outcome;
    record.status = 200;
    record.outcome = "signed";
    record.keys = result.keys_used;
    if (result.kind == signers::SignResult::Kind::text) {
      res.set_content(result.text, result.content_type);
      parts_.audit.write(record);
      log::info("{} succeeded", signer.info().name);
      return;
    }
    auto body = std::make_shared<FileBody>();
    body->fd = ::open(result.file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (body->fd < 0 || ::fstat(body->fd, &st) != 0) {
      Error e{ErrorKind::internal, "the signer reported success but produced no result file"};
      set_error(res, e);
      record.status = res.status;
      record.outcome = std::string(to_string(e.kind));
      record.message = e.message;
      parts_.audit.write(record);
      return;
    }
    record.result_bytes = static_cast<std::uint64_t>(st.st_size);
    if (auto digest = crypto::sha256_file(result.file)) record.result_sha256 = *digest;
    parts_.audit.write(record);
    log::info("{} succeeded: {} bytes", signer.info().name, st.st_size);
    body->job = std::make_shared<jobs::Job>(std::move(job));
    res.set_header("Content-Disposition",
                   fmt::format("attachment; filename=\"{}\"", result.filename));
    res.set_content_provider(
        static_cast<std::size_t>(st.st_size), result.content_type,
        [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          char buf[64 * 1024];
          auto want = std::min(length, sizeof buf);
          auto n = ::pread(body->fd, buf, want, static_cast<off_t>(offset));
          if (n <= 0) return false;
          return sink.write(buf, static_cast<std::size_t>(n));
        },
        [body](bool) { ::close(std::exchange(body->fd, -1)); });
  }

  Result<std::pair<jobs::Job, signers::SignResult>> run(signers::Signer& signer,
                                                        const httplib::Request& req,
                                                        const httplib::ContentReader& reader,
                                                        jobs::Deadline deadline,
                                                        audit::Record& record) {
    if (!req.is_multipart_form_data()) {
      return fail(ErrorKind::unsupported_media,
                  fmt::format("{} takes multipart/form-data (curl -F name=value -F file=@path), "
                              "not {}",
                              signer.info().route,
                              quote(req.get_header_value("Content-Type"))));
    }
    auto length = content_length(req);
    if (length > options_.spool_limits.max_body_bytes + k_multipart_overhead) {
      // Let the library discard the body so that the client reads our answer.
      reader([](const httplib::MultipartFormData&) { return true; },
             [](const char*, std::size_t) { return true; });
      return std::unexpected(too_large_error());
    }
    auto slot = parts_.slots.acquire(deadline);
    if (!slot) return std::unexpected(slot.error());
    auto job = parts_.spool.create_job(current_request().id, deadline);
    if (!job) return std::unexpected(job.error());

    MultipartSpool spool(*job, options_.spool_limits);
    bool read_ok = reader(
        [&](const httplib::MultipartFormData& part) {
          if (jobs::Clock::now() >= deadline) return false;
          return spool.begin_part(part.name, part.filename, part.content_type);
        },
        [&](const char* data, std::size_t size) {
          if (jobs::Clock::now() >= deadline) return false;
          return spool.data(data, size);
        });
    if (spool.error()) return std::unexpected(*spool.error());
    if (jobs::Clock::now() >= deadline) {
      return fail(ErrorKind::upload_timeout,
                  "the upload did not finish within DIGSIGSERVER_RESPONSE_TIMEOUT");
    }
    if (!read_ok) {
      return fail(ErrorKind::bad_request,
                  "the multipart/form-data body is truncated or malformed");
    }
    auto request = spool.finish();
    if (!request) return std::unexpected(request.error());
    request->request_id = current_request().id;
    request->client = req.remote_addr;
    for (const auto& [field, file] : request->files) {
      record.inputs.push_back({field, file.client_filename, file.size, file.sha256});
    }
    if (auto selector = request->field(signer.info().selector_field)) {
      record.selector = std::string(*selector);
    }

    log::info("{} request from {}: {}", signer.info().name, req.remote_addr, describe(*request));
    auto result = signer.sign(*request, *job);
    if (!result) return std::unexpected(result.error());
    if (jobs::Clock::now() >= deadline) {
      return fail(ErrorKind::timeout,
                  "signing did not finish within DIGSIGSERVER_RESPONSE_TIMEOUT");
    }
    return std::pair<jobs::Job, signers::SignResult>{std::move(*job), std::move(*result)};
  }

  static std::string describe(const signers::SignRequest& request) {
    std::string out;
    for (const auto& [name, value] : request.fields) {
      out += fmt::format("{}={} ", name, quote(value));
    }
    for (const auto& [name, file] : request.files) {
      out += fmt::format("{}=@{} ({} bytes) ", name, quote(file.client_filename), file.size);
    }
    return out;
  }

  // Multipart framing (boundaries, part headers) on top of the content.
  static constexpr std::uint64_t k_multipart_overhead = 64 * 1024;

  ServerOptions options_;
  ServerParts parts_;
  httplib::Server server_;
};

Server::Server(ServerOptions options, ServerParts parts)
    : impl_(std::make_unique<Impl>(std::move(options), parts)) {}
Server::~Server() = default;
int Server::bind() { return impl_->bind(); }
bool Server::serve() { return impl_->serve(); }
void Server::stop() { impl_->stop(); }

}  // namespace digsig::http
