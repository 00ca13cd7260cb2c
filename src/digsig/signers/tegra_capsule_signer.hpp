#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/tegra/ueficapsule: a signed UEFI capsule made by the L4T BSP's
// GenerateCapsule.py.
[[nodiscard]] std::unique_ptr<Signer> create_tegra_capsule_signer(const SignerContext& context);

}  // namespace digsig::signers
