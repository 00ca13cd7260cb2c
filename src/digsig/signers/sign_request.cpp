#include "digsig/signers/sign_request.hpp"

#include <fmt/format.h>

namespace digsig::signers {

std::optional<std::string_view> SignRequest::field(std::string_view name) const {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string SignRequest::field_or(std::string_view name, std::string_view fallback) const {
  auto value = field(name);
  return std::string(value && !value->empty() ? *value : fallback);
}

Result<std::string> SignRequest::required_field(std::string_view name,
                                                std::string_view message) const {
  auto value = field(name);
  if (!value || value->empty()) {
    return fail(ErrorKind::bad_request,
                fmt::format("{}: the '{}' field is required", message, name));
  }
  return std::string(*value);
}

const UploadedFile* SignRequest::file(std::string_view name) const {
  auto it = files.find(name);
  return it == files.end() ? nullptr : &it->second;
}

Result<const UploadedFile*> SignRequest::required_file(std::string_view name) const {
  if (const auto* f = file(name)) return f;
  if (fields.contains(name)) {
    return fail(ErrorKind::bad_request,
                fmt::format("'{}' must be sent as a file (curl -F {}=@FILE)", name, name));
  }
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid artifact: the file field '{}' is missing (curl -F {}=@FILE)",
                          name, name));
}

SignResult SignResult::of_file(std::filesystem::path file, std::string filename,
                               std::string content_type) {
  SignResult r;
  r.kind = Kind::file;
  r.file = std::move(file);
  r.filename = std::move(filename);
  r.content_type = std::move(content_type);
  return r;
}

SignResult SignResult::of_text(std::string text) {
  SignResult r;
  r.kind = Kind::text;
  r.text = std::move(text);
  r.content_type = "text/plain";
  return r;
}

}  // namespace digsig::signers
