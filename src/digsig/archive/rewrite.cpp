#include "digsig/archive/rewrite.hpp"

#include <archive.h>
#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <future>
#include <memory>
#include <semaphore>

#include "digsig/archive/parallel_gzip.hpp"
#include "digsig/archive/reader.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::archive {

namespace {

using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;


// One piece of output, in order: a member's header with its content (a
// transform's future, or bytes), or a further chunk of a large member.
struct Item {
  EntryPtr entry{nullptr, archive_entry_free};  // null: a chunk of the previous member
  std::string name;
  std::future<Result<std::string>> transformed;  // valid() for selected members
  std::string data;
};

// Writes items on its own thread, so that compressing the output overlaps
// reading the input and signing. The queue is bounded in items and bytes.
class Writer {
 public:
  Writer(struct archive* out, std::size_t max_items)
      : out_(out), max_items_(max_items), thread_([this] { loop(); }) {}

  ~Writer() { finish(); }

  // False once the writer has failed (the caller stops reading).
  bool push(Item item) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] {
      return failed() || (queue_.size() < max_items_ && bytes_ < k_max_queued_bytes);
    });
    if (failed()) return false;
    bytes_ += item.data.size();
    queue_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  // Waits until everything pushed is written; returns the first error.
  Result<void> finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      ready_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    if (error_) return std::unexpected(*error_);
    return {};
  }

 private:
  static constexpr std::uint64_t k_max_queued_bytes = 64ull << 20;

  bool failed() const { return error_.has_value(); }

  void loop() {
    for (;;) {
      Item item;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        bytes_ -= item.data.size();
        space_.notify_one();
      }
      if (failed()) continue;  // drain: transforms still finish
      auto ok = write(item);
      if (!ok) {
        std::lock_guard lock(mutex_);
        error_ = ok.error();
        space_.notify_all();
      }
    }
  }

  Result<void> write(Item& item) {
    if (item.transformed.valid()) {
      auto result = item.transformed.get();
      if (!result) return std::unexpected(result.error());
      item.data = std::move(*result);
      archive_entry_set_size(item.entry.get(), static_cast<la_int64_t>(item.data.size()));
    }
    if (item.entry && archive_write_header(out_, item.entry.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, fmt::format("could not write member {}: {}",
                                                   quote(item.name), archive_error_string(out_)));
    }
    if (!item.data.empty() && archive_write_data(out_, item.data.data(), item.data.size()) !=
                                  static_cast<la_ssize_t>(item.data.size())) {
      return fail(ErrorKind::internal, fmt::format("could not write member {}", quote(item.name)));
    }
    return {};
  }

  struct archive* out_;
  const std::size_t max_items_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<Item> queue_;
  std::uint64_t bytes_ = 0;
  bool done_ = false;
  std::optional<Error> error_;
  std::thread thread_;
};

class Rewriter {
 public:
  Rewriter(const Selector& select, const Transform& transform, const RewriteOptions& options)
      : select_(select), transform_(transform), options_(options), checker_(options.limits),
        running_(static_cast<std::ptrdiff_t>(std::max<std::size_t>(1, options.workers))) {}

  Result<RewriteStats> run(const std::filesystem::path& in_path,
                           const std::filesystem::path& out_path) {
    auto in = open_reader(in_path);
    if (!in) return std::unexpected(in.error());
    // libarchive writes the tar stream; compression is ours, in parallel.
    ParallelGzip gzip(std::clamp(options_.gzip_level, 1, 9), options_.workers);
    if (auto ok = gzip.open(out_path); !ok) return std::unexpected(ok.error());
    WritePtr out(archive_write_new(), archive_write_free);
    archive_write_set_format_gnutar(out.get());
    archive_write_set_bytes_per_block(out.get(), 64 * 1024);
    archive_write_set_bytes_in_last_block(out.get(), 1);
    auto write_cb = [](struct archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
      auto* g = static_cast<ParallelGzip*>(self);
      return g->write(buf, n) ? static_cast<la_ssize_t>(n) : -1;
    };
    if (archive_write_open(out.get(), &gzip, nullptr, write_cb, nullptr) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the response archive");
    }
    // Enough members in flight to keep every worker busy.
    Writer writer(out.get(), 4 * std::max<std::size_t>(1, options_.workers) + 4);
    auto stats = read_all_members(in->get(), writer);
    auto written = writer.finish();  // also when reading failed: transforms must end
    if (!stats) return stats;
    if (!written) return std::unexpected(written.error());
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "could not finish the response archive");
    }
    if (auto ok = gzip.finish(); !ok) return std::unexpected(ok.error());
    return stats;
  }

 private:
  Result<RewriteStats> read_all_members(struct archive* in, Writer& writer) {
    RewriteStats stats;
    bool root_written = false;
    auto root = [&](archive_entry* original) {
      EntryPtr entry(original != nullptr ? archive_entry_clone(original) : archive_entry_new(),
                     archive_entry_free);
      if (original == nullptr) {
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        archive_entry_set_perm(entry.get(), 0755);
        archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
      }
      archive_entry_set_pathname(entry.get(), "./");
      root_written = true;
      return writer.push(Item{.entry = std::move(entry), .name = "./"});
    };
    auto writer_failed = [] { return Error{ErrorKind::internal, "writing the response failed"}; };
    for (;;) {
      if (jobs::Clock::now() >= options_.deadline) {
        return fail(ErrorKind::timeout, "signing did not finish within DIGSIGSERVER_RESPONSE_TIMEOUT");
      }
      auto next = next_header(in, stats.members);
      if (!next) return std::unexpected(next.error());
      archive_entry* entry = *next;
      if (entry == nullptr) break;
      ++stats.members;
      auto member = checker_.check(entry);
      if (!member) return std::unexpected(member.error());
      if (member->name.empty()) {
        if (!root_written && !root(entry)) return std::unexpected(writer_failed());
        continue;
      }
      if (!root_written && !root(nullptr)) return std::unexpected(writer_failed());
      auto selected = select_(*member);
      if (!selected) return std::unexpected(selected.error());

      Item item;
      item.entry.reset(archive_entry_clone(entry));
      item.name = member->name;
      archive_entry_set_pathname(
          item.entry.get(), ("./" + member->name + (member->type == AE_IFDIR ? "/" : "")).c_str());
      if (member->hardlink) {
        archive_entry_set_hardlink(item.entry.get(), ("./" + member->link_target).c_str());
      }
      bool regular = member->type == AE_IFREG && !member->hardlink;
      if (regular && *selected) {
        auto content = read_data(in, entry, options_.max_transform_bytes);
        if (!content) return std::unexpected(content.error());
        ++stats.transformed;
        item.transformed = std::async(std::launch::async,
                                      [this, name = item.name, id = std::string(log::request_id()),
                                       data = std::move(*content)]() mutable {
                                        log::RequestScope scope(id);
                                        running_.acquire();
                                        auto result = transform_(name, std::move(data));
                                        running_.release();
                                        return result;
                                      });
        if (!writer.push(std::move(item))) return std::unexpected(writer_failed());
      } else if (regular) {
        // Copied in chunks: the header first, then the content as it is read.
        if (!writer.push(std::move(item))) return std::unexpected(writer_failed());
        for (;;) {
          std::string chunk(k_chunk, '\0');
          auto n = archive_read_data(in, chunk.data(), chunk.size());
          if (n < 0) return std::unexpected(corrupt_archive());
          if (n == 0) break;
          chunk.resize(static_cast<std::size_t>(n));
          if (!writer.push(Item{.name = member->name, .data = std::move(chunk)})) {
            return std::unexpected(writer_failed());
          }
        }
      } else if (!writer.push(std::move(item))) {
        return std::unexpected(writer_failed());
      }
    }
    if (!root_written && !root(nullptr)) return std::unexpected(writer_failed());
    return stats;
  }

  static Result<std::string> read_data(struct archive* in, archive_entry* entry, std::uint64_t max) {
    auto declared = archive_entry_size(entry);
    if (declared < 0 || static_cast<std::uint64_t>(declared) > max) {
      return fail(ErrorKind::too_large,
                  fmt::format("Invalid artifact: archive member {} is larger than {} bytes",
                              quote(archive_entry_pathname(entry)), max));
    }
    std::string data(static_cast<std::size_t>(declared), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
      auto n = archive_read_data(in, data.data() + done, data.size() - done);
      if (n <= 0) return std::unexpected(corrupt_archive());
      done += static_cast<std::size_t>(n);
    }
    return data;
  }

  static constexpr std::size_t k_chunk = 1 << 20;

  const Selector& select_;
  const Transform& transform_;
  const RewriteOptions& options_;
  MemberChecker checker_;
  std::counting_semaphore<> running_;
};

}  // namespace

Result<RewriteStats> rewrite(const std::filesystem::path& in, const std::filesystem::path& out,
                             const Selector& select, const Transform& transform,
                             const RewriteOptions& options) {
  Rewriter rewriter(select, transform, options);
  return rewriter.run(in, out);
}

}  // namespace digsig::archive
