#pragma once

#include <filesystem>
#include <string>

#include "digsig/util/error.hpp"

namespace digsig::crypto {

// The SHA-256 of a file's content, in lower-case hex (streamed).
[[nodiscard]] Result<std::string> sha256_file(const std::filesystem::path& file);

}  // namespace digsig::crypto
