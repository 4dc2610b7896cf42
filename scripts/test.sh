#!/usr/bin/env bash
# Builds Systole and runs the whole test suite with ctest (each test in its own process).
#   SYSTOLE_SANITIZE=1 ./scripts/test.sh   builds in build-asan/ with ASan + UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
if [ "${SYSTOLE_SANITIZE:-0}" = 1 ]; then
  build=build-asan
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYSTOLE_SANITIZE=ON -DSYSTOLE_BENCH=OFF)
fi
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
export SC_COPYRIGHT_MESSAGE=DISABLE
ctest --test-dir "$build" -j"$(nproc)" --output-on-failure --timeout 300
