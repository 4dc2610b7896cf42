// The shared DMA engines (models/dma/dma_engines.h): closed forms of a transfer's
// descriptors and engine time, and the booking of engines shared by queues.
#include "models/dma/dma_engines.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

DmaConfig NeuronCoreDma() {
  DmaConfig c;
  c.engines = 16;                // 16 engines, 8 of 128 partitions each
  c.engine_bandwidth_gbps = 17;  // B/ns
  c.descriptor_ns = 75;
  return c;
}

OnChipRegion Partitions(std::uint16_t first, std::uint16_t count) {
  OnChipRegion r;
  r.partition = first;
  r.partitions = count;
  return r;
}

// A [rows x cols] bf16 block of a tensor `tensor_cols` wide.
HbmPattern Rows(std::uint64_t rows, std::uint64_t cols, std::uint64_t tensor_cols) {
  HbmPattern p;
  const bool full = cols == tensor_cols;
  p.chunk_bytes = full ? rows * cols * 2 : cols * 2;
  p.chunks = full ? 1 : rows;
  p.stride_bytes = tensor_cols * 2;
  return p;
}

TEST(DmaEngines, StridedRowsAreOneDescriptorEachSpreadOverAllEngines) {
  const DmaConfig c = NeuronCoreDma();
  // rhs tile [128 x 512] bf16 of an 8192-wide tensor: 128 rows of 1 KiB, 8 per engine:
  // 8 x (75 + 1024 / 17) = 1081.882 ns.
  const HbmPattern p = Rows(128, 512, 8192);
  const DmaDescriptors d = DescriptorsOf(p, Partitions(0, 128), 8);
  EXPECT_EQ(d.count, 128u);
  EXPECT_EQ(d.bytes_each, 1024u);
  EXPECT_NEAR(DmaTransferTimeNs(c, 8, p, Partitions(0, 128)), 8 * (75 + 1024.0 / 17), 1e-9);
  // 32 partitions: engines 0-3, the same 8 rows each, so the same time.
  EXPECT_NEAR(DmaTransferTimeNs(c, 8, Rows(32, 512, 8192), Partitions(0, 32)),
              8 * (75 + 1024.0 / 17), 1e-9);
  // Starting mid-engine (partitions 4-11): two engines of 4 rows.
  EXPECT_NEAR(DmaTransferTimeNs(c, 8, Rows(8, 512, 8192), Partitions(4, 8)), 4 * (75 + 1024.0 / 17),
              1e-9);
}

TEST(DmaEngines, ContiguousBlockIsOneDescriptorPerEngine) {
  const DmaConfig c = NeuronCoreDma();
  // [4 x 4096] bf16, contiguous: one 32 KiB descriptor on engine 0 (the NKI DMA guide's
  // example 1): 75 + 32768 / 17 ns.
  const HbmPattern p = Rows(4, 4096, 4096);
  EXPECT_EQ(DescriptorsOf(p, Partitions(0, 4), 8).count, 1u);
  EXPECT_NEAR(DmaTransferTimeNs(c, 8, p, Partitions(0, 4)), 75 + 32768.0 / 17, 1e-9);
  // [128 x 128] contiguous: 16 engines, one 2 KiB descriptor each (its example 2).
  const HbmPattern q = Rows(128, 128, 128);
  EXPECT_EQ(DescriptorsOf(q, Partitions(0, 128), 8).count, 16u);
  EXPECT_NEAR(DmaTransferTimeNs(c, 8, q, Partitions(0, 128)), 75 + 2048.0 / 17, 1e-9);
}

TEST(DmaEngines, QueuesShareTheEngines) {
  const DmaConfig c = NeuronCoreDma();
  DmaEngines engines(c, 128);
  ASSERT_TRUE(engines.enabled());
  EXPECT_EQ(engines.partitions_per_engine(), 8u);
  const double t = 8 * (75 + 1024.0 / 17);  // one [128 x 512] part per engine
  sc_core::sc_time busy;
  const HbmPattern p = Rows(128, 512, 8192);
  const sc_core::sc_time zero = sc_core::SC_ZERO_TIME;
  // Two transfers issued together (from two queues): the second waits for the first on
  // every engine, so it ends at 2t.
  EXPECT_NEAR(engines.Transfer(zero, p, Partitions(0, 128), &busy).to_seconds() * 1e9, t, 1e-3);
  EXPECT_NEAR(busy.to_seconds() * 1e9, t, 1e-3);
  EXPECT_NEAR(engines.Transfer(zero, p, Partitions(0, 128), &busy).to_seconds() * 1e9, 2 * t, 2e-3);
  // A 32-partition transfer on engines 0-3 waits for them; one starting later on
  // engines 4-7 (partitions 32-63) waits only for the second transfer there.
  EXPECT_NEAR(
      engines.Transfer(zero, Rows(32, 512, 8192), Partitions(0, 32), &busy).to_seconds() * 1e9,
      3 * t, 3e-3);
  const sc_core::sc_time later(5 * t, sc_core::SC_NS);
  EXPECT_NEAR(
      engines.Transfer(later, Rows(32, 512, 8192), Partitions(32, 32), &busy).to_seconds() * 1e9,
      6 * t, 6e-3);
  // engines = 0: the simple per-queue model.
  DmaConfig off = c;
  off.engines = 0;
  EXPECT_FALSE(DmaEngines(off, 128).enabled());
}

}  // namespace
}  // namespace systole
