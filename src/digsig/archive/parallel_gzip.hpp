// A gzip file written by several threads: the stream is cut into 1 MiB
// blocks, each compressed on its own as a complete gzip member, and the
// members are written in order. A file of several members is valid gzip
// (RFC 1952 2.2); gzip, GNU tar and libarchive read it as one stream. The
// blocks share no dictionary, which costs well under 1 % in size.
#pragma once

#include <cstddef>
#include <deque>
#include <filesystem>
#include <future>
#include <string>

#include "digsig/util/error.hpp"

namespace digsig::archive {

class ParallelGzip {
 public:
  ParallelGzip(int level, std::size_t workers) : level_(level), workers_(workers) {}
  ParallelGzip(const ParallelGzip&) = delete;
  ParallelGzip& operator=(const ParallelGzip&) = delete;
  ~ParallelGzip();

  [[nodiscard]] Result<void> open(const std::filesystem::path& path);
  [[nodiscard]] Result<void> write(const void* data, std::size_t size);
  // Compresses what is left, writes everything and closes the file.
  [[nodiscard]] Result<void> finish();

 private:
  static constexpr std::size_t k_block = 1 << 20;
  Result<void> submit();
  Result<void> drain(std::size_t keep);

  int level_;
  std::size_t workers_;
  int fd_ = -1;
  std::string block_;
  std::deque<std::future<Result<std::string>>> in_flight_;
};

}  // namespace digsig::archive
