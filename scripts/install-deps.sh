#!/usr/bin/env bash
# Installs the Debian packages Systole needs to build and test. Idempotent.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang-format
      libsystemc-dev libgtest-dev libgmock-dev libbenchmark-dev
      libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libfmt-dev
      libonnx-dev libprotobuf-dev libsqlite3-dev git openmpi-bin
      clang libclang-rt-dev  # clang + libclang_rt.fuzzer/asan/ubsan: scripts/fuzz.sh
      chromium)  # chromium: headless, loads report.html in a test (HtmlReport*)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
