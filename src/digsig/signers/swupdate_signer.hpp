#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/swupdate: detached signature of an SWUpdate sw-description.
[[nodiscard]] std::unique_ptr<Signer> create_swupdate_signer(const SignerContext& context);

}  // namespace digsig::signers
