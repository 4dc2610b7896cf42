// The reference kernels on the baseline core: roofline, optimisation ladder, determinism.
#include "workloads/kernel/reference_kernels.h"

#include <gtest/gtest.h>

#include "models/core/core.h"
#include "sim/common/error.h"
#include "sim/trace/chrome_trace.h"

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
  const CoreRunResult r = RunMatmul(LoadArchConfig(""), "block3", 2048, 2048, 2048);
  EXPECT_GT(r.hfu, 0.80);
  EXPECT_LE(r.hfu, 1.0);
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
}  // namespace systole
