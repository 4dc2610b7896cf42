// Energy of a run from its activity (activity.h) and the chip's energy table
// (energy_config.h).
//
// What it models
//   dynamic energy = sum over activity kinds of count x energy per unit: MACs per datatype,
//     vector and scalar element-ops (compute); bytes read and written per on-chip memory
//     (on-chip memory); HBM bits read and written plus row activations (HBM); link bits.
//   static energy  = the chip's leakage power (every block, ChipStaticW) x elapsed time,
//     busy or idle.
//   overheads      = the chip's share of its server's host CPU, NICs and fans x time, plus
//     the power-supply loss on everything: (chip + share) x (1 / psu_efficiency - 1).
// What it ignores
//   Voltage scaling with the clock (a throttled chip spends the same energy per op),
//   clock-tree and idle dynamic power beyond the static figures, instruction fetch, data
//   values (toggle rates): a MAC costs the same whatever its operands.
#pragma once

#include <cstdint>
#include <string>

#include "models/energy/activity.h"
#include "models/energy/energy_config.h"

namespace systole {

struct EnergyBreakdown {
  double compute_j = 0;   // tensor MACs + vector and scalar element-ops
  double onchip_j = 0;    // scratchpad and accumulator reads and writes
  double hbm_j = 0;       // HBM data and row activations
  double link_j = 0;      // chip-to-chip links
  double static_j = 0;    // leakage of every block over the elapsed time
  double overhead_j = 0;  // server share (host, NICs, fans) and power-supply loss

  double DynamicJ() const { return compute_j + onchip_j + hbm_j + link_j; }
  double ChipJ() const { return DynamicJ() + static_j; }
  double TotalJ() const { return ChipJ() + overhead_j; }
  EnergyBreakdown& operator+=(const EnergyBreakdown& o) {
    compute_j += o.compute_j;
    onchip_j += o.onchip_j;
    hbm_j += o.hbm_j;
    link_j += o.link_j;
    static_j += o.static_j;
    overhead_j += o.overhead_j;
    return *this;
  }
  EnergyBreakdown Scaled(double factor) const {
    EnergyBreakdown e = *this;
    e.compute_j *= factor;
    e.onchip_j *= factor;
    e.hbm_j *= factor;
    e.link_j *= factor;
    e.static_j *= factor;
    e.overhead_j *= factor;
    return e;
  }
};

// Energy of one chip with `cores` cores doing `activity` over `time_ns`.
EnergyBreakdown EnergyOf(const EnergyConfig& table, const Activity& activity, double time_ns,
                         std::uint64_t cores);

// The dynamic part alone (no time-dependent terms): static_j = overhead_j = 0.
EnergyBreakdown DynamicEnergyOf(const EnergyConfig& table, const Activity& activity);

const char* PowerPolicyName(PowerPolicy policy);

}  // namespace systole
