// Kernels on a GPU-class chip (chip.schedule = "waves"): thread-block tiles in waves over
// many cores, one representative core simulated per wave shape.
//
// What it models
//   matmul: each batch item's output C[M,N] is cut into BM x BN thread-block tiles, one per
//   core at a time, as a GPU GEMM library launches one thread block (CTA) per output tile.
//   T tiles run in F = floor(T / cores) full waves and, when T is not a multiple of the
//   core count, a tail wave of R = T mod cores tiles that leaves cores idle (the tail
//   effect). A tile is a BM x K x BN matmul kernel on one core (reference_kernels.h,
//   block3 with the whole tile as one M x N block, the K block as deep as the scratchpad
//   holds); edge tiles are timed as full ones (padded fragments, as tensor cores compute
//   them) while FLOPs and bytes count the real extents.
//   The cores of one wave run identical tiles, so one core is simulated per wave shape
//   (full, tail) with the memory bandwidth the wave leaves each core:
//     share = (bytes one tile moves through the L2)
//             / max(HBM bytes of those waves / HBM peak, L2 bytes / chip.l2_bandwidth_gbps)
//   with each wave's L2 and HBM bytes from the tile-granular L2 model (models/l2/
//   l2_cache.h), summed over the waves of the shape. Consecutive tiles on a core overlap
//   (the next tile's loads run under the previous one's matmuls and stores, as in
//   persistent or two-CTAs-per-SM kernels): the core runs one tile, t1, and two back to
//   back, t2, and
//     time = t1(full) + (F - 1) x (t2 - t1)(full) + [R > 0] x (t2 - t1)(tail)   (F >= 1)
//          = t1(tail)                                                           (F = 0)
//   plus chip.kernel_launch_ns. The tile shape is chosen as a GEMM library's heuristic
//   would: every candidate of kCtaTiles that fits the core is timed, the fastest kept.
//   element-wise kernels: the rows are split evenly over min(cores, rows) cores, each with
//   1 / active of the HBM bandwidth; one representative core runs the largest share. Rows
//   too wide for the scratchpad are cut into pieces on more rows (the partial reductions'
//   combine is not charged, as in workloads/lowering).
//   FullWaveSimulation runs every core of the chip on the shared bandwidth-pipe HBM (each
//   core its tiles back to back): the oracle the shortcut is tested against.
// What it ignores
//   Split-K and stream-K decompositions, thread-block clusters and TMA multicast (shared
//   loads between neighbouring cores), more than one resident tile per core beyond the
//   overlap above, L2 partitions, and wave-to-wave skew (waves start together).
// Parameters
//   chip.cores, chip.l2_bytes, chip.l2_bandwidth_gbps, chip.kernel_launch_ns, and the
//   core's own (core.*); kCtaTiles: 128x256, 256x128, 128x128, 64x128, 128x64, 64x64
//   (the tile shapes CUTLASS/cuBLAS GEMMs use on A100/H100).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chip/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {

struct WaveRun {
  double time_ns = 0;                    // the kernel, launch overhead included
  std::uint64_t tile_m = 0, tile_n = 0;  // the chosen thread-block tile (matmul)
  std::uint64_t tiles = 0, full_waves = 0, tail_tiles = 0;
  std::uint64_t hbm_bytes = 0, l2_bytes = 0;        // the whole kernel
  double full_share_gbps = 0, tail_share_gbps = 0;  // per core
  std::uint64_t simulated_instructions = 0;
  std::uint64_t represented_instructions = 0;  // one tile's program x tiles
};

// Times a matmul with the given thread-block tile (tile_m x tile_n; 0 = choose among
// kCtaTiles). Throws InputError when no tile fits the core.
WaveRun SimulateMatmulWaves(const ArchConfig& arch, const MatmulKernelOptions& mm,
                            std::uint64_t tile_m = 0, std::uint64_t tile_n = 0);
WaveRun SimulateElementwiseWaves(const ArchConfig& arch, const ElementwiseKernelOptions& ew);

// The text summary of a matmul's waves (`systole kernel matmul` on a waves chip).
std::string FormatWaveRun(const ArchConfig& arch, const MatmulKernelOptions& mm, const WaveRun& w);

// The oracle: every core simulated, sharing the bandwidth-pipe HBM at its peak (no L2;
// compare with chip.l2_bytes = 0), each core running its tiles back to back. Time of the
// slowest core, without the launch overhead.
double FullWaveSimulationNs(const ArchConfig& arch, const MatmulKernelOptions& mm,
                            std::uint64_t tile_m, std::uint64_t tile_n);

}  // namespace systole
