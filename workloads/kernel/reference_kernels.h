// Parametrised reference kernels written with the tile-kernel API (kernel_builder.h), as
// run by `systole kernel ...`.
//
// matmul: C[M,N] = A[M,K] x B[K,N], with A given transposed in HBM (AT[K,M], as the
// tensor engine contracts over partitions). Tiles: tm <= array cols (stationary columns),
// tk <= array rows (contraction), tn elements streamed. The loop nest is
//   for each M block (bm tiles) / N block (bn tiles):
//     allocate bm x bn accumulator tiles
//     for each K block (bk tiles):
//       load the AT block [bk*tk x bm*tm] (unless hoisted: then once per M block for all K)
//       load the B block  [bk*tk x bn*tn]
//       bm x bn x bk matmuls, accumulating over K
//     copy each accumulator tile to the scratchpad (vector engine), apply the epilogue to
//     the output row block [tm x bn*tn] and store it
// A batch (--batch B) runs B independent products of the same shape (attention heads)
// one after another in the same kernel, with the buffers rotating across them, so one
// product's loads overlap the previous one's matmuls and stores instead of each paying the
// pipeline's fill and drain.
// --level tuned runs this nest: blocks of bm (2) x bn (as many accumulator tiles as fit)
// x bk (8) tiles, double-buffered loads, each block load split into DMAs of dma_rows rows
// (default 32) so that it spreads over the DMA queues. The optimisation ladder of the NKI
// tutorial (--level naive | hoist | block | block3) is built by nki_matmul_ladder.h.
// Epilogue (--epilogue bias,gelu,residual; producer fusion of element-wise ops): steps
// applied in order, in place, to each output row block [ms x cols] between the
// accumulator and HBM, one engine instruction each (scalar engine for gelu/silu, vector
// engine for the rest), so its cost is that engine's closed form (vector_unit.h):
//   bias       + bias row: a [tm x N] pre-broadcast copy in HBM (a DMA cannot broadcast
//              across partitions, as for the layernorm gain), loaded once per M x N block
//              ([rows of the block's first M tile x the block's columns]); vector add
//   relu | scale          one unary vector op
//   gelu | silu           one scalar-engine activation
//   residual   + another [M x N] tensor, each row block DMA-loaded and added (vector add
//              of two full tiles)
//   gelu_grad | silu_grad   dy (the tile) x f'(x): x [M x N] loaded like the residual, the
//              derivative on the scalar engine (costed as the function itself) into a
//              temporary, a vector multiply
//   relu_grad  dy x (y > 0): the saved output loaded like the residual, one vector multiply
//   swiglu     up (the tile) x silu(gate): gate [M x N] loaded like the residual, silu on
//              the scalar engine into a temporary, a vector multiply
//   store      the row block as it stands is also stored to its own [M x N] tensor (an
//              intermediate that is needed elsewhere, e.g. saved for the backward pass);
//              the next step writes a second tile, so it need not wait for the store
// Output row blocks are double-buffered by default (--out-buffers: up to 8, so that more
// stores are in flight when a row block's store takes longer than computing the next).
// With an epilogue the output row blocks (and side-input tiles) are triple-buffered and
// the bias blocks double-buffered, so the epilogue of one block overlaps the next block's
// matmuls; a compute-bound matmul then pays little more than the last block's epilogue.
// Extra HBM bytes: bias (sum over M blocks of rows x N) + M x N per residual, *_grad,
// swiglu and store step, each x dtype bytes.
// Element-wise kernels work on a [rows x cols] tensor in row tiles of up to 128
// partitions, double-buffered (inputs, outputs, temporaries and per-row statistics), the
// work split between the vector and scalar engines as a tuned kernel would split it:
//   add (x + y)   one two-input vector op
//   relu          one vector op; gelu: one scalar-engine activation
//   softmax       vector: row max, row sum (2 passes); scalar: exp(x - max) with the max
//                 as a per-row bias, then x / sum as a per-row scale (2 passes)
//   layernorm     vector: sum, sum of squares, x gain (two inputs) (4 passes); scalar:
//                 x^2, then (x - mean) * rstd as a per-row scale and bias (2 passes)
//   rmsnorm       vector: sum of squares, x gain (3 passes); scalar: x^2, x * rstd (2)
//   (plus a few [P x 1] statistics ops per row tile, each paying the fixed overhead)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chip/arch_config.h"
#include "models/core/program.h"

namespace systole {

enum class EpilogueStep : std::uint8_t {
  kBias,
  kRelu,
  kGelu,
  kSilu,
  kScale,
  kResidual,
  kReluGrad,
  kGeluGrad,
  kSiluGrad,
  kSwiglu,
  kStore
};
const char* EpilogueStepName(EpilogueStep step);
// "bias,gelu,residual" (empty: none); throws InputError naming an unknown step.
std::vector<EpilogueStep> ParseEpilogue(const std::string& list);
std::string EpilogueString(const std::vector<EpilogueStep>& steps);  // "bias,gelu"

struct MatmulKernelOptions {
  std::uint64_t m = 512, k = 512, n = 512;
  std::uint64_t batch = 1;  // independent products of this shape, run back to back
  Dtype dtype = Dtype::kBf16;
  // naive | hoist | block | block3: the NKI tutorial's kernels (nki_matmul_ladder.h);
  // tuned: the parametrised loop nest below (what the step lowering and tiling search use).
  std::string level = "tuned";
  // 0 = choose for the level and the architecture.
  std::uint64_t tile_m = 0, tile_k = 0, tile_n = 0;
  std::uint64_t block_m = 0, block_n = 0, block_k = 0;
  int hoist = -1;              // -1 = by level, 0/1 forced
  int buffers = 0;             // operand buffers (pipeline stages), 1-8; 0 = by level (1 or 2)
  int store_queues = 0;        // DMA queues that carry stores (the rest load); 0 = a quarter
  int out_buffers = 0;         // output row-block buffers, 1-8; 0 = 2 (3 with an epilogue)
  std::uint64_t dma_rows = 0;  // rows per DMA (block loads are split); 0 = by level
  std::vector<EpilogueStep> epilogue;  // applied to each output row block, in order
  // Sampling (the tiling search): run only the first this-many M blocks of each batch item,
  // over the full-size tensors (so DMA chunk shapes are those of the whole product); 0 = all.
  std::uint64_t m_blocks_limit = 0;
  // The same along K: only the first this-many K blocks of each output block (the
  // accumulation is cut short; its evacuation and store run as usual); 0 = all.
  std::uint64_t k_blocks_limit = 0;
};

// DMA queues (of `queues`) that carry stores when the queues are shared in proportion to
// the bytes loaded and stored (rounded; kernels keep at least one of each).
int StoreQueuesByBytes(int queues, double load_bytes, double store_bytes);

// Scratchpad bytes per partition the tuned nest allocates with these (resolved) options
// for a product of k_tiles K tiles.
std::uint64_t TunedScratchpadBytes(const MatmulKernelOptions& options, std::uint64_t k_tiles);

// Fills in the level's defaults (and validates); throws InputError on bad options. The
// tuned level's blocks shrink (K, then N, then M; not those given) until they fit the
// scratchpad.
MatmulKernelOptions ResolveMatmulOptions(const ArchConfig& arch, MatmulKernelOptions options);
Program BuildMatmulKernel(const ArchConfig& arch, const MatmulKernelOptions& options,
                          std::uint64_t hbm_base = 0);

struct ElementwiseKernelOptions {
  std::string kind = "softmax";  // add | gelu | softmax | layernorm | rmsnorm
  std::uint64_t rows = 4096, cols = 1024;
  Dtype dtype = Dtype::kBf16;
};
Program BuildElementwiseKernel(const ArchConfig& arch, const ElementwiseKernelOptions& options,
                               std::uint64_t hbm_base = 0);

// One program per core of the chip (arch.cores): the kernel's rows (matmul: M) are split
// evenly, each core's tensors in its own slice of the HBM address space.
std::vector<Program> BuildMatmulKernelForChip(const ArchConfig& arch,
                                              const MatmulKernelOptions& options);
std::vector<Program> BuildElementwiseKernelForChip(const ArchConfig& arch,
                                                   const ElementwiseKernelOptions& options);

}  // namespace systole
