// The MANIFEST of a /sign/tegra upload: "NAME=value" lines (the contract's
// ^([^=]+)=(.*)$) whose variables become the environment of the L4T tools,
// and the BUPGENSPECS specs ("a=x;b=y" separated by white space) that add
// upper-cased settings for one run each.
//
// Stricter than the contract where the contract would let a client run code
// on the server: a name must be a shell variable name, and names that change
// how programs are loaded or how a shell starts (PATH, LD_*, BASH_ENV, ...)
// are refused, as are control characters in values and values that are
// paths outside the working directory (absolute, or with a ".." component). MACHINE may appear but
// is always replaced by the request's machine, as in the original.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "digsig/util/error.hpp"

namespace digsig::formats {

using Variables = std::vector<std::pair<std::string, std::string>>;

struct TegraManifest {
  Variables variables;  // in file order; a later line replaces an earlier one

  [[nodiscard]] const std::string* find(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const { return find(name) != nullptr; }
};

// bad_request "Invalid manifest: line N: ..." for a line that is not
// NAME=value, a refused name, or a control character. Blank lines and a
// trailing "\r" or other trailing white space are ignored.
[[nodiscard]] Result<TegraManifest> parse_tegra_manifest(std::string_view text);

// The specs of a BUPGENSPECS value, each as its settings (names upper-cased,
// checked like manifest names). bad_request "Invalid manifest: BUPGENSPECS
// ..." for a setting without '=' or a refused name.
[[nodiscard]] Result<std::vector<Variables>> parse_bupgen_specs(std::string_view value);

// True for a name a client may set in the tools' environment.
[[nodiscard]] bool allowed_manifest_name(std::string_view name);

}  // namespace digsig::formats
