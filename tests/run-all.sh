#!/usr/bin/env bash
# The test command: installs what is missing, builds kitovu with warnings as errors and runs
# every test. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake/install-deps.sh
build=${KITOVU_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKITOVU_REQUIRE_SMB=ON >/dev/null
cmake --build "$build" -j2
ctest --test-dir "$build" --output-on-failure -j2
