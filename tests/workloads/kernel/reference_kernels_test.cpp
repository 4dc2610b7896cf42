// The reference kernels on the baseline core: roofline, optimisation ladder, determinism.
#include "workloads/kernel/reference_kernels.h"

#include <gtest/gtest.h>

#include "models/core/core.h"
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
