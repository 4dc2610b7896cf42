// Memory footprint of a training step: what must sit in device memory (HBM) at once.
//
// What it models (bytes, one device, no sharding):
//   weights          every parameter in the compute dtype (bf16_mixed: 2 B, fp32: 4 B)
//   gradients        one gradient per parameter in the compute dtype, kept the whole step
//                    (micro-batches accumulate into it)
//   master weights   fp32 copy of every parameter (bf16_mixed only): 4 B
//   optimizer state  fp32 moments: AdamW and LAMB 2 x 4 B, SGD with momentum 4 B
//   => mixed-precision Adam: 2 + 2 + 4 + 8 = 16 B per parameter (ZeRO, Rajbhandari et al.)
//   saved activations  activation tensors produced in forward and still needed in
//                    backward: those live at the forward/backward boundary of one
//                    micro-batch (recomputation shrinks this set)
//   workspace        everything else live at the peak on top of the saved activations:
//                    activation gradients, recomputed activations, transients
//   (intermediates of fused chains that never leave the producer's epilogue, marked
//   on_chip_only by fusion.h, are not in HBM and not counted)
// Liveness: a tensor lives from the op that writes it first to the op that touches it
// last, in the step's op order (forward then backward of one micro-batch); the activation
// peak is the maximum of the live bytes over that order. Parameters, gradients, masters
// and moments live for the whole step.
// What it ignores: allocator fragmentation and alignment, framework buffers, the
// lowering's own staging (scratchpad is on-chip), communication buffers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/graph/graph.h"

namespace systole {

struct Footprint {
  std::uint64_t weights_bytes = 0;
  std::uint64_t gradients_bytes = 0;
  std::uint64_t master_weights_bytes = 0;
  std::uint64_t optimizer_state_bytes = 0;
  std::uint64_t saved_activation_bytes = 0;
  std::uint64_t workspace_bytes = 0;
  std::uint64_t activation_peak_bytes = 0;  // saved + workspace
  std::uint64_t total_bytes = 0;            // states + activation peak

  std::uint64_t states_bytes() const {
    return weights_bytes + gradients_bytes + master_weights_bytes + optimizer_state_bytes;
  }
};

// `order` is one micro-batch's forward and backward ops, in execution order; `forward_ops`
// of them are forward.
Footprint ComputeFootprint(const Graph& graph, const std::vector<OpId>& order,
                           std::size_t forward_ops);

// Tensors live at the forward/backward boundary (kept for backward).
std::vector<TensorId> SavedForBackward(const Graph& graph, const std::vector<OpId>& order,
                                       std::size_t forward_ops);

// Throws InputError when the step's total_bytes > capacity_bytes, saying by how much and
// what would make it fit: recomputation, a smaller micro-batch with more accumulation
// steps to keep the batch (zoo models only: an imported graph has its batch in its
// shapes), or, when the parameter states alone do not fit, sharding over several chips.
struct TrainingStep;
void CheckFootprintFits(const TrainingStep& step, std::uint64_t capacity_bytes);

// "12.3 GiB" style.
std::string FormatBytes(std::uint64_t bytes);

}  // namespace systole
