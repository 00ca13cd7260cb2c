#include "digsig/app/app.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "digsig/app/config.hpp"
#include "digsig/audit/audit.hpp"
#include "digsig/crypto/pkcs11.hpp"
#include "digsig/http/server.hpp"
#include "digsig/jobs/job_slots.hpp"
#include "digsig/jobs/spool.hpp"
#include "digsig/keystore/keystore.hpp"
#include "digsig/signers/signer_table.hpp"
#include "digsig/util/log.hpp"

namespace digsig::app {

namespace {

std::string version_text() {
  return fmt::format("digsigserver {}\nsigners: {}\nkey stores: {}\n", DIGSIG_VERSION,
                     fmt::join(signers::names(), " "), fmt::join(keystore::schemes(), " "));
}

std::vector<std::string> split_dirs(const std::string& list) {
  std::vector<std::string> dirs;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    if (end > start) dirs.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return dirs;
}

std::optional<std::string> from_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

int run(int argc, char** argv) {
  Config config;
  CLI::App cli("digsigserver: a code-signing server for embedded Linux builds.\n"
               "Endpoints: POST /sign/<signer> (multipart/form-data), GET /signers, GET /healthz.",
               "digsigserver");
  cli.add_option("--address", config.address, "address to listen on")->capture_default_str();
  cli.add_option("--port", config.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cli.add_flag("--debug", config.debug, "log at debug level, whatever DIGSIGSERVER_LOG_LEVEL says");
  cli.set_version_flag("--version", version_text());
  cli.footer(environment_help() +
             "\nKeys live at ${KEYFILE_URI}/${machine or distro}/${signtype}/${keyname}.\n"
             "Documentation: README.md and docs/ in the source tree.");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  auto loaded = load_environment(config, from_environment);
  if (!loaded) {
    std::cerr << "digsigserver: " << loaded.error().message << "\n";
    return 1;
  }
  config = std::move(*loaded);
  if (!log::init(config.debug ? "debug" : config.log_level)) {
    std::cerr << "digsigserver: DIGSIGSERVER_LOG_LEVEL: unknown level '" << config.log_level
              << "'\n";
    return 1;
  }
  log::add_secret(config.yubihsm_password);
  crypto::configure_pkcs11({config.pkcs11_module,
                            config.pkcs11_pin.empty() ? config.yubihsm_password : config.pkcs11_pin,
                            config.pkcs11_max_ops, config.pkcs11_reinit_interval});

  // Signals are taken by one thread with sigwait; block them everywhere first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  try {
    auto store = keystore::open(config.keyfile_uri);
    if (!store) {
      log::error("{}", store.error().message);
      return 1;
    }
    jobs::Spool spool(config.spool_dir);
    jobs::JobSlots slots(config.max_jobs, config.max_queued);
    audit::AuditLog audit(config.audit_log);
    signers::SignerSettings settings{
        .l4t_tools_base = config.l4t_tools_base,
        .imx_cst_base = config.imx_cst_base,
        .rk_tools_path = config.rk_tools_path,
        .pkcs11_pin = config.yubihsm_password,
        .archive_limits = {.max_entries = config.archive_max_entries,
                           .max_total_bytes = config.archive_max_bytes},
        .artifact_dirs = split_dirs(config.artifact_dirs)};
    signers::SignerContext context{**store, settings};
    auto all = signers::create_all(context);

    http::ServerOptions options;
    options.address = config.address;
    options.port = config.port;
    options.response_timeout = config.response_timeout;
    options.spool_limits.max_body_bytes = config.request_max_size;
    options.threads = config.max_jobs + config.max_queued + 8;
    options.about = {{"version", DIGSIG_VERSION},
                     {"key_store", (*store)->describe()},
                     {"limits",
                      {{"request_max_size", config.request_max_size},
                       {"response_timeout_seconds", config.response_timeout.count()},
                       {"max_jobs", config.max_jobs},
                       {"max_queued", config.max_queued}}}};
    http::Server server(options, http::ServerParts{all, **store, spool, slots, audit});
    int port = server.bind();
    if (port < 0) {
      log::error("cannot listen on {}:{}", config.address, config.port);
      return 1;
    }
    for (const auto& signer : all) {
      auto ready = signer->readiness();
      if (ready.ready && !ready.missing.empty()) {
        log::warn("signer {} ready at {}, but partly: {}", signer->info().name, signer->info().route,
                  fmt::join(ready.missing, "; "));
      } else if (ready.ready) {
        log::info("signer {} ready at {}", signer->info().name, signer->info().route);
      } else {
        log::warn("signer {} not ready: {}", signer->info().name, fmt::join(ready.missing, "; "));
      }
    }
    log::info("digsigserver {} listening on {}:{} (key store {}, spool {}, {} jobs at once)",
              DIGSIG_VERSION, config.address, port, (*store)->describe(), config.spool_dir,
              config.max_jobs);

    std::thread waiter([&server, signals] {
      int sig = 0;
      sigwait(&signals, &sig);
      log::info("signal {} received; stopping", sig);
      server.stop();
    });
    bool ok = server.serve();
    if (!ok) {
      log::error("the server stopped unexpectedly");
      ::kill(::getpid(), SIGTERM);  // release the waiter thread
    }
    waiter.join();
    log::info("stopped");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}

}  // namespace digsig::app
