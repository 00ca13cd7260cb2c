#pragma once

#include "digsig/signers/signer.hpp"

namespace digsig::signers {

// POST /sign/rkoptee-tee: Rockchip's change_puk puts the OP-TEE public key
// into tee.bin.
[[nodiscard]] std::unique_ptr<Signer> create_rkoptee_tee_signer(const SignerContext& context);

// POST /sign/rkoptee-ta: Rockchip's resign_ta.py re-signs every *.ta of a
// tarball.
[[nodiscard]] std::unique_ptr<Signer> create_rkoptee_ta_signer(const SignerContext& context);

}  // namespace digsig::signers
