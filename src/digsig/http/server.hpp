// The HTTP front: routes generated from the signer table, multipart
// spooling into a job directory, the job slot limit, the request deadline,
// error → status mapping (status.cpp), request ids, access log and audit.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digsig/audit/audit.hpp"
#include "digsig/http/multipart_spool.hpp"
#include "digsig/jobs/job_slots.hpp"
#include "digsig/jobs/spool.hpp"
#include "digsig/keystore/keystore.hpp"
#include "digsig/signers/signer.hpp"

namespace digsig::http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  int port = 9999;  // 0: any free port
  std::chrono::seconds response_timeout{600};
  SpoolLimits spool_limits;
  std::size_t threads = 16;
  nlohmann::json about;  // static facts for GET /signers (version, key store, limits)
};

struct ServerParts {
  std::vector<std::unique_ptr<signers::Signer>>& signers;
  keystore::KeyStore& keys;  // for /signers: which keys are on a token
  jobs::Spool& spool;
  jobs::JobSlots& slots;
  audit::AuditLog& audit;
};

class Server {
 public:
  Server(ServerOptions options, ServerParts parts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port, or -1 on failure.
  [[nodiscard]] int bind();
  // Serves until stop() is called. Returns false if serving failed.
  bool serve();
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace digsig::http
