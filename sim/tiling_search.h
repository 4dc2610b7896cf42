// Simulation of one lowered kernel call, and the tiling search for matmul calls.
//
// What it does
//   SimulateKernel builds a call's programs (one per core) and times them on the
//   engine-level core (models/core).
//   TuneMatmul chooses a matmul call's orientation and blocking. The lowering states each
//   matmul with the block3 defaults (2 M tiles per block, as many N tiles as the
//   accumulator then holds, K blocks of 8 tiles, 2 output buffers, a quarter of the DMA
//   queues storing). That suits large square-ish products; products with a short K or N
//   (attention heads, ResNet convolutions) pay for small DMA chunks and for stores that
//   cannot keep up. The search runs only where it pays: when the default's time is more
//   than kSearchThreshold x the call's roofline (max of FLOPs at peak and the compulsory
//   operand + result bytes at HBM peak, per kernel run). Then, for each orientation (as
//   stated, and transposed, m and n swapped, where the call allows it), every block_m of
//   1, 2, 4, 8, 16 M tiles per block (block_n: what the accumulator still holds, at most
//   the N tiles) is tried with as many output buffers as fit (8, else 4, else 2: more
//   stores in flight are never slower, they only take scratchpad space).
//   Candidates are judged on a sample (the first kSampleBlocks M blocks of at most two
//   batch items, over the full-size tensors, so DMA chunks have their real shapes), scaled
//   to the whole call by its M blocks and items. Candidates that do not fit the scratchpad
//   or accumulator are skipped (the kernel builder's own capacity check rejects them). The
//   sampled winner and the default are then both simulated in full, and the faster is
//   kept (ties keep the default), so the search never makes a call slower.
//
// What it ignores
//   Tile sizes (tile_m, tile_k, tile_n stay at the array and accumulator-bank sizes), K
//   blocking, operand buffer depth and the DMA queue split are not searched. The sample
//   scales linearly, so it over-weights pipeline fill and drain for kernels of few blocks.
//
// Parameters
//   kSearchThreshold  1.25 (time / roofline above which a call is searched)
//   kSampleBlocks     3 M blocks per sampled item
#pragma once

#include <cstdint>
#include <functional>

#include "sim/config/arch_config.h"
#include "workloads/lowering/op_lowering.h"

namespace systole {

struct KernelResult {
  double time_ns = 0;
  std::uint64_t instructions = 0;
};

KernelResult SimulateKernel(const ArchConfig& arch, const KernelCall& call);

struct MatmulTuning {
  KernelCall call;      // the chosen call (try_transposed cleared)
  KernelResult result;  // its full simulation
  bool transposed = false;
  bool searched = false;                     // the default was far enough from roofline
  bool changed = false;                      // the chosen call differs from the default
  std::uint32_t candidates = 0;              // sampled candidates
  std::uint64_t simulated_instructions = 0;  // everything simulated to decide
};

// The call's roofline per kernel run: max(FLOPs / peak, (A + B + C bytes) / HBM peak).
double MatmulRooflineNs(const ArchConfig& arch, const MatmulKernelOptions& mm);

// `simulate` times a call (callers may cache by KernelCall::Key()); the search itself is
// deterministic, so equal calls give equal choices.
MatmulTuning TuneMatmul(const ArchConfig& arch, const KernelCall& call,
                        const std::function<KernelResult(const KernelCall&)>& simulate);

}  // namespace systole
