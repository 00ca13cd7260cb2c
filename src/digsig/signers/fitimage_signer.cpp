#include "digsig/signers/fitimage_signer.hpp"

#include <fmt/format.h>

#include <regex>

#include "digsig/archive/archive.hpp"
#include "digsig/signers/mkimage.hpp"
#include "digsig/signers/selector_keys.hpp"
#include "digsig/tools/runner.hpp"
#include "digsig/util/names.hpp"

namespace digsig::signers {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_default_keyname = "dev";

// What mkimage's -o accepts: <hash>,<crypto>.
bool valid_algo(std::string_view algo) {
  static const std::regex k_algo("^(sha1|sha256|sha384|sha512),(rsa2048|rsa3072|rsa4096|ecdsa256|ecdsa384)$");
  return std::regex_match(algo.begin(), algo.end(), k_algo);
}

bool valid_comment(std::string_view comment) {
  if (comment.size() > 256) return false;
  for (char c : comment) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

class FitImageSigner : public Signer {
 public:
  explicit FitImageSigner(const SignerContext& context) : keys_(context.keys) {
    info_ = SignerInfo{
        .name = "fitimage",
        .route = "/sign/fitimage",
        .signtype = "fitimagesign",
        .selector_field = "machine",
        .summary = "U-Boot FIT images, signed with mkimage (optionally with the key put into a DTB)",
        .fields = {"artifact (file, required): the FIT image",
                   "dtb (file): a DTB to receive the public key; the response is then a tarball",
                   "machine (default imx)",
                   "keyname (default: the DTB's key-<name> node, the image's key name, or dev)",
                   "external_data_offset", "mark_required", "algo (e.g. sha256,rsa2048)",
                   "comment"},
        .keys = {"<keyname>.key", "<keyname>.crt"},
        .tools = {"mkimage (u-boot-tools)", "fdtget (device-tree-compiler)"},
    };
  }

  const SignerInfo& info() const override { return info_; }

  Readiness readiness() const override {
    Readiness r;
    for (const char* tool : {"mkimage", "fdtget"}) {
      auto path = tools::find_program(tool, k_mkimage_path);
      if (path.empty()) {
        r.ready = false;
        r.missing.push_back(fmt::format("{} (u-boot-tools / device-tree-compiler)", tool));
      } else {
        r.found.push_back(fmt::format("{}: {}", tool, path));
      }
    }
    return r;
  }

  Result<SignResult> sign(const SignRequest& request, jobs::Job& job) override {
    auto machine = request.field_or("machine", "imx");
    auto artifact = request.required_file("artifact");
    if (!artifact) return std::unexpected(artifact.error());
    const UploadedFile* dtb = request.file("dtb");
    if (auto backend = request.field_or("backend", "ssl"); backend != "ssl") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: backend {} is not supported; use ssl",
                              quote(backend)));
    }

    std::vector<std::string> options;
    if (auto comment = request.field("comment"); comment && !comment->empty()) {
      if (!valid_comment(*comment)) {
        return fail(ErrorKind::bad_request,
                    "Invalid parameters: comment must be at most 256 printable characters");
      }
      options.insert(options.end(), {"-c", std::string(*comment)});
    }
    if (auto offset = request.field("external_data_offset"); offset && !offset->empty()) {
      if (!valid_mkimage_offset(*offset)) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid parameters: external_data_offset {} is not a number",
                                quote(*offset)));
      }
      options.insert(options.end(), {"-p", std::string(*offset)});
    }
    if (request.field("mark_required")) options.emplace_back("-r");
    if (auto algo = request.field("algo"); algo && !algo->empty()) {
      if (!valid_algo(*algo)) {
        return fail(ErrorKind::bad_request,
                    fmt::format("Invalid parameters: algo {} is not one mkimage supports "
                                "(<sha1|sha256|sha384|sha512>,<rsa2048|rsa3072|rsa4096|ecdsa256|ecdsa384>)",
                                quote(*algo)));
      }
      options.insert(options.end(), {"-o", std::string(*algo)});
    }

    auto keys = SelectorKeys::open(keys_, info_, machine);
    if (!keys) return std::unexpected(keys.error());

    // Work on copies under names mkimage and the response use.
    auto image = job.path_for("out/fitImage");
    if (!image) return std::unexpected(image.error());
    fs::create_directories(image->parent_path());
    fs::copy_file((*artifact)->path, *image);
    std::optional<fs::path> dtb_path;
    std::string dtb_name;
    if (dtb != nullptr) {
      auto name = safe_basename("dtb file name", dtb->client_filename);
      dtb_name = name && *name != "fitImage" ? *name : "u-boot.dtb";
      auto p = job.path_for("out/" + dtb_name);
      if (!p) return std::unexpected(p.error());
      fs::copy_file(dtb->path, *p);
      dtb_path = *p;
    }

    // mkimage -l describes the image (and names its key); it exits 0 even
    // for files that are not FIT images, so look for its FIT description.
    auto listing = run_tool({"mkimage", "-l", image->string()}, job);
    if (!listing) return std::unexpected(listing.error());
    if (listing->output.find("FIT description") == std::string::npos) {
      return fail(ErrorKind::bad_request,
                  "Invalid artifact: not a FIT image (mkimage -l does not recognise it)");
    }
    auto keyname = resolve_keyname(request, dtb_path, listing->output, job);
    if (!keyname) return std::unexpected(keyname.error());
    auto keydir = job.dir() / "keys";
    for (const char* ext : {".key", ".crt"}) {
      auto written = keys->write_for_tool(*keyname + ext, job, "keys/" + *keyname + ext);
      if (!written) return std::unexpected(written.error());
    }

    std::vector<std::string> argv = {"mkimage", "-F", "-k", keydir.string()};
    argv.insert(argv.end(), options.begin(), options.end());
    if (dtb_path) argv.insert(argv.end(), {"-K", dtb_path->string()});
    argv.push_back(image->string());
    auto outcome = run_tool(argv, job);
    if (!outcome) return std::unexpected(outcome.error());
    if (auto ok = check_mkimage_signed(*outcome, *image, job); !ok) return std::unexpected(ok.error());

    SignResult result;
    if (dtb_path) {
      auto tarball = job.path_for("signed-fitImage.tar.gz");
      if (!tarball) return std::unexpected(tarball.error());
      if (auto ok = archive::pack(image->parent_path(), *tarball); !ok) {
        return std::unexpected(ok.error());
      }
      result = SignResult::of_file(*tarball, "signed-fitImage.tar.gz", "application/gzip");
    } else {
      result = SignResult::of_file(*image, "fitImage.signed");
    }
    result.keys_used = {*keyname + ".key", *keyname + ".crt"};
    return result;
  }

 private:
  static Result<tools::Outcome> run_tool(const std::vector<std::string>& argv, const jobs::Job& job) {
    return run_mkimage(argv, job);
  }

  // The key name: the field, else the DTB's /signature/key-<name> node, else
  // the name in the image's signature ("Sign algo: sha256,rsa2048:<name>"),
  // else "dev". A trailing ".key" is dropped; the result is a validated name.
  static Result<std::string> resolve_keyname(const SignRequest& request,
                                             const std::optional<fs::path>& dtb,
                                             const std::string& listing, const jobs::Job& job) {
    std::string name = request.field_or("keyname", "");
    if (name.starts_with("pkcs11:")) {
      return fail(ErrorKind::bad_request,
                  "Invalid parameters: PKCS#11 key names are not supported by this server yet");
    }
    if (name.empty() && dtb) {
      auto out = run_tool({"fdtget", "-l", dtb->string(), "/signature"}, job);
      if (out && out->succeeded()) {
        std::istringstream lines(out->output);
        for (std::string line; std::getline(lines, line);) {
          if (line.starts_with("key-")) {
            name = line.substr(4);
            break;
          }
        }
      }
    }
    if (name.empty()) {
      static const std::regex k_sign_algo(R"(Sign algo:\s*\S+:(\S+))");
      std::smatch m;
      if (std::regex_search(listing, m, k_sign_algo)) name = m[1].str();
    }
    if (name.empty()) name = k_default_keyname;
    if (name.ends_with(".key")) name.resize(name.size() - 4);
    if (auto ok = validate_name("keyname", name); !ok) return std::unexpected(ok.error());
    return name;
  }

  keystore::KeyStore& keys_;
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_fitimage_signer(const SignerContext& context) {
  return std::make_unique<FitImageSigner>(context);
}

}  // namespace digsig::signers
