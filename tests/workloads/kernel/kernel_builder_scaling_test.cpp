// Building a kernel is linear in its instructions (issue 14: storing many disjoint blocks of
// one HBM tensor scanned every earlier store, so `kernel add --shape 4000000x1` took 25 s).
// Counts, not times: the number of earlier writes examined per store stays bounded.
#include <gtest/gtest.h>

#include "sim/config/arch_config.h"
#include "workloads/kernel/kernel_builder.h"

namespace systole {
namespace {

// Stores `blocks` disjoint 128-row blocks of a tile into one HBM tensor (top to bottom, or
// bottom to top), alternating two DMA queues, and returns the HBM writes examined while
// deriving waits.
std::uint64_t VisitsForStores(std::uint64_t blocks, bool backwards) {
  KernelBuilder k("stores", LoadArchConfig(""));
  const HbmTensor out = k.Hbm("out", blocks * 128, 64, Dtype::kBf16, /*initialised=*/false);
  const HbmTensor in = k.Hbm("in", 128, 64, Dtype::kBf16);
  const Tile t = k.Scratchpad("t", 128, 64, Dtype::kBf16);
  k.DmaLoad(t.All(), Block(in, 0, 128, 0, 64), "load");
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::uint64_t row = (backwards ? blocks - 1 - b : b) * 128;
    k.DmaStore(Block(out, row, 128, 0, 64), t.All(), "store", static_cast<int>(b % 2));
  }
  const std::uint64_t visited = k.HbmWritesVisited();
  k.Finish();
  return visited;
}

TEST(KernelBuilderScaling, DisjointStoresVisitABoundedNumberOfEarlierWrites) {
  // A store of rows [r, r+128) examines the earlier writes starting in rows (r-128, r+128]
  // (the largest block is 128 rows): top to bottom none of them exists yet, bottom to top
  // exactly one (the store just below, starting at r+128). A list scanned in full examines
  // every earlier store: 1000 stores would visit 499,500 writes, 4000 stores 7,998,000.
  EXPECT_EQ(VisitsForStores(1000, false), 0u);
  EXPECT_EQ(VisitsForStores(4000, false), 0u);
  EXPECT_EQ(VisitsForStores(1000, true), 999u);
  EXPECT_EQ(VisitsForStores(4000, true), 3999u);
}

TEST(KernelBuilderScaling, OverlappingStoresStillWaitForEachOther) {
  // The index must not hide overlaps: a store over two earlier ones from the other queue
  // waits for both, and a later load of the region waits for the covering store only.
  KernelBuilder k("overlap", LoadArchConfig(""));
  const HbmTensor out = k.Hbm("out", 256, 64, Dtype::kBf16, /*initialised=*/false);
  const HbmTensor in = k.Hbm("in", 256, 64, Dtype::kBf16);
  const Tile t = k.Scratchpad("t", 128, 64, Dtype::kBf16);
  const Tile u = k.Scratchpad("u", 128, 64, Dtype::kBf16);
  const auto ld = k.DmaLoad(t.All(), Block(in, 0, 128, 0, 64), "load", 0);
  const auto s0 = k.DmaStore(Block(out, 0, 64, 0, 64), t.Slice(0, 64, 0, 64), "s0", 0);
  const auto s1 = k.DmaStore(Block(out, 64, 64, 0, 64), t.Slice(64, 64, 0, 64), "s1", 0);
  const auto s2 = k.DmaStore(Block(out, 32, 128, 0, 64), t.All(), "s2", 1);
  const auto s3 = k.DmaStore(Block(out, 0, 128, 0, 64), t.All(), "s3", 0);
  const auto l = k.DmaLoad(u.All(), Block(out, 0, 128, 0, 64), "reload", 1);
  const Program p = k.Finish();
  // s2 (queue 1) reads the tile the load wrote and overlaps s0 and s1 (queue 0).
  EXPECT_EQ(p.instructions[s2].waits, (std::vector<std::uint32_t>{ld, s0, s1}));
  // s3 (queue 0) overlaps s2 (queue 1); s0 and s1 are on its own queue.
  EXPECT_EQ(p.instructions[s3].waits, (std::vector<std::uint32_t>{s2}));
  // The reload (queue 1) needs s3, which covers s0 and s1 (forgotten); s2 is its own queue.
  EXPECT_EQ(p.instructions[l].waits, (std::vector<std::uint32_t>{s3}));
}

}  // namespace
}  // namespace systole
