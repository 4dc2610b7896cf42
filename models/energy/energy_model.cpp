#include "models/energy/energy_model.h"

namespace systole {

EnergyBreakdown DynamicEnergyOf(const EnergyConfig& t, const Activity& a) {
  constexpr double kPj = 1e-12;
  EnergyBreakdown e;
  double mac_pj = 0;
  for (int d = 0; d < 4; ++d) mac_pj += a.macs[d] * t.mac_pj[d];
  e.compute_j = (mac_pj + a.vector_elements * t.vector_pj_per_element +
                 a.scalar_elements * t.scalar_pj_per_element) *
                kPj;
  e.onchip_j = (a.scratchpad_read_bytes * t.scratchpad_read_pj_per_byte +
                a.scratchpad_write_bytes * t.scratchpad_write_pj_per_byte +
                a.accumulator_read_bytes * t.accumulator_read_pj_per_byte +
                a.accumulator_write_bytes * t.accumulator_write_pj_per_byte) *
               kPj;
  e.hbm_j =
      (8.0 * a.hbm_read_bytes * t.hbm_read_pj_per_bit +
       8.0 * a.hbm_write_bytes * t.hbm_write_pj_per_bit + a.hbm_activations * t.hbm_activate_pj) *
      kPj;
  e.link_j = 8.0 * a.link_bytes * t.link_pj_per_bit * kPj;
  return e;
}

EnergyBreakdown EnergyOf(const EnergyConfig& t, const Activity& a, double time_ns,
                         std::uint64_t cores) {
  EnergyBreakdown e = DynamicEnergyOf(t, a);
  const double seconds = time_ns * 1e-9;
  e.static_j = t.ChipStaticW(cores) * seconds;
  const double share_j = t.ServerShareW() * seconds;
  e.overhead_j = share_j + (e.ChipJ() + share_j) * (1.0 / t.psu_efficiency - 1.0);
  return e;
}

const char* PowerPolicyName(PowerPolicy policy) {
  return policy == PowerPolicy::kThrottle ? "throttle" : "report";
}

}  // namespace systole
