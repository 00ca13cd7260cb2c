#include "digsig/keystore/key_material.hpp"

#include <fmt/format.h>

namespace digsig::keystore {

std::string describe(const KeyRef& ref) {
  return fmt::format("key '{}' ({}) of '{}'", ref.keyname, ref.signtype, ref.selector);
}

std::string KeyMaterial::describe() const { return keystore::describe(ref_); }

}  // namespace digsig::keystore
