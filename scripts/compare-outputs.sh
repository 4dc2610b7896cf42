#!/usr/bin/env bash
# Writes every user-visible output of a systole binary under OUTDIR, so that two builds (for
# example before and after a restructure) can be compared with `diff -r BEFORE AFTER`:
#   scripts/compare-outputs.sh build/systole /tmp/before
#   ... change the code, rebuild ...
#   scripts/compare-outputs.sh build/systole /tmp/after && diff -r /tmp/before /tmp/after
#
# It covers:
#   params/            `systole params`
#   run/zoo-NAME/      `systole run --out` of every zoo workload on the default architecture
#                      (and zoo-NAME-big-hbm/ on a 2 TiB device so that the large ones run)
#   run/arch-NAME/     `systole run --out` of the default workload on every architecture preset
#                      (report.json, ops.csv, trace.json, config.resolved.toml, stdout)
#   kernel/            `systole kernel ... --trace` for every matmul ladder level and every
#                      element-wise kernel, with the bandwidth and the banked HBM
#   scalesim/CASE/     `systole scalesim` on a few tests/data/scalesim cases (three reports)
#
# Paths are printed relative to the checkout / OUTDIR, so that two checkouts compare equal.
# Wall-clock fields are the only outputs removed: the text summaries' "in 0.60 s" (run) and
# "simulated in 0.01 s (12.3 M instructions/s)" (kernel) lines are rewritten to "in <wall> s".
# The files written by --out and --trace hold no wall-clock field and are kept as written.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY OUTDIR" >&2
  exit 2
fi
bin=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
export SC_COPYRIGHT_MESSAGE=DISABLE
rm -rf "$out"
mkdir -p "$out"/{params,run,kernel,scalesim}

# Replaces the wall-clock seconds in a text summary.
strip_wall() {
  sed -E -e 's/, in [0-9.]+ s$/, in <wall> s/' \
    -e 's/simulated in [0-9.]+ s \([0-9.]+ M instructions\/s\)/simulated in <wall> s/'
}

"$bin" params >"$out/params/params.txt"

# Runs `systole run ... --out DIR`, keeping stdout, stderr and the exit status (a workload
# that does not fit the device fails with exit 2: that message is an output too).
run_step() {
  local dir=$1
  shift
  local rc=0
  "$bin" run "$@" --out "$dir" >"$dir.stdout.raw" 2>"$dir.stderr.raw" || rc=$?
  strip_wall <"$dir.stdout.raw" >"$dir.stdout"
  # Error messages name the workload file: print it relative to the checkout.
  sed -e "s|$root/||g" <"$dir.stderr.raw" >"$dir.stderr"
  rm "$dir.stdout.raw" "$dir.stderr.raw"
  echo "$rc" >"$dir.rc"
}
for w in "$root"/configs/workloads/*.toml; do
  name=$(basename "$w" .toml)
  run_step "$out/run/zoo-$name" -w "$name"
  # The same workload on a 2 TiB device (8 stacks of 32x the rows), so that the large ones run.
  run_step "$out/run/zoo-$name-big-hbm" -w "$name" -p hbm.stacks=8 hbm.rows_per_bank=1048576
done
for a in "$root"/configs/arch/*.toml; do
  name=$(basename "$a" .toml)
  run_step "$out/run/arch-$name" --arch "$a"
done

for hbm in bandwidth banked; do
  for level in naive hoist block block3; do
    tag="matmul-$level-$hbm"
    "$bin" kernel matmul --M 512 --K 512 --N 1024 --level "$level" --hbm "$hbm" \
      --trace "$out/kernel/$tag.trace.json" | strip_wall >"$out/kernel/$tag.txt"
  done
  "$bin" kernel matmul --M 512 --K 768 --N 1024 --epilogue bias,gelu,residual --hbm "$hbm" \
    --trace "$out/kernel/matmul-epilogue-$hbm.trace.json" |
    strip_wall >"$out/kernel/matmul-epilogue-$hbm.txt"
  for kind in add gelu relu softmax layernorm rmsnorm; do
    tag="$kind-$hbm"
    "$bin" kernel "$kind" --shape 1024x1024 --hbm "$hbm" \
      --trace "$out/kernel/$tag.trace.json" | strip_wall >"$out/kernel/$tag.txt"
  done
done
"$bin" kernel matmul --M 256 --K 256 --N 256 --json >"$out/kernel/matmul-json.json"

for c in peer_test peer_user conv_os_calc conv_ws_user gemm_is_calc gemm_ws_user edge_os_user \
  rand_r1_0 rand_r2_3; do
  src="$root/tests/data/scalesim/$c"
  # Relative output path: the summary line names it.
  (cd "$out" && "$bin" scalesim -c "$src/scale.cfg" -t "$src/topology.csv" \
    -i "$(cat "$src/input_type")" -p "scalesim/$c" >"scalesim/$c.stdout")
done
echo "wrote $(find "$out" -type f | wc -l) files under $out"
