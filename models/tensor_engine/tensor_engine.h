// SystemC model of the tensor engine at tile (fold) granularity.
//
// What it models
//   One systolic tensor engine executing a stream of matmul-fold instructions in program
//   order. Each instruction occupies the engine for TimeFold(...).total_cycles() engine
//   cycles (systolic_timing.h: stationary load + skew fill + stream), and the next one
//   starts when it ends. The module is event-driven: one SC_METHOD that, on each
//   instruction boundary, computes the cycle of the next boundary and re-triggers itself
//   there (no sc_clock; idle time costs nothing). Simulated time is derived from the
//   integer cycle count (time of cycle n = n / clock), so rounding never accumulates.
//
// What it ignores (added by later blocks)
//   Operand delivery from scratchpad/DMA (operands are assumed present), overlap of a
//   fold's stationary load with the previous fold's stream, datatype throughput factors,
//   semaphores to other engines.
//
//   A run of `repeat` identical folds is one event whose length is repeat x fold cycles
//   (exact, because folds are serial); lowering merges identical neighbours, so the cost
//   of a GEMM grows with its distinct fold shapes, not with its MACs or cycles.
//
// Parameters
//   array        rows x cols, PEs
//   dataflow     os | ws | is
//   clock_ghz    engine clock, GHz
//   edges        EdgePolicy for partially used folds
#pragma once

#include <cstdint>
#include <systemc>
#include <vector>

#include "models/tensor_engine/systolic_timing.h"

namespace systole {

// One fold of a GEMM: the array's stationary/spatial tile and the temporal stream length.
struct MatmulFoldInstr {
  std::uint64_t temporal = 1;   // elements streamed (T)
  std::uint64_t rows_used = 1;  // PEs used along the rows
  std::uint64_t cols_used = 1;  // PEs used along the columns
  std::uint32_t tag = 0;        // caller's label (e.g. which GEMM), echoed in spans
  std::uint64_t repeat = 1;     // identical folds back to back, timed as one event
};

struct TensorEngineStats {
  std::uint64_t instructions = 0;  // folds executed (repeats counted)
  std::uint64_t busy_cycles = 0;   // cycles with an instruction in flight
  std::uint64_t macs = 0;          // useful MACs: rows_used * cols_used * temporal summed
  std::uint64_t end_cycle = 0;     // cycle at which the last instruction retired
};

// Per-instruction record: [start_cycle, end_cycle) of each instruction, for reports.
struct InstrSpan {
  std::uint64_t start_cycle = 0;
  std::uint64_t end_cycle = 0;
  std::uint32_t tag = 0;
};

class TensorEngine : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(TensorEngine);
  TensorEngine(sc_core::sc_module_name name, Dataflow dataflow, ArrayShape array, double clock_ghz,
               EdgePolicy edges);

  // Must be called before sc_start.
  void Load(std::vector<MatmulFoldInstr> program, bool record_spans = false);

  const TensorEngineStats& stats() const { return stats_; }
  const std::vector<InstrSpan>& spans() const { return spans_; }
  sc_core::sc_time TimeOfCycle(std::uint64_t cycle) const;

 private:
  void OnBoundary();

  Dataflow dataflow_;
  ArrayShape array_;
  double clock_ghz_;
  EdgePolicy edges_;
  std::vector<MatmulFoldInstr> program_;
  std::size_t next_ = 0;
  std::uint64_t cycle_ = 0;
  bool record_spans_ = false;
  TensorEngineStats stats_;
  std::vector<InstrSpan> spans_;
};

}  // namespace systole
