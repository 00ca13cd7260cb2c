// Token keys through the PKCS#11 API directly: the server loads the module
// (dlopen), owns its initialisation, keeps one logged-in session per token
// plus a small pool of sessions for signatures, and presents each token key
// to OpenSSL as an RSA or EC key whose private operation is C_Sign (an
// RSA_METHOD or EC_KEY_METHOD;
// OpenSSL 3 keeps such "foreign" keys on its legacy path, so EVP signing and
// CMS work unchanged). Owning the module is what makes recovery possible:
// after a token failure the module is finalised and initialised again, which
// libp11's engine (Debian 12's bridge) cannot do once it has loaded a key.
//
// RSA_METHOD is deprecated in OpenSSL 3 but kept; a provider would be the
// future replacement.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "digsig/crypto/pkcs11.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "digsig/util/log.hpp"

namespace digsig::crypto {

namespace {

// ---- RFC 7512 URIs ------------------------------------------------------------

struct Pkcs11Uri {
  std::optional<std::string> token, manufacturer, serial, model, object;
  std::optional<std::string> id;  // raw bytes
  std::string type;               // private, cert, public or ""
  std::optional<std::string> pin;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]);
    int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<Pkcs11Uri> parse_uri(std::string_view uri) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::misconfigured, fmt::format("a pkcs11: URI is malformed: {}", why));
  };
  if (!uri.starts_with("pkcs11:")) return bad("it does not start with pkcs11:");
  uri.remove_prefix(7);
  auto q = uri.find('?');
  std::string_view path = uri.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : uri.substr(q + 1);
  Pkcs11Uri out;
  auto each = [&](std::string_view list, char sep, auto&& take) -> Result<void> {
    std::size_t start = 0;
    while (start <= list.size()) {
      auto end = list.find(sep, start);
      auto attr = list.substr(start, end == std::string_view::npos ? list.size() - start : end - start);
      if (!attr.empty()) {
        auto eq = attr.find('=');
        if (eq == std::string_view::npos) return bad(fmt::format("attribute without a value"));
        auto value = percent_decode(attr.substr(eq + 1));
        if (!value) return bad("bad percent-encoding");
        if (auto ok = take(attr.substr(0, eq), std::move(*value)); !ok) return ok;
      }
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
    return {};
  };
  auto path_ok = each(path, ';', [&](std::string_view name, std::string value) -> Result<void> {
    if (name == "token") out.token = std::move(value);
    else if (name == "manufacturer") out.manufacturer = std::move(value);
    else if (name == "serial") out.serial = std::move(value);
    else if (name == "model") out.model = std::move(value);
    else if (name == "object") out.object = std::move(value);
    else if (name == "id") out.id = std::move(value);
    else if (name == "type") out.type = std::move(value);
    else if (name == "pin-value") out.pin = std::move(value);  // older writers put it in the path
    else if (name == "module-path" || name == "module-name") return bad("it names a module");
    return {};  // other attributes (library-*, slot-*) do not narrow the search here
  });
  if (!path_ok) return std::unexpected(path_ok.error());
  auto query_ok = each(query, '&', [&](std::string_view name, std::string value) -> Result<void> {
    if (name == "pin-value") out.pin = std::move(value);
    else if (name == "module-path" || name == "module-name") return bad("it names a module");
    return {};
  });
  if (!query_ok) return std::unexpected(query_ok.error());
  if (!out.object && !out.id) return bad("it names no object (object= or id=)");
  return out;
}

// ---- The module ------------------------------------------------------------------

// Token keys carry a mark in their EVP_PKEY ex-data.
int token_mark_index() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EVP_PKEY, 0, nullptr, nullptr,
                                                   nullptr, nullptr);
  return index;
}
char g_token_mark;

struct SlotState {
  CK_SESSION_HANDLE login_session = CK_INVALID_HANDLE;  // keeps the login alive
  std::vector<CK_SESSION_HANDLE> idle;                  // for signatures
};

// Lock order: g_mutex (loading, re-initialising), then g_calls, then
// g_pool_mutex. Signatures take only g_calls (shared) and g_pool_mutex.
std::mutex g_mutex;  // module state below
Pkcs11Settings g_settings;
void* g_library = nullptr;
CK_FUNCTION_LIST_PTR g_functions = nullptr;
std::atomic<bool> g_initialized{false};
std::mutex g_pool_mutex;                  // g_generation and g_slots
std::uint64_t g_generation = 1;           // bumped by every re-initialisation
std::map<CK_SLOT_ID, SlotState> g_slots;
std::atomic<bool> g_suspect{false};  // a token call failed since the last re-initialisation
std::chrono::steady_clock::time_point g_last_reinit{};
std::size_t g_reinits = 0;
// Held shared by every call into the module that uses a handle, unique by a
// re-initialisation, so that C_Finalize never races a signature.
std::shared_mutex g_calls;

// The bound on token operations.
std::mutex g_ops_mutex;
std::condition_variable g_ops_cv;
std::size_t g_ops_running = 0;
std::size_t g_ops_peak = 0;

std::string rv_name(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    default: return fmt::format("CKR {:#x}", rv);
  }
}

Result<void> open_module_locked() {
  if (g_initialized) return {};
  if (g_settings.module.empty()) {
    return fail(ErrorKind::misconfigured,
                "a key is a pkcs11: reference but DIGSIGSERVER_PKCS11_MODULE is not set");
  }
  if (g_library == nullptr) {
    g_library = ::dlopen(g_settings.module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (g_library == nullptr) {
      return fail(ErrorKind::misconfigured,
                  fmt::format("the PKCS#11 module {} (DIGSIGSERVER_PKCS11_MODULE) cannot be loaded",
                              g_settings.module));
    }
    auto get_list = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(
        ::dlsym(g_library, "C_GetFunctionList"));
    if (get_list == nullptr || get_list(&g_functions) != CKR_OK || g_functions == nullptr) {
      ::dlclose(g_library);
      g_library = nullptr;
      return fail(ErrorKind::misconfigured,
                  fmt::format("{} is not a PKCS#11 module (no C_GetFunctionList)", g_settings.module));
    }
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = g_functions->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return fail(ErrorKind::unavailable,
                fmt::format("the PKCS#11 module could not be initialised ({})", rv_name(rv)));
  }
  g_initialized = true;
  log::info("PKCS#11 module {} opened", g_settings.module);
  return {};
}

// Finalises and initialises the module again (a token that was reset or
// re-created is then found), at most once per reinit_interval. Keys loaded
// before keep their old generation and fail cleanly from then on.
bool reinit_locked() {
  auto now = std::chrono::steady_clock::now();
  if (!g_initialized || (g_reinits > 0 && now - g_last_reinit < g_settings.reinit_interval)) return false;
  g_last_reinit = now;
  ++g_reinits;
  g_suspect = false;
  log::warn("PKCS#11: re-initialising {} after a token failure", g_settings.module);
  {
    std::unique_lock calls(g_calls);  // waits for signatures in progress
    std::lock_guard pool(g_pool_mutex);
    g_functions->C_Finalize(nullptr);
    g_initialized = false;
    g_slots.clear();
    ++g_generation;
  }
  return open_module_locked().has_value();
}

bool is_token_trouble(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_MECHANISM_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_KEY_TYPE_INCONSISTENT:
      return false;  // a re-initialisation would not help
    default:
      return true;
  }
}

std::string fixed_field(const CK_UTF8CHAR* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// The slot whose token matches the URI.
Result<CK_SLOT_ID> find_slot_locked(const Pkcs11Uri& uri) {
  CK_ULONG count = 0;
  CK_RV rv = g_functions->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) rv = g_functions->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) {
    g_suspect = true;
    return fail(ErrorKind::unavailable, fmt::format("the token list cannot be read ({})", rv_name(rv)));
  }
  slots.resize(count);
  for (auto slot : slots) {
    CK_TOKEN_INFO info{};
    if (g_functions->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if (uri.token && fixed_field(info.label, sizeof info.label) != *uri.token) continue;
    if (uri.serial && fixed_field(info.serialNumber, sizeof info.serialNumber) != *uri.serial) continue;
    if (uri.manufacturer && fixed_field(info.manufacturerID, sizeof info.manufacturerID) != *uri.manufacturer) continue;
    if (uri.model && fixed_field(info.model, sizeof info.model) != *uri.model) continue;
    return slot;
  }
  return fail(ErrorKind::unavailable,
              fmt::format("the token is missing (no token{} is present)",
                          uri.token ? fmt::format(" labelled '{}'", *uri.token) : std::string()));
}

// A logged-in session state for the slot (the login lasts while any session
// of the application is open).
Result<CK_SESSION_HANDLE> login_session_locked(CK_SLOT_ID slot, const std::string& pin) {
  {
    std::lock_guard pool(g_pool_mutex);
    auto it = g_slots.find(slot);
    if (it != g_slots.end() && it->second.login_session != CK_INVALID_HANDLE) return it->second.login_session;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = g_functions->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session);
  if (rv != CKR_OK) {
    g_suspect = true;
    return fail(ErrorKind::unavailable, fmt::format("no session could be opened ({})", rv_name(rv)));
  }
  rv = g_functions->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                            pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    g_functions->C_CloseSession(session);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE) {
      return fail(ErrorKind::unavailable, fmt::format("the PIN was refused ({})", rv_name(rv)));
    }
    g_suspect = true;
    return fail(ErrorKind::unavailable, fmt::format("the login failed ({})", rv_name(rv)));
  }
  std::lock_guard pool(g_pool_mutex);
  g_slots[slot].login_session = session;
  return session;
}

Result<CK_OBJECT_HANDLE> find_object_locked(CK_SESSION_HANDLE session, const Pkcs11Uri& uri,
                                            CK_OBJECT_CLASS klass) {
  std::vector<CK_ATTRIBUTE> tmpl;
  tmpl.push_back({CKA_CLASS, &klass, sizeof klass});
  if (uri.object) tmpl.push_back({CKA_LABEL, const_cast<char*>(uri.object->data()), uri.object->size()});
  if (uri.id) tmpl.push_back({CKA_ID, const_cast<char*>(uri.id->data()), uri.id->size()});
  CK_RV rv = g_functions->C_FindObjectsInit(session, tmpl.data(), tmpl.size());
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  CK_ULONG found = 0;
  if (rv == CKR_OK) rv = g_functions->C_FindObjects(session, &handle, 1, &found);
  g_functions->C_FindObjectsFinal(session);
  if (rv != CKR_OK) {
    if (is_token_trouble(rv)) g_suspect = true;
    return fail(ErrorKind::unavailable, fmt::format("the token could not be searched ({})", rv_name(rv)));
  }
  if (found == 0) {
    return fail(ErrorKind::unavailable,
                fmt::format("it holds no such {}", klass == CKO_CERTIFICATE ? "certificate" : "private key"));
  }
  return handle;
}

Result<std::string> attribute_locked(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = g_functions->C_GetAttributeValue(session, object, &a, 1);
  if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return fail(ErrorKind::unavailable, fmt::format("an attribute of the object is unreadable ({})", rv_name(rv)));
  }
  std::string value(a.ulValueLen, '\0');
  a.pValue = value.data();
  rv = g_functions->C_GetAttributeValue(session, object, &a, 1);
  if (rv != CKR_OK) {
    return fail(ErrorKind::unavailable, fmt::format("an attribute of the object is unreadable ({})", rv_name(rv)));
  }
  value.resize(a.ulValueLen);
  return value;
}

// ---- Keys presented to OpenSSL ------------------------------------------------------

struct TokenKey {
  std::uint64_t generation;
  CK_SLOT_ID slot;
  CK_OBJECT_HANDLE object;
};

int token_key_index() {
  static const int index = RSA_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<TokenKey*>(ptr); });
  return index;
}

// A session from the slot's pool, or a new one, for one signature.
Result<CK_SESSION_HANDLE> take_session(const TokenKey& key) {
  std::lock_guard lock(g_pool_mutex);
  if (key.generation != g_generation || !g_initialized) {
    return fail(ErrorKind::unavailable, "the token was re-initialised after the key was loaded");
  }
  auto it = g_slots.find(key.slot);
  if (it == g_slots.end()) return fail(ErrorKind::unavailable, "the token's session is gone");
  if (!it->second.idle.empty()) {
    auto s = it->second.idle.back();
    it->second.idle.pop_back();
    return s;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = g_functions->C_OpenSession(key.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session);
  if (rv != CKR_OK) {
    g_suspect = true;
    return fail(ErrorKind::unavailable, fmt::format("no session could be opened ({})", rv_name(rv)));
  }
  return session;
}

void give_back(const TokenKey& key, CK_SESSION_HANDLE session, bool healthy) {
  std::lock_guard lock(g_pool_mutex);
  auto it = g_slots.find(key.slot);
  if (healthy && key.generation == g_generation && it != g_slots.end()) {
    it->second.idle.push_back(session);
  } else if (key.generation == g_generation && g_initialized) {
    g_functions->C_CloseSession(session);
  }
}

// RSA private "encryption" = signing: PKCS#1 v1.5 over what OpenSSL hands
// over (a DigestInfo), or raw RSA for paddings OpenSSL applied itself (PSS).
int token_rsa_priv_enc(int flen, const unsigned char* from, unsigned char* to, RSA* rsa, int padding) {
  auto* key = static_cast<TokenKey*>(RSA_get_ex_data(rsa, token_key_index()));
  if (key == nullptr) return -1;
  CK_MECHANISM mechanism{};
  if (padding == RSA_PKCS1_PADDING) {
    mechanism.mechanism = CKM_RSA_PKCS;
  } else if (padding == RSA_NO_PADDING) {
    mechanism.mechanism = CKM_RSA_X_509;
  } else {
    return -1;
  }
  std::shared_lock calls(g_calls);
  auto session = take_session(*key);
  if (!session) {
    g_suspect = true;
    return -1;
  }
  CK_ULONG size = static_cast<CK_ULONG>(RSA_size(rsa));
  CK_RV rv = g_functions->C_SignInit(*session, &mechanism, key->object);
  if (rv == CKR_OK) {
    rv = g_functions->C_Sign(*session, const_cast<unsigned char*>(from), static_cast<CK_ULONG>(flen), to, &size);
  }
  give_back(*key, *session, rv == CKR_OK);
  if (rv != CKR_OK) {
    if (is_token_trouble(rv)) g_suspect = true;
    log::warn("PKCS#11: C_Sign failed ({})", rv_name(rv));
    return -1;
  }
  return static_cast<int>(size);
}

const RSA_METHOD* token_rsa_method() {
  static RSA_METHOD* method = [] {
    RSA_METHOD* m = RSA_meth_dup(RSA_PKCS1_OpenSSL());
    RSA_meth_set1_name(m, "digsigserver PKCS#11");
    RSA_meth_set_priv_enc(m, token_rsa_priv_enc);
    RSA_meth_set_priv_dec(m, [](int, const unsigned char*, unsigned char*, RSA*, int) { return -1; });
    return m;
  }();
  return method;
}

Result<PKeyPtr> rsa_token_key(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_SLOT_ID slot) {
  auto modulus = attribute_locked(session, object, CKA_MODULUS);
  if (!modulus) return std::unexpected(modulus.error());
  auto exponent = attribute_locked(session, object, CKA_PUBLIC_EXPONENT);
  if (!exponent) return std::unexpected(exponent.error());
  auto bn = [](const std::string& v) {
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size()), nullptr);
  };
  RSA* rsa = RSA_new();
  RSA_set_method(rsa, token_rsa_method());
  RSA_set0_key(rsa, bn(*modulus), bn(*exponent), nullptr);
  std::uint64_t generation = 0;
  {
    std::lock_guard pool(g_pool_mutex);
    generation = g_generation;
  }
  RSA_set_ex_data(rsa, token_key_index(), new TokenKey{generation, slot, object});
  PKeyPtr key(EVP_PKEY_new());
  EVP_PKEY_assign_RSA(key.get(), rsa);
  EVP_PKEY_set_ex_data(key.get(), token_mark_index(), &g_token_mark);
  return key;
}

int token_ec_index() {
  static const int index = EC_KEY_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<TokenKey*>(ptr); });
  return index;
}

// ECDSA: the token signs the digest (CKM_ECDSA) and returns r || s.
ECDSA_SIG* token_ecdsa_sign_sig(const unsigned char* dgst, int dlen, const BIGNUM*, const BIGNUM*, EC_KEY* eckey) {
  auto* key = static_cast<TokenKey*>(EC_KEY_get_ex_data(eckey, token_ec_index()));
  if (key == nullptr) return nullptr;
  CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
  std::shared_lock calls(g_calls);
  auto session = take_session(*key);
  if (!session) {
    g_suspect = true;
    return nullptr;
  }
  std::vector<unsigned char> raw(2 * 66 + 2);
  CK_ULONG size = raw.size();
  CK_RV rv = g_functions->C_SignInit(*session, &mechanism, key->object);
  if (rv == CKR_OK) {
    rv = g_functions->C_Sign(*session, const_cast<unsigned char*>(dgst), static_cast<CK_ULONG>(dlen), raw.data(), &size);
  }
  give_back(*key, *session, rv == CKR_OK);
  if (rv != CKR_OK || size == 0 || size % 2 != 0) {
    if (rv != CKR_OK && is_token_trouble(rv)) g_suspect = true;
    log::warn("PKCS#11: C_Sign (ECDSA) failed ({})", rv_name(rv));
    return nullptr;
  }
  auto half = static_cast<int>(size / 2);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), half, nullptr), BN_bin2bn(raw.data() + half, half, nullptr));
  return sig;
}

const EC_KEY_METHOD* token_ec_method() {
  static EC_KEY_METHOD* method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    int (*sign)(int, const unsigned char*, int, unsigned char*, unsigned int*, const BIGNUM*, const BIGNUM*, EC_KEY*) = nullptr;
    int (*setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
    ECDSA_SIG* (*sign_sig)(const unsigned char*, int, const BIGNUM*, const BIGNUM*, EC_KEY*) = nullptr;
    EC_KEY_METHOD_get_sign(m, &sign, &setup, &sign_sig);
    EC_KEY_METHOD_set_sign(m, sign, nullptr, token_ecdsa_sign_sig);
    return m;
  }();
  return method;
}

// The public half of an EC key is on its public key object (CKA_EC_POINT,
// usually a DER OCTET STRING around the point).
Result<PKeyPtr> ec_token_key(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_SLOT_ID slot,
                             const Pkcs11Uri& uri) {
  auto params = attribute_locked(session, object, CKA_EC_PARAMS);
  if (!params) return std::unexpected(params.error());
  auto p = reinterpret_cast<const unsigned char*>(params->data());
  EC_GROUP* group = d2i_ECPKParameters(nullptr, &p, static_cast<long>(params->size()));
  if (group == nullptr) {
    ERR_clear_error();
    return fail(ErrorKind::misconfigured, "the EC key's curve is not one OpenSSL knows");
  }
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group_owner(group, EC_GROUP_free);
  auto pub = find_object_locked(session, uri, CKO_PUBLIC_KEY);
  if (!pub) {
    return fail(ErrorKind::misconfigured,
                "the token has no public key object for this EC key (import or generate it with the same label)");
  }
  auto point_der = attribute_locked(session, *pub, CKA_EC_POINT);
  if (!point_der) return std::unexpected(point_der.error());
  std::string point = *point_der;
  auto q = reinterpret_cast<const unsigned char*>(point_der->data());
  if (ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &q, static_cast<long>(point_der->size())); os != nullptr) {
    point.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(os)), static_cast<std::size_t>(ASN1_STRING_length(os)));
    ASN1_OCTET_STRING_free(os);
  }
  ERR_clear_error();
  EC_KEY* ec = EC_KEY_new();
  EC_KEY_set_method(ec, token_ec_method());
  EC_KEY_set_group(ec, group);
  EC_POINT* pt = EC_POINT_new(group);
  bool ok = EC_POINT_oct2point(group, pt, reinterpret_cast<const unsigned char*>(point.data()), point.size(), nullptr) == 1 &&
            EC_KEY_set_public_key(ec, pt) == 1;
  EC_POINT_free(pt);
  if (!ok) {
    ERR_clear_error();
    EC_KEY_free(ec);
    return fail(ErrorKind::misconfigured, "the EC key's public point is unreadable");
  }
  std::uint64_t generation = 0;
  {
    std::lock_guard pool(g_pool_mutex);
    generation = g_generation;
  }
  EC_KEY_set_ex_data(ec, token_ec_index(), new TokenKey{generation, slot, object});
  PKeyPtr key(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(key.get(), ec);
  EVP_PKEY_set_ex_data(key.get(), token_mark_index(), &g_token_mark);
  return key;
}

// Finds the object the URI names, re-initialising the module once (rate
// limited) when the token or the object cannot be found or a call failed.
template <typename Make>
auto with_object_locked(const Pkcs11Uri& uri, CK_OBJECT_CLASS klass, Make make)
    -> decltype(make(CK_SESSION_HANDLE{}, CK_OBJECT_HANDLE{}, CK_SLOT_ID{})) {
  if (auto ok = open_module_locked(); !ok) return std::unexpected(ok.error());
  if (g_suspect) reinit_locked();
  std::string pin = uri.pin.value_or(g_settings.pin);
  auto attempt = [&]() -> decltype(make(CK_SESSION_HANDLE{}, CK_OBJECT_HANDLE{}, CK_SLOT_ID{})) {
    auto slot = find_slot_locked(uri);
    if (!slot) return std::unexpected(slot.error());
    auto session = login_session_locked(*slot, pin);
    if (!session) return std::unexpected(session.error());
    auto object = find_object_locked(*session, uri, klass);
    if (!object) return std::unexpected(object.error());
    return make(*session, *object, *slot);
  };
  auto result = attempt();
  if (!result && result.error().message.find("PIN") == std::string::npos && reinit_locked()) {
    result = attempt();
  }
  return result;
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
    s.opened = g_initialized;
    s.max_operations = g_settings.max_operations;
    s.reinits = g_reinits;
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

Result<std::vector<std::string>> engine_environment_for_tool(const std::filesystem::path& dir) {
  Pkcs11Settings settings;
  {
    std::lock_guard lock(g_mutex);
    settings = g_settings;
  }
  if (settings.module.empty()) {
    return fail(ErrorKind::misconfigured,
                "a key is a pkcs11: reference but DIGSIGSERVER_PKCS11_MODULE is not set");
  }
  std::error_code ec;
  std::filesystem::create_directory(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  auto conf = dir / "openssl.cnf";
  std::string text = fmt::format(
      "# written by digsigserver for one job: libp11's engine with the server's token\n"
      "openssl_conf = digsig_init\n[digsig_init]\nengines = digsig_engines\n"
      "[digsig_engines]\npkcs11 = digsig_pkcs11\n[digsig_pkcs11]\nengine_id = pkcs11\n"
      "dynamic_path = {}/pkcs11.so\nMODULE_PATH = {}\n{}init = 0\n",
      OPENSSL_info(OPENSSL_INFO_ENGINES_DIR), settings.module,
      settings.pin.empty() ? std::string() : fmt::format("PIN = {}\n", settings.pin));
  int fd = ::open(conf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  if (!ok) return fail(ErrorKind::internal, "cannot write the job's PKCS#11 engine configuration");
  std::vector<std::string> env{"OPENSSL_CONF=" + conf.string()};
  for (const char* name : {"SOFTHSM2_CONF", "YUBIHSM_PKCS11_CONF"}) {
    if (const char* value = std::getenv(name); value != nullptr) env.push_back(fmt::format("{}={}", name, value));
  }
  return env;
}

std::string pkcs11_token_label(std::string_view uri) {
  auto parsed = parse_uri(uri);
  return parsed && parsed->token ? *parsed->token : std::string();
}

bool token_present(std::string_view uri) {
  auto parsed = parse_uri(uri);
  if (!parsed) return false;
  std::lock_guard lock(g_mutex);
  if (!open_module_locked()) return false;
  return find_slot_locked(*parsed).has_value();
}

Result<PKeyPtr> load_pkcs11_key(std::string_view uri, std::string_view what) {
  auto parsed = parse_uri(uri);
  if (!parsed) return std::unexpected(Error{parsed.error().kind, fmt::format("{}: {}", what, parsed.error().message)});
  if (!parsed->type.empty() && parsed->type != "private") {
    return fail(ErrorKind::misconfigured, fmt::format("{}: the pkcs11: URI names type={}, not a private key", what,
                                                      parsed->type));
  }
  std::lock_guard lock(g_mutex);
  auto key = with_object_locked(*parsed, CKO_PRIVATE_KEY,
                                [&parsed](CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_SLOT_ID slot) -> Result<PKeyPtr> {
                                  CK_KEY_TYPE type = 0;
                                  CK_ATTRIBUTE a{CKA_KEY_TYPE, &type, sizeof type};
                                  if (g_functions->C_GetAttributeValue(session, object, &a, 1) != CKR_OK) {
                                    return fail(ErrorKind::unavailable, "the key's type is unreadable");
                                  }
                                  if (type == CKK_EC) return ec_token_key(session, object, slot, *parsed);
                                  if (type != CKK_RSA) {
                                    return fail(ErrorKind::misconfigured,
                                                "only RSA and EC keys on tokens are supported");
                                  }
                                  return rsa_token_key(session, object, slot);
                                });
  if (!key) {
    if (key.error().kind == ErrorKind::misconfigured) {
      return fail(ErrorKind::misconfigured, fmt::format("{}: {}", what, key.error().message));
    }
    return fail(ErrorKind::unavailable,
                fmt::format("{} could not be loaded from the PKCS#11 token: {}", what, key.error().message));
  }
  return key;
}

Result<X509Ptr> load_pkcs11_certificate(std::string_view uri, std::string_view what) {
  auto parsed = parse_uri(uri);
  if (!parsed) return std::unexpected(Error{parsed.error().kind, fmt::format("{}: {}", what, parsed.error().message)});
  if (!parsed->type.empty() && parsed->type != "cert") {
    return fail(ErrorKind::misconfigured, fmt::format("{}: the pkcs11: URI names type={}, not a certificate", what,
                                                      parsed->type));
  }
  std::lock_guard lock(g_mutex);
  auto cert = with_object_locked(*parsed, CKO_CERTIFICATE,
                                 [](CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_SLOT_ID) -> Result<X509Ptr> {
                                   auto der = attribute_locked(session, object, CKA_VALUE);
                                   if (!der) return std::unexpected(der.error());
                                   auto p = reinterpret_cast<const unsigned char*>(der->data());
                                   X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
                                   if (!x) {
                                     ERR_clear_error();
                                     return fail(ErrorKind::misconfigured, "the token's certificate is not X.509 DER");
                                   }
                                   return x;
                                 });
  if (!cert) {
    return fail(cert.error().kind == ErrorKind::misconfigured ? ErrorKind::misconfigured : ErrorKind::unavailable,
                fmt::format("{} could not be loaded from the PKCS#11 token: {}", what, cert.error().message));
  }
  return cert;
}

}  // namespace digsig::crypto
