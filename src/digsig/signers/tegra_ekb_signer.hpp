#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/tegra/ekb: an encrypted key blob made by the L4T BSP's
// gen_ekb.py.
[[nodiscard]] std::unique_ptr<Signer> create_tegra_ekb_signer(const SignerContext& context);

}  // namespace digsig::signers
