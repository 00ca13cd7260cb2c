// Configuration: command-line flags and DIGSIGSERVER_* environment
// variables, with the original server's defaults. Every setting is listed in
// one table (config.cpp) that also produces the --help text.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "digsig/util/error.hpp"

namespace digsig::app {

struct Config {
  // Command line
  std::string address = "0.0.0.0";
  int port = 9999;
  bool debug = false;

  // Environment (DIGSIGSERVER_ prefix)
  std::string keyfile_uri;
  std::string l4t_tools_base = "/opt/nvidia";
  std::string imx_cst_base = "/opt/NXP";
  std::string rk_tools_path;
  std::string yubihsm_password;
  std::chrono::seconds response_timeout{600};
  std::uint64_t request_max_size = 600000000;
  std::string log_level = "DEBUG";
  std::string spool_dir;
  std::size_t max_jobs = 0;     // 0: 2 x cores
  std::size_t max_queued = 64;
  std::uint64_t archive_max_entries = 100000;
  std::uint64_t archive_max_bytes = 8ull << 30;
  std::string audit_log;
  std::string artifact_dirs;  // colon-separated
  std::string pkcs11_module;
  std::string pkcs11_pin;
  std::size_t pkcs11_max_ops = 4;
  std::chrono::seconds pkcs11_reinit_interval{30};
};

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// Reads every DIGSIGSERVER_* setting through `getenv`; fails on a missing
// KEYFILE_URI or a malformed number, naming the variable.
[[nodiscard]] Result<Config> load_environment(Config base, const Getenv& getenv);

// The environment section of --help.
[[nodiscard]] std::string environment_help();

}  // namespace digsig::app
