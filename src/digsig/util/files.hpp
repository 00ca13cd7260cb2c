// Whole-file reads and writes for files inside a job directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "digsig/util/error.hpp"

namespace digsig {

// The file's content; internal error if it cannot be read.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path);

// Replaces the file's content; internal error (naming `what`) on failure.
[[nodiscard]] Result<void> write_file(const std::filesystem::path& path, std::string_view data,
                                      std::string_view what);

// Lower-case hex of bytes.
[[nodiscard]] std::string to_hex(const unsigned char* data, std::size_t size);

}  // namespace digsig
