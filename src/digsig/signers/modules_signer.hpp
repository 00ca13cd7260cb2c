#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/modules: signs every kernel module in a tarball as the kernel's
// scripts/sign-file does, natively and in parallel.
[[nodiscard]] std::unique_ptr<Signer> create_modules_signer(const SignerContext& context);

}  // namespace digsig::signers
