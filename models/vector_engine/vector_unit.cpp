#include "models/vector_engine/vector_unit.h"

#include <algorithm>
#include <cmath>

namespace systole {

namespace {

std::uint64_t Passes(std::uint64_t partitions, std::uint64_t lanes) {
  return std::max<std::uint64_t>(1, (partitions + lanes - 1) / lanes);
}

std::uint64_t CeilCycles(double cycles) {
  return static_cast<std::uint64_t>(std::ceil(cycles - 1e-9));
}

double FnCost(const ScalarEngineConfig& c, ActivationFn fn) {
  switch (fn) {
    case ActivationFn::kIdentity:
    case ActivationFn::kSquare:
      return c.identity_cycles_per_element;
    case ActivationFn::kExp:
      return c.exp_cycles_per_element;
    case ActivationFn::kTanh:
      return c.tanh_cycles_per_element;
    case ActivationFn::kGelu:
      return c.gelu_cycles_per_element;
    case ActivationFn::kSilu:
      return c.silu_cycles_per_element;
    case ActivationFn::kRsqrt:
      return c.rsqrt_cycles_per_element;
  }
  return 1.0;
}

}  // namespace

std::uint64_t VectorComputeCycles(const VectorEngineConfig& c, const Instruction& in) {
  // A second input costs a second pass, unless it is one value per partition (broadcast).
  const bool two_full_inputs =
      in.op == Opcode::kVectorBinary && in.src1.bytes_per_partition >= in.src0.bytes_per_partition;
  const double inputs = two_full_inputs ? 2.0 : 1.0;
  return c.fixed_overhead_cycles +
         Passes(in.partitions, c.lanes) *
             CeilCycles(static_cast<double>(in.free_elems) * inputs / c.elements_per_cycle);
}

std::uint64_t ScalarComputeCycles(const ScalarEngineConfig& c, const Instruction& in) {
  return c.fixed_overhead_cycles +
         Passes(in.partitions, c.lanes) *
             CeilCycles(static_cast<double>(in.free_elems) * FnCost(c, in.fn));
}

VectorUnit::VectorUnit(sc_core::sc_module_name name, EngineKind kind, const CoreConfig& core)
    : sc_core::sc_module(name),
      scratchpad("scratchpad"),
      accumulator("accumulator"),
      kind_(kind),
      vector_(core.vector),
      scalar_(core.scalar),
      cycle_(1000.0 / (kind == EngineKind::kScalar ? core.scalar.clock_ghz : core.vector.clock_ghz),
             sc_core::SC_PS) {}

sc_core::sc_time VectorUnit::Access(const OnChipRegion& region, bool write) {
  if (region.partitions == 0) return sc_core::SC_ZERO_TIME;
  if (region.space == MemorySpace::kAccumulator) {
    return access_.Access(accumulator, region, write, sc_core::SC_ZERO_TIME);
  }
  return access_.Access(scratchpad, region, write, sc_core::SC_ZERO_TIME);
}

IssueTiming VectorUnit::Issue(const Instruction& in) {
  const std::uint64_t cycles = kind_ == EngineKind::kScalar ? ScalarComputeCycles(scalar_, in)
                                                            : VectorComputeCycles(vector_, in);
  sc_core::sc_time end = cycles * cycle_;
  end = std::max(end, Access(in.src0, false));
  end = std::max(end, Access(in.src1, false));
  end = std::max(end, Access(in.dst, true));
  IssueTiming t;
  t.occupancy = end;
  t.latency = end;
  return t;
}

}  // namespace systole
