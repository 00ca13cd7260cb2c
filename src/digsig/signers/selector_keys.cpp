#include "digsig/signers/selector_keys.hpp"

namespace digsig::signers {

Result<SelectorKeys> SelectorKeys::open(keystore::KeyStore& store, const SignerInfo& info,
                                        std::string_view selector) {
  keystore::KeyRef ref{std::string(selector), info.signtype, ""};
  if (auto ok = keystore::validate(info.selector_field, ref); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = store.check_selector(selector, info.signtype); !ok) {
    return std::unexpected(ok.error());
  }
  return SelectorKeys(store, info, std::string(selector));
}

Result<keystore::KeyMaterial> SelectorKeys::load(std::string_view keyname) const {
  keystore::KeyRef ref{selector_, info_->signtype, std::string(keyname)};
  if (auto ok = keystore::validate(info_->selector_field, ref); !ok) {
    return std::unexpected(ok.error());
  }
  return store_->load(ref);
}

}  // namespace digsig::signers
