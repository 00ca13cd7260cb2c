#include "digsig/signers/modules_signer.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <thread>

#include "digsig/archive/rewrite.hpp"
#include "digsig/crypto/cms.hpp"
#include "digsig/crypto/keys.hpp"
#include "digsig/formats/module_signature.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

// A compressed module format: how the kernel build (scripts/Makefile.modinst)
// compresses, and how to undo it. Each is run with the job directory as its
// working directory on a file of its own.
struct Compression {
  std::string_view suffix;
  std::vector<std::string> decompress;  // followed by the file name
  std::vector<std::string> compress;    // followed by the file name
};

const std::array k_compressions{
    Compression{".ko.xz", {"xz", "-d", "-f", "-q"}, {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-f", "-q"}},
    Compression{".ko.gz", {"gzip", "-d", "-f", "-q"}, {"gzip", "-n", "-f", "-q"}},
    Compression{".ko.zst", {"zstd", "-d", "-f", "-q", "--rm"}, {"zstd", "-T0", "-f", "-q", "--rm"}},
};

const Compression* compression_of(std::string_view name) {
  for (const auto& c : k_compressions) {
    if (name.ends_with(c.suffix)) return &c;
  }
  return nullptr;
}

bool is_module_name(std::string_view name) {
  return name.ends_with(".ko") || compression_of(name) != nullptr;
}

Result<const char*> parse_hashalg(std::string_view value) {
  if (value.empty() || value == "sha512") return "SHA512";
  if (value == "sha384") return "SHA384";
  if (value == "sha256") return "SHA256";
  return fail(ErrorKind::bad_request,
              fmt::format("Invalid parameters: hashalg {} is not supported; use sha256, sha384 or "
                          "sha512",
                          quote(value)));
}

// What one request signs with: the key and certificate, decoded once.
struct ModuleKey {
  crypto::PKeyPtr key;
  crypto::X509Ptr cert;
  const char* digest;
};

class ModulesSigner : public Signer {
 public:
  explicit ModulesSigner(const SignerContext& context)
      : keys_(context.keys), limits_(context.settings.archive_limits) {
    info_ = SignerInfo{
        .name = "modules",
        .route = "/sign/modules",
        .signtype = "kmodsign",
        .selector_field = "machine",
        .summary = "Linux kernel modules in a tarball, signed as scripts/sign-file does",
        .fields = {"machine (required)", "hashalg: sha256, sha384 or sha512 (default)",
                   "artifact (file, required): tar.gz of a module tree"},
        .keys = {"kernel-signkey.priv", "kernel-signkey.x509"},
        .tools = {},
        .token_keys = "the signing key (signatures in parallel up to DIGSIGSERVER_PKCS11_MAX_OPS)",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    for (const auto& c : k_compressions) {
      auto path = tools::find_program(c.compress[0], "/usr/bin:/bin");
      if (path.empty()) {
        r.missing.push_back(fmt::format("{} (only for *{} modules)", c.compress[0], c.suffix));
      } else {
        r.found.push_back(fmt::format("{}: {}", c.compress[0], path));
      }
    }
    return r;  // ready: uncompressed modules need nothing
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.required_field("machine", "Machine name missing");
    if (!machine) return std::unexpected(machine.error());
    auto digest = parse_hashalg(request.field_or("hashalg", "sha512"));
    if (!digest) return std::unexpected(digest.error());
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    auto keys = SelectorKeys::open(keys_, info_, *machine);
    if (!keys) return std::unexpected(keys.error());
    auto key = load_key(*keys, *digest);
    if (!key) return std::unexpected(key.error());

    auto out = job.path_for("signed-modules.tar.gz");
    if (!out) return std::unexpected(out.error());
    std::atomic<unsigned> counter{0};
    archive::Selector select = [](const archive::CheckedMember& m) -> Result<bool> {
      if (!is_module_name(m.name)) return false;
      if (m.type == AE_IFDIR) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid artifact: {} is named like a module but is a directory",
                                quote(m.name)));
      }
      return m.type == AE_IFREG;
    };
    archive::Transform transform = [&](const std::string& name,
                                       std::string content) -> Result<std::string> {
      if (const auto* c = compression_of(name)) {
        return sign_compressed(*key, *c, name, std::move(content), job, counter.fetch_add(1));
      }
      return sign_module(*key, name, std::move(content));
    };
    archive::RewriteOptions options;
    options.limits = limits_;
    options.workers = std::max(1u, std::thread::hardware_concurrency());
    options.deadline = job.deadline();
    auto stats = archive::rewrite((*artifact)->path, *out, select, transform, options);
    if (!stats) return std::unexpected(stats.error());
    log::info("signed {} modules ({} archive members)", stats->transformed, stats->members);
    auto result = SignResult::of_file(*out, "signed-modules.tar.gz", "application/gzip");
    result.keys_used = {"kernel-signkey.priv", "kernel-signkey.x509"};
    return result;
  }

 private:
  static Result<ModuleKey> load_key(const SelectorKeys& keys, const char* digest) {
    auto pair = keys.load_key_and_certificate("kernel-signkey.priv", "kernel-signkey.x509");
    if (!pair) return std::unexpected(pair.error());
    return ModuleKey{std::move(pair->key), std::move(pair->cert), digest};
  }

  static Result<std::string> sign_module(const ModuleKey& key, const std::string& name,
                                         std::string module) {
    module.resize(formats::unsigned_module_length(module));
    crypto::CmsOptions options;
    options.smime_capabilities = false;
    options.signed_attributes = false;
    options.include_certificate = false;
    options.digest = key.digest;
    auto der = crypto::cms_sign_buffer(key.cert.get(), key.key.get(), nullptr, module.data(),
                                       module.size(), options);
    if (!der) {
      return fail(der.error().kind, fmt::format("{}: {}", quote(name), der.error().message));
    }
    formats::append_module_signature(module, *der);
    return module;
  }

  static Result<std::string> sign_compressed(const ModuleKey& key, const Compression& c,
                                             const std::string& name, std::string content,
                                             const jobs::Job& job, unsigned n) {
    // Our own file names inside the job directory, never the client's.
    auto compressed = job.dir() / fmt::format("module-{}{}", n, c.suffix);
    auto plain = job.dir() / fmt::format("module-{}.ko", n);
    if (auto ok = write_file(compressed, content, "a temporary module file"); !ok) {
      return std::unexpected(ok.error());
    }
    auto run_tool = [&](std::vector<std::string> argv, const fs::path& file) -> Result<void> {
      argv.push_back(file.filename().string());
      tools::Command cmd{.argv = argv, .cwd = job.dir(), .env = {"PATH=/usr/bin:/bin"},
                         .deadline = job.deadline()};
      auto outcome = tools::run_within_deadline(cmd, job.dir());
      if (!outcome) return std::unexpected(outcome.error());
      if (!outcome->succeeded()) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid artifact: {} could not be processed by {}: {}", quote(name),
                                argv[0], outcome->tail_for_client(3, job.dir())));
      }
      return {};
    };
    if (auto ok = run_tool(c.decompress, compressed); !ok) return std::unexpected(ok.error());
    fs::remove(compressed);
    auto plain_content = read_file(plain);
    if (!plain_content) return plain_content;
    auto signed_module = sign_module(key, name, std::move(*plain_content));
    if (!signed_module) return signed_module;
    if (auto ok = write_file(plain, *signed_module, "a temporary module file"); !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = run_tool(c.compress, plain); !ok) return std::unexpected(ok.error());
    std::error_code ec;
    fs::remove(plain, ec);
    auto result = read_file(compressed);
    fs::remove(compressed, ec);
    return result;
  }

  keystore::KeyStore& keys_;
  archive::Limits limits_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_modules_signer(const SignerContext& context) {
  return std::make_unique<ModulesSigner>(context);
}

}  // namespace digsig::signers
