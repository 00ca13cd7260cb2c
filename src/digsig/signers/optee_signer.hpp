#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/optee: OP-TEE trusted applications in a tarball, each
// <uuid>.stripped.elf made into a signed <uuid>.ta.
[[nodiscard]] std::unique_ptr<Signer> create_optee_signer(const SignerContext& context);

}  // namespace digsig::signers
