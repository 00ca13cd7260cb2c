// The one table of signers. Routes, GET /signers, --version and readiness
// checks are all generated from it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

[[nodiscard]] std::vector<std::unique_ptr<Signer>> create_all(const SignerContext& context);

// Names of the signers compiled in, in table order.
[[nodiscard]] std::vector<std::string_view> names();

}  // namespace digsig::signers
