// The A100 preset against published measurements of an NVIDIA A100 80GB (SXM): GEMM,
// softmax, layernorm and GELU times measured by the LLMCompass authors (Zhang et al.,
// "LLMCompass: Enabling Efficient Hardware Design for Large Language Model Inference",
// ISCA 2024), published with their artifact:
//   https://github.com/PrincetonUniversity/LLMCompass  ae/figure5/ab/real_hardware/matmul_A100.csv
//   (M, N, K, time, TFLOP/s; fp16), ae/figure5/cf/real_hardware/softmax_A100.csv,
//   ae/figure5/de/real_hardware/layernorm_A100.csv (M, N, G elements/s; fp16) and
//   ae/figure5/g/real_hardware/gelu_A100.csv (elements, G elements/s).
// Their measurements time one call from the host; their own simulator adds 21 us of
// measured launch overhead to every GEMM (ae/figure5/ab/test_matmul.py: + 2.1e-5 s), and so
// do we here (chip.kernel_launch_ns = 21000; the preset itself has 0, as launches in a
// training stream are queued behind the running kernel). Element-wise rows are the sizes
// where that overhead is under a tenth of the measured time.
// docs/gpu-validation.md holds the table this test prints, with the errors reached.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/config/arch_config.h"
#include "workloads/kernel/wave_schedule.h"

namespace systole {
namespace {

ArchConfig A100() {
  return LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/a100-80gb.toml",
                        {"chip.kernel_launch_ns=21000"});
}

struct GemmRow {
  std::uint64_t m, k, n;
  double measured_ms;
};

// matmul_A100.csv (K = N).
const GemmRow kGemms[] = {
    {64, 12288, 12288, 0.1900},     {128, 12288, 12288, 0.2003},   {256, 12288, 12288, 0.3185},
    {512, 12288, 12288, 0.6118},    {1024, 12288, 12288, 1.1990},  {2048, 12288, 12288, 2.3586},
    {4096, 12288, 12288, 4.4576},   {8192, 12288, 12288, 8.6216},  {16384, 12288, 12288, 17.0307},
    {32768, 12288, 12288, 35.4407}, {8192, 64, 64, 0.0296},        {8192, 128, 128, 0.0310},
    {8192, 256, 256, 0.0356},       {8192, 512, 512, 0.0471},      {8192, 1024, 1024, 0.0927},
    {8192, 2048, 2048, 0.2818},     {8192, 4096, 4096, 1.0210},    {8192, 8192, 8192, 3.9614},
    {8192, 16384, 16384, 15.0087},  {8192, 32768, 32768, 61.1346},
};

struct ElementwiseRow {
  const char* kind;
  std::uint64_t rows, cols;
  double measured_gelems_per_s;
};

const ElementwiseRow kElementwise[] = {
    {"softmax", 4096, 4096, 203.9673744280116},
    {"softmax", 8192, 4096, 229.96321626687583},
    {"softmax", 16384, 4096, 247.12465031664266},
    {"softmax", 32768, 4096, 278.826128490001},
    {"softmax", 4096, 8192, 216.51921285435077},
    {"softmax", 4096, 16384, 242.0249154863766},
    {"softmax", 4096, 32768, 240.88573103179803},
    {"layernorm", 4096, 4096, 211.6353208350797},
    {"layernorm", 8192, 4096, 284.89370112414576},
    {"layernorm", 16384, 4096, 345.7923546813956},
    {"layernorm", 32768, 4096, 385.84643825998086},
    {"layernorm", 4096, 8192, 265.2921552409576},
    // gelu_A100.csv: 2^24 .. 2^29 elements, viewed as rows of 2048.
    {"gelu", 8192, 2048, 210.36993775086398},
    {"gelu", 32768, 2048, 328.2507017033889},
    {"gelu", 131072, 2048, 379.53814489891255},
    {"gelu", 262144, 2048, 390.32758080867535},
};

struct Errors {
  double sum = 0, max = 0;
  int n = 0;
  void Add(double e) {
    sum += std::fabs(e);
    max = std::max(max, std::fabs(e));
    ++n;
  }
  double mean() const { return n ? sum / n : 0; }
};

TEST(GpuValidation, A100GemmAgainstMeasurements) {
  const ArchConfig arch = A100();
  Errors square, skinny;
  std::printf("| M | K | N | measured ms | simulated ms | error | tile | waves + tail |\n");
  for (const GemmRow& g : kGemms) {
    MatmulKernelOptions o;
    o.m = g.m;
    o.k = g.k;
    o.n = g.n;
    o.dtype = Dtype::kFp16;
    const WaveRun w = SimulateMatmulWaves(arch, o);
    const double sim_ms = w.time_ns / 1e6;
    const double err = sim_ms / g.measured_ms - 1.0;
    (g.k == 12288 ? square : skinny).Add(err);
    std::printf("| %llu | %llu | %llu | %.4f | %.4f | %+.1f%% | %llux%llu | %llu + %llu |\n",
                static_cast<unsigned long long>(g.m), static_cast<unsigned long long>(g.k),
                static_cast<unsigned long long>(g.n), g.measured_ms, sim_ms, 100 * err,
                static_cast<unsigned long long>(w.tile_m),
                static_cast<unsigned long long>(w.tile_n),
                static_cast<unsigned long long>(w.full_waves),
                static_cast<unsigned long long>(w.tail_tiles));
  }
  std::printf("GEMM K=N=12288: mean |error| %.1f%%, max %.1f%%; M=8192: mean %.1f%%, max %.1f%%\n",
              100 * square.mean(), 100 * square.max, 100 * skinny.mean(), 100 * skinny.max);
  // Tolerances reached (docs/gpu-validation.md).
  EXPECT_LT(square.mean(), 0.08);
  EXPECT_LT(square.max, 0.15);
  EXPECT_LT(skinny.mean(), 0.12);
  EXPECT_LT(skinny.max, 0.25);
}

TEST(GpuValidation, A100ElementwiseAgainstMeasurements) {
  const ArchConfig arch = A100();
  Errors all;
  std::printf("| kernel | rows | cols | measured us | simulated us | error |\n");
  for (const ElementwiseRow& e : kElementwise) {
    ElementwiseKernelOptions o;
    o.kind = e.kind;
    o.rows = e.rows;
    o.cols = e.cols;
    o.dtype = Dtype::kFp16;
    const WaveRun w = SimulateElementwiseWaves(arch, o);
    const double elements = static_cast<double>(e.rows) * static_cast<double>(e.cols);
    const double measured_us = elements / e.measured_gelems_per_s / 1e3;
    const double sim_us = w.time_ns / 1e3;
    const double err = sim_us / measured_us - 1.0;
    all.Add(err);
    std::printf("| %s | %llu | %llu | %.1f | %.1f | %+.1f%% |\n", e.kind,
                static_cast<unsigned long long>(e.rows), static_cast<unsigned long long>(e.cols),
                measured_us, sim_us, 100 * err);
  }
  std::printf("element-wise: mean |error| %.1f%%, max %.1f%%\n", 100 * all.mean(), 100 * all.max);
  // Reached: mean 33%, max 49%, every row too fast. The bandwidth-pipe HBM streams at
  // 98% of peak where PyTorch's kernels on the A100 reach 55-77% (docs/gpu-validation.md);
  // not closed by a per-kernel factor.
  EXPECT_LT(all.mean(), 0.40);
  EXPECT_LT(all.max, 0.50);
}

// H100 SXM (sm_90) bf16 GEMM throughput measured by the XLA team for its cost model:
// tensorflow/tensorflow third_party/xla/xla/service/gpu/model/matmul_interpolator_data.h
// (kDefaultMatmulPTable, key "sm_90", b = 1 entries; C[m,n] = A[m,k] B[k,n], FLOP/s of the
// "bf16xbf16->bf16" key). Device-side kernel times: no launch overhead is added.
struct ThroughputRow {
  std::uint64_t m, k, n;
  double measured_tflops;
};
const ThroughputRow kH100Gemms[] = {
    {4096, 4096, 4096, 783.33}, {2048, 2048, 2048, 631.98}, {1024, 2048, 2048, 524.29},
    {2048, 2048, 1024, 523.27}, {4096, 256, 4096, 392.16},  {4096, 512, 2048, 447.02},
    {4096, 512, 1024, 343.71},  {256, 4096, 2048, 285.87},  {512, 1024, 4096, 373.35},
    {4096, 1024, 512, 370.77},  {1024, 2048, 1024, 349.98}, {4096, 2048, 256, 304.69},
};

TEST(GpuValidation, H100GemmAgainstXlaTable) {
  const ArchConfig arch =
      LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/h100-sxm.toml");
  Errors all;
  std::printf("| M | K | N | measured TFLOP/s | simulated TFLOP/s | time error | tile |\n");
  for (const ThroughputRow& g : kH100Gemms) {
    MatmulKernelOptions o;
    o.m = g.m;
    o.k = g.k;
    o.n = g.n;
    const WaveRun w = SimulateMatmulWaves(arch, o);
    const double sim_tflops = 2.0 * static_cast<double>(g.m * g.k * g.n) / w.time_ns / 1000.0;
    const double err = g.measured_tflops / sim_tflops - 1.0;  // simulated / measured time - 1
    all.Add(err);
    std::printf("| %llu | %llu | %llu | %.1f | %.1f | %+.1f%% | %llux%llu |\n",
                static_cast<unsigned long long>(g.m), static_cast<unsigned long long>(g.k),
                static_cast<unsigned long long>(g.n), g.measured_tflops, sim_tflops, 100 * err,
                static_cast<unsigned long long>(w.tile_m),
                static_cast<unsigned long long>(w.tile_n));
  }
  std::printf("H100 GEMM: mean |error| %.1f%%, max %.1f%%\n", 100 * all.mean(), 100 * all.max);
  // Reached: mean 17%, max 41%; short-K products (K <= 512) run too fast (per-tile
  // prologue and epilogue costs of real kernels are under-charged), 4096^3 9% too slow.
  EXPECT_LT(all.mean(), 0.20);
  EXPECT_LT(all.max, 0.45);
}

}  // namespace
}  // namespace systole
