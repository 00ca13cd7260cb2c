#!/usr/bin/env bash
# Installs the Debian 12 packages that are missing for a purpose:
#   build    compiler, CMake and the libraries digsigserver links
#   demo     build + the signing tools some signers run + what the demo uses
#   test     build + the test frameworks and the real verifiers the tests run
#   bench    test + the load generator used by bench/
# Usage: install-deps.sh PURPOSE...   (does nothing when all is installed)
set -euo pipefail

build=(build-essential xz-utils gzip zstd cmake ninja-build pkg-config libcpp-httplib-dev libssl-dev
       libarchive-dev zlib1g-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev libcli11-dev
       nlohmann-json3-dev libp11-kit-dev)
tools=(sbsigntool u-boot-tools device-tree-compiler python3)
demo=(openssl curl ca-certificates systemd-boot-efi mender-artifact libengine-pkcs11-openssl "${tools[@]}")
test=(libgtest-dev libgmock-dev openssl curl jq xxd swupdate cpio procps linux-kbuild-6.1 xz-utils gzip zstd
      systemd-boot-efi mender-artifact awscli softhsm2 opensc libengine-pkcs11-openssl "${tools[@]}")
bench=(wrk time)

wanted=()
for purpose in "$@"; do
  case "$purpose" in
    build) wanted+=("${build[@]}") ;;
    demo) wanted+=("${build[@]}" "${demo[@]}") ;;
    test) wanted+=("${build[@]}" "${test[@]}") ;;
    bench) wanted+=("${build[@]}" "${test[@]}" "${bench[@]}") ;;
    *) echo "install-deps.sh: unknown purpose '$purpose' (build, demo, test, bench)" >&2; exit 2 ;;
  esac
done

# Node.js and npm (for the s3rver test helper) may come from another
# package source; install Debian's only when there is no npm at all.
if [[ " $* " == *" test "* || " $* " == *" bench "* ]] && ! command -v npm >/dev/null; then
  wanted+=(nodejs npm)
fi

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"
