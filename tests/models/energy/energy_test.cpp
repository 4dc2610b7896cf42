// Energy from activity: a hand-written program whose activity is known in closed form, the
// energy table applied term by term, and zero activity (static power x time only).
#include "models/energy/energy_model.h"

#include <gtest/gtest.h>

#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

OnChipRegion Sbuf(std::uint32_t offset, std::uint32_t bytes) {
  return {MemorySpace::kScratchpad, 0, 128, offset, bytes};
}
OnChipRegion Psum(std::uint32_t offset, std::uint32_t bytes) {
  return {MemorySpace::kAccumulator, 0, 128, offset, bytes};
}

// load A (128 x 1024 B) -> matmul 128x128x512 bf16 -> vector copy of the result out of the
// accumulator -> exp on the scalar engine -> store (128 x 1024 B); each waits for the last.
Program ClosedFormProgram() {
  Program p;
  p.kernel_name = "energy";
  p.names = {"op"};
  Instruction load;
  load.op = Opcode::kDmaLoad;
  load.engine = {EngineKind::kDma, 0};
  load.hbm = {0, 131072, 1, 131072};
  load.dst = Sbuf(0, 1024);
  Instruction mm;
  mm.op = Opcode::kMatmul;
  mm.engine = {EngineKind::kTensor, 0};
  mm.dtype = Dtype::kBf16;
  mm.partitions = 128;
  mm.stationary_cols = 128;
  mm.moving_cols = 512;
  mm.src0 = Sbuf(0, 256);      // stationary 128 x 128 bf16
  mm.src1 = Sbuf(4096, 1024);  // moving 128 x 512 bf16
  mm.dst = Psum(0, 2048);      // 128 x 512 fp32
  mm.waits = {0};
  Instruction copy;
  copy.op = Opcode::kVectorUnary;
  copy.engine = {EngineKind::kVector, 0};
  copy.partitions = 128;
  copy.free_elems = 512;
  copy.src0 = Psum(0, 2048);
  copy.dst = Sbuf(8192, 1024);
  copy.waits = {1};
  Instruction exp;
  exp.op = Opcode::kActivation;
  exp.engine = {EngineKind::kScalar, 0};
  exp.fn = ActivationFn::kExp;
  exp.partitions = 128;
  exp.free_elems = 512;
  exp.src0 = Sbuf(8192, 1024);
  exp.dst = Sbuf(16384, 1024);
  exp.waits = {2};
  Instruction store;
  store.op = Opcode::kDmaStore;
  store.engine = {EngineKind::kDma, 1};
  store.src0 = Sbuf(16384, 1024);
  store.hbm = {1 << 20, 131072, 1, 131072};
  store.waits = {3};
  p.instructions = {load, mm, copy, exp, store};
  p.dma_queues = 2;
  return p;
}

ArchConfig RoundTable() {
  return LoadArchConfig("", {"core.tensor.energy_pj_per_mac_bf16=1",
                             "core.vector.energy_pj_per_element=2",
                             "core.scalar.energy_pj_per_element=3",
                             "core.scratchpad.read_pj_per_byte=0.5",
                             "core.scratchpad.write_pj_per_byte=0.25",
                             "core.accumulator.read_pj_per_byte=1",
                             "core.accumulator.write_pj_per_byte=2",
                             "hbm.read_pj_per_bit=1",
                             "hbm.write_pj_per_bit=2",
                             "hbm.activate_pj=100",
                             "core.tensor.static_w=1",
                             "core.vector.static_w=0",
                             "core.scalar.static_w=0",
                             "core.scratchpad.static_w=0",
                             "core.accumulator.static_w=0",
                             "core.dma.static_w=0",
                             "hbm.static_w=2",
                             "chip.uncore_static_w=3",
                             "server.chips=16",
                             "server.host_cpu_w=16",
                             "server.nic_w=0",
                             "server.fans_w=0",
                             "server.psu_efficiency=0.5"});
}

TEST(Energy, ActivityOfAKernelIsItsClosedForm) {
  const CoreRunResult r = RunCore(RoundTable(), ClosedFormProgram(), {});
  const Activity& a = r.activity;
  EXPECT_EQ(a.macs[static_cast<int>(Dtype::kBf16)], 128.0 * 128 * 512);  // 8388608
  EXPECT_EQ(a.TotalMacs(), 128.0 * 128 * 512);
  EXPECT_EQ(a.vector_elements, 128.0 * 512);
  EXPECT_EQ(a.scalar_elements, 128.0 * 512);
  // Scratchpad reads: stationary 32768 + moving 131072 (matmul) + 131072 (exp input) +
  // 131072 (store) = 425984; writes: load 131072 + copy 131072 + exp 131072 = 393216.
  EXPECT_EQ(a.scratchpad_read_bytes, 425984.0);
  EXPECT_EQ(a.scratchpad_write_bytes, 393216.0);
  // Accumulator: the matmul writes 128 x 2048 B (no accumulate, no read); the copy reads it.
  EXPECT_EQ(a.accumulator_write_bytes, 262144.0);
  EXPECT_EQ(a.accumulator_read_bytes, 262144.0);
  EXPECT_EQ(a.hbm_read_bytes, 131072.0);
  EXPECT_EQ(a.hbm_write_bytes, 131072.0);
  // Bandwidth HBM model: one activation per 1024-byte row moved: 262144 / 1024.
  EXPECT_EQ(a.hbm_activations, 256.0);
  EXPECT_GT(a.tensor_busy_ns, 0.0);
  EXPECT_GT(a.dma_busy_ns, 0.0);
}

TEST(Energy, KernelEnergyIsActivityTimesTable) {
  const ArchConfig arch = RoundTable();
  const CoreRunResult r = RunCore(arch, ClosedFormProgram(), {});
  const EnergyBreakdown e = EnergyOf(arch.energy, r.activity, r.time_ns, arch.cores);
  // compute: 8388608 MACs x 1 pJ + 65536 x 2 pJ (vector) + 65536 x 3 pJ (scalar) = 8716288 pJ
  EXPECT_DOUBLE_EQ(e.compute_j, 8716288e-12);
  // on-chip: 425984 x 0.5 + 393216 x 0.25 + 262144 x 1 + 262144 x 2 = 1097728 pJ
  EXPECT_DOUBLE_EQ(e.onchip_j, 1097728e-12);
  // HBM: 131072 x 8 x 1 + 131072 x 8 x 2 + 256 activations x 100 = 3171328 pJ
  EXPECT_DOUBLE_EQ(e.hbm_j, 3171328e-12);
  EXPECT_EQ(e.link_j, 0.0);
  // static: (1 core x 1 W + HBM 2 W + uncore 3 W) = 6 W over the run
  const double t = r.time_ns * 1e-9;
  EXPECT_DOUBLE_EQ(e.static_j, 6.0 * t);
  // overheads: server share 16 W / 16 chips = 1 W; PSU at 50 %: loss = what it delivers.
  const double chip = (8716288e-12 + 1097728e-12 + 3171328e-12) + 6.0 * t;
  EXPECT_DOUBLE_EQ(e.overhead_j, 1.0 * t + (chip + 1.0 * t) * (1.0 / 0.5 - 1.0));
  EXPECT_DOUBLE_EQ(e.TotalJ(), 2.0 * (chip + 1.0 * t));
}

TEST(Energy, BankedHbmCountsActivations) {
  // The banked model counts the row activations it performs; the load and the store each
  // stream 128 KiB contiguously, so every activation opens a fresh 1 KiB row: 256 of them.
  const ArchConfig arch = RoundTable();
  CoreRunOptions options;
  options.hbm = HbmFidelity::kBanked;
  const CoreRunResult r = RunCore(arch, ClosedFormProgram(), options);
  EXPECT_EQ(r.activity.hbm_activations, 256.0);
}

TEST(Energy, ZeroActivityIsStaticPowerTimesTime) {
  const ArchConfig arch = LoadArchConfig("");  // default table
  const EnergyConfig& t = arch.energy;
  const double ns = 1e6;  // 1 ms
  const EnergyBreakdown e = EnergyOf(t, Activity{}, ns, arch.cores);
  EXPECT_EQ(e.DynamicJ(), 0.0);
  // Defaults: 1 core x (tensor 2 + vector 0.5 + scalar 0.5 + scratchpad 2 + accumulator 0.2
  // + DMA 0.5 = 5.7 W) + HBM 4 W + uncore 5 W = 14.7 W, for 1 ms.
  EXPECT_DOUBLE_EQ(t.ChipStaticW(1), 14.7);
  EXPECT_DOUBLE_EQ(e.static_j, 14.7 * 1e-3);
  // Server share: (540 + 160 + 300) W / 16 chips = 62.5 W; PSU 0.94.
  EXPECT_DOUBLE_EQ(e.overhead_j, 62.5e-3 + (14.7e-3 + 62.5e-3) * (1.0 / 0.94 - 1.0));
  // Two cores: the per-core blocks twice.
  EXPECT_DOUBLE_EQ(t.ChipStaticW(2), 2 * 5.7 + 4 + 5);
}

TEST(Energy, TpuV1BusyPowerIsNearTheMeasuredFigure) {
  // Jouppi et al., ISCA 2017, Table 2: one TPU die draws 28 W idle and 40 W busy. The preset
  // splits the 28 W over its blocks' static power; the busy figure is an independent check.
  // A weight-streaming int8 matmul (memory-bound on the 34 GB/s DDR3, as the paper's MLPs
  // and LSTMs are) gives 35.8 W: within 15 % of 40 W.
  const ArchConfig arch =
      LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/tpu-v1.toml");
  EXPECT_DOUBLE_EQ(arch.energy.ChipStaticW(1), 28.0);
  MatmulKernelOptions mm;
  mm.m = 4096;
  mm.k = 2048;
  mm.n = 2048;
  mm.dtype = Dtype::kFp8;  // the preset's int8
  const CoreRunResult r = RunCore(arch, BuildMatmulKernelForChip(arch, mm).front(), {});
  const double chip_w =
      EnergyOf(arch.energy, r.activity, r.time_ns, 1).ChipJ() / (r.time_ns * 1e-9);
  EXPECT_NEAR(chip_w, 40.0, 0.15 * 40.0);
  EXPECT_GT(chip_w, 28.0);
}

}  // namespace
}  // namespace systole
