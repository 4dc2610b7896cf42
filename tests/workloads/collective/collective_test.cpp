// Collectives against their closed forms (workloads/collective/collective.h). Each test
// builds a system where links are the bottleneck (DMA and HBM faster per byte), writes
// the closed form with its breakdown, and asserts the model's time equals it.
#include "workloads/collective/collective.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

// 8 chips on a switch, 4 links x 25 GB/s per direction = B 100 GB/s per chip, alpha 1 us.
// Per step DMA moves m at 16 x 27 = 432 GB/s and HBM moves 5m at 819.2 GB/s (163.8 GB/s
// of chunk): both faster than the 100 GB/s link.
ArchConfig SwitchSystem(std::vector<std::string> extra = {}) {
  std::vector<std::string> p = {"system.chips_per_node=8", "system.topology=switch",
                                "system.links_per_chip=4", "system.link_bandwidth_gbps=25",
                                "system.link_latency_ns=1000"};
  p.insert(p.end(), extra.begin(), extra.end());
  return LoadArchConfig("", p);
}

CollectiveCall Call(CollectiveKind kind, std::uint64_t bytes, std::uint64_t ranks,
                    CollectiveAlgo algo) {
  CollectiveCall c;
  c.kind = kind;
  c.bytes = bytes;
  c.group.ranks = ranks;
  c.algo = algo;
  return c;
}

TEST(Collective, RingAllReduceClosedForm) {
  const ArchConfig arch = SwitchSystem();
  const CollectiveResult r =
      TimeCollective(arch, Call(CollectiveKind::kAllReduce, 800'000'000, 8, CollectiveAlgo::kRing));
  // 2(p-1)/p S/B = 2 x 7/8 x 8e8 B / 100 B/ns = 14e6 ns; 2(p-1) alpha = 14 x 1000 ns.
  EXPECT_DOUBLE_EQ(r.time_ns, 14e6 + 14'000);
  EXPECT_DOUBLE_EQ(r.latency_ns, 14'000);
  EXPECT_EQ(r.algo, CollectiveAlgo::kRing);
  // The rank sends 14 chunks of S/p = 1e8 bytes over the node's links.
  EXPECT_DOUBLE_EQ(r.levels[1].bytes_sent, 14 * 1e8);
  // HBM: 7 reducing steps (5 x chunk) + 7 copying steps (2 x chunk).
  EXPECT_DOUBLE_EQ(r.hbm_bytes, 7 * 5e8 + 7 * 2e8);
}

TEST(Collective, HalvingDoublingAllReduceClosedForm) {
  const ArchConfig arch = SwitchSystem();
  const CollectiveResult r = TimeCollective(
      arch, Call(CollectiveKind::kAllReduce, 800'000'000, 8, CollectiveAlgo::kHalvingDoubling));
  // halving S/2 + S/4 + S/8, doubling the same: 2(p-1)/p S/B = 14e6 ns; 2 log2(8) alpha.
  EXPECT_DOUBLE_EQ(r.time_ns, 14e6 + 6'000);
}

TEST(Collective, TreeAllReduceClosedForm) {
  const ArchConfig arch = SwitchSystem();
  const CollectiveResult r =
      TimeCollective(arch, Call(CollectiveKind::kAllReduce, 800'000'000, 8, CollectiveAlgo::kTree));
  // Pipelined double binary tree: 2 S/B = 16e6 ns; 2 ceil(log2 8) alpha = 6 us.
  EXPECT_DOUBLE_EQ(r.time_ns, 16e6 + 6'000);
}

TEST(Collective, RingReduceScatterAllGatherAllToAllClosedForms) {
  const ArchConfig arch = SwitchSystem();
  const double expected = 7 * (1000 + 1e8 / 100);  // (p-1) (alpha + S/p / B), S/p = 1e8 B
  for (CollectiveKind kind :
       {CollectiveKind::kReduceScatter, CollectiveKind::kAllGather, CollectiveKind::kAllToAll}) {
    const CollectiveResult r =
        TimeCollective(arch, Call(kind, 800'000'000, 8, CollectiveAlgo::kRing));
    EXPECT_DOUBLE_EQ(r.time_ns, expected) << CollectiveKindName(kind);
  }
  // Halving-doubling reduce-scatter: S/2 + S/4 + S/8 = 7/8 S over B, log2(8) alphas.
  const CollectiveResult hd = TimeCollective(
      arch, Call(CollectiveKind::kReduceScatter, 800'000'000, 8, CollectiveAlgo::kHalvingDoubling));
  EXPECT_DOUBLE_EQ(hd.time_ns, 7e6 + 3'000);
}

TEST(Collective, BroadcastAndSendRecvClosedForms) {
  const ArchConfig arch = SwitchSystem();
  // Pipelined chain in k chunks: (p-2+k)(alpha + S/(kB)), S/B = 8e6 ns, alpha = 1000 ns;
  // k* = sqrt((p-2) S/B / alpha) = sqrt(48000) = 219.09: the better of 219 and 220.
  auto chain = [](double k) { return (6 + k) * (1000 + 8e6 / k); };
  const CollectiveResult ring =
      TimeCollective(arch, Call(CollectiveKind::kBroadcast, 800'000'000, 8, CollectiveAlgo::kRing));
  EXPECT_DOUBLE_EQ(ring.time_ns, std::min(chain(219), chain(220)));
  // Double binary tree: S/B + ceil(log2 p) alpha.
  const CollectiveResult tree =
      TimeCollective(arch, Call(CollectiveKind::kBroadcast, 800'000'000, 8, CollectiveAlgo::kTree));
  EXPECT_DOUBLE_EQ(tree.time_ns, 8e6 + 3'000);
  // Send/recv: alpha + S/B.
  const CollectiveResult p2p =
      TimeCollective(arch, Call(CollectiveKind::kSendRecv, 800'000'000, 2, CollectiveAlgo::kAuto));
  EXPECT_DOUBLE_EQ(p2p.time_ns, 1000 + 8e6);
}

// 2 nodes x 4 chips on a switch (B1 = 100 GB/s, alpha1 = 1 us), fat-tree network of
// 40 GB/s per node shared by its 4 chips (B2 = 10 GB/s per rank), alpha2 = 5 us.
TEST(Collective, HierarchicalAllReduceClosedForm) {
  const ArchConfig arch =
      LoadArchConfig("", {"system.chips_per_node=4", "system.nodes=2", "system.topology=switch",
                          "system.links_per_chip=4", "system.link_bandwidth_gbps=25",
                          "system.link_latency_ns=1000", "system.node_bandwidth_gbps=40",
                          "system.node_latency_ns=5000"});
  const CollectiveResult r = TimeCollective(
      arch, Call(CollectiveKind::kAllReduce, 800'000'000, 8, CollectiveAlgo::kHierarchical));
  // Inside the node (4 ranks): reduce-scatter then all-gather of S, halving-doubling
  // (2 alphas each; ring would take 3): 2 x (3/4 x 8e8 / 100) + 4 x 1000.
  const double node = 2 * (0.75 * 8e8 / 100) + 4 * 1000;
  // Across the 2 nodes: all-reduce of S/4 = 2e8: 2 x (1/2 x 2e8 / 10) + 2 x 5000.
  const double network = 2 * (0.5 * 2e8 / 10) + 2 * 5000;
  EXPECT_DOUBLE_EQ(r.time_ns, node + network);
  EXPECT_EQ(r.layout.ranks_at[1], 4u);
  EXPECT_EQ(r.layout.ranks_at[2], 2u);
  // The network carries 2 x S/4 / 2 = 2e8 bytes of this rank's data.
  EXPECT_DOUBLE_EQ(r.levels[2].bytes_sent, 2e8);
  // Auto picks it: the flat ring is limited by the network at every one of its 14 steps.
  const CollectiveResult best =
      TimeCollective(arch, Call(CollectiveKind::kAllReduce, 800'000'000, 8, CollectiveAlgo::kAuto));
  EXPECT_EQ(best.algo, CollectiveAlgo::kHierarchical);
}

// TPU v5e pod: 16 x 16 torus, 4 ICI ports x 50 GB/s per direction. A large all-reduce
// keeps all four links busy: 200 GB/s per chip, 256 x 200 GB/s = 51.2 TB/s, the pod's
// published all-reduce bandwidth (cloud.google.com/tpu/docs/v5e).
TEST(Collective, TpuV5ePodAllReduceBandwidthMatchesPublished) {
  const ArchConfig arch =
      LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/tpu-v5e-pod.toml");
  const CollectiveResult r = TimeCollective(
      arch, Call(CollectiveKind::kAllReduce, 1'000'000'000, 256, CollectiveAlgo::kAuto));
  EXPECT_EQ(r.algo, CollectiveAlgo::kHierarchical);
  const double link_gbps = r.levels[1].bytes_sent / r.levels[1].link_busy_ns;
  EXPECT_NEAR(link_gbps * 256 / 1000, 51.2, 1e-9);  // TB/s
}

TEST(Collective, BadInputNamesTheKey) {
  const ArchConfig arch = SwitchSystem();
  auto message = [&](const CollectiveCall& c) {
    try {
      TimeCollective(arch, c);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(Call(CollectiveKind::kAllReduce, 1000, 16, CollectiveAlgo::kAuto)),
            "collective ranks = 16: 16 ranks (stride 1, first 0) do not fit the system's 8 ranks "
            "(system.nodes 1 x system.chips_per_node 8 x chip.cores 1)");
  EXPECT_EQ(message(Call(CollectiveKind::kAllReduce, 1000, 6, CollectiveAlgo::kHalvingDoubling)),
            "collective algo = halving-doubling: does not implement all-reduce (it needs a "
            "power-of-two number of ranks, got 6)");
  EXPECT_EQ(message(Call(CollectiveKind::kAllToAll, 1000, 8, CollectiveAlgo::kTree)),
            "collective algo = tree: does not implement all-to-all");
  // 8 chips make a 2 x 4 torus with one link to each of 4 neighbours.
  EXPECT_NO_THROW(LoadArchConfig("", {"system.chips_per_node=8", "system.topology=torus2d"}));
}

TEST(Collective, TopologiesThePresetCannotBuild) {
  auto message = [](std::vector<std::string> p) {
    try {
      LoadArchConfig("", p);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({"system.chips_per_node=6", "system.topology=torus2d", "system.torus_x=4"}),
            "-p: system.torus_x = 4: must divide system.chips_per_node (6)");
  EXPECT_EQ(
      message({"system.chips_per_node=8", "system.topology=torus2d", "system.links_per_chip=6"}),
      "-p: system.links_per_chip = 6: a 2-D torus splits its links evenly over 4 "
      "neighbours: expected a multiple of 4");
  EXPECT_EQ(
      message({"system.chips_per_node=8", "system.topology=fully_connected"}),
      "system.links_per_chip = 4 (default): fully connected 8 chips need a multiple of 7 links "
      "per chip (one or more to each other chip)");
  EXPECT_EQ(message({"system.chips_per_node=7", "system.topology=torus2d"}),
            "-p: system.chips_per_node = 7: a 2-D torus needs at least 2 chips on each side "
            "(x = 1, y = 7); use system.topology = \"ring\"");
}

TEST(Collective, ZeroBytesIsAnInputError) {
  const ArchConfig arch = SwitchSystem();
  EXPECT_THROW(TimeCollective(arch, Call(CollectiveKind::kAllReduce, 0, 8, CollectiveAlgo::kAuto)),
               InputError);
}

}  // namespace
}  // namespace systole
