// Energy table, power limit and board overheads of one chip (parameters of models/energy).
//
// What it holds
//   The energy of each unit of activity the simulation records (energy_model.h): a MAC per
//   datatype, a vector or scalar element-op, a byte read or written in each on-chip memory,
//   a bit moved to or from HBM and an HBM row activation, a bit on a chip-to-chip link; the
//   static (leakage) power of each block; the chip's TDP and what happens above it; and the
//   server around the chips (host CPU, NICs, fans, power-supply efficiency) whose power is
//   shared by the chips of one server.
//
// Parameters (keys in `systole params`, defaults and their public sources in
// sim/config/param_registry.cpp, units in the names)
//   core.tensor.energy_pj_per_mac_{fp32,bf16,fp16,fp8}, core.vector.energy_pj_per_element,
//   core.scalar.energy_pj_per_element, core.{scratchpad,accumulator}.{read,write}_pj_per_byte,
//   hbm.{read,write}_pj_per_bit, hbm.activate_pj, system.link_pj_per_bit,
//   core.{tensor,vector,scalar,scratchpad,accumulator,dma}.static_w, hbm.static_w,
//   chip.uncore_static_w, chip.tdp_w, chip.power_policy,
//   server.{chips,host_cpu_w,nic_w,fans_w,psu_efficiency}.
#pragma once

#include <cstdint>

namespace systole {

enum class PowerPolicy {
  kThrottle,  // lower every clock until the step's average power is within the TDP
  kReport,    // keep the clocks; the report says by how much the TDP is exceeded
};

struct EnergyConfig {
  // Dynamic energy per unit of activity.
  double mac_pj[4] = {0, 0, 0, 0};  // per MAC, indexed by Dtype (fp32, bf16, fp16, fp8)
  double vector_pj_per_element = 0;
  double scalar_pj_per_element = 0;
  double scratchpad_read_pj_per_byte = 0;
  double scratchpad_write_pj_per_byte = 0;
  double accumulator_read_pj_per_byte = 0;
  double accumulator_write_pj_per_byte = 0;
  double hbm_read_pj_per_bit = 0;   // column access and I/O, without the row activation
  double hbm_write_pj_per_bit = 0;  // column access and I/O, without the row activation
  double hbm_activate_pj = 0;       // one row activation (and its precharge)
  double link_pj_per_bit = 0;       // chip-to-chip link, per bit sent

  // Static (leakage) power, W: per core for the core's blocks, per chip for the rest.
  double tensor_static_w = 0;
  double vector_static_w = 0;
  double scalar_static_w = 0;
  double scratchpad_static_w = 0;
  double accumulator_static_w = 0;
  double dma_static_w = 0;
  double hbm_static_w = 0;     // every stack together (background and refresh)
  double uncore_static_w = 0;  // chip: interconnect, host interface, clocks

  // Power limit of the chip.
  double tdp_w = 0;
  PowerPolicy policy = PowerPolicy::kThrottle;

  // The server the chip sits in; its overheads are shared equally by its chips.
  std::uint64_t server_chips = 1;
  double host_cpu_w = 0;
  double nic_w = 0;           // every NIC of the server
  double fans_w = 0;          // fans and other board power
  double psu_efficiency = 1;  // DC delivered / AC drawn

  // Static power of one chip with `cores` cores, W.
  double ChipStaticW(std::uint64_t cores) const {
    return static_cast<double>(cores) *
               (tensor_static_w + vector_static_w + scalar_static_w + scratchpad_static_w +
                accumulator_static_w + dma_static_w) +
           hbm_static_w + uncore_static_w;
  }
  // The server's host, NIC and fan power attributed to one chip, W.
  double ServerShareW() const {
    return (host_cpu_w + nic_w + fans_w) / static_cast<double>(server_chips);
  }
};

}  // namespace systole
