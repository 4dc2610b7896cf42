// Lowers the ops of a training step to tile kernels of the core.
//
// What it does
//   Each graph op becomes one or more reference kernels (workloads/kernel/
//   reference_kernels.h), each with a repeat count:
//     matmul [batch, m, k, n]          matmul kernel m x k x n, blocked (block3); batch
//                                      items (and convolution groups) run up to 8 per
//                                      kernel (all of them on a waves chip: one batched
//                                      GEMM launch), back to back so that one item's loads
//                                      overlap the previous one's compute, repeated to
//                                      cover the batch; the blocking is the level's
//                                      default until the tiling search (sim/
//                                      tiling_search.h) picks another
//     convolution (and its gradients) the im2col GEMM (M = output pixels, K = window,
//                                      N = filters; gradients swap the roles), x groups
//                                      (one GEMM per channel group; depthwise: window-long
//                                      K and N = 1, as poor on an array as on hardware), in
//                                      the faster of two orientations: C or C^T (output
//                                      pixel-major or channel-major), each simulated; a
//                                      strided convolution's input gradient is one GEMM
//                                      per stride phase (GradInputGemms), not a GEMM over
//                                      a zero-dilated output gradient
//     fused attention (and gradient)   Q K^T and A V matmul kernels x batch and a softmax
//                                      over the scores; the backward runs as many
//                                      score-sized matmuls as its FLOPs imply
//     element-wise and row-wise ops    the element-wise kernel of the closest kind (add,
//                                      relu, gelu, softmax, layernorm, rmsnorm) over rows x cols,
//                                      rows capped to 8 whole 128-row tiles (x the core count on a
//                                      waves chip: one launch over every SM) and cols to what a
//                                      tile holds, repeated to cover the op; optimizer ops
//                                      run over their parameter elements in fp32. Purely
//                                      element-wise kinds ignore the op's row structure and
//                                      use whole 128-row tiles of wide rows; rows wider than
//                                      a tile are cut into pieces on separate partitions
//                                      (the partial row reductions' combine is not charged).
//                                      Batch norm is viewed as channels x N*H*W, max
//                                      pooling as one compare per window element. A
//                                      generic unary function (and its gradient) runs as
//                                      gelu when it evaluates a transcendental (scalar
//                                      engine: tanh, exp, erf ...), otherwise as relu
//                                      (one input) or, for gradients, add (two inputs);
//                                      copies (concat, split) as add over the elements
//                                      they write.
//   Producer fusion (workloads/training/fusion.h): an element-wise op fused into a matmul
//   or convolution lowers to no kernel (time 0); its producer's matmul kernel carries an
//   epilogue with one step per fused op (bias, relu/gelu/silu, residual add, activation
//   gradient, swiglu), preceded by a store step where the chain tensor is also read
//   elsewhere, so the fused work costs the vector/scalar engines' closed form on each
//   output row block plus the DMA of the side inputs, overlapped with the matmul.
//   A kernel's time is scaled up when the op moves more HBM bytes than the kernel does
//   (e.g. AdamW reads and writes four fp32 streams): such ops are memory-bound.
//   Identical kernels are simulated once and replicated (KernelKey, which includes the
//   epilogue).
//
// What it ignores
//   Fusion of anything but element-wise consumers into matmul producers (no fusion of
//   element-wise chains among themselves, nor of reductions such as softmax, norms or the
//   bias gradient), layout transposes (a transposed operand is assumed stored in the
//   layout the engine wants; each convolution picks its orientation alone, without a
//   layout change between ops of different orientations), overlap between consecutive ops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chip/arch_config.h"
#include "workloads/graph/graph.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {

struct KernelCall {
  bool matmul = true;
  MatmulKernelOptions mm;
  ElementwiseKernelOptions ew;
  std::uint64_t repeat = 1;  // times this kernel runs for the op
  double scale = 1.0;        // time multiplier (memory-bound ops moving more bytes)
  // Matmul only: the product may also run transposed (C^T = B^T A^T: m and n swapped,
  // the same operand storage, the output in the other layout); the faster one is used.
  bool try_transposed = false;
  // Identical keys give identical programs: "matmul 8x1024x1024x64 bf16 blocks m8 n1 k0
  // out_buffers 8 epilogue bias,gelu" (batch x m x k x n; options away from the defaults),
  // "layernorm 1024x3136 bf16". No commas outside the epilogue list.
  std::string Key() const;
};

// `call` with m and n swapped (the transposed orientation of a matmul call).
KernelCall Transposed(const KernelCall& call);

// A convolution's input gradient with stride s is s x s GEMMs, one per stride phase of
// the input pixels (pixels of a phase gather the same taps); phases with the same shape are
// counted together. Per image and channel group: `count` GEMMs of `pixels` output rows and
// c_out/groups x `taps` contraction. Stride 1 gives one GEMM of every pixel and tap.
struct GradInputGemm {
  std::uint64_t pixels = 0, taps = 0, count = 1;
};
std::vector<GradInputGemm> GradInputGemms(const ConvDims& cv);

// The kernels that time one op on `arch` (dtype: the step's compute dtype).
std::vector<KernelCall> LowerOp(const ArchConfig& arch, const Graph& graph, const GraphOp& op,
                                Dtype dtype);

}  // namespace systole
