// Tiling search for matmul calls (workloads/lowering/tiling_search.h) and the kernel options it
// turns: batches run back to back, output buffers, sampled M blocks.
#include "workloads/lowering/tiling_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "base/error.h"
#include "models/core/core.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

KernelCall Call(std::uint64_t m, std::uint64_t k, std::uint64_t n, std::uint64_t batch = 1) {
  KernelCall c;
  c.matmul = true;
  c.mm.m = m;
  c.mm.k = k;
  c.mm.n = n;
  c.mm.batch = batch;
  c.mm.level = "tuned";
  return c;
}

std::uint64_t CountOp(const Program& p, Opcode op) {
  return static_cast<std::uint64_t>(
      std::count_if(p.instructions.begin(), p.instructions.end(),
                    [&](const Instruction& in) { return in.op == op; }));
}

TEST(MatmulKernelBatch, ItemsRunBackToBackInOneKernel) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions one = Call(1024, 1024, 64).mm;
  MatmulKernelOptions eight = one;
  eight.batch = 8;
  const Program p1 = BuildMatmulKernel(arch, one), p8 = BuildMatmulKernel(arch, eight);
  // Every item runs the same loop nest: 8x the instructions, FLOPs and HBM bytes.
  EXPECT_EQ(p8.instructions.size(), 8 * p1.instructions.size());
  EXPECT_EQ(p8.flops, 8 * p1.flops);
  EXPECT_EQ(p8.hbm_bytes, 8 * p1.hbm_bytes);
  EXPECT_EQ(p1.flops, 2u * 1024 * 1024 * 64);
  const double t1 = RunCores(arch, {p1}, {}).front().time_ns;
  const double t8 = RunCores(arch, {p8}, {}).front().time_ns;
  // One item's loads overlap the previous item's matmuls and stores: less than 8 separate
  // kernels (each filling and draining the pipeline), never less than the roofline.
  EXPECT_LT(t8, 8 * t1);
  EXPECT_GE(t8, MatmulRooflineNs(arch, eight));
  eight.batch = 0;
  EXPECT_THROW(BuildMatmulKernel(arch, eight), InputError);
}

TEST(MatmulKernelSample, MBlocksLimitRunsTheFirstBlocksOverFullSizeTensors) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o = Call(4096, 256, 512).mm;
  o.block_m = 2;
  o.block_n = 1;
  const Program full = BuildMatmulKernel(arch, o);
  o.m_blocks_limit = 3;
  const Program sample = BuildMatmulKernel(arch, o);
  // 4096 / 128 = 32 M tiles in 16 blocks of 2; K = 256 is 2 tiles, N = 512 one tile.
  EXPECT_EQ(CountOp(full, Opcode::kMatmul), 32u * 2 * 1);
  EXPECT_EQ(CountOp(sample, Opcode::kMatmul), 3u * 2 * 2 * 1);  // 3 blocks x 2 M tiles x 2 K
  // The loads keep the full tensor's row pitch: AT is [256 x 4096], a 2-tile block load
  // moves 256-element (512-byte) pieces of 8 KiB rows, as in the full kernel.
  for (const Instruction& in : sample.instructions) {
    if (in.op == Opcode::kDmaLoad && sample.names[in.name] == "load_AT") {
      EXPECT_EQ(in.hbm.chunk_bytes, 512u);
      EXPECT_EQ(in.hbm.stride_bytes, 8192u);
    }
  }
}

TEST(MatmulKernelSample, KBlocksLimitCutsEachAccumulationShort) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o = Call(256, 4096, 512).mm;
  o.block_k = 8;
  const Program full = BuildMatmulKernel(arch, o);
  o.k_blocks_limit = 2;
  const Program sample = BuildMatmulKernel(arch, o);
  // K = 4096 is 32 tiles in 4 blocks of 8; M = 256 is 2 tiles in one block; N one tile.
  EXPECT_EQ(CountOp(full, Opcode::kMatmul), 2u * 32);
  EXPECT_EQ(CountOp(sample, Opcode::kMatmul), 2u * 16);  // 2 of the 4 K blocks
  // Every output block is still evacuated and stored.
  EXPECT_EQ(CountOp(sample, Opcode::kDmaStore), CountOp(full, Opcode::kDmaStore));
}

TEST(MatmulKernelOutBuffers, MoreStoresInFlightHelpAStoreBoundProduct) {
  // K = 64 and N = 256: each 128-row output block takes longer to store (DMA setup
  // 1.3 us + 64 KiB over 4 queues) than to compute, so the evacuation of block i + 2 waits
  // for the store of block i with two buffers; eight keep more stores in flight.
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o = Call(16384, 64, 256).mm;
  o.block_m = 8;
  o.out_buffers = 2;
  const double two = RunCores(arch, {BuildMatmulKernel(arch, o)}, {}).front().time_ns;
  o.out_buffers = 8;
  const double eight = RunCores(arch, {BuildMatmulKernel(arch, o)}, {}).front().time_ns;
  EXPECT_LT(eight, 0.7 * two);
  o.out_buffers = 9;
  EXPECT_THROW(ResolveMatmulOptions(arch, o), InputError);
}

KernelResult Simulate(const ArchConfig& arch, const KernelCall& c) {
  return SimulateKernel(arch, c);
}

TEST(TilingSearch, ANearRooflineProductIsNotSearched) {
  // 2048 x 2048 x 2048 runs within 1.25x of its compute roofline with the defaults.
  const ArchConfig arch = LoadArchConfig("");
  const KernelCall c = Call(2048, 2048, 2048);
  const MatmulTuning t =
      TuneMatmul(arch, c, [&](const KernelCall& k) { return Simulate(arch, k); });
  EXPECT_FALSE(t.searched);
  EXPECT_FALSE(t.changed);
  EXPECT_EQ(t.candidates, 0u);
  EXPECT_EQ(t.result.time_ns, Simulate(arch, c).time_ns);
}

TEST(TilingSearch, AttentionHeadsAreReblockedAndNeverSlower) {
  // Attention's A V product per head, [1024 x 1024] x [1024 x 64], 8 heads per kernel:
  // with 2 M tiles per block the stationary AT loads are 512-byte pieces (charged as
  // 2 KiB DMA chunks); a block of all 8 M tiles loads whole 2 KiB rows.
  const ArchConfig arch = LoadArchConfig("");
  const KernelCall c = Call(1024, 1024, 64, 8);
  const MatmulTuning t =
      TuneMatmul(arch, c, [&](const KernelCall& k) { return Simulate(arch, k); });
  const double stated = Simulate(arch, c).time_ns;
  EXPECT_TRUE(t.searched);
  EXPECT_TRUE(t.changed);
  EXPECT_GT(t.candidates, 3u);
  EXPECT_LT(t.result.time_ns, 0.5 * stated);
  EXPECT_GE(t.result.time_ns, MatmulRooflineNs(arch, c.mm));
  // The reported result is the chosen call's own full simulation.
  EXPECT_EQ(t.result.time_ns, Simulate(arch, t.call).time_ns);
  EXPECT_EQ(t.call.mm.block_m, 8u);
  // Deterministic.
  const MatmulTuning again =
      TuneMatmul(arch, c, [&](const KernelCall& k) { return Simulate(arch, k); });
  EXPECT_EQ(again.call.Key(), t.call.Key());
  EXPECT_EQ(again.result.time_ns, t.result.time_ns);
}

TEST(TilingSearch, SampledSearchComesCloseToTheExhaustiveBest) {
  // The slow oracle: every candidate of the grid (orientation x block_m x out_buffers x
  // store queues) simulated in full. The sampled search must never be slower than the
  // default and come within 10% of the grid's best on these short-K / short-N products
  // (attention heads, ResNet 1x1 convolutions, a narrow projection).
  const ArchConfig arch = LoadArchConfig("");
  // The last, a convolution's weight gradient (K = pixels), is sampled along K.
  KernelCall cases[] = {Call(1024, 1024, 64, 2), Call(8192, 64, 256), Call(2048, 256, 64),
                        Call(1024, 64, 1024, 2), Call(576, 16384, 64)};
  cases[1].try_transposed = true;
  cases[2].try_transposed = true;
  cases[4].try_transposed = true;
  for (const KernelCall& c : cases) {
    const MatmulTuning t =
        TuneMatmul(arch, c, [&](const KernelCall& k) { return Simulate(arch, k); });
    double best = std::numeric_limits<double>::infinity();
    for (bool tr : {false, true}) {
      if (tr && !c.try_transposed) continue;
      KernelCall base = tr ? Transposed(c) : c;
      base.try_transposed = false;
      const MatmulKernelOptions o = ResolveMatmulOptions(arch, base.mm);
      const std::uint64_t mt = (o.m + o.tile_m - 1) / o.tile_m;
      const std::uint64_t nt = (o.n + o.tile_n - 1) / o.tile_n;
      const std::uint64_t acc_tiles = arch.core.accumulator.partition_bytes / 4 / o.tile_n;
      for (std::uint64_t bm : {1, 2, 4, 8, 16}) {
        if (bm > acc_tiles) break;
        for (int ob : {2, 4, 8}) {
          for (int sq : {4, 8, 12}) {  // a quarter, half, three quarters of 16 queues
            KernelCall k = base;
            k.mm.block_m = std::min(bm, mt);
            k.mm.block_n = std::min(nt, std::max<std::uint64_t>(1, acc_tiles / bm));
            k.mm.out_buffers = ob;
            k.mm.store_queues = sq;
            best = std::min(best, Simulate(arch, k).time_ns);
          }
        }
      }
      best = std::min(best, Simulate(arch, base).time_ns);  // the default itself
    }
    KernelCall stated = c;
    stated.try_transposed = false;
    EXPECT_LE(t.result.time_ns, Simulate(arch, stated).time_ns) << c.Key();
    EXPECT_LE(t.result.time_ns, 1.10 * best) << c.Key() << " best " << best;
  }
}

}  // namespace
}  // namespace systole
