#!/usr/bin/env bash
# Builds the libFuzzer targets under fuzz/ with clang (-fsanitize=fuzzer,address,undefined)
# in a separate build directory and runs each for a bounded time. Fails on any crash,
# sanitizer report, leak, input taking longer than FUZZ_TIMEOUT seconds, or RSS above
# FUZZ_RSS_MB; the offending input is kept in $build/artifacts/ (turn it into a
# regression test under tests/).
# Runs are reproducible: a fixed seed (FUZZ_SEED) and at most FUZZ_RUNS inputs per target,
# from a fresh corpus, so CI repeats exactly the runs a developer made (a slower machine
# stops at FUZZ_SECONDS on a prefix of them).
#   FUZZ_SECONDS=60 (per target)  FUZZ_RUNS=20000  FUZZ_SEED=1  FUZZ_TIMEOUT=5
#   FUZZ_RSS_MB=2048  FUZZ_BUILD=build-fuzz
#   scripts/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-20000}
seed=${FUZZ_SEED:-1}
timeout=${FUZZ_TIMEOUT:-5}
rss=${FUZZ_RSS_MB:-2048}
build=${FUZZ_BUILD:-build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(arch_toml_fuzz workload_toml_fuzz overrides_fuzz
                                    scalesim_fuzz onnx_fuzz cli_fuzz)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYSTOLE_FUZZ=ON \
  -DSYSTOLE_WERROR=OFF -DSYSTOLE_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers

# Seed corpora from the repository's inputs.
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{arch_toml_fuzz,workload_toml_fuzz,overrides_fuzz,scalesim_fuzz,onnx_fuzz,cli_fuzz}
cp configs/arch/*.toml "$seeds/arch_toml_fuzz/"
cp configs/workloads/*.toml "$seeds/workload_toml_fuzz/"
cp fuzz/seeds/overrides/* "$seeds/overrides_fuzz/"
cp fuzz/seeds/cli/* "$seeds/cli_fuzz/"
for d in tests/data/scalesim/*/; do
  [ -f "$d/scale.cfg" ] && [ -f "$d/topology.csv" ] || continue
  # cfg, NUL, topology (the target reads a gemm topology when its first byte is odd).
  { cat "$d/scale.cfg"; printf '\0'; cat "$d/topology.csv"; } > "$seeds/scalesim_fuzz/$(basename "$d")"
done
"$build/fuzz/onnx_seeds" "$seeds/onnx_fuzz"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export SC_COPYRIGHT_MESSAGE=DISABLE
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$build/artifacts"
  echo "== fuzz $t for ${seconds}s"
  if ! "$build/fuzz/$t" "$corpus" "$seeds/$t" -max_total_time="$seconds" -runs="$runs" -seed="$seed" -timeout="$timeout" \
      -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -max_len=65536 -detect_leaks=1 \
      -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 >"$build/$t.log" 2>&1; then
    echo "FAIL: $t (log $build/$t.log; input in $build/artifacts/)"
    grep -E "ERROR|SUMMARY|Test unit written" "$build/$t.log" | head -5
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/$t.log" | tail -1
  fi
done
exit $status
