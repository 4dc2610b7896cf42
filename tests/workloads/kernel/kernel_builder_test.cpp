#include "workloads/kernel/kernel_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(KernelBuilder, DerivesCrossEngineWaitsFromTiles) {
  KernelBuilder k("deps", LoadArchConfig(""));
  HbmTensor a = k.Hbm("A", 128, 128, Dtype::kBf16);
  HbmTensor b = k.Hbm("B", 128, 512, Dtype::kBf16);
  Tile ta = k.Scratchpad("a", 128, 128, Dtype::kBf16);
  Tile tb = k.Scratchpad("b", 128, 512, Dtype::kBf16);
  Tile acc = k.Accumulator("acc", 128, 512);
  const auto la = k.DmaLoad(ta.All(), Block(a, 0, 128, 0, 128), "la");      // queue 0
  const auto lb = k.DmaLoad(tb.All(), Block(b, 0, 128, 0, 512), "lb");      // queue 1
  const auto m0 = k.Matmul(acc.All(), ta.All(), tb.All(), false, "m0");     // RAW on la, lb
  const auto m1 = k.Matmul(acc.All(), ta.All(), tb.All(), true, "m1");      // same engine
  const auto re = k.DmaLoad(tb.All(), Block(b, 0, 128, 0, 512), "reload");  // WAR on m0, m1
  Program p = k.Finish();
  EXPECT_EQ(p.instructions[m0].waits, (std::vector<std::uint32_t>{la, lb}));
  EXPECT_TRUE(p.instructions[m1].waits.empty());  // the tensor engine keeps its own order
  // WAW on lb and WAR on m1 (m0's read is covered by m1's, same engine).
  EXPECT_EQ(p.instructions[re].waits, (std::vector<std::uint32_t>{lb, m1}));
  EXPECT_EQ(p.instructions[la].engine.index, 0);
  EXPECT_EQ(p.instructions[lb].engine.index, 1);
  EXPECT_EQ(p.flops, 2u * 2u * 128u * 128u * 512u);  // two matmuls of 2*K*S*T
  EXPECT_EQ(p.hbm_bytes, 2u * 128u * 512u * 2u + 128u * 128u * 2u);
}

TEST(KernelBuilder, StridedBlockBecomesChunksAndFullRowsOneChunk) {
  KernelBuilder k("chunks", LoadArchConfig(""));
  HbmTensor a = k.Hbm("A", 256, 1024, Dtype::kBf16);
  Tile t = k.Scratchpad("t", 128, 1024, Dtype::kBf16);
  k.DmaLoad(t.Slice(0, 128, 0, 256), Block(a, 0, 128, 256, 256), "strided");
  k.DmaLoad(t.All(), Block(a, 128, 128, 0, 1024), "rows");
  Program p = k.Finish();
  // 128 rows of 256 bf16 = 512 B each, 2048 B apart, starting at column 256.
  EXPECT_EQ(p.instructions[0].hbm.chunks, 128u);
  EXPECT_EQ(p.instructions[0].hbm.chunk_bytes, 512u);
  EXPECT_EQ(p.instructions[0].hbm.stride_bytes, 2048u);
  EXPECT_EQ(p.instructions[0].hbm.address, 512u);
  // Whole rows are contiguous: one chunk of 128 x 2048 B at row 128.
  EXPECT_EQ(p.instructions[1].hbm.chunks, 1u);
  EXPECT_EQ(p.instructions[1].hbm.chunk_bytes, 128u * 2048u);
  EXPECT_EQ(p.instructions[1].hbm.address, 128u * 2048u);
}

TEST(KernelBuilder, CapacityOverflowNamesTheAllocation) {
  KernelBuilder k("big", LoadArchConfig(""));
  k.Scratchpad("fits", 128, 64 * 1024, Dtype::kBf16);  // 128 KiB of the 192 KiB partition
  EXPECT_THAT(ErrorOf([&] { k.Scratchpad("too_big", 128, 64 * 1024, Dtype::kBf16); }),
              testing::HasSubstr("allocation 'too_big' needs 131072 bytes per partition of the "
                                 "scratchpad, but only 65536 of 196608 are free"));
  EXPECT_THAT(ErrorOf([&] { k.Accumulator("acc", 128, 8192); }),  // 32 KiB > 16 KiB
              testing::HasSubstr("allocation 'acc' needs 32768 bytes per partition of the "
                                 "accumulator"));
}

TEST(KernelBuilder, FreedBytesAreReusedAndOrdered) {
  KernelBuilder k("reuse", LoadArchConfig(""));
  HbmTensor a = k.Hbm("A", 128, 65536, Dtype::kBf16);
  Tile t1 = k.Scratchpad("t1", 128, 65536, Dtype::kBf16);   // 128 KiB
  Tile out = k.Scratchpad("out", 128, 65536, Dtype::kFp8);  // 64 KiB: full
  const auto l1 = k.DmaLoad(t1.All(), Block(a, 0, 128, 0, 65536), "l1");
  const auto v1 = k.Vector(VectorOp::kCopy, out.All(), t1.All(), "read_t1");
  (void)l1;
  k.Free(t1);
  Tile t2 = k.Scratchpad("t2", 128, 65536, Dtype::kBf16);  // same bytes again
  const auto l2 = k.DmaLoad(t2.All(), Block(a, 0, 128, 0, 65536), "l2");
  Program p = k.Finish();
  // The new tile's load must wait for the old tile's last reader (WAR across reuse).
  EXPECT_THAT(p.instructions[l2].waits, testing::Contains(v1));
}

TEST(KernelBuilder, MisuseNamesTheInstruction) {
  const ArchConfig arch = LoadArchConfig("");
  KernelBuilder k("bad", arch);
  HbmTensor a = k.Hbm("A", 128, 128, Dtype::kBf16);
  HbmTensor f = k.Hbm("F", 128, 128, Dtype::kFp32);
  HbmTensor out = k.Hbm("out", 128, 128, Dtype::kBf16, /*initialised=*/false);
  Tile t = k.Scratchpad("t", 128, 128, Dtype::kBf16);
  Tile u = k.Scratchpad("u", 128, 128, Dtype::kBf16);
  Tile acc = k.Accumulator("acc", 128, 128);
  EXPECT_THAT(ErrorOf([&] { k.Vector(VectorOp::kCopy, u.All(), t.All(), "copy_t"); }),
              testing::HasSubstr("kernel 'bad' instruction #0 vector_unary 'copy_t': source "
                                 "reads tile 't' [0:128, 0:128] but partition 0 of that region "
                                 "was never written"));
  EXPECT_THAT(
      ErrorOf([&] { k.DmaLoad(t.Slice(0, 128, 64, 128), Block(a, 0, 128, 0, 128), "oob"); }),
      testing::HasSubstr("'oob': destination slice [0:128, 64:192] is out of bounds of "
                         "tile 't' (128 partitions x 128 elements)"));
  EXPECT_THAT(ErrorOf([&] { k.DmaLoad(t.All(), Block(f, 0, 128, 0, 128), "dt"); }),
              testing::HasSubstr("'dt': dtype mismatch: HBM tensor 'F' is fp32, tile 't' is bf16"));
  EXPECT_THAT(ErrorOf([&] { k.DmaLoad(t.All(), Block(out, 0, 128, 0, 128), "early"); }),
              testing::HasSubstr("reads HBM tensor 'out' before anything stored to it"));
  k.DmaLoad(t.All(), Block(a, 0, 128, 0, 128), "ok");
  EXPECT_THAT(ErrorOf([&] { k.Matmul(acc.All(), t.All(), t.All(), true, "acc_unset"); }),
              testing::HasSubstr("accumulator (accumulate=true) reads tile 'acc'"));
  Tile wide = k.Scratchpad("wide", 64, 256, Dtype::kBf16);
  EXPECT_THAT(ErrorOf([&] { k.Matmul(acc.All(), t.All(), wide.All(), false, "shape"); }),
              testing::HasSubstr("'shape': shapes do not fit"));
}

}  // namespace
}  // namespace systole
