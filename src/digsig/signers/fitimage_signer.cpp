#include "digsig/signers/fitimage_signer.hpp"

#include <fmt/format.h>

#include <optional>
#include <regex>

#include "digsig/archive/archive.hpp"
#include "digsig/crypto/pkcs11.hpp"
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
  explicit FitImageSigner(const SignerContext& context)
      : keys_(context.keys), pin_(context.settings.pkcs11_pin) {
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
                   "comment",
                   "backend: ssl (default) or pkcs11 (keyname is then the token key's PKCS#11 URI)"},
        .keys = {"<keyname>.key", "<keyname>.crt"},
        .tools = {"mkimage (u-boot-tools)", "fdtget (device-tree-compiler)"},
        .token_keys = "the <keyname>.key (mkimage -N pkcs11 through libp11's engine)",
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
    auto backend = request.field_or("backend", "ssl");
    if (backend != "ssl" && backend != "pkcs11") {
      return fail(ErrorKind::bad_request,
                  fmt::format("Invalid parameters: backend {} is not one of ssl, pkcs11", quote(backend)));
    }
    // backend=pkcs11 (the original's compatibility field): keyname is the
    // token key's URI, and no key comes from the key store.
    std::string client_uri;
    if (backend == "pkcs11") {
      auto keyname = request.required_field("keyname", "Invalid parameters: backend=pkcs11 needs keyname "
                                                       "as a PKCS#11 URI");
      if (!keyname) return std::unexpected(keyname.error());
      std::string uri = keyname->starts_with("pkcs11:") ? *keyname : "pkcs11:" + *keyname;
      auto checked = crypto::client_pkcs11_uri(uri, pin_);
      if (!checked) return std::unexpected(checked.error());
      client_uri = crypto::without_pin(*checked);
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

    std::optional<SelectorKeys> keys;
    if (client_uri.empty()) {
      auto opened = SelectorKeys::open(keys_, info_, machine);
      if (!opened) return std::unexpected(opened.error());
      keys = std::move(*opened);
    }

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
    auto listing = run_mkimage({"mkimage", "-l", image->string()}, job);
    if (!listing) return std::unexpected(listing.error());
    if (listing->output.find("FIT description") == std::string::npos) {
      return fail(ErrorKind::bad_request,
                  "Invalid artifact: not a FIT image (mkimage -l does not recognise it)");
    }
    // The key: files written for mkimage, or a key on the token that
    // mkimage loads through libp11's engine (-N pkcs11).
    auto key = [&]() -> Result<MkimageKey> {
      if (!client_uri.empty()) return mkimage_token_key(client_uri, job, "keyname " + client_uri);
      auto keyname = resolve_keyname(request, dtb_path, listing->output, job);
      if (!keyname) return std::unexpected(keyname.error());
      return mkimage_key(*keys, *keyname, job);
    }();
    if (!key) return std::unexpected(key.error());
    std::vector<std::string> argv = {"mkimage", "-F"};
    argv.insert(argv.end(), key->options.begin(), key->options.end());
    argv.insert(argv.end(), options.begin(), options.end());
    if (dtb_path) argv.insert(argv.end(), {"-K", dtb_path->string()});
    argv.push_back(image->string());
    auto outcome = run_mkimage(argv, job, key->env);
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
    result.keys_used = std::move(key->used);
    return result;
  }

 private:
  // The key name: the field, else the DTB's /signature/key-<name> node, else
  // the name in the image's signature ("Sign algo: sha256,rsa2048:<name>"),
  // else "dev". A trailing ".key" is dropped; the result is a validated name.
  static Result<std::string> resolve_keyname(const SignRequest& request,
                                             const std::optional<fs::path>& dtb,
                                             const std::string& listing, const jobs::Job& job) {
    std::string name = request.field_or("keyname", "");
    if (name.starts_with("pkcs11:")) {
      return fail(ErrorKind::bad_request,
                  "Invalid parameters: a PKCS#11 URI as keyname needs backend=pkcs11");
    }
    if (name.empty() && dtb) {
      auto out = run_mkimage({"fdtget", "-l", dtb->string(), "/signature"}, job);
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
  std::string pin_;  // for pin-value=password in a keyname URI; never logged
  SignerInfo info_;
};

}  // namespace

std::unique_ptr<Signer> create_fitimage_signer(const SignerContext& context) {
  return std::make_unique<FitImageSigner>(context);
}

}  // namespace digsig::signers
