// Benchmark helper (not a test): the CPU cost of what every signing request
// must do under the key store's rule that keys are not retained between
// requests (read, decode, first use of a fresh key, sign), next to one
// signature with a key that is already loaded. Uses the server's own code.
// Usage: digsig_key_floor KEYFILE [ITERATIONS]
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "digsig/crypto/keys.hpp"
#include "digsig/crypto/sign.hpp"

namespace {

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace digsig;
  if (argc < 2) {
    fmt::print(stderr, "usage: digsig_key_floor KEYFILE [ITERATIONS]\n");
    return 2;
  }
  int iterations = argc > 2 ? std::stoi(argv[2]) : 500;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  keystore::KeyMaterial material({"bench", "bench", "key"}, SecureBytes(ss.str()));
  const char msg[] = "sw-description";

  auto warm = crypto::load_private_key(material);
  if (!warm) return 1;
  double t0 = cpu_ms();
  for (int i = 0; i < iterations; ++i) {
    (void)crypto::sign_buffer(warm->get(), msg, sizeof msg, {});
  }
  double warm_ms = (cpu_ms() - t0) / iterations;

  t0 = cpu_ms();
  for (int i = 0; i < iterations; ++i) {
    auto key = crypto::load_private_key(material);
    (void)crypto::sign_buffer(key->get(), msg, sizeof msg, {});
  }
  double fresh_ms = (cpu_ms() - t0) / iterations;

  t0 = cpu_ms();
  for (int i = 0; i < iterations; ++i) (void)crypto::load_private_key(material);
  double decode_ms = (cpu_ms() - t0) / iterations;

  fmt::print("sign with a loaded key:        {:.3f} ms\n", warm_ms);
  fmt::print("decode a key:                  {:.3f} ms\n", decode_ms);
  fmt::print("decode + sign with a fresh key: {:.3f} ms\n", fresh_ms);
  return 0;
}
