#include "digsig/signers/mkimage.hpp"

#include <fmt/format.h>

#include <regex>

#include "digsig/crypto/pkcs11.hpp"
#include "digsig/util/files.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

bool valid_mkimage_offset(std::string_view offset) {
  static const std::regex k_offset("^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$");
  return std::regex_match(offset.begin(), offset.end(), k_offset);
}

Result<tools::Outcome> run_mkimage(const std::vector<std::string>& argv, const jobs::Job& job,
                                   const std::vector<std::string>& extra_env) {
  std::vector<std::string> env{std::string("PATH=") + k_mkimage_path};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  tools::Command cmd{.argv = argv, .cwd = job.dir(), .env = env, .deadline = job.deadline()};
  return tools::run_within_deadline(cmd, job.dir());
}

std::string mkimage_pkcs11_keydir(std::string_view uri) {
  if (uri.starts_with("pkcs11:")) uri.remove_prefix(7);
  uri = uri.substr(0, uri.find('?'));
  std::string out;
  std::size_t start = 0;
  while (start <= uri.size()) {
    auto end = uri.find(';', start);
    auto attr = uri.substr(start, end == std::string_view::npos ? uri.size() - start : end - start);
    if (!attr.empty() && !attr.starts_with("type=") && !attr.starts_with("pin-value=")) {
      if (!out.empty()) out += ';';
      out += attr;
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

Result<MkimageKey> mkimage_token_key(std::string_view uri, const jobs::Job& job, std::string used) {
  auto env = crypto::engine_environment_for_tool(job.dir() / "pkcs11");
  if (!env) return std::unexpected(env.error());
  return MkimageKey{.options = {"-N", "pkcs11", "-k", mkimage_pkcs11_keydir(uri)},
                    .env = std::move(*env),
                    .used = {std::move(used)}};
}

Result<MkimageKey> mkimage_key(const SelectorKeys& keys, std::string_view keyname, const jobs::Job& job) {
  const std::string key = std::string(keyname) + ".key";
  const std::string cert = std::string(keyname) + ".crt";
  auto material = keys.load(key);
  if (!material) return std::unexpected(material.error());
  if (auto uri = crypto::pkcs11_reference(material->bytes().view()); !uri.empty()) {
    auto token_uri = crypto::without_pin(uri);
    return mkimage_token_key(token_uri, job, fmt::format("{} ({})", key, token_uri));
  }
  for (const auto& name : {key, cert}) {
    auto written = keys.write_for_tool(name, job, "keys/" + name);
    if (!written) return std::unexpected(written.error());
  }
  return MkimageKey{.options = {"-k", (job.dir() / "keys").string()}, .env = {}, .used = {key, cert}};
}

Result<void> check_its_includes(const std::filesystem::path& its, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::file_size(its, ec) > (4u << 20)) return fail(ErrorKind::bad_request, "Invalid artifact: fit.its is larger than 4 MiB");
  auto text = read_file(its);
  if (!text) return std::unexpected(text.error());
  for (std::string_view directive : {"/incbin/", "/include/"}) {
    for (auto pos = text->find(directive); pos != std::string::npos; pos = text->find(directive, pos + 1)) {
      auto open = text->find_first_not_of(" \t\r\n(", pos + directive.size());
      auto close = open == std::string::npos ? std::string::npos : text->find('"', open + 1);
      if (open == std::string::npos || (*text)[open] != '"' || close == std::string::npos) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid artifact: fit.its has a {} without a quoted file name", directive));
      }
      std::string_view name(text->data() + open + 1, close - open - 1);
      bool ok = !name.empty() && !name.starts_with('/');
      for (std::size_t start = 0; ok && start <= name.size();) {
        auto end = name.find('/', start);
        ok = validate_name("file", name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start))
                 .has_value();
        if (end == std::string_view::npos) break;
        start = end + 1;
      }
      if (!ok || !fs::is_regular_file(fs::symlink_status(dir / name, ec))) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid artifact: fit.its {} {} is not a file of the uploaded tarball", directive,
                                quote(name)));
      }
    }
  }
  return {};
}

Result<void> check_mkimage_signed(const tools::Outcome& outcome, const std::filesystem::path& image,
                                  const jobs::Job& job) {
  auto errors = outcome.lines_with({"Failed to", "Couldn't", "Can't", "rror"}, job.dir());
  if (!outcome.succeeded() || !errors.empty()) {
    return fail(ErrorKind::bad_request,
                fmt::format("mkimage could not sign the image: {}",
                            errors.empty() ? outcome.tail_for_client(4, job.dir()) : errors));
  }
  auto after = run_mkimage({"mkimage", "-l", image.string()}, job);
  if (!after) return std::unexpected(after.error());
  if (after->output.find("Sign value:") == std::string::npos ||
      after->output.find("Sign value:   unavailable") != std::string::npos) {
    return fail(ErrorKind::bad_request,
                "mkimage left signature nodes unsigned: check the key-name-hint of every "
                "signature node in the image");
  }
  return {};
}

}  // namespace digsig::signers
