#include "digsig/archive/parallel_gzip.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <utility>

namespace digsig::archive {

namespace {

Result<std::string> compress_member(const std::string& in, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate data.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(ErrorKind::internal, "cannot start gzip compression");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) return fail(ErrorKind::internal, "gzip compression failed");
  return out;
}

}  // namespace

ParallelGzip::~ParallelGzip() {
  for (auto& f : in_flight_) f.wait();
  if (fd_ >= 0) ::close(fd_);
}

Result<void> ParallelGzip::open(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) return fail(ErrorKind::internal, "cannot create the response archive");
  block_.reserve(k_block);
  return {};
}

Result<void> ParallelGzip::write(const void* data, std::size_t size) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = std::min(size, k_block - block_.size());
    block_.append(p, n);
    p += n;
    size -= n;
    if (block_.size() == k_block) {
      if (auto ok = submit(); !ok) return ok;
    }
  }
  return {};
}

Result<void> ParallelGzip::submit() {
  in_flight_.push_back(std::async(std::launch::async,
                                  [block = std::move(block_), level = level_] {
                                    return compress_member(block, level);
                                  }));
  block_ = std::string();
  block_.reserve(k_block);
  return drain(2 * std::max<std::size_t>(1, workers_));
}

Result<void> ParallelGzip::drain(std::size_t keep) {
  while (in_flight_.size() > keep) {
    auto member = in_flight_.front().get();
    in_flight_.pop_front();
    if (!member) return std::unexpected(member.error());
    std::size_t done = 0;
    while (done < member->size()) {
      auto n = ::write(fd_, member->data() + done, member->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(ErrorKind::internal, "cannot write the response archive (disk full?)");
      done += static_cast<std::size_t>(n);
    }
  }
  return {};
}

Result<void> ParallelGzip::finish() {
  if (!block_.empty()) {
    if (auto ok = submit(); !ok) return ok;
  }
  if (auto ok = drain(0); !ok) return ok;
  if (::close(std::exchange(fd_, -1)) != 0) {
    return fail(ErrorKind::internal, "cannot write the response archive");
  }
  return {};
}

}  // namespace digsig::archive
