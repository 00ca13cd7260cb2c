#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/rk: Rockchip FIT images (mkimage) and idblock/usbloader images
// (Rockchip's rk_sign_tool).
[[nodiscard]] std::unique_ptr<Signer> create_rk_signer(const SignerContext& context);

}  // namespace digsig::signers
