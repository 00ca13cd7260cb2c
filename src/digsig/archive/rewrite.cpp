#include "digsig/archive/rewrite.hpp"

#include <archive.h>
#include <fmt/format.h>

#include <deque>
#include <future>
#include <memory>
#include <semaphore>

#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::archive {

namespace {

using ReadPtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using WritePtr = std::unique_ptr<struct archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

constexpr std::uint64_t k_max_buffered_small = 1 << 20;  // a copied file held while others sign

Error corrupt() {
  return Error{ErrorKind::bad_request, "Invalid artifact: the tar archive is corrupt or truncated"};
}

// One member waiting for its turn to be written.
struct Pending {
  EntryPtr entry{nullptr, archive_entry_free};
  std::string name;
  std::future<Result<std::string>> transformed;  // valid() for selected members
  std::string data;                              // copied content otherwise
};

class Rewriter {
 public:
  Rewriter(const Selector& select, const Transform& transform, const RewriteOptions& options)
      : select_(select), transform_(transform), options_(options), checker_(options.limits),
        running_(static_cast<std::ptrdiff_t>(std::max<std::size_t>(1, options.workers))) {}

  ~Rewriter() {
    // Every started transform finishes before the objects it uses go away.
    for (auto& p : pending_) {
      if (p.transformed.valid()) p.transformed.wait();
    }
  }

  Result<RewriteStats> run(const std::filesystem::path& in_path,
                           const std::filesystem::path& out_path) {
    ReadPtr in(archive_read_new(), archive_read_free);
    archive_read_support_filter_gzip(in.get());
    archive_read_support_filter_none(in.get());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_gnutar(in.get());
    if (archive_read_open_filename(in.get(), in_path.c_str(), 1 << 16) != ARCHIVE_OK) {
      return fail(ErrorKind::bad_request, "Invalid artifact: not a gzip-compressed tar archive");
    }
    out_ = WritePtr(archive_write_new(), archive_write_free);
    archive_write_set_format_gnutar(out_.get());
    archive_write_add_filter_gzip(out_.get());
    auto level = std::to_string(std::clamp(options_.gzip_level, 1, 9));
    archive_write_set_filter_option(out_.get(), "gzip", "compression-level", level.c_str());
    archive_write_set_bytes_in_last_block(out_.get(), 1);
    if (archive_write_open_filename(out_.get(), out_path.c_str()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "cannot write the response archive");
    }

    RewriteStats stats;
    for (;;) {
      if (jobs::Clock::now() >= options_.deadline) {
        return fail(ErrorKind::timeout, "signing did not finish within DIGSIGSERVER_RESPONSE_TIMEOUT");
      }
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(in.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        if (stats.members == 0) {
          return fail(ErrorKind::bad_request, "Invalid artifact: not a gzip-compressed tar archive");
        }
        return std::unexpected(corrupt());
      }
      ++stats.members;
      auto member = checker_.check(entry);
      if (!member) return std::unexpected(member.error());
      if (member->name.empty()) {
        if (!root_written_) {
          if (auto ok = write_root(entry); !ok) return std::unexpected(ok.error());
        }
        continue;
      }
      if (!root_written_) {
        if (auto ok = write_root(nullptr); !ok) return std::unexpected(ok.error());
      }
      auto selected = select_(*member);
      if (!selected) return std::unexpected(selected.error());

      Pending p;
      p.entry.reset(archive_entry_clone(entry));
      p.name = member->name;
      archive_entry_set_pathname(p.entry.get(),
                                 ("./" + member->name + (member->type == AE_IFDIR ? "/" : "")).c_str());
      if (member->hardlink) {
        archive_entry_set_hardlink(p.entry.get(), ("./" + member->link_target).c_str());
      }
      bool regular = member->type == AE_IFREG && !member->hardlink;
      if (regular && *selected && !member->hardlink) {
        auto content = read_all(in.get(), entry, options_.max_transform_bytes);
        if (!content) return std::unexpected(content.error());
        ++stats.transformed;
        p.transformed = std::async(std::launch::async,
                                   [this, name = p.name, id = std::string(log::request_id()),
                                    data = std::move(*content)]() mutable {
                                     log::RequestScope scope(id);
                                     running_.acquire();
                                     auto result = transform_(name, std::move(data));
                                     running_.release();
                                     return result;
                                   });
        pending_.push_back(std::move(p));
      } else if (regular && !pending_.empty() &&
                 archive_entry_size(entry) <= static_cast<la_int64_t>(k_max_buffered_small)) {
        auto content = read_all(in.get(), entry, k_max_buffered_small);
        if (!content) return std::unexpected(content.error());
        p.data = std::move(*content);
        pending_.push_back(std::move(p));
      } else {
        // Written now: everything before it goes first.
        if (auto ok = flush(0); !ok) return std::unexpected(ok.error());
        if (auto ok = copy_through(in.get(), p, regular); !ok) return std::unexpected(ok.error());
      }
      if (auto ok = flush(2 * std::max<std::size_t>(1, options_.workers) + 2); !ok) {
        return std::unexpected(ok.error());
      }
    }
    if (!root_written_) {
      if (auto ok = write_root(nullptr); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = flush(0); !ok) return std::unexpected(ok.error());
    if (archive_write_close(out_.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, "could not finish the response archive");
    }
    return stats;
  }

 private:
  Result<void> write_root(archive_entry* original) {
    EntryPtr root(original != nullptr ? archive_entry_clone(original) : archive_entry_new(),
                  archive_entry_free);
    if (original == nullptr) {
      archive_entry_set_filetype(root.get(), AE_IFDIR);
      archive_entry_set_perm(root.get(), 0755);
      archive_entry_set_mtime(root.get(), std::time(nullptr), 0);
    }
    archive_entry_set_pathname(root.get(), "./");
    root_written_ = true;
    return write_header(root.get(), "./");
  }

  Result<void> write_header(archive_entry* entry, std::string_view name) {
    if (archive_write_header(out_.get(), entry) != ARCHIVE_OK) {
      return fail(ErrorKind::internal, fmt::format("could not write member {}: {}", quote(name),
                                                   archive_error_string(out_.get())));
    }
    return {};
  }

  Result<void> write_data(const std::string& data, std::string_view name) {
    if (!data.empty() &&
        archive_write_data(out_.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
      return fail(ErrorKind::internal, fmt::format("could not write member {}", quote(name)));
    }
    return {};
  }

  // Writes pending members from the front until at most `keep` remain.
  Result<void> flush(std::size_t keep) {
    while (pending_.size() > keep) {
      Pending& p = pending_.front();
      if (p.transformed.valid()) {
        auto result = p.transformed.get();
        if (!result) return std::unexpected(result.error());
        p.data = std::move(*result);
        archive_entry_set_size(p.entry.get(), static_cast<la_int64_t>(p.data.size()));
      }
      if (auto ok = write_header(p.entry.get(), p.name); !ok) return ok;
      if (auto ok = write_data(p.data, p.name); !ok) return ok;
      pending_.pop_front();
    }
    return {};
  }

  Result<void> copy_through(struct archive* in, Pending& p, bool regular) {
    if (auto ok = write_header(p.entry.get(), p.name); !ok) return ok;
    if (!regular) return {};
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int r = archive_read_data_block(in, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) return {};
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return std::unexpected(corrupt());
      if (archive_write_data(out_.get(), buf, size) != static_cast<la_ssize_t>(size)) {
        return fail(ErrorKind::internal, fmt::format("could not write member {}", quote(p.name)));
      }
    }
  }

  static Result<std::string> read_all(struct archive* in, archive_entry* entry, std::uint64_t max) {
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
      if (n <= 0) return std::unexpected(corrupt());
      done += static_cast<std::size_t>(n);
    }
    return data;
  }

  const Selector& select_;
  const Transform& transform_;
  const RewriteOptions& options_;
  MemberChecker checker_;
  std::counting_semaphore<> running_;
  WritePtr out_{nullptr, archive_write_free};
  std::deque<Pending> pending_;
  bool root_written_ = false;
};

}  // namespace

Result<RewriteStats> rewrite(const std::filesystem::path& in, const std::filesystem::path& out,
                             const Selector& select, const Transform& transform,
                             const RewriteOptions& options) {
  Rewriter rewriter(select, transform, options);
  return rewriter.run(in, out);
}

}  // namespace digsig::archive
