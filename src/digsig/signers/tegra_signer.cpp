#include "digsig/signers/tegra_signer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <regex>
#include <set>

#include "digsig/archive/archive.hpp"
#include "digsig/formats/tegra_manifest.hpp"
#include "digsig/signers/l4t_bsp.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/log.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 4> k_soctypes{"tegra186", "tegra194", "tegra210", "tegra234"};
constexpr std::uintmax_t k_max_manifest_size = 64 * 1024;



// The BSP files a signing run needs, relative to Linux_for_Tegra, for this
// soctype and version. Files the BSP does not have are skipped when copied.
std::vector<std::string> scripts_for(const Bsp& bsp) {
  std::vector<std::string> s{"bootloader/tegraflash.py", "bootloader/tegraflash_internal.py",
                             "bootloader/BUP_generator.py", "bootloader/odmsign.func",
                             "bootloader/l4t_bup_gen.func",
                             fmt::format("bootloader/{}-flash-helper", bsp.soctype)};
  const auto& v = bsp.version;
  const bool tegra210 = bsp.soctype == "tegra210";
  if (tegra210) {
    if (v.at_least(32, 6)) s.emplace_back("bootloader/nvflashxmlparse");
  } else {
    s.emplace_back("bootloader/rollback/rollback_parser.py");
  }
  const std::array<const char*, 3> v3_support{"bootloader/tegrasign_v3.py",
                                              "bootloader/tegrasign_v3_internal.py",
                                              "bootloader/tegrasign_v3_util.py"};
  if (!tegra210 && v.at_least(32, 5)) {
    s.insert(s.end(), {"tegra-signimage-helper", "l4t_sign_image.sh"});
    s.insert(s.end(), v3_support.begin(), v3_support.end());
  } else if (v.at_least(32, 6)) {
    s.insert(s.end(), v3_support.begin(), v3_support.end());
  }
  if (v.major >= 35) {
    s.insert(s.end(), {"bootloader/dtbcheck.py", "bootloader/tegraflash_impl_t234.py",
                       "bootloader/t194.py", "bootloader/t234.py", "bootloader/ed25519.py",
                       "bootloader/tegrasign_v3_hsm.py", "bootloader/tegrasign_v3_oemkey.yaml",
                       "bootloader/tegraopenssl", "bootloader/pyfdt"});
  }
  return s;
}

// Scripts that may be Python 2 and are then run through a python2 wrapper.
bool wrapped_script(std::string_view relative) {
  return relative == "bootloader/BUP_generator.py" ||
         relative == "bootloader/rollback/rollback_parser.py";
}

bool names_python2(const fs::path& script) {
  auto content = read_file(script);
  if (!content) return false;
  auto first = std::string_view(*content).substr(0, content->find('\n'));
  static const std::regex k_python2(R"(^#!.*\bpython(2(\.[0-9]+)?)?\s*$)");
  return std::regex_match(first.begin(), first.end(), k_python2);
}

// Copies keep the BSP's modes, which may be read-only; the job's copies must
// be writable by their owner (the tools rewrite some of them).
void make_owner_writable(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add, ec);
    return;
  }
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    fs::permissions(it->path(), fs::perms::owner_write, fs::perm_options::add, ec);
  }
}

// Copies the BSP's `relative` into `tools` (directories recursively, without
// __pycache__), keeping modes. Returns false if the BSP does not have it.
Result<bool> copy_script(const fs::path& bsp_root, const fs::path& tools, const std::string& relative) {
  auto src = bsp_root / relative;
  auto dest = tools / relative;
  std::error_code ec;
  if (!fs::exists(src, ec)) return false;
  fs::create_directories(dest.parent_path(), ec);
  if (fs::is_directory(src, ec)) {
    for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->path().filename() == "__pycache__") {
        it.disable_recursion_pending();
        continue;
      }
      auto target = dest / fs::relative(it->path(), src);
      if (it->is_directory()) {
        fs::create_directories(target, ec);
      } else if (it->is_regular_file()) {
        fs::create_directories(target.parent_path(), ec);
        fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing, ec);
      }
      if (ec) break;
    }
  } else if (wrapped_script(relative) && names_python2(src)) {
    auto real = dest;
    real += ".real";
    fs::copy_file(src, real, fs::copy_options::overwrite_existing, ec);
    if (!ec) {
      auto wrapper = fmt::format(
          "#!/bin/sh\n# digsigserver: {} is a Python 2 script\nexec python2 '{}' \"$@\"\n",
          relative, real.string());
      if (auto ok = write_file(dest, wrapper, "a Python 2 wrapper"); !ok) return std::unexpected(ok.error());
      fs::permissions(dest, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
    }
  } else {
    fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec);
  }
  if (ec) {
    return fail(ErrorKind::internal, fmt::format("cannot copy the BSP's {}: {}", relative, ec.message()));
  }
  make_owner_writable(dest);
  return true;
}

// Replaces `work/name` by a symlink to `target`.
void link_into(const fs::path& work, const std::string& name, const fs::path& target) {
  std::error_code ec;
  auto link = work / name;
  fs::remove_all(link, ec);
  fs::create_directories(link.parent_path(), ec);
  fs::create_symlink(target, link, ec);
}

std::set<std::string> top_level_names(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

void remove_entries(const fs::path& dir, const std::set<std::string>& names) {
  std::error_code ec;
  for (const auto& n : names) fs::remove_all(dir / n, ec);
}

enum class Mode { bupgen_specs, signfiles, sign };

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::bupgen_specs: return "BUPGENSPECS";
    case Mode::signfiles: return "SIGNFILES";
    case Mode::sign: return "sign";
  }
  return "?";
}

class TegraSigner : public Signer {
 public:
  explicit TegraSigner(const SignerContext& context)
      : keys_(context.keys), base_(context.settings.l4t_tools_base),
        limits_(context.settings.archive_limits) {
    info_ = SignerInfo{
        .name = "tegra",
        .route = "/sign/tegra",
        .signtype = "tegrasign",
        .selector_field = "machine",
        .summary = "NVIDIA Jetson bootloaders, signed by the L4T BSP's flash helper scripts",
        .fields = {"machine (required)", "soctype (required): tegra186, tegra194, tegra210, tegra234",
                   "bspversion (required), e.g. 35.5.0",
                   "artifact (file, required): tarball with MANIFEST and the files to sign"},
        .keys = {"rsa_priv.pem", "sbk.txt (optional)", "user_key.txt (optional)"},
        .tools = {"the L4T BSP at $DIGSIGSERVER_L4T_TOOLS_BASE/L4T-<bspversion>-<tegra186|tegra210|tegra234>/Linux_for_Tegra, with meta-tegra's flash helpers",
                  "python3; python2 for BSPs whose BUP_generator.py is Python 2"},
        .token_keys = "none: the L4T tools read key files",
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    for (const auto& name : installed_bsps(base_)) r.found.push_back(name);
    if (r.found.empty()) {
      r.ready = false;
      r.missing.push_back(
          "no L4T BSP under DIGSIGSERVER_L4T_TOOLS_BASE (expected "
          "L4T-<version>-<tegra186|tegra210|tegra234>/Linux_for_Tegra; see docs/signers/tegra.md)");
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto fields = bsp_fields(request);
    if (!fields) return std::unexpected(fields.error());
    const auto& [machine, soctype, bspversion] = *fields;
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    auto bsp = find_bsp(base_, soctype, bspversion, k_soctypes);
    if (!bsp) return std::unexpected(bsp.error());
    auto helper_name = fmt::format("{}-flash-helper", bsp->soctype);
    std::error_code ec;
    if (!fs::exists(bsp->root / "bootloader" / helper_name, ec)) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("L4T BSP {} for {} has no bootloader/{}: install meta-tegra's helper "
                              "scripts into it (docs/signers/tegra.md)",
                              bsp->version.text, bsp->soctype, helper_name));
    }

    auto keys = SelectorKeys::open(keys_, info_, machine);
    if (!keys) return std::unexpected(keys.error());

    // The upload.
    auto work = job.path_for("work");
    if (!work) return std::unexpected(work.error());
    fs::create_directory(*work);
    if (auto ok = archive::extract((*artifact)->path, *work, limits_); !ok) return std::unexpected(ok.error());
    auto manifest = read_manifest(*work);
    if (!manifest) return std::unexpected(manifest.error());
    Mode mode = manifest->has("BUPGENSPECS") ? Mode::bupgen_specs
                : manifest->has("SIGNFILES") ? Mode::signfiles
                                             : Mode::sign;
    std::vector<formats::Variables> specs;
    if (mode == Mode::bupgen_specs) {
      auto parsed = formats::parse_bupgen_specs(*manifest->find("BUPGENSPECS"));
      if (!parsed) return std::unexpected(parsed.error());
      specs = std::move(*parsed);
    }
    if (mode != Mode::signfiles) {
      for (const char* name : {"DTBFILE", "ODMDATA", "LNXFILE"}) {
        if (!manifest->has(name)) {
          return fail(ErrorKind::bad_request,
                      fmt::format("Invalid manifest: {} is missing (needed by the flash helper)", name));
        }
      }
      // The files the helper signs must be files of the upload: a path such
      // as /srv/keys/... would have the server's own files signed and sent back.
      for (const char* name : {"DTBFILE", "LNXFILE"}) {
        const auto& value = *manifest->find(name);
        if (!validate_name(name, value) || !fs::is_regular_file(fs::symlink_status(*work / value, ec))) {
          return fail(ErrorKind::bad_request,
                      fmt::format("Invalid manifest: {} {} is not a file of the uploaded tarball", name,
                                  quote(value)));
        }
      }
      // boardcfg (tegra210) may come from the upload or the BSP: a name only.
      if (const auto* boardcfg = manifest->find("boardcfg"); boardcfg && !validate_name("boardcfg", *boardcfg)) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid manifest: boardcfg {} must be a file name", quote(*boardcfg)));
      }
      if (const auto* bcts = manifest->find("EMMC_BCTS")) {
        for (std::size_t start = 0; start <= bcts->size();) {
          auto end = bcts->find(',', start);
          auto part = std::string_view(*bcts).substr(start, end == std::string::npos ? std::string::npos : end - start);
          if (!validate_name("EMMC_BCTS", part)) {
            return fail(ErrorKind::bad_request,
                        fmt::format("Invalid manifest: EMMC_BCTS {} must be file names", quote(*bcts)));
          }
          if (end == std::string::npos) break;
          start = end + 1;
        }
      }
    }
    auto sent = top_level_names(*work);

    // Keys, as files in the job directory only.
    auto pkc = keys->write_for_tool("rsa_priv.pem", job, "keys/rsa_priv.pem");
    if (!pkc) return std::unexpected(pkc.error());
    std::optional<fs::path> sbk;
    std::optional<fs::path> user_key;
    std::vector<std::string> keys_used{"rsa_priv.pem"};
    if (bsp->soctype != "tegra210" && mode != Mode::signfiles) {
      auto s = optional_key(*keys, job, "sbk.txt");
      if (!s) return std::unexpected(s.error());
      sbk = *s;
      auto u = optional_key(*keys, job, "user_key.txt");
      if (!u) return std::unexpected(u.error());
      user_key = *u;
      if (sbk) keys_used.emplace_back("sbk.txt");
      if (user_key) keys_used.emplace_back("user_key.txt");
    }

    // The private working copy of the BSP scripts, and the links to it.
    auto tools = job.dir() / "tools";
    for (const auto& script : scripts_for(*bsp)) {
      auto copied = copy_script(bsp->root, tools, script);
      if (!copied) return std::unexpected(copied.error());
    }
    prepare_links(*bsp, tools, *work);
    auto tool_names = top_level_names(*work);
    for (const auto& n : sent) tool_names.erase(n);

    auto env = base_environment(*manifest, machine, *bsp, tools);
    log::info("tegra: {} mode, {} BSP {}", to_string(mode), bsp->soctype, bsp->version.text);
    switch (mode) {
      case Mode::bupgen_specs: {
        auto argv = helper_command(*bsp, *manifest, machine, *pkc, sbk, user_key, true);
        for (const auto& spec : specs) {
          auto spec_env = env;
          for (const auto& [name, value] : spec) spec_env.push_back(name + "=" + value);
          if (auto ok = run_helper(argv, spec_env, *work, job); !ok) return std::unexpected(ok.error());
        }
        return payloads_only(*work, job, keys_used);
      }
      case Mode::signfiles: {
        std::vector<std::string> files;
        for (const auto& n : sent) {
          if (n != "MANIFEST" && fs::is_regular_file(*work / n, ec)) files.push_back(n);
        }
        if (files.empty()) {
          return fail(ErrorKind::bad_request, "Invalid artifact: SIGNFILES is set but no file was sent");
        }
        std::vector<std::string> argv{"tegra-signimage-helper", "--chip",
                                      fmt::format("0x{}", bsp->soctype.substr(5, 2)), "-u", pkc->string()};
        argv.insert(argv.end(), files.begin(), files.end());
        if (auto ok = run_helper(argv, env, *work, job); !ok) return std::unexpected(ok.error());
        return signatures_only(*work, files, job, keys_used);
      }
      case Mode::sign: {
        auto argv = helper_command(*bsp, *manifest, machine, *pkc, sbk, user_key, false);
        if (auto ok = run_helper(argv, env, *work, job); !ok) return std::unexpected(ok.error());
        if (manifest->has("BUPGEN")) return payloads_only(*work, job, keys_used);
        return signed_set(*bsp, *manifest, *work, sent, tool_names, job, keys_used);
      }
    }
    return fail(ErrorKind::internal, "unknown mode");
  }

 private:
  static Result<formats::TegraManifest> read_manifest(const fs::path& work) {
    auto path = work / "MANIFEST";
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(path, ec))) {
      return fail(ErrorKind::bad_request, "Invalid artifact: the tarball has no MANIFEST file");
    }
    if (fs::file_size(path, ec) > k_max_manifest_size) {
      return fail(ErrorKind::bad_request, "Invalid manifest: larger than 64 KiB");
    }
    auto text = read_file(path);
    if (!text) return std::unexpected(text.error());
    return formats::parse_tegra_manifest(*text);
  }

  static Result<std::optional<fs::path>> optional_key(const SelectorKeys& keys, const jobs::Job& job,
                                                      std::string_view name) {
    auto written = keys.write_for_tool(name, job, fmt::format("keys/{}", name));
    if (written) return std::optional<fs::path>(*written);
    if (written.error().kind == ErrorKind::not_found) return std::optional<fs::path>{};
    return std::unexpected(written.error());
  }

  static void prepare_links(const Bsp& bsp, const fs::path& tools, const fs::path& work) {
    std::vector<std::string> links{"tegraflash.py", "BUP_generator.py"};
    if (bsp.version.major >= 35) links.insert(links.end(), {"dtbcheck.py", "t194.py", "t234.py"});
    if (bsp.soctype == "tegra210") {
      links.insert(links.end(), {"tegra210-flash-helper", "odmsign.func", "l4t_bup_gen.func"});
    }
    for (const auto& name : links) link_into(work, name, tools / "bootloader" / name);
    if (bsp.soctype != "tegra210") {
      link_into(work, "rollback/rollback_parser.py", tools / "bootloader/rollback/rollback_parser.py");
    }
  }

  // The MANIFEST's variables, MACHINE, and a PATH with the job's copy of the
  // tools first, then the BSP, then the server's own PATH. Nothing else.
  static std::vector<std::string> base_environment(const formats::TegraManifest& manifest,
                                                   const std::string& machine, const Bsp& bsp,
                                                   const fs::path& tools) {
    std::vector<std::string> env;
    for (const auto& [name, value] : manifest.variables) {
      if (name != "MACHINE") env.push_back(name + "=" + value);
    }
    env.push_back("MACHINE=" + machine);
    env.push_back(fmt::format("PATH={}:{}:{}:{}:{}", tools.string(), (tools / "bootloader").string(),
                              bsp.root.string(), (bsp.root / "bootloader").string(), tools::server_path()));
    return env;
  }

  static std::vector<std::string> helper_command(const Bsp& bsp, const formats::TegraManifest& manifest,
                                                 const std::string& machine, const fs::path& pkc,
                                                 const std::optional<fs::path>& sbk,
                                                 const std::optional<fs::path>& user_key, bool bup) {
    const bool tegra210 = bsp.soctype == "tegra210";
    std::vector<std::string> argv{fmt::format("{}{}-flash-helper", tegra210 ? "./" : "", bsp.soctype),
                                  bup ? "--bup" : "--no-flash", "-u", pkc.string()};
    if (sbk) argv.insert(argv.end(), {"-v", sbk->string()});
    if (user_key) argv.insert(argv.end(), {"--user_key", user_key->string()});
    std::string cfg;
    if (const auto* bcts = manifest.find("EMMC_BCTS")) {
      cfg = *bcts;
    } else if (bsp.soctype == "tegra194") {
      cfg = fmt::format("{0}.cfg,{0}-override.cfg", machine);
    } else {
      cfg = machine + ".cfg";
    }
    argv.insert(argv.end(), {"flash.xml.in", *manifest.find("DTBFILE"), cfg, *manifest.find("ODMDATA")});
    if (const auto* boardcfg = manifest.find("boardcfg"); tegra210 && boardcfg != nullptr) {
      argv.push_back(*boardcfg);
    }
    argv.push_back(*manifest.find("LNXFILE"));
    return argv;
  }

  // Runs one helper; what the BSP tools print when something went wrong
  // although they still exit 0 (tegraflash.py, the helpers, Python, the
  // shell) makes it a failure too.
  static Result<void> run_helper(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                 const fs::path& work, const jobs::Job& job) {
    tools::Command cmd{.argv = argv, .cwd = work, .env = env, .deadline = job.deadline(),
                       .output_cap = 256 * 1024};
    auto outcome = tools::run_checked(cmd, job.dir(), fs::path(argv.front()).filename().string(),
                                      {"ERR:", "Error", "ERROR", "Traceback (most recent call last)",
                                       "command not found"});
    if (!outcome) return std::unexpected(outcome.error());
    return {};
  }

  static Result<SignResult> packed(const fs::path& work, const jobs::Job& job, std::vector<std::string> keys_used) {
    auto tarball = job.path_for("signed-artifact.tar.gz");
    if (!tarball) return std::unexpected(tarball.error());
    if (auto ok = archive::pack(work, *tarball); !ok) return std::unexpected(ok.error());
    auto result = SignResult::of_file(*tarball, "signed-artifact.tar.gz", "application/gzip");
    result.keys_used = std::move(keys_used);
    return result;
  }

  static Result<SignResult> payloads_only(const fs::path& work, const jobs::Job& job,
                                          std::vector<std::string> keys_used) {
    std::set<std::string> drop;
    bool any = false;
    for (const auto& n : top_level_names(work)) {
      if (n.starts_with("payloads")) {
        any = true;
      } else {
        drop.insert(n);
      }
    }
    if (!any) {
      return fail(ErrorKind::signing_failed,
                  "the flash helper reported success but produced no payloads* (no BUP was generated)");
    }
    remove_entries(work, drop);
    return packed(work, job, std::move(keys_used));
  }

  static Result<SignResult> signatures_only(const fs::path& work, const std::vector<std::string>& files,
                                            const jobs::Job& job, std::vector<std::string> keys_used) {
    std::set<std::string> keep;
    std::vector<std::string> missing;
    std::error_code ec;
    for (const auto& f : files) {
      auto sig = f + ".sig";
      if (fs::is_regular_file(fs::symlink_status(work / sig, ec)) && fs::file_size(work / sig, ec) > 0) {
        keep.insert(sig);
      } else {
        missing.push_back(f);
      }
    }
    if (!missing.empty()) {
      return fail(ErrorKind::signing_failed,
                  fmt::format("tegra-signimage-helper reported success but wrote no signature for: {}",
                              fmt::join(missing, ", ")));
    }
    std::set<std::string> drop;
    for (const auto& n : top_level_names(work)) {
      if (!keep.contains(n)) drop.insert(n);
    }
    remove_entries(work, drop);
    return packed(work, job, std::move(keys_used));
  }

  // What the helper produced: everything but what was sent, the tools and
  // its scratch files; the kernel's encrypted copy where the bootloader does
  // not decrypt it.
  static Result<SignResult> signed_set(const Bsp& bsp, const formats::TegraManifest& manifest,
                                       const fs::path& work, const std::set<std::string>& sent,
                                       const std::set<std::string>& tool_names, const jobs::Job& job,
                                       std::vector<std::string> keys_used) {
    std::set<std::string> drop = sent;
    drop.insert(tool_names.begin(), tool_names.end());
    drop.insert({"signed", "encrypted_signed", "flash.xml.tmp"});
    const bool tegra210 = bsp.soctype == "tegra210";
    if (!tegra210) drop.insert("flash.xml");
    const auto& v = bsp.version;
    bool kernel_not_decrypted = ((bsp.soctype == "tegra194" || bsp.soctype == "tegra234") && v.major >= 34) ||
                                (bsp.soctype == "tegra186" && !v.at_least(32, 6));
    if (kernel_not_decrypted) {
      fs::path lnx(*manifest.find("LNXFILE"));
      drop.insert(fmt::format("{}_sigheader{}.encrypt.signed", lnx.stem().string(), lnx.extension().string()));
    }
    remove_entries(work, drop);
    bool signed_image = false;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(work, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file() && it->path().filename().string().find("signed") != std::string::npos) {
        signed_image = true;
        break;
      }
    }
    if (!signed_image) {
      return fail(ErrorKind::signing_failed,
                  "the flash helper reported success but produced no signed images");
    }
    return packed(work, job, std::move(keys_used));
  }

  keystore::KeyStore& keys_;
  fs::path base_;
  archive::Limits limits_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_tegra_signer(const SignerContext& context) {
  return std::make_unique<TegraSigner>(context);
}

}  // namespace digsig::signers
