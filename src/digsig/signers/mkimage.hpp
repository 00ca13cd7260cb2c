// U-Boot's mkimage as FIT signers use it (/sign/fitimage, /sign/rk). mkimage
// exits 0 even when it could not sign a node, so a signing run is judged by
// its messages and by listing the image afterwards.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "digsig/jobs/job.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/error.hpp"

namespace digsig::signers {

inline constexpr const char* k_mkimage_path = "/usr/local/bin:/usr/bin:/bin";

// An external_data_offset mkimage's -p accepts: decimal or 0x-hex.
[[nodiscard]] bool valid_mkimage_offset(std::string_view offset);

// Runs mkimage (or fdtget) in the job directory with only PATH set, plus
// `extra_env` (the PKCS#11 engine's configuration for -N pkcs11).
[[nodiscard]] Result<tools::Outcome> run_mkimage(const std::vector<std::string>& argv,
                                                 const jobs::Job& job,
                                                 const std::vector<std::string>& extra_env = {});

// mkimage -N pkcs11 takes the key as "-k token=...;object=..." (it adds the
// scheme and type=private or type=public itself): the URI's path attributes
// without type and pin-value (the PIN goes to the engine's configuration).
[[nodiscard]] std::string mkimage_pkcs11_keydir(std::string_view uri);

// How one mkimage run gets its key: `options` ("-k <dir>", or "-N pkcs11
// -k <token path>"), `env` (the PKCS#11 engine's configuration, for a token
// key) and `used` (for the audit record).
struct MkimageKey {
  std::vector<std::string> options;
  std::vector<std::string> env;
  std::vector<std::string> used;
};

// The store's key `keyname`: <keyname>.key and <keyname>.crt written into
// the job's keys/ directory, or, when <keyname>.key holds a pkcs11: URI,
// that token key through libp11's engine.
[[nodiscard]] Result<MkimageKey> mkimage_key(const SelectorKeys& keys, std::string_view keyname,
                                             const jobs::Job& job);

// A token key named by a URI (without its PIN); `used` describes it.
[[nodiscard]] Result<MkimageKey> mkimage_token_key(std::string_view uri, const jobs::Job& job,
                                                   std::string used);

// A client's .its is compiled by dtc, whose /incbin/("...") and /include/
// "..." read any file the server can: every such path must be a relative
// path of plain names naming a regular file below `dir` (the upload), or the
// request is refused (bad_request). Otherwise a FIT could carry the server's
// own files, its keys included, back to the client.
[[nodiscard]] Result<void> check_its_includes(const std::filesystem::path& its,
                                              const std::filesystem::path& dir);

// bad_request with mkimage's own error lines if the signing run failed or
// `image` still has unsigned signature nodes.
[[nodiscard]] Result<void> check_mkimage_signed(const tools::Outcome& outcome,
                                                const std::filesystem::path& image,
                                                const jobs::Job& job);

}  // namespace digsig::signers
