// Keys that live on a PKCS#11 token. A key file in the key store may hold,
// instead of a key, one line with an RFC 7512 URI
// ("pkcs11:token=release;object=kmod-2026;type=private"), and a certificate
// file a type=cert URI; the signers then sign through the token with the same
// OpenSSL calls. The server talks PKCS#11 to the module itself (see
// pkcs11.cpp), so it can re-initialise it after a token failure. The PIN is
// never logged.
#pragma once

#include <chrono>
#include <filesystem>
#include <vector>
#include <string>
#include <string_view>

#include "digsig/crypto/ossl.hpp"
#include "digsig/util/error.hpp"

namespace digsig::crypto {

struct Pkcs11Settings {
  std::string module;  // path of the PKCS#11 library (DIGSIGSERVER_PKCS11_MODULE)
  std::string pin;     // DIGSIGSERVER_PKCS11_PIN, else DIGSIGSERVER_YUBIHSM_PASSWORD
  std::size_t max_operations = 4;  // token operations at once (DIGSIGSERVER_PKCS11_MAX_OPS)
  // After a failure (a token reset, a lost session) the module is finalised
  // and initialised again before the next key is loaded, at most this often
  // (DIGSIGSERVER_PKCS11_REINIT_INTERVAL).
  std::chrono::seconds reinit_interval{30};
};

// Held around one signature: for a key on the token it waits for one of the
// token's operation slots (tokens allow few sessions: a YubiHSM 2 has 16);
// for other keys it does nothing.
class TokenOperation {
 public:
  explicit TokenOperation(const EVP_PKEY* key);
  ~TokenOperation();
  TokenOperation(const TokenOperation&) = delete;
  TokenOperation& operator=(const TokenOperation&) = delete;

 private:
  bool held_ = false;
};

struct TokenStatus {
  bool configured = false;   // DIGSIGSERVER_PKCS11_MODULE is set
  bool opened = false;       // the module is initialised (no login is attempted to report this)
  std::size_t max_operations = 0;
  std::size_t running = 0;
  std::size_t peak = 0;      // most operations at once since start-up
  std::size_t reinits = 0;   // module re-initialisations after failures
};
[[nodiscard]] TokenStatus token_status();

// The error for a failed signature: for a key on the token `unavailable`
// (503: the token is gone or was reset), otherwise `signing_failed`.
[[nodiscard]] Error signing_error(const EVP_PKEY* key, std::string message);

// Called once at start-up; the token is opened on first use.
void configure_pkcs11(Pkcs11Settings settings);

// The URI if `bytes` is a pkcs11: reference (surrounding white space ignored).
[[nodiscard]] std::string_view pkcs11_reference(std::string_view bytes);

// A pkcs11: URI a client sent (SWUpdate's key-uri, the compatibility field
// of the original server): checked (printable, at most 1024 bytes, no
// module-path or module-name attribute: only the configured module is
// used), with "pin-value=password" replaced by `pin` as the original did.
// bad_request for a malformed URI; misconfigured when it asks for the PIN
// and none is configured.
[[nodiscard]] Result<std::string> client_pkcs11_uri(std::string_view uri, std::string_view pin);

// Whether the token a pkcs11: URI names is present, without logging in (for
// /signers); false when no module is configured or the URI is malformed.
[[nodiscard]] bool token_present(std::string_view uri);

// For a tool that loads token keys through libp11's OpenSSL engine in its own
// process (sbsign --engine pkcs11, mkimage -N pkcs11): writes an OpenSSL
// configuration into `dir` (created 0700, the file 0600, inside a job
// directory) that loads the engine with the configured module and PIN, and
// returns the tool's environment entries for it: OPENSSL_CONF, and the
// module's own configuration variables if the server has them
// (SOFTHSM2_CONF, YUBIHSM_PKCS11_CONF). The PIN is in that file only, never
// in an argument list.
[[nodiscard]] Result<std::vector<std::string>> engine_environment_for_tool(
    const std::filesystem::path& dir);

// The token label a pkcs11: URI names ("" when it names none or is malformed).
[[nodiscard]] std::string pkcs11_token_label(std::string_view uri);

// The URI without its pin-value attribute, for logs and audit records.
[[nodiscard]] std::string without_pin(std::string_view uri);

// A private key on the token (RSA so far). `what` names the key in error
// messages. When the token or the key cannot be found, or a token call failed
// since the last load, the module is finalised and initialised again (a token
// that was reset or re-created is then found) and the load is tried once
// more; at most once per reinit_interval.
[[nodiscard]] Result<PKeyPtr> load_pkcs11_key(std::string_view uri, std::string_view what);

// A certificate on the token (a type=cert URI), with the same recovery.
[[nodiscard]] Result<X509Ptr> load_pkcs11_certificate(std::string_view uri, std::string_view what);

}  // namespace digsig::crypto
