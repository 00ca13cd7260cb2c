#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/tegra/uefi: UEFI payloads for Jetson: Authenticode (sbsign),
// detached CMS, or the payload with the CMS attached.
[[nodiscard]] std::unique_ptr<Signer> create_uefi_signer(const SignerContext& context);

}  // namespace digsig::signers
