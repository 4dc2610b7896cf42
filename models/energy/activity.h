// Activity of a run: the counts the energy model (energy_model.h) multiplies by the energy
// table. Filled by the core from the program it ran and its memories' statistics
// (models/core/core.h), summed over cores, kernels and ops by the run drivers.
//
// Counts are doubles so that a step can add an op's activity times its repeats (and a
// kernel call's fractional scale); they are exact integers below 2^53.
#pragma once

namespace systole {

struct Activity {
  double macs[4] = {0, 0, 0, 0};  // tensor-engine MACs, indexed by Dtype (fp32, bf16, fp16, fp8)
  double vector_elements = 0;     // element-ops on the vector engine (an output element each)
  double scalar_elements = 0;     // element-ops on the scalar (activation) engine
  double scratchpad_read_bytes = 0;
  double scratchpad_write_bytes = 0;
  double accumulator_read_bytes = 0;
  double accumulator_write_bytes = 0;
  double hbm_read_bytes = 0;
  double hbm_write_bytes = 0;
  // Row activations: counted by the banked HBM model; with the bandwidth model, one per
  // row_bytes moved (streaming accesses use whole rows).
  double hbm_activations = 0;
  double link_bytes = 0;  // sent on chip-to-chip links
  // Busy time per engine kind (DMA: all queues summed), ns.
  double tensor_busy_ns = 0;
  double vector_busy_ns = 0;
  double scalar_busy_ns = 0;
  double dma_busy_ns = 0;

  double TotalMacs() const { return macs[0] + macs[1] + macs[2] + macs[3]; }

  Activity& operator+=(const Activity& o) {
    for (int d = 0; d < 4; ++d) macs[d] += o.macs[d];
    vector_elements += o.vector_elements;
    scalar_elements += o.scalar_elements;
    scratchpad_read_bytes += o.scratchpad_read_bytes;
    scratchpad_write_bytes += o.scratchpad_write_bytes;
    accumulator_read_bytes += o.accumulator_read_bytes;
    accumulator_write_bytes += o.accumulator_write_bytes;
    hbm_read_bytes += o.hbm_read_bytes;
    hbm_write_bytes += o.hbm_write_bytes;
    hbm_activations += o.hbm_activations;
    link_bytes += o.link_bytes;
    tensor_busy_ns += o.tensor_busy_ns;
    vector_busy_ns += o.vector_busy_ns;
    scalar_busy_ns += o.scalar_busy_ns;
    dma_busy_ns += o.dma_busy_ns;
    return *this;
  }
  Activity Scaled(double factor) const {
    Activity a;
    for (int d = 0; d < 4; ++d) a.macs[d] = macs[d] * factor;
    a.vector_elements = vector_elements * factor;
    a.scalar_elements = scalar_elements * factor;
    a.scratchpad_read_bytes = scratchpad_read_bytes * factor;
    a.scratchpad_write_bytes = scratchpad_write_bytes * factor;
    a.accumulator_read_bytes = accumulator_read_bytes * factor;
    a.accumulator_write_bytes = accumulator_write_bytes * factor;
    a.hbm_read_bytes = hbm_read_bytes * factor;
    a.hbm_write_bytes = hbm_write_bytes * factor;
    a.hbm_activations = hbm_activations * factor;
    a.link_bytes = link_bytes * factor;
    a.tensor_busy_ns = tensor_busy_ns * factor;
    a.vector_busy_ns = vector_busy_ns * factor;
    a.scalar_busy_ns = scalar_busy_ns * factor;
    a.dma_busy_ns = dma_busy_ns * factor;
    return a;
  }
};

}  // namespace systole
