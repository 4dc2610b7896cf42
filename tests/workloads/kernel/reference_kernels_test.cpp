// The reference kernels on the baseline core: roofline, optimisation ladder, determinism.
#include "workloads/kernel/reference_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.h"
#include "models/core/core.h"
#include "models/vector_engine/vector_unit.h"
#include "sim/config/arch_config.h"
#include "sim/trace/chrome_trace.h"
#include "workloads/kernel/kernel_builder.h"

namespace systole {
namespace {

CoreRunResult RunMatmul(const ArchConfig& arch, const std::string& level, std::uint64_t m,
                        std::uint64_t k, std::uint64_t n) {
  MatmulKernelOptions o;
  o.m = m;
  o.k = k;
  o.n = n;
  o.level = level;
  return RunCore(arch, BuildMatmulKernel(arch, o), {});
}

TEST(MatmulKernel, NoLevelBeatsTheRooflineAndBlockingPays) {
  const ArchConfig arch = LoadArchConfig("");
  double naive = 0, block3 = 0;
  for (const char* level : {"naive", "hoist", "block", "block3"}) {
    const CoreRunResult r = RunMatmul(arch, level, 1024, 1024, 2048);
    EXPECT_GE(r.time_ns, r.roofline_ns()) << level;
    EXPECT_EQ(r.flops, 2ull * 1024 * 1024 * 2048) << level;
    if (std::string(level) == "naive") naive = r.time_ns;
    if (std::string(level) == "block3") block3 = r.time_ns;
  }
  // The naive kernel is DMA-bound: several times slower than the blocked one.
  EXPECT_GT(naive / block3, 4.0);
}

TEST(MatmulKernel, BlockedComputeBoundMatmulReachesEightyPercentOfPeak) {
  const CoreRunResult r = RunMatmul(LoadArchConfig(""), "tuned", 2048, 2048, 2048);
  EXPECT_GT(r.hfu, 0.80);
  EXPECT_LE(r.hfu, 1.0);
}

// BERT-Large in fp32 with fusion on: an fp32 tuned block with a stored copy and a residual
// overflowed the scratchpad (allocation 'post1'). Default tiles: tn 512, bm 2, bn 4, bk 8:
// operands 2 x (8 + 64) KiB, row blocks 3 x (8 + 8 residual + 8 stored) KiB, bias 16 KiB
// = 232 KiB > 192 KiB; with bk 4: 2 x (4 + 32) + 72 + 16 = 160 KiB.
TEST(MatmulKernel, WideDtypeWithEpilogueShrinksItsBlocksToFit) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = 512;
  o.k = 1024;
  o.n = 4096;
  o.dtype = Dtype::kFp32;
  o.epilogue = ParseEpilogue("bias,gelu,store,residual");
  const MatmulKernelOptions r = ResolveMatmulOptions(arch, o);
  EXPECT_EQ(r.block_k, 4u);
  EXPECT_EQ(TunedScratchpadBytes(r, 8), 160u * 1024);
  const CoreRunResult run = RunCore(arch, BuildMatmulKernel(arch, o), {});
  EXPECT_EQ(run.flops, 2ull * 512 * 1024 * 4096);
  // Blocks the user gave are kept (K given: N shrinks instead); all three given and too
  // big: the allocation that does not fit is named.
  o.block_k = 8;
  EXPECT_EQ(ResolveMatmulOptions(arch, o).block_n, 2u);
  o.block_m = 2;
  o.block_n = 4;
  EXPECT_THROW(BuildMatmulKernel(arch, o), InputError);
}

TEST(MatmulKernel, EdgeTilesAndOddShapes) {
  const ArchConfig arch = LoadArchConfig("");
  for (const char* level : {"naive", "hoist", "block", "block3"}) {
    const CoreRunResult r = RunMatmul(arch, level, 300, 200, 700);
    EXPECT_EQ(r.flops, 2ull * 300 * 200 * 700) << level;
    EXPECT_GE(r.time_ns, r.roofline_ns()) << level;
  }
}

double BusyNs(const CoreRunResult& r, const std::string& engine) {
  for (const EngineReport& e : r.engines) {
    if (e.name == engine) return e.busy_ns;
  }
  return 0;
}

TEST(MatmulEpilogue, CostsExactlyItsInstructionsAndTheResidualBytes) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = o.k = o.n = 512;
  const CoreRunResult plain = RunCore(arch, BuildMatmulKernel(arch, o), {});
  o.epilogue = ParseEpilogue("bias,gelu,residual");
  const CoreRunResult fused = RunCore(arch, BuildMatmulKernel(arch, o), {});
  // block3 on 512^3: tiles m128 n512 (accumulator bank: 16384 B / 4 B / 8 banks), blocks
  // of 2 M tiles x 1 N tile, so 4 output row blocks of [128 x 512] and 2 M blocks.
  // Per row block: bias add, two full inputs: 64 + 1 pass x 512 x 2 = 1088 vector cycles;
  // gelu: 64 + 512 x 2 cycles/element = 1088 scalar cycles; residual add: 1088 vector.
  // Vector +4 x 2176 = 8704 cycles, scalar +4 x 1088 = 4352 cycles, of 714 ps each
  // (1.4 GHz, the cycle in whole picoseconds as SystemC keeps it).
  constexpr double kCycleNs = 0.714;
  EXPECT_EQ(fused.engines.size(), plain.engines.size());
  EXPECT_NEAR(BusyNs(fused, "vector") - BusyNs(plain, "vector"), 8704 * kCycleNs, 1e-6);
  EXPECT_NEAR(BusyNs(fused, "scalar") - BusyNs(plain, "scalar"), 4352 * kCycleNs, 1e-6);
  // HBM: + bias 2 M blocks x 128 pre-broadcast rows x 512 x 2 B = 262144
  //      + residual 512 x 512 x 2 B = 524288.
  EXPECT_EQ(fused.hbm_bytes - plain.hbm_bytes, 262144u + 524288u);
  EXPECT_EQ(fused.flops, plain.flops);
  EXPECT_GE(fused.time_ns, fused.roofline_ns());
  // A store step writes the row block once more: + 512 x 512 x 2 B, no engine work.
  o.epilogue = ParseEpilogue("store,gelu_grad");
  const CoreRunResult grad = RunCore(arch, BuildMatmulKernel(arch, o), {});
  // gelu_grad: load x (+524288 B), derivative 1088 scalar cycles, multiply 1088 vector.
  EXPECT_EQ(grad.hbm_bytes - plain.hbm_bytes, 2u * 524288u);
  EXPECT_NEAR(BusyNs(grad, "vector") - BusyNs(plain, "vector"), 4 * 1088 * kCycleNs, 1e-6);
  EXPECT_NEAR(BusyNs(grad, "scalar") - BusyNs(plain, "scalar"), 4 * 1088 * kCycleNs, 1e-6);
}

TEST(MatmulEpilogue, GeluIsNearlyFreeOnAComputeBoundMatmul) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = o.k = o.n = 2048;
  const CoreRunResult plain = RunCore(arch, BuildMatmulKernel(arch, o), {});
  o.epilogue = {EpilogueStep::kGelu};
  const CoreRunResult fused = RunCore(arch, BuildMatmulKernel(arch, o), {});
  // The scalar engine works while the tensor engine computes the next block; only the
  // last row block's gelu is exposed.
  EXPECT_GE(fused.time_ns, plain.time_ns);
  EXPECT_LT(fused.time_ns, plain.time_ns * 1.01);
  EXPECT_EQ(fused.hbm_bytes, plain.hbm_bytes);
}

TEST(MatmulEpilogue, ParsesAndRejects) {
  EXPECT_EQ(EpilogueString(ParseEpilogue("bias,gelu,residual")), "bias,gelu,residual");
  EXPECT_TRUE(ParseEpilogue("").empty());
  EXPECT_THROW(ParseEpilogue("bias,softmax"), InputError);
}

// A kernel far past the program limit is rejected up front with the estimate, not by
// running out of memory; its sampled form (the tiling search's) is small and builds.
TEST(MatmulKernel, HugeKernelIsRejectedButItsSampleBuilds) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = o.k = o.n = 100'000'000;
  o.level = "naive";
  try {
    BuildMatmulKernel(arch, o);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    // (1e8 / 128)^2 x (1e8 / 512) matmuls, plus their loads: about 3.6e17.
    EXPECT_NE(std::string(e.what()).find("would issue about 3.58e+17 instructions, over the "
                                         "limit of 100000000"),
              std::string::npos)
        << e.what();
  }
  o.m = 4096;
  o.k = 1'000'000;
  o.n = 4096;
  o.level = "tuned";
  o.m_blocks_limit = 1;
  o.k_blocks_limit = 1;
  EXPECT_LT(BuildMatmulKernel(arch, o).instructions.size(), 1000u);
}

TEST(ElementwiseKernels, RunAndRespectTheRoofline) {
  const ArchConfig arch = LoadArchConfig("");
  for (const char* kind : {"add", "gelu", "softmax", "layernorm", "rmsnorm"}) {
    ElementwiseKernelOptions o;
    o.kind = kind;
    o.rows = 1000;
    o.cols = 1024;
    const CoreRunResult r = RunCore(arch, BuildElementwiseKernel(arch, o), {});
    EXPECT_GE(r.time_ns, r.memory_bound_ns) << kind;
    EXPECT_GT(r.engines[1].instructions + r.engines[2].instructions, 0u) << kind;
  }
}

TEST(KernelReports, ByteIdenticalAcrossRuns) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = o.k = o.n = 512;
  const Program p = BuildMatmulKernel(arch, o);
  CoreRunOptions opt;
  opt.record_trace = true;
  EXPECT_EQ(ChromeTraceJson(p, RunCore(arch, p, opt)), ChromeTraceJson(p, RunCore(arch, p, opt)));
}

}  // namespace
// Sum of the vector and scalar engines' compute cycles over a program (vector_unit.h).
std::pair<std::uint64_t, std::uint64_t> EngineCycles(const ArchConfig& arch, const Program& p) {
  std::uint64_t vector = 0, scalar = 0;
  for (const Instruction& in : p.instructions) {
    if (in.engine.kind == EngineKind::kVector) vector += VectorComputeCycles(arch.core.vector, in);
    if (in.engine.kind == EngineKind::kScalar) scalar += ScalarComputeCycles(arch.core.scalar, in);
  }
  return {vector, scalar};
}

TEST(ElementwiseKernels, NormsAndSoftmaxSplitTheirPassesBetweenVectorAndScalar) {
  // 256 x 1024 bf16: two row tiles of 128 partitions; every instruction pays 64 fixed
  // cycles; a pass over 1024 elements is 1024 cycles (two full inputs: 2048); [P x 1]
  // statistics ops are 1 element (2 for two inputs).
  const ArchConfig arch = LoadArchConfig("");
  struct Want {
    const char* kind;
    std::uint64_t vector_per_tile, scalar_per_tile;
  } wants[] = {
      // sum 1088 + sum_sq 1088 + mean 65 + variance 66 + shift 66 + gain 2112;
      // square 1088 + rstd 65 + normalise 1088
      {"layernorm", 4485, 2241},
      // sum_sq 1088 + gain 2112; square 1088 + rstd 65 + normalise 1088
      {"rmsnorm", 3200, 2241},
      // row_max 1088 + exp_scale 65 + neg_max 65 + row_sum 1088 + reciprocal 65;
      // exp(x - max) 1088 + normalise 1088
      {"softmax", 2371, 2176},
      {"relu", 1088, 0},  // max(x, 0)
      {"gelu", 0, 2112},  // 2 cycles per element
      {"add", 2112, 0},   // two full inputs
  };
  for (const Want& w : wants) {
    ElementwiseKernelOptions o;
    o.kind = w.kind;
    o.rows = 256;
    o.cols = 1024;
    const Program p = BuildElementwiseKernel(arch, o);
    const auto [vector, scalar] = EngineCycles(arch, p);
    EXPECT_EQ(vector, 2 * w.vector_per_tile) << w.kind;
    EXPECT_EQ(scalar, 2 * w.scalar_per_tile) << w.kind;
    // Never faster than the busier engine (1.4 GHz) or the HBM roofline.
    const CoreRunResult r = RunCore(arch, p, {});
    EXPECT_GE(r.time_ns, static_cast<double>(std::max(vector, scalar)) / 1.4 * (1 - 1e-9))
        << w.kind;
    EXPECT_GE(r.time_ns, r.memory_bound_ns) << w.kind;
  }
}

TEST(ElementwiseKernels, ActivationScaleBiasOperandIsCheckedAndWaitedFor) {
  const ArchConfig arch = LoadArchConfig("");
  KernelBuilder k("t", arch);
  const HbmTensor x = k.Hbm("x", 128, 64, Dtype::kBf16);
  const Tile xt = k.Scratchpad("x", 128, 64, Dtype::kBf16);
  const Tile yt = k.Scratchpad("y", 128, 64, Dtype::kBf16);
  const Tile s = k.Scratchpad("s", 128, 1, Dtype::kFp32);
  const Tile wide = k.Scratchpad("wide", 128, 3, Dtype::kFp32);
  k.DmaLoad(xt.All(), Block(x, 0, 128, 0, 64), "load");
  const std::uint32_t stat = k.Vector(VectorOp::kReduceSum, s.All(), xt.All(), "sum");
  const std::uint32_t act = k.Activation(ActivationFn::kIdentity, yt.All(), xt.All(), s.All(), "n");
  EXPECT_EQ(k.Activation(ActivationFn::kExp, yt.All(), xt.All(), "plain"), act + 1);
  // [P x 3] is neither a scale nor a (scale, bias) pair.
  EXPECT_THROW(k.Activation(ActivationFn::kIdentity, yt.All(), xt.All(), wide.All(), "bad"),
               InputError);
  const Program p = k.Finish();
  const WaitList& waits = p.instructions[act].waits;
  EXPECT_NE(std::find(waits.begin(), waits.end(), stat), waits.end());  // reads the sum
  EXPECT_EQ(p.instructions[act].src1.bytes_per_partition, 4u);
}

}  // namespace systole
