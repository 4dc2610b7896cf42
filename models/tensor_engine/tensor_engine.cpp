#include "models/tensor_engine/tensor_engine.h"

#include <cmath>

namespace systole {

TensorEngine::TensorEngine(sc_core::sc_module_name name, Dataflow dataflow, ArrayShape array,
                           double clock_ghz, EdgePolicy edges)
    : sc_core::sc_module(name),
      dataflow_(dataflow),
      array_(array),
      clock_ghz_(clock_ghz),
      edges_(edges) {
  SC_METHOD(OnBoundary);  // runs once at time 0, then at every instruction boundary
}

void TensorEngine::Load(std::vector<MatmulFoldInstr> program, bool record_spans) {
  program_ = std::move(program);
  record_spans_ = record_spans;
  if (record_spans_) spans_.reserve(program_.size());
}

sc_core::sc_time TensorEngine::TimeOfCycle(std::uint64_t cycle) const {
  // Absolute time from the integer cycle count: 1000 ps per ns, clock in cycles per ns.
  return sc_core::sc_time(std::round(static_cast<double>(cycle) * 1000.0 / clock_ghz_),
                          sc_core::SC_PS);
}

void TensorEngine::OnBoundary() {
  if (next_ == program_.size()) {
    stats_.end_cycle = cycle_;
    return;  // program done: no further trigger
  }
  const MatmulFoldInstr& in = program_[next_++];
  const bool pad = edges_ == EdgePolicy::kPadToFullArray;
  const FoldTiming t = TimeFold(dataflow_, array_, in.temporal, pad ? array_.rows : in.rows_used,
                                pad ? array_.cols : in.cols_used);
  const std::uint64_t start = cycle_;
  const std::uint64_t cycles = in.repeat * t.total_cycles();
  cycle_ += cycles;
  stats_.instructions += in.repeat;
  stats_.busy_cycles += cycles;
  stats_.macs += in.repeat * in.rows_used * in.cols_used * in.temporal;
  if (record_spans_) spans_.push_back({start, cycle_, in.tag});
  next_trigger(TimeOfCycle(cycle_) - sc_core::sc_time_stamp());
}

}  // namespace systole
