// What a signer gets from the HTTP layer (fields and spooled files) and what
// it gives back. Nothing here knows about HTTP.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/util/error.hpp"

namespace digsig::signers {

struct UploadedFile {
  std::filesystem::path path;   // inside the job directory
  std::string client_filename;  // as the client sent it: not validated
  std::string content_type;
  std::uint64_t size = 0;
  std::string sha256;           // hex, computed while spooling
};

struct SignRequest {
  std::string request_id;
  std::string client;
  std::map<std::string, std::string, std::less<>> fields;
  std::map<std::string, UploadedFile, std::less<>> files;

  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const;
  // The field's value, or the default when it is absent or empty.
  [[nodiscard]] std::string field_or(std::string_view name, std::string_view fallback) const;
  // bad_request "<message>" if absent or empty.
  [[nodiscard]] Result<std::string> required_field(std::string_view name,
                                                   std::string_view message) const;
  [[nodiscard]] const UploadedFile* file(std::string_view name) const;
  [[nodiscard]] Result<const UploadedFile*> required_file(std::string_view name) const;
};

struct SignResult {
  enum class Kind { file, text };
  Kind kind = Kind::text;
  std::filesystem::path file;  // Kind::file: inside the job directory
  std::string filename;        // Content-Disposition file name
  std::string content_type = "application/octet-stream";
  std::string text;            // Kind::text: the response body
  std::vector<std::string> keys_used;  // key names, for the audit record

  [[nodiscard]] static SignResult of_file(std::filesystem::path file, std::string filename,
                                          std::string content_type = "application/octet-stream");
  [[nodiscard]] static SignResult of_text(std::string text);
};

}  // namespace digsig::signers
