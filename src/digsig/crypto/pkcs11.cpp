// libp11's engine is an OpenSSL ENGINE, an API OpenSSL 3 deprecates but
// keeps; it is the PKCS#11 bridge Debian 12 ships.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "digsig/crypto/pkcs11.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "digsig/util/log.hpp"

namespace digsig::crypto {

namespace {

std::mutex g_mutex;
Pkcs11Settings g_settings;
ENGINE* g_engine = nullptr;

// Token keys carry a mark in their ex-data (EVP_PKEY_get0_engine does not
// report libp11's keys in OpenSSL 3).
int token_mark_index() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, nullptr, nullptr,
                                                   nullptr, nullptr);
  return index;
}
char g_token_mark;

// The bound on token operations.
std::mutex g_ops_mutex;
std::condition_variable g_ops_cv;
std::size_t g_ops_running = 0;
std::size_t g_ops_peak = 0;

Result<ENGINE*> engine_locked() {
  if (g_engine != nullptr) return g_engine;
  if (g_settings.module.empty()) {
    return fail(ErrorKind::misconfigured,
                "a key is a pkcs11: reference but DIGSIGSERVER_PKCS11_MODULE is not set");
  }
  std::string so_path = fmt::format("{}/pkcs11.so", OPENSSL_info(OPENSSL_INFO_ENGINES_DIR));
  ENGINE_load_dynamic();
  ENGINE* e = ENGINE_by_id("dynamic");
  bool ok = e != nullptr && ENGINE_ctrl_cmd_string(e, "SO_PATH", so_path.c_str(), 0) == 1 &&
            ENGINE_ctrl_cmd_string(e, "ID", "pkcs11", 0) == 1 &&
            ENGINE_ctrl_cmd_string(e, "LIST_ADD", "1", 0) == 1 &&
            ENGINE_ctrl_cmd_string(e, "LOAD", nullptr, 0) == 1 &&
            // libp11 prints failed URIs, pin-value included, on stderr unless quiet.
            ENGINE_ctrl_cmd_string(e, "QUIET", nullptr, 0) == 1 &&
            ENGINE_ctrl_cmd_string(e, "MODULE_PATH", g_settings.module.c_str(), 0) == 1 &&
            (g_settings.pin.empty() || ENGINE_ctrl_cmd_string(e, "PIN", g_settings.pin.c_str(), 0) == 1) &&
            ENGINE_init(e) == 1;
  if (!ok) {
    ERR_clear_error();
    if (e != nullptr) ENGINE_free(e);
    return fail(ErrorKind::misconfigured,
                fmt::format("the PKCS#11 engine (libengine-pkcs11-openssl, {}) could not be loaded "
                            "with DIGSIGSERVER_PKCS11_MODULE",
                            so_path));
  }
  ENGINE_free(e);  // ENGINE_init holds the functional reference
  g_engine = e;
  log::info("PKCS#11 module {} opened", g_settings.module);
  return g_engine;
}

// libp11 asks for the PIN through OpenSSL's UI when it has none or the token
// refused it. A server must never prompt on its terminal (or wait on
// stdin): this UI writes nothing and answers nothing, so the load fails.
UI_METHOD* no_prompt_ui() {
  static UI_METHOD* method = [] {
    UI_METHOD* m = UI_create_method("digsigserver: no PIN prompts");
    UI_method_set_writer(m, [](UI*, UI_STRING*) { return 1; });
    UI_method_set_reader(m, [](UI*, UI_STRING*) { return 0; });
    return m;
  }();
  return method;
}

}  // namespace

bool is_token_key(const EVP_PKEY* key) {
  return key != nullptr &&
         EVP_PKEY_get_ex_data(const_cast<EVP_PKEY*>(key), token_mark_index()) == &g_token_mark;
}

TokenOperation::TokenOperation(const EVP_PKEY* key) {
  if (!is_token_key(key)) return;
  std::unique_lock lock(g_ops_mutex);
  std::size_t limit = std::max<std::size_t>(1, g_settings.max_operations);
  g_ops_cv.wait(lock, [limit] { return g_ops_running < limit; });
  ++g_ops_running;
  g_ops_peak = std::max(g_ops_peak, g_ops_running);
  held_ = true;
}

TokenOperation::~TokenOperation() {
  if (!held_) return;
  {
    std::lock_guard lock(g_ops_mutex);
    --g_ops_running;
  }
  g_ops_cv.notify_one();
}

Error signing_error(const EVP_PKEY* key, std::string message) {
  if (!is_token_key(key)) return Error{ErrorKind::signing_failed, std::move(message)};
  return Error{ErrorKind::unavailable,
               fmt::format("the key on the PKCS#11 token could not sign (token removed or reset?): {}",
                           message)};
}

TokenStatus token_status() {
  TokenStatus s;
  {
    std::lock_guard lock(g_mutex);
    s.configured = !g_settings.module.empty();
    s.opened = g_engine != nullptr;
    s.max_operations = g_settings.max_operations;
  }
  std::lock_guard lock(g_ops_mutex);
  s.running = g_ops_running;
  s.peak = g_ops_peak;
  return s;
}

void configure_pkcs11(Pkcs11Settings settings) {
  std::lock_guard lock(g_mutex);
  log::add_secret(settings.pin);
  g_settings = std::move(settings);
}

std::string_view pkcs11_reference(std::string_view bytes) {
  while (!bytes.empty() && std::isspace(static_cast<unsigned char>(bytes.front()))) bytes.remove_prefix(1);
  while (!bytes.empty() && std::isspace(static_cast<unsigned char>(bytes.back()))) bytes.remove_suffix(1);
  if (!bytes.starts_with("pkcs11:") || bytes.find('\n') != std::string_view::npos) return {};
  return bytes;
}

Result<std::string> client_pkcs11_uri(std::string_view uri, std::string_view pin) {
  auto invalid = [](std::string_view why) {
    return fail(ErrorKind::bad_request, fmt::format("Invalid parameters: key-uri {}", why));
  };
  if (!uri.starts_with("pkcs11:")) return invalid("is not a pkcs11: URI");
  if (uri.size() > 1024) return invalid("is longer than 1024 bytes");
  for (char c : uri) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return invalid("has spaces or control characters");
  }
  for (std::string_view attribute : {"module-path", "module-name"}) {
    if (uri.find(attribute) != std::string_view::npos) {
      return invalid(fmt::format("may not name a module ({}); the server's DIGSIGSERVER_PKCS11_MODULE is used",
                                 attribute));
    }
  }
  std::string out(uri);
  constexpr std::string_view k_placeholder = "pin-value=password";
  for (auto pos = out.find(k_placeholder); pos != std::string::npos; pos = out.find(k_placeholder, pos)) {
    if (pin.empty()) {
      return fail(ErrorKind::misconfigured,
                  "key-uri asks for the configured PIN (pin-value=password) but "
                  "DIGSIGSERVER_YUBIHSM_PASSWORD is not set");
    }
    out.replace(pos + 10, 8, pin);
    pos += 10 + pin.size();
  }
  return out;
}

std::string without_pin(std::string_view uri) {
  std::string out;
  std::size_t start = 0;
  while (start <= uri.size()) {
    auto end = uri.find_first_of(";?&", start);
    auto part = uri.substr(start, end == std::string_view::npos ? uri.size() - start : end - start);
    if (!part.starts_with("pin-value=")) {
      out += part;
      if (end != std::string_view::npos) out += uri[end];
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  while (!out.empty() && (out.back() == ';' || out.back() == '?' || out.back() == '&')) out.pop_back();
  return out;
}

Result<PKeyPtr> load_pkcs11_key(std::string_view uri, std::string_view what) {
  std::lock_guard lock(g_mutex);
  auto engine = engine_locked();
  if (!engine) return std::unexpected(engine.error());
  std::string id(uri);
  PKeyPtr key(ENGINE_load_private_key(*engine, id.c_str(), no_prompt_ui(), nullptr));
  if (!key) {
    ERR_clear_error();
    return fail(ErrorKind::unavailable,
                fmt::format("{} could not be loaded from the PKCS#11 token: the token is missing, "
                            "the PIN was refused, or it holds no such key",
                            what));
  }
  EVP_PKEY_set_ex_data(key.get(), token_mark_index(), &g_token_mark);
  return key;
}

}  // namespace digsig::crypto
