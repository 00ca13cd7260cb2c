// The audit trail: one JSON line per signing operation, whether it succeeded
// or not, separate from the debug log. Holds no key material: key names only.
#pragma once

#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace digsig::audit {

struct Input {
  std::string field;
  std::string filename;  // as the client named it
  std::uint64_t size = 0;
  std::string sha256;
};

struct Record {
  std::string request_id;
  std::string client;
  std::string signer;
  std::string selector;
  std::vector<std::string> keys;
  std::vector<Input> inputs;
  int status = 0;
  std::string outcome;  // "signed" or the error kind
  std::string message;  // the error message, if any
  std::uint64_t result_bytes = 0;
  std::string result_sha256;
  double seconds = 0;
};

class AuditLog {
 public:
  // Appends to `path`; with an empty path, records go to the terminal log.
  // Throws at start-up if the file cannot be opened.
  explicit AuditLog(const std::string& path);
  void write(const Record& record);

 private:
  std::mutex mutex_;
  std::ofstream file_;
  bool to_file_ = false;
};

}  // namespace digsig::audit
