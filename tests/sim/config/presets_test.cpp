// The presets in configs/arch/ load, and their derived peaks equal the public figures they
// cite in their comments (vendor documents named at the top of each file in configs/arch/).
#include <gtest/gtest.h>

#include <string>

#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

ArchConfig Preset(const std::string& name) {
  return LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + name + ".toml");
}

double PeakTflops(const ArchConfig& a) {
  return 2.0 * static_cast<double>(a.core.tensor.array.rows * a.core.tensor.array.cols) *
         a.core.clock_ghz * static_cast<double>(a.cores) / 1000.0;
}

TEST(Presets, NeuronCoreV2) {
  const ArchConfig a = Preset("neuroncore-v2");
  EXPECT_NEAR(PeakTflops(a), 91.75, 0.01);  // 2 x 128 x 128 x 2.8 GHz: "92 TFLOPS BF16"
  EXPECT_EQ(a.core.scratchpad.capacity_bytes(), 24u << 20);  // SBUF 24 MiB
  EXPECT_EQ(a.core.accumulator.capacity_bytes(), 2u << 20);  // PSUM 2 MiB
  EXPECT_EQ(a.core.dma.queues, 16u);
  EXPECT_NEAR(a.hbm.PeakGBps(), 819.2, 1e-9);     // "820 GB/s"
  EXPECT_EQ(a.hbm.CapacityBytes(), 32ull << 30);  // 32 GiB
}

TEST(Presets, Trainium1TwoCoresShareHbm) {
  const ArchConfig a = Preset("trainium1");
  EXPECT_EQ(a.cores, 2u);
  EXPECT_NEAR(PeakTflops(a), 183.5, 0.01);  // 2 cores x 91.75 (published: 190)
  EXPECT_NEAR(a.hbm.PeakGBps(), 819.2, 1e-9);
  // Two cores running the same memory-bound kernel share the HBM: the chip does not
  // double the single core's HBM bandwidth.
  ElementwiseKernelOptions o;
  o.kind = "add";
  o.rows = 2048;
  o.cols = 4096;
  const auto two = RunCores(a, BuildElementwiseKernelForChip(a, o), {});
  ASSERT_EQ(two.size(), 2u);
  const double bytes = 3.0 * 2048 * 4096 * 2;  // x, y in; out
  const double chip_time = std::max(two[0].time_ns, two[1].time_ns);
  EXPECT_GE(chip_time, bytes / a.hbm.PeakGBps());
}

TEST(Presets, TpuV5e) {
  const ArchConfig a = Preset("tpu-v5e");
  EXPECT_NEAR(PeakTflops(a), 197.0, 0.1);                     // "197 TFLOPS BF16"
  EXPECT_EQ(a.core.scratchpad.capacity_bytes(), 128u << 20);  // 128 MiB VMEM
  EXPECT_NEAR(a.hbm.PeakGBps(), 819.2, 1e-9);                 // "819 GB/s"
}

TEST(Presets, TpuV1) {
  const ArchConfig a = Preset("tpu-v1");
  EXPECT_NEAR(PeakTflops(a), 91.75, 0.01);                   // 92 TOPS int8
  EXPECT_EQ(a.core.scratchpad.capacity_bytes(), 24u << 20);  // 24 MiB unified buffer
  EXPECT_EQ(a.core.accumulator.capacity_bytes(), 4u << 20);  // 4 MiB accumulators
  EXPECT_NEAR(a.hbm.PeakGBps(), 34.128, 1e-9);               // 34 GB/s weight memory
}

}  // namespace
}  // namespace systole
