#include "digsig/util/files.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace digsig {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::internal, "cannot read a file in the job directory");
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

Result<void> write_file(const std::filesystem::path& path, std::string_view data,
                        std::string_view what) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out.flush()) return fail(ErrorKind::internal, fmt::format("cannot write {}", what));
  return {};
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(k_digits[data[i] >> 4]);
    out.push_back(k_digits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace digsig
