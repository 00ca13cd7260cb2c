// Validation of client-supplied names before they become part of a path or
// a URI: selectors (machine, distro), key names, file names in uploads.
#pragma once

#include <string_view>

#include "digsig/util/error.hpp"

namespace digsig {

// A single path component: 1..128 bytes, printable ASCII without '/', '\\',
// not starting with '.', no control characters. `what` names the field in
// the error message ("distro", "key name", ...).
[[nodiscard]] Result<void> validate_name(std::string_view what, std::string_view value);

// The last component of a client file name ("../../x/flash.bin" gives
// "flash.bin"), then validated as a name.
[[nodiscard]] Result<std::string> safe_basename(std::string_view what, std::string_view value);

// Quote a client value for an error message: printable, at most 64 bytes.
[[nodiscard]] std::string quote(std::string_view value);

}  // namespace digsig
