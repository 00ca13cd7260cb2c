#include "digsig/util/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace digsig::log {

namespace {

thread_local std::string t_request_id;

std::shared_mutex g_secrets_mutex;
std::vector<std::string> g_secrets;

// Prints the calling thread's request id for the %q pattern flag.
class RequestIdFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto id = request_id();
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

// Wraps the terminal sink and redacts every message before it is formatted.
class RedactingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string clean = redact({msg.payload.data(), msg.payload.size()});
    spdlog::details::log_msg copy(msg.time, msg.source, msg.logger_name, msg.level, clean);
    copy.thread_id = msg.thread_id;
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
};

}  // namespace

bool init(std::string_view level_name) {
  std::string name(level_name);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "warning") name = "warn";
  if (name == "critical") name = "critical";
  auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") return false;

  auto terminal = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto sink = std::make_shared<RedactingSink>(terminal);
  auto logger = std::make_shared<spdlog::logger>("digsigserver", sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<RequestIdFlag>('q').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%q] %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return true;
}

void add_secret(std::string secret) {
  if (secret.empty()) return;
  std::unique_lock lock(g_secrets_mutex);
  g_secrets.push_back(std::move(secret));
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::shared_lock lock(g_secrets_mutex);
  for (const auto& secret : g_secrets) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + 3)) {
      out.replace(pos, secret.size(), "***");
    }
  }
  return out;
}

std::string_view request_id() {
  return t_request_id.empty() ? std::string_view("-") : std::string_view(t_request_id);
}

void set_request_id(std::string id) { t_request_id = std::move(id); }

RequestScope::RequestScope(std::string id) : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
}

RequestScope::~RequestScope() { t_request_id = std::move(previous_); }

}  // namespace digsig::log
