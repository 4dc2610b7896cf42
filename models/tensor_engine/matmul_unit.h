// The tensor engine inside a core: timing of matmul instructions (EngineCostModel).
//
// What it models
//   A matmul instruction multiplies a stationary tile (K partitions x S columns, K <= R,
//   S <= C) with a moving tile (K partitions x T elements) into the accumulator
//   (S partitions x T FP32 entries, overwrite or accumulate). On the R x C array this is
//   one fold of systolic_timing.h (TimeFold, which Issue calls) with rows_used = K,
//   cols_used = S, temporal = T':
//     load   = R cycles       shift the stationary tile in (scratchpad read)
//     stream = T' cycles      T' = T x fp32_rate_divisor (fp32), ceil(T / fp8_rate_multiplier)
//                             (fp8), T (bf16/fp16); at least min_issue_cycles
//     fill   = (R-1) + (S-1)  skew until the last partial sum leaves the array
//   An isolated instruction completes after load + stream + fill, exactly TimeFold's
//   total_cycles (for T' >= min_issue_cycles and dtype bf16/fp16).
//   Back to back: the weight-load path and the streaming path are separate. With
//   weight_double_buffer the next load starts as soon as the current stream has started
//   (a shadow weight buffer), so a run of matmuls with T' >= R streams continuously; without
//   it the next load waits for the current stream to end. Streams never overlap.
//   The stationary tile is read from the scratchpad during the load and the moving tile
//   during the stream; the accumulator is written (read-modify-write when accumulating)
//   during the stream. Each is one TLM transaction; a stream lasts until its memory
//   accesses are done too, so a slow or contended memory stretches it. Operand fetch is
//   pipelined ahead of the array, so the memories' fixed access overhead is hidden.
//
// What it ignores
//   Dataflows other than weight/input-stationary (an output-stationary core is rejected
//   when the core is built), PE-level power, sparsity.
//
// Parameters (CoreConfig)
//   tensor.array (PEs), tensor.min_issue_cycles, tensor.fp32_rate_divisor,
//   tensor.fp8_rate_multiplier, tensor.weight_double_buffer, clock_ghz (GHz)
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>

#include "models/chip/arch_config.h"
#include "models/core/engine.h"
#include "models/memory/onchip_memory.h"

namespace systole {

// Stream cycles of a moving tile of T elements in `dtype`.
std::uint64_t MatmulStreamCycles(const TensorEngineConfig& te, Dtype dtype, std::uint64_t t);

class MatmulUnit : public sc_core::sc_module, public EngineCostModel {
 public:
  tlm_utils::simple_initiator_socket<MatmulUnit> scratchpad;
  tlm_utils::simple_initiator_socket<MatmulUnit> accumulator;

  MatmulUnit(sc_core::sc_module_name name, const CoreConfig& core);
  IssueTiming Issue(const Instruction& instr) override;
  std::uint64_t macs() const { return macs_; }

 private:
  TensorEngineConfig te_;
  sc_core::sc_time cycle_;
  sc_core::sc_time sp_overhead_;
  sc_core::sc_time acc_overhead_;
  sc_core::sc_time stream_free_at_;
  OnChipAccessor sp_access_;
  OnChipAccessor acc_access_;
  std::uint64_t macs_ = 0;
};

}  // namespace systole
