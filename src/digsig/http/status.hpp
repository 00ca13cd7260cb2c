// The one place where an error kind becomes an HTTP status.
#pragma once

#include "digsig/util/error.hpp"

namespace digsig::http {

[[nodiscard]] int status_for(ErrorKind kind);

}  // namespace digsig::http
