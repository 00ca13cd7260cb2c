#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/imx: NXP i.MX HAB/AHAB signing with NXP's Code Signing Tool.
[[nodiscard]] std::unique_ptr<Signer> create_imx_signer(const SignerContext& context);

}  // namespace digsig::signers
