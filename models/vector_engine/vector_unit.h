// Vector and scalar (activation) engines of a core: timing of element-wise instructions.
//
// What it models
//   An instruction works on a tile of P partitions x F free elements. The engine
//   processes `lanes` partitions in parallel, so it makes ceil(P / lanes) passes over F:
//   vector engine (one- and two-input element-wise ops, reductions along F):
//     cycles = fixed_overhead + ceil(P / lanes) * ceil(F * inputs / elements_per_cycle)
//     (inputs = 1 for unary ops, reductions and binary ops whose second input is one
//     value per partition (broadcast); 2 for binary ops on two full tiles: the published
//     rule "about N cycles for one input, 2N for two")
//   scalar engine (transcendental functions, per-function cost c_fn cycles per element):
//     cycles = fixed_overhead + ceil(P / lanes) * ceil(F * c_fn)
//     (f(x * scale + bias) with a per-partition scale and bias costs the same: the affine
//     step is part of the engine's pipeline; square costs as identity)
//   Operands are read from and results written to the scratchpad or the accumulator
//   (one TLM transaction each, starting at issue); the instruction completes when both
//   the compute and its memory accesses (with their access overhead) are done. Each
//   engine has its own clock.
//
// What it ignores
//   Data-dependent costs, instruction fusion, the GpSimd engine.
//
// Parameters (CoreConfig)
//   vector: clock_ghz (GHz), lanes, elements_per_cycle, fixed_overhead_cycles
//   scalar: clock_ghz (GHz), lanes, fixed_overhead_cycles, <fn>_cycles_per_element
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>

#include "models/chip/arch_config.h"
#include "models/core/engine.h"
#include "models/memory/onchip_memory.h"

namespace systole {

// Compute cycles (engine clock) of one instruction, without memory effects.
std::uint64_t VectorComputeCycles(const VectorEngineConfig& config, const Instruction& in);
std::uint64_t ScalarComputeCycles(const ScalarEngineConfig& config, const Instruction& in);

class VectorUnit : public sc_core::sc_module, public EngineCostModel {
 public:
  tlm_utils::simple_initiator_socket<VectorUnit> scratchpad;
  tlm_utils::simple_initiator_socket<VectorUnit> accumulator;

  // kind: EngineKind::kVector or EngineKind::kScalar.
  VectorUnit(sc_core::sc_module_name name, EngineKind kind, const CoreConfig& core);
  IssueTiming Issue(const Instruction& instr) override;

 private:
  sc_core::sc_time Access(const OnChipRegion& region, bool write);

  EngineKind kind_;
  VectorEngineConfig vector_;
  ScalarEngineConfig scalar_;
  sc_core::sc_time cycle_;
  OnChipAccessor access_;
};

}  // namespace systole
