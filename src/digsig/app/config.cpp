#include "digsig/app/config.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <thread>

namespace digsig::app {

namespace {

enum class Type { text, secret, seconds, count };

struct Setting {
  std::string_view name;  // without the DIGSIGSERVER_ prefix
  Type type;
  std::string_view fallback;
  std::string_view help;
  void (*apply)(Config&, std::string_view text, std::uint64_t number);
};

#define DIGSIG_TEXT(member) [](Config& c, std::string_view t, std::uint64_t) { c.member = t; }
#define DIGSIG_NUM(member)                                                   \
  [](Config& c, std::string_view, std::uint64_t n) {                         \
    c.member = static_cast<decltype(c.member)>(n);                           \
  }

const std::array k_settings{
    Setting{"KEYFILE_URI", Type::text, "(required)",
            "root of the key store: file:///path (keys at <root>/<machine|distro>/<signtype>/<key>)",
            DIGSIG_TEXT(keyfile_uri)},
    Setting{"L4T_TOOLS_BASE", Type::text, "/opt/nvidia", "where L4T BSPs are unpacked",
            DIGSIG_TEXT(l4t_tools_base)},
    Setting{"IMX_CST_BASE", Type::text, "/opt/NXP", "where NXP CST versions are unpacked",
            DIGSIG_TEXT(imx_cst_base)},
    Setting{"RK_TOOLS_PATH", Type::text, "(none)", "Rockchip tools directory",
            DIGSIG_TEXT(rk_tools_path)},
    Setting{"YUBIHSM_PASSWORD", Type::secret, "(none)",
            "PIN substituted for pin-value=password in PKCS#11 URIs; never logged",
            DIGSIG_TEXT(yubihsm_password)},
    Setting{"PKCS11_MODULE", Type::text, "(none)",
            "PKCS#11 library for keys given as pkcs11: URIs in the key store "
            "(e.g. /usr/lib/softhsm/libsofthsm2.so)",
            DIGSIG_TEXT(pkcs11_module)},
    Setting{"PKCS11_PIN", Type::secret, "(YUBIHSM_PASSWORD)",
            "PIN of that token; never logged", DIGSIG_TEXT(pkcs11_pin)},
    Setting{"PKCS11_MAX_OPS", Type::count, "4",
            "token operations at once (tokens allow few sessions)", DIGSIG_NUM(pkcs11_max_ops)},
    Setting{"PKCS11_REINIT_INTERVAL", Type::seconds, "30",
            "after a token failure (reset, lost session) the PKCS#11 module is re-initialised, "
            "at most this often",
            [](Config& c, std::string_view, std::uint64_t n) {
              c.pkcs11_reinit_interval = std::chrono::seconds(n);
            }},
    Setting{"RESPONSE_TIMEOUT", Type::seconds, "600", "seconds one request may take, upload included",
            [](Config& c, std::string_view, std::uint64_t n) {
              c.response_timeout = std::chrono::seconds(n);
            }},
    Setting{"REQUEST_MAX_SIZE", Type::count, "600000000", "largest request body, in bytes",
            DIGSIG_NUM(request_max_size)},
    Setting{"LOG_LEVEL", Type::text, "DEBUG", "TRACE, DEBUG, INFO, WARNING or ERROR",
            DIGSIG_TEXT(log_level)},
    Setting{"SPOOL_DIR", Type::text, "$TMPDIR/digsigserver",
            "private working directories of requests (job-* leftovers are removed at start-up)",
            DIGSIG_TEXT(spool_dir)},
    Setting{"MAX_JOBS", Type::count, "2 x cores", "signing jobs that run at once",
            DIGSIG_NUM(max_jobs)},
    Setting{"MAX_QUEUED", Type::count, "64",
            "requests that may wait for a job slot; beyond that: 503 with Retry-After",
            DIGSIG_NUM(max_queued)},
    Setting{"ARCHIVE_MAX_ENTRIES", Type::count, "100000", "members an uploaded tarball may have",
            DIGSIG_NUM(archive_max_entries)},
    Setting{"ARCHIVE_MAX_BYTES", Type::count, "8589934592",
            "bytes an uploaded tarball may unpack to", DIGSIG_NUM(archive_max_bytes)},
    Setting{"ARTIFACT_DIRS", Type::text, "(none: file:// refused)",
            "colon-separated directories that file:// artifact URIs (Mender) may point into",
            DIGSIG_TEXT(artifact_dirs)},
    Setting{"AUDIT_LOG", Type::text, "(terminal log)",
            "file to append one JSON line per signing operation to", DIGSIG_TEXT(audit_log)},
};

#undef DIGSIG_TEXT
#undef DIGSIG_NUM

}  // namespace

Result<Config> load_environment(Config config, const Getenv& getenv) {
  for (const auto& setting : k_settings) {
    auto variable = fmt::format("DIGSIGSERVER_{}", setting.name);
    auto value = getenv(variable);
    if (!value || value->empty()) continue;
    std::uint64_t number = 0;
    if (setting.type == Type::seconds || setting.type == Type::count) {
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
      if (ec != std::errc() || end != value->data() + value->size() ||
          (setting.type == Type::seconds && number == 0)) {
        return fail(ErrorKind::misconfigured,
                    fmt::format("{} must be a whole number{}", variable,
                                setting.type == Type::seconds ? " of seconds above 0" : ""));
      }
    }
    setting.apply(config, *value, number);
  }
  if (config.keyfile_uri.empty()) {
    return fail(ErrorKind::misconfigured,
                "DIGSIGSERVER_KEYFILE_URI is not set: point it at the key store, "
                "e.g. file:///srv/digsig/keys");
  }
  if (config.spool_dir.empty()) {
    std::error_code ec;
    config.spool_dir = (std::filesystem::temp_directory_path(ec) / "digsigserver").string();
  }
  if (config.max_jobs == 0) {
    config.max_jobs = 2 * std::max(1u, std::thread::hardware_concurrency());
  }
  return config;
}

std::string environment_help() {
  std::string out = "Environment:\n";
  for (const auto& setting : k_settings) {
    out += fmt::format("  DIGSIGSERVER_{:<20} {} [default: {}]\n", setting.name, setting.help,
                       setting.fallback);
  }
  return out;
}

}  // namespace digsig::app
