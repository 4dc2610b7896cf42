// Exact emulation of SCALE-Sim v2's per-layer simulation (commit 22f88b1): demand streams of
// the os/ws/is compute units, the ifmap/filter read buffers (CALC "estimate bandwidth" and
// USER modes), the ofmap write buffer, the stall combination and every report column.
//
// The reference engine walks SCALE-Sim's demand matrices one row (= one nominal cycle) at a
// time, generating each row's operand addresses on the fly (no demand matrix is ever
// materialised). Per layer it costs O(rows x array width) time; in USER mode it also keeps a
// table of every operand address's prefetch sets. See scalesim_sim.cpp for the semantics,
// one comment per SCALE-Sim component. The fast engine (scalesim_fast.cpp, the default)
// computes the same numbers at fold/event granularity and is tested equal to the reference
// on random shapes; both are tested against SCALE-Sim's own reports (tests/data/scalesim).
#pragma once

#include <cstdint>
#include <string>

#include "workloads/scalesim/scalesim_input.h"

namespace systole::scalesim {

// One report row. Cycle columns SCALE-Sim prints as floats (numpy float64) are kept as
// integers here and printed with ".0"; counts are integers; ratios are doubles computed with
// the same operation order (and rounding) as SCALE-Sim's Python.
struct LayerResult {
  // COMPUTE_REPORT
  std::int64_t total_cycles = 0;
  std::int64_t stall_cycles = 0;
  double overall_util = 0;
  double mapping_efficiency = 0;
  double compute_util = 0;
  // BANDWIDTH_REPORT: ifmap, filter, ofmap SRAM; ifmap, filter, ofmap DRAM (words/cycle)
  double sram_bw[3] = {0, 0, 0};
  double dram_bw[3] = {0, 0, 0};
  // DETAILED_ACCESS_REPORT (index 0 ifmap, 1 filter, 2 ofmap)
  std::int64_t sram_start[3] = {0, 0, 0};
  std::int64_t sram_stop[3] = {0, 0, 0};
  std::uint64_t sram_count[3] = {0, 0, 0};
  std::int64_t dram_start[3] = {0, 0, 0};
  std::int64_t dram_stop[3] = {0, 0, 0};
  std::uint64_t dram_count[3] = {0, 0, 0};
};

enum class Engine {
  kReference,  // row-by-row emulation of SCALE-Sim's memory system
  kFast,       // fold-level shortcuts where proven equal to kReference, else kReference
};

// Throws InputError on layers SCALE-Sim itself cannot simulate (it would divide by zero)
// and on address spaces beyond 2^53 words.
LayerResult SimulateLayer(const Config& config, const Layer& layer, Engine engine);

// Python's float.__repr__ (shortest round-trip digits, exponent outside [1e-4, 1e16)).
std::string PyFloatRepr(double value);

// Python's int / int true division: the correctly rounded double of a / b (b > 0).
double IntTrueDiv(unsigned __int128 a, unsigned __int128 b);

}  // namespace systole::scalesim
