#pragma once

#include <memory>
#include <string_view>

#include "digsig/keystore/keystore.hpp"

namespace digsig::keystore {

// A key store on the local file system; `path` is what follows "file://".
[[nodiscard]] Result<std::unique_ptr<KeyStore>> create_file_keystore(std::string_view path);

}  // namespace digsig::keystore
