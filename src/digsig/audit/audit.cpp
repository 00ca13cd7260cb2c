#include "digsig/audit/audit.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "digsig/util/log.hpp"

namespace digsig::audit {

AuditLog::AuditLog(const std::string& path) {
  if (path.empty()) return;
  file_.open(path, std::ios::app);
  if (!file_) throw std::runtime_error(fmt::format("cannot open the audit log {}", path));
  to_file_ = true;
}

void AuditLog::write(const Record& r) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& in : r.inputs) {
    inputs.push_back({{"field", in.field}, {"filename", in.filename}, {"size", in.size},
                      {"sha256", in.sha256}});
  }
  nlohmann::json j = {
      {"time", fmt::format("{:%FT%TZ}", std::chrono::floor<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now()))},
      {"request_id", r.request_id},
      {"client", r.client},
      {"signer", r.signer},
      {"selector", r.selector},
      {"keys", r.keys},
      {"inputs", inputs},
      {"status", r.status},
      {"outcome", r.outcome},
      {"message", r.message},
      {"result_bytes", r.result_bytes},
      {"result_sha256", r.result_sha256},
      {"seconds", r.seconds},
  };
  // Invalid UTF-8 from clients is replaced rather than thrown on.
  auto line = log::redact(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!to_file_) {
    log::info("audit {}", line);
    return;
  }
  std::lock_guard lock(mutex_);
  file_ << line << '\n';
  file_.flush();
}

}  // namespace digsig::audit
