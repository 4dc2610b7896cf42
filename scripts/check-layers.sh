#!/usr/bin/env bash
# Checks the include graph against the layer order (docs/ARCHITECTURE.md):
#
#   base/  <-  models/  <-  workloads/  <-  sim/
#
# A file may include (with #include "...") files of its own layer or of a lower one, never
# of a higher one, and never bench/ or tests/. On top of that, a few folders must stay free
# of some others:
#   - base/ includes no SystemC or TLM header (it is plain C++ vocabulary);
#   - workloads/{graph,zoo,import,training} include nothing from models/: the training
#     computation is described without any hardware (lowering maps it onto the models);
#   - nothing outside sim/cli/ includes sim/cli/ (the command line is the very top).
# Every quoted include must be a path from the repository root that exists.
#
# Usage: scripts/check-layers.sh [REPO_ROOT]   (exit 0: clean; 1: violations, one per line)
# ctest runs it as LayerCheck.IncludesPointDown.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

status=0
fail() {
  echo "$1" >&2
  status=1
}

rank_of_base=0
rank_of_models=1
rank_of_workloads=2
rank_of_sim=3
# One line per include: FILE:LINE:TEXT.
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  lineno=${rest%%:*}
  line=${rest#*:}
  where="$file:$lineno"
  from_layer=${file%%/*}
  from_var="rank_of_$from_layer"
  from_rank=${!from_var}
  if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
    inc=${BASH_REMATCH[1]}
    if [ ! -f "$inc" ]; then
      fail "$where: #include \"$inc\" is not a path from the repository root"
      continue
    fi
    to_layer=${inc%%/*}
    case "$to_layer" in
      base | models | workloads | sim)
        to_var="rank_of_$to_layer"
        if [ "${!to_var}" -gt "$from_rank" ]; then
          fail "$where: #include \"$inc\": $from_layer/ is below $to_layer/ (base < models < workloads < sim)"
        fi
        ;;
      *) fail "$where: #include \"$inc\": $from_layer/ may not include $to_layer/" ;;
    esac
    case "$file" in
      workloads/graph/* | workloads/zoo/* | workloads/import/* | workloads/training/*)
        if [ "$to_layer" = models ]; then
          fail "$where: #include \"$inc\": the workload description is hardware-free (no models/)"
        fi
        ;;
    esac
    case "$inc" in
      sim/cli/*)
        case "$file" in
          sim/cli/*) ;;
          *) fail "$where: #include \"$inc\": only sim/cli/ includes sim/cli/" ;;
        esac
        ;;
    esac
  elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<(systemc|tlm) ]]; then
    if [ "$from_layer" = base ]; then
      fail "$where: base/ includes no SystemC/TLM header"
    fi
  fi
done < <(find base models workloads sim -type f \( -name '*.h' -o -name '*.cpp' \) -print0 |
  sort -z | xargs -0 grep -Hn -E '^[[:space:]]*#[[:space:]]*include')

if [ "$status" -eq 0 ]; then
  echo "layers: every include points down (base < models < workloads < sim)"
fi
exit "$status"
