#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds
# with warnings as errors, and runs every unit and integration test.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test
cmake --preset ci
cmake --build --preset ci
ctest --preset ci
