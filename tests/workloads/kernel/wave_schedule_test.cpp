#include "workloads/kernel/wave_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "base/error.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

ArchConfig Preset(const std::string& name, const std::vector<std::string>& overrides = {}) {
  return LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + name + ".toml",
                        overrides);
}

TEST(GpuPresets, PublishedFigures) {
  const ArchConfig a = Preset("a100-80gb");
  EXPECT_EQ(a.cores, 108u);
  EXPECT_NEAR(a.PeakFlopsPerNs() / 1000.0, 311.9, 0.1);  // "312 TFLOPS" bf16 dense
  EXPECT_NEAR(a.hbm.PeakGBps(), 2039, 1.0);              // "2,039 GB/s"
  EXPECT_EQ(a.hbm.CapacityBytes(), 80ull << 30);
  EXPECT_EQ(a.core.scratchpad.capacity_bytes(), 164u << 10);   // shared memory per SM
  EXPECT_EQ(a.core.accumulator.capacity_bytes(), 256u << 10);  // register file per SM
  const ArchConfig h = Preset("h100-sxm");
  EXPECT_EQ(h.cores, 132u);
  EXPECT_NEAR(h.PeakFlopsPerNs() / 1000.0, 989.4, 0.5);  // "989 TFLOPS" bf16 dense
  EXPECT_NEAR(h.hbm.PeakGBps(), 3350, 1.0);              // "3.35 TB/s"
  EXPECT_EQ(h.hbm.CapacityBytes(), 80ull << 30);
  EXPECT_EQ(h.core.scratchpad.capacity_bytes(), 228u << 10);
  EXPECT_EQ(h.core.accumulator.capacity_bytes(), 256u << 10);
}

MatmulKernelOptions Gemm(std::uint64_t m, std::uint64_t k, std::uint64_t n) {
  MatmulKernelOptions o;
  o.m = m;
  o.k = k;
  o.n = n;
  return o;
}

// The shortcut (one representative core per wave shape, an even share of the bandwidth)
// against every core simulated on the shared HBM, on 8 SMs of the A100 preset without an
// L2 (so that both see the same bytes): 20 tiles of 128 x 256 = 2 full waves + a tail of 4.
void ExpectShortcutMatchesFull(const std::vector<std::string>& overrides, double tolerance) {
  std::vector<std::string> o = {"chip.cores=8", "chip.l2_bytes=0", "chip.l2_bandwidth_gbps=0"};
  o.insert(o.end(), overrides.begin(), overrides.end());
  const ArchConfig arch = Preset("a100-80gb", o);
  const MatmulKernelOptions mm = Gemm(10 * 128, 1024, 2 * 256);
  const WaveRun shortcut = SimulateMatmulWaves(arch, mm, 128, 256);
  EXPECT_EQ(shortcut.tiles, 20u);
  EXPECT_EQ(shortcut.full_waves, 2u);
  EXPECT_EQ(shortcut.tail_tiles, 4u);
  const double full = FullWaveSimulationNs(arch, mm, 128, 256);
  EXPECT_NEAR(shortcut.time_ns / full, 1.0, tolerance)
      << "shortcut " << shortcut.time_ns << " ns, full " << full << " ns";
}

TEST(WaveSchedule, ShortcutMatchesFullSimulationComputeBound) {
  ExpectShortcutMatchesFull({}, 1e-3);  // measured: equal
}

TEST(WaveSchedule, ShortcutMatchesFullSimulationMemoryBound) {
  // One HBM stack at half rate: 204.8 GB/s for 8 cores, 25.6 GB/s each, below the 34 GB/s
  // a 128 x 256 tile needs at full rate.
  ExpectShortcutMatchesFull({"hbm.stacks=1", "hbm.data_rate_gbps=1.6"}, 0.01);  // measured: +0.5%
}

TEST(WaveSchedule, TailWaveCostsAWholeTile) {
  // 108 SMs: 108 tiles of 128 x 256 are one wave; one more tile adds a tail wave that
  // leaves 107 SMs idle and costs nearly a whole tile's time (the tail wave's one tile has
  // all the bandwidth, but the tile is compute-bound).
  const ArchConfig arch = Preset("a100-80gb");
  const WaveRun one = SimulateMatmulWaves(arch, Gemm(108 * 128, 4096, 256), 128, 256);
  const WaveRun tail = SimulateMatmulWaves(arch, Gemm(109 * 128, 4096, 256), 128, 256);
  EXPECT_EQ(one.full_waves, 1u);
  EXPECT_EQ(one.tail_tiles, 0u);
  EXPECT_EQ(tail.tail_tiles, 1u);
  // A tile: 2 x 128 x 256 x 4096 FLOPs at 2048 FLOPs/cycle x 1.41 GHz = 92.9 us.
  const double tile_ns = 2.0 * 128 * 256 * 4096 / (2048 * 1.41);
  EXPECT_GT(tail.time_ns - one.time_ns, 0.9 * tile_ns);
  EXPECT_LT(tail.time_ns - one.time_ns, 1.1 * tile_ns);
  // And never faster than the roofline of the whole chip.
  EXPECT_GE(one.time_ns, 2.0 * 108 * 128 * 256 * 4096 / arch.PeakFlopsPerNs());
}

TEST(WaveSchedule, L2ReuseCutsHbmTraffic) {
  const ArchConfig arch = Preset("h100-sxm");
  const WaveRun w = SimulateMatmulWaves(arch, Gemm(8192, 8192, 8192));
  EXPECT_LT(w.hbm_bytes, w.l2_bytes / 3);  // panels shared by a wave's tiles come once
  const ArchConfig no_l2 = Preset("h100-sxm", {"chip.l2_bytes=0"});
  const WaveRun n = SimulateMatmulWaves(no_l2, Gemm(8192, 8192, 8192), w.tile_m, w.tile_n);
  EXPECT_EQ(n.hbm_bytes, n.l2_bytes);
  EXPECT_GE(n.time_ns, w.time_ns);
}

TEST(WaveSchedule, AnL2WithoutWavesIsAnInputError) {
  try {
    Preset("a100-80gb", {"chip.schedule=split"});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("a100-80gb.toml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("chip.l2_bytes = 41943040 needs chip.schedule"),
              std::string::npos)
        << e.what();
  }
}

TEST(WaveSchedule, NoTileFitsIsAnInputError) {
  const ArchConfig arch =
      Preset("h100-sxm", {"core.scratchpad.partition_bytes=256"});  // 16 KiB of shared memory
  try {
    SimulateMatmulWaves(arch, Gemm(1024, 1024, 1024));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("core.scratchpad.partition_bytes"), std::string::npos);
  }
}

}  // namespace
}  // namespace systole
