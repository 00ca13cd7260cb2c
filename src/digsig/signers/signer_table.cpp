#include "digsig/signers/signer_table.hpp"

#include <array>

#include "digsig/signers/fitimage_signer.hpp"
#include "digsig/signers/imx_signer.hpp"
#include "digsig/signers/mender_signer.hpp"
#include "digsig/signers/modules_signer.hpp"
#include "digsig/signers/optee_signer.hpp"
#include "digsig/signers/rk_signer.hpp"
#include "digsig/signers/rkoptee_signer.hpp"
#include "digsig/signers/swupdate_signer.hpp"
#include "digsig/signers/tegra_capsule_signer.hpp"
#include "digsig/signers/tegra_ekb_signer.hpp"
#include "digsig/signers/tegra_signer.hpp"
#include "digsig/signers/uefi_signer.hpp"

namespace digsig::signers {

namespace {

struct Entry {
  std::string_view name;
  SignerFactory create;
};

constexpr std::array k_signers{
    Entry{"fitimage", &create_fitimage_signer},
    Entry{"imx", &create_imx_signer},
    Entry{"mender", &create_mender_signer},
    Entry{"modules", &create_modules_signer},
    Entry{"optee", &create_optee_signer},
    Entry{"rk", &create_rk_signer},
    Entry{"rkoptee-ta", &create_rkoptee_ta_signer},
    Entry{"rkoptee-tee", &create_rkoptee_tee_signer},
    Entry{"swupdate", &create_swupdate_signer},
    Entry{"tegra", &create_tegra_signer},
    Entry{"tegra-ekb", &create_tegra_ekb_signer},
    Entry{"tegra-ueficapsule", &create_tegra_capsule_signer},
    Entry{"uefi", &create_uefi_signer},
};

}  // namespace

std::vector<std::unique_ptr<Signer>> create_all(const SignerContext& context) {
  std::vector<std::unique_ptr<Signer>> out;
  for (const auto& entry : k_signers) out.push_back(entry.create(context));
  return out;
}

std::vector<std::string_view> names() {
  std::vector<std::string_view> out;
  for (const auto& entry : k_signers) out.push_back(entry.name);
  return out;
}

}  // namespace digsig::signers
