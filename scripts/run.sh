#!/usr/bin/env bash
# Installs what Systole needs (Debian packages, idempotent), builds it in Release, and runs
# `systole run` with any arguments given here (none: the embedded default workload).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target systole
./build/systole run "$@"
