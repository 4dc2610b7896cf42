// Collectives on the core's timeline: kDmaLink instructions (workloads/collective/
// collective_program.h) run by the engine-level core agree with TimeCollective alone and
// slow down when compute traffic shares the HBM.
#include "workloads/collective/collective_program.h"

#include <gtest/gtest.h>

#include "models/core/core.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

// 8 chips on a switch, B = 4 x 25 = 100 GB/s per chip, alpha = 1 us, no DMA setup latency.
std::vector<std::string> Switch8() {
  return {"system.chips_per_node=8",     "system.topology=switch",
          "system.links_per_chip=4",     "system.link_bandwidth_gbps=25",
          "system.link_latency_ns=1000", "core.dma.setup_latency_ns=0"};
}

CollectiveResult RingAllReduce(const ArchConfig& arch) {
  CollectiveCall c;
  c.bytes = 800'000'000;
  c.group.ranks = 8;
  c.algo = CollectiveAlgo::kRing;
  return TimeCollective(arch, c);
}

TEST(CollectiveProgram, AloneMatchesTheFastModel) {
  std::vector<std::string> p = Switch8();
  p.push_back("hbm.stacks=64");  // 26 TB/s: links decide
  const ArchConfig arch = LoadArchConfig("", p);
  const CollectiveResult r = RingAllReduce(arch);
  const Program program = CollectiveProgram(arch, r);
  // 14 steps x 16 queues.
  EXPECT_EQ(program.instructions.size(), 14u * 16u);
  const CoreRunResult run = RunCore(arch, program, {});
  // 2 x 7/8 x 8e8 / 100 + 14 x 1000 ns; each step also writes its last received 1/16 chunk
  // to HBM after delivery (6.25 MB at 26 TB/s, 0.24 us): within 0.1 %.
  EXPECT_DOUBLE_EQ(r.time_ns, 14e6 + 14'000);
  EXPECT_NEAR(run.time_ns, r.time_ns, 1e-3 * r.time_ns);
  EXPECT_GE(run.time_ns, r.time_ns);
  EXPECT_EQ(run.hbm_bytes, program.hbm_bytes);
  EXPECT_DOUBLE_EQ(static_cast<double>(program.hbm_bytes), r.hbm_bytes);
}

TEST(CollectiveProgram, ComputeTrafficOnTheSameHbmSlowsItDown) {
  const ArchConfig arch = LoadArchConfig("", Switch8());  // 819.2 GB/s HBM
  const CollectiveResult r = RingAllReduce(arch);
  Program alone;
  alone.kernel_name = "collective";
  AppendCollective(alone, arch, r, 0, 0, 8, {});
  const double t_alone = RunCore(arch, alone, {}).time_ns;

  // The same, with queues 8..15 streaming 4 GB from HBM into the scratchpad meanwhile
  // (1 MiB loads: 128 partitions x 8 KiB), as a compute kernel's operand loads would.
  Program busy = alone;
  busy.names.push_back("operand load");
  const std::uint64_t load_bytes = 1 << 20;
  const int loads = 4000;
  for (int i = 0; i < loads; ++i) {
    Instruction in;
    in.op = Opcode::kDmaLoad;
    in.engine = {EngineKind::kDma, static_cast<std::uint16_t>(8 + i % 8)};
    in.name = static_cast<std::uint32_t>(busy.names.size() - 1);
    in.hbm = {(1ull << 32) + static_cast<std::uint64_t>(i) * load_bytes, load_bytes, 1, load_bytes};
    in.dst = {MemorySpace::kScratchpad, 0, 128, static_cast<std::uint32_t>((i % 16) * 8192), 8192};
    busy.instructions.push_back(in);
    busy.hbm_bytes += load_bytes;
  }
  busy.dma_queues = 16;
  const CoreRunResult run = RunCore(arch, busy, {});
  EXPECT_GT(run.time_ns, t_alone * 1.05);
  // Never faster than all its HBM traffic at peak bandwidth.
  EXPECT_GE(run.time_ns, static_cast<double>(busy.hbm_bytes) / arch.hbm.PeakGBps());
}

}  // namespace
}  // namespace systole
