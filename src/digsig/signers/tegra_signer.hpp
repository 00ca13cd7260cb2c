#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/tegra: NVIDIA Jetson bootloaders, signed by the L4T BSP's own
// flash helper scripts (BUP payloads, SIGNFILES, or a full signed set).
[[nodiscard]] std::unique_ptr<Signer> create_tegra_signer(const SignerContext& context);

}  // namespace digsig::signers
