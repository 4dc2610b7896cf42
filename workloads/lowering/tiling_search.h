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
//   operand + result bytes at HBM peak, per kernel run). Then:
//   1. for each orientation (as stated; transposed, m and n swapped, where the call
//      allows it), a sweep of block_m over 1, 2, 4, 8, 16 M tiles per block (block_n:
//      what the accumulator still holds, at most the N tiles), stopped after two sizes in
//      a row got slower, each with as many output buffers as fit (8, else 4, else 2: more
//      stores in flight are never slower, they only take scratchpad space);
//   2. from the best, the DMA queues' split: half, three quarters, or a share in
//      proportion to the bytes stored (output-heavy products such as Q K^T with a short K
//      need more than the default quarter); when the split changes, block_m hill-climbs
//      from the best with it (neighbouring sizes while one is faster), and step 2 repeats
//      (at most kRounds times).
//   Candidates are judged on two samples over the full-size tensors (so DMA chunks have
//   their real shapes): the first 2 and 4 M blocks of one item (1 and 2 when a block has
//   over kSampleInstructions / 2 instructions, as with a long K), or one and two whole
//   items when an item has no more blocks than that; the whole call is extrapolated from
//   the larger sample at the per-block rate between the two, so pipeline fill and drain
//   count once. A call no larger than its sample is simulated whole. Candidates that do
//   not fit the scratchpad or accumulator are skipped (the kernel builder's own capacity
//   check rejects them). The sampled winner and the default are then both simulated in
//   full, and the faster is kept (ties keep the default), so the search never makes a
//   call slower.
//
// What it ignores
//   Tile sizes (tile_m, tile_k, tile_n stay at the array and accumulator-bank sizes), K
//   blocking and operand buffer depth are not searched. The extrapolation assumes the
//   blocks after the sample run at the sampled rate (edge blocks and the last item's drain
//   may differ). Knobs are visited one at a time, so a better pair can be missed (a test
//   bounds the loss against an exhaustive grid).
//
// Parameters
//   kSearchThreshold     1.25 (time / roofline above which a call is searched)
//   kSampleBlocks        4 M blocks in the larger sample (2 in the smaller)
//   kSampleInstructions  8000 (blocks over half of it are sampled 1 and 2 at a time)
//   kRounds              3 queue-split rounds at most
#pragma once

#include <cstdint>
#include <functional>

#include "models/chip/arch_config.h"
#include "models/energy/activity.h"
#include "workloads/lowering/op_lowering.h"

namespace systole {

struct KernelResult {
  double time_ns = 0;
  std::uint64_t instructions = 0;  // the kernel's instructions on every core
  // Instructions actually simulated (fewer on a waves chip: one core per wave shape).
  std::uint64_t simulated_instructions = 0;
  Activity activity;  // every core's, summed (models/core/core.h)
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
