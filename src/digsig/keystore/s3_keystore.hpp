#pragma once

#include <memory>
#include <string_view>

#include "digsig/keystore/keystore.hpp"

namespace digsig::keystore {

// A key store in an S3 bucket; `rest` is what follows "s3://": bucket[/prefix].
// Credentials and endpoint from the AWS environment variables.
[[nodiscard]] Result<std::unique_ptr<KeyStore>> create_s3_keystore(std::string_view rest);

}  // namespace digsig::keystore
