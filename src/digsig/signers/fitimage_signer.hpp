#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/fitimage: signs a U-Boot FIT image with mkimage, optionally
// putting the public key into a DTB.
[[nodiscard]] std::unique_ptr<Signer> create_fitimage_signer(const SignerContext& context);

}  // namespace digsig::signers
