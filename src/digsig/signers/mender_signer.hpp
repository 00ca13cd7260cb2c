#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/mender: signs a Mender artifact in place, named by a URI.
[[nodiscard]] std::unique_ptr<Signer> create_mender_signer(const SignerContext& context);

}  // namespace digsig::signers
