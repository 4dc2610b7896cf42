#include "models/tensor_engine/matmul_unit.h"

#include <algorithm>

#include "base/error.h"
#include "models/tensor_engine/systolic_timing.h"

namespace systole {

std::uint64_t MatmulStreamCycles(const TensorEngineConfig& te, Dtype dtype, std::uint64_t t) {
  switch (dtype) {
    case Dtype::kFp32:
      return t * te.fp32_rate_divisor;
    case Dtype::kFp8:
      return (t + te.fp8_rate_multiplier - 1) / te.fp8_rate_multiplier;
    case Dtype::kBf16:
    case Dtype::kFp16:
      return t;
  }
  return t;
}

MatmulUnit::MatmulUnit(sc_core::sc_module_name name, const CoreConfig& core)
    : sc_core::sc_module(name),
      scratchpad("scratchpad"),
      accumulator("accumulator"),
      te_(core.tensor),
      cycle_(1000.0 / core.clock_ghz, sc_core::SC_PS),
      sp_overhead_(core.scratchpad.access_overhead_cycles * cycle_),
      acc_overhead_(core.accumulator.access_overhead_cycles * cycle_) {
  if (te_.dataflow == Dataflow::kOutputStationary) {
    throw InputError(
        "core.tensor.dataflow = os: the engine-level core models weight/input-stationary "
        "arrays (ws, is); use `systole gemm` or `systole scalesim` for os");
  }
}

IssueTiming MatmulUnit::Issue(const Instruction& in) {
  const std::uint64_t S = in.stationary_cols;
  // One fold of systolic_timing (K = partitions rows used, S columns used), streaming the
  // moving tile at the dtype's rate: load R, stream T', fill (R-1) + (S-1).
  const FoldTiming fold =
      TimeFold(te_.dataflow, te_.array,
               std::max(MatmulStreamCycles(te_, in.dtype, in.moving_cols), te_.min_issue_cycles),
               in.partitions, S);

  // Load: stationary tile read from the scratchpad, shifted in over R cycles.
  // Operand fetch is pipelined ahead of the array, so memory access overheads are
  // hidden; only the memories' occupancy (bandwidth, contention) can stretch a phase.
  const sc_core::sc_time sp_read =
      sp_access_.Access(scratchpad, in.src0, false, sc_core::SC_ZERO_TIME) - sp_overhead_;
  const sc_core::sc_time load_end = std::max(fold.load_cycles * cycle_, sp_read);
  // Stream: after the load and after the previous stream.
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time stream_start =
      std::max(load_end, stream_free_at_ > now ? stream_free_at_ - now : sc_core::SC_ZERO_TIME);
  sc_core::sc_time stream_end = stream_start + fold.stream_cycles * cycle_;
  stream_end = std::max(stream_end,
                        sp_access_.Access(scratchpad, in.src1, false, stream_start) - sp_overhead_);
  if (in.accumulate) {
    stream_end = std::max(
        stream_end, acc_access_.Access(accumulator, in.dst, false, stream_start) - acc_overhead_);
  }
  stream_end = std::max(
      stream_end, acc_access_.Access(accumulator, in.dst, true, stream_start) - acc_overhead_);
  stream_free_at_ = now + stream_end;
  macs_ += static_cast<std::uint64_t>(in.partitions) * S * in.moving_cols;

  IssueTiming t;
  t.occupancy = te_.weight_double_buffer ? stream_start : stream_end;
  t.latency = stream_end + fold.fill_cycles * cycle_;
  return t;
}

}  // namespace systole
