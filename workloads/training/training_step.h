// Training step: a forward graph turned into forward, backward and optimizer phases.
//
// What it models:
//   backward   for every forward op, in reverse order, its input-gradient and
//              weight-gradient ops (matmul: dA = dC x B^T and dB = A^T x dC, each as many
//              FLOPs as the forward; convolution: grad-input and grad-weight; element-wise
//              and row-wise ops: their *Grad kind). Gradients of inputs that need none
//              (token ids, images) are skipped. A tensor read by several ops receives its
//              gradient contributions in one buffer: the first writes, later ones
//              accumulate (residual adds pass the gradient through without an op).
//   loss       cross-entropy ops are part of the forward graph; backward starts at each.
//   recompute  none; selective: the attention core (QK^T, softmax, AV) of each layer is
//              re-run just before that layer's backward, so its s x s tensors are not kept
//              (Korthikanti et al. 2022); full: every op of each repeated block (transformer
//              layer, ResNet block, MLP layer) is re-run before its backward, keeping only
//              block inputs. Ops outside blocks (embeddings, final norm, LM head, loss) are
//              never recomputed (as in Narayanan et al. 2021).
//   optimizer  one element-wise op per parameter tensor: AdamW, LAMB or SGD with momentum
//              (FlopsPerElement), updating the fp32 master weight (bf16_mixed) or the fp32
//              weight, its moments, and writing the bf16 weight copy; stochastic rounding
//              adds 3 FLOPs per element (random bits, add, truncate).
//   accumulation  forward and backward run `micro_batches` times per step, weight
//              gradients accumulating; the optimizer runs once (the 1/micro_batches scale is
//              folded into it).
//   fusion     (on by default) element-wise ops folded into the matmul producing their
//              input (fusion.h): they keep their FLOPs, the producer runs them in its
//              epilogue and the intermediate tensors' HBM traffic disappears.
// Figures: FLOPs per phase per repeat; bytes per phase are HBM traffic as executed (with
// fusion, a group's outside inputs and its stored outputs once); per-step totals multiply forward
// and backward by micro_batches. Tokens per step = micro_batch x sequence x grad_accum_steps
// (samples for ResNet and MLP). What it ignores: loss scaling (bf16 needs none), gradient clipping,
// dropout, data loading, communication.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/graph/graph.h"
#include "workloads/training/footprint.h"
#include "workloads/zoo/workload_config.h"

namespace systole {

enum class Phase : std::uint8_t { kForward, kBackward, kOptimizer };
const char* PhaseName(Phase phase);

struct PhaseWork {
  Phase phase = Phase::kForward;
  std::vector<OpId> ops;      // into TrainingStep::graph, in execution order
  std::uint64_t repeats = 1;  // per step: micro_batches for forward/backward, 1 for optimizer
  // Per repeat:
  std::uint64_t flops = 0;
  std::uint64_t matmul_flops = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
};

struct TrainingStep {
  WorkloadConfig config;
  Graph graph;                    // every tensor and op of the step
  std::vector<TensorId> losses;   // scalar losses
  std::vector<PhaseWork> phases;  // forward, backward, optimizer
  Dtype compute_dtype = Dtype::kBf16;
  std::uint64_t parameters = 0;     // elements of all parameter tensors (tied: once)
  std::uint64_t micro_batches = 1;  // = grad_accum_steps
  std::uint64_t samples_per_step = 0;
  std::uint64_t tokens_per_step = 0;
  std::uint64_t flops_per_step = 0;         // all phases x repeats
  std::uint64_t matmul_flops_per_step = 0;  // the multiply-accumulate part
  Footprint footprint;
  bool from_zoo = true;             // built from config.model (micro-batch can be changed)
  std::size_t forward_tensors = 0;  // graph.Prefix(forward_tensors, forward ops) = forward
  std::uint64_t forward_samples = 0, forward_tokens = 0;  // per micro-batch
  // Per repeated block (op.layer = 0, 1, ...): the first block whose ops are the same in
  // every phase (kinds, roles, dims, tensor shapes, dtypes and kinds, accumulate flags),
  // so a lowering may time that block once and replicate it. Identical GPT or Llama layers
  // all map to 0; ResNet blocks to the first block of their shape in their stage.
  std::vector<int> representative_layer;
  bool fusion = false;        // built with producer fusion
  std::size_t fused_ops = 0;  // ops folded into a producer's epilogue

  const PhaseWork& phase(Phase p) const { return phases.at(static_cast<std::size_t>(p)); }
};

// A text key of everything about an op that its cost and lowering depend on (not names,
// not tensor ids); equal keys mean interchangeable ops.
std::string OpSignature(const Graph& graph, const GraphOp& op);

// A zoo model: BuildForwardGraph(config), then trained with config.training. `fusion`:
// fold element-wise ops into their producers (fusion.h).
// `tp` > 1: one tensor-parallel rank's share (BuildForwardGraph).
TrainingStep BuildTrainingStep(const WorkloadConfig& config, bool fusion = true,
                               std::uint64_t tp = 1);
// Any forward graph (an importer's, a hand-built one): `settings.training` gives the
// micro-batches, precision, optimizer and recomputation (micro_batch and sequence are
// already in the graph's shapes); `settings.model.name` labels it. `from_zoo` false.
// Full recomputation re-runs ops with layer >= 0, so an importer should number its
// repeated blocks; selective recomputation re-runs ops marked attention_core.
TrainingStep BuildTrainingStep(ForwardGraph forward, const WorkloadConfig& settings,
                               bool fusion = true);

}  // namespace systole
