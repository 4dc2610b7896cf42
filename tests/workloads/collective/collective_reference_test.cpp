// The two oracles of collective timing agree: the fast synchronous-step model
// (TimeCollective) and the every-rank, every-transfer simulation (SimulateEveryRank).
// HBM is made fast (64 stacks, 26 TB/s) so links decide, as the reference assumes.
#include "workloads/collective/collective_reference.h"

#include <gtest/gtest.h>

#include "sim/config/arch_config.h"

namespace systole {
namespace {

ArchConfig System(std::vector<std::string> p) {
  p.push_back("hbm.stacks=64");
  p.push_back("system.link_bandwidth_gbps=25");
  p.push_back("system.link_latency_ns=1000");
  return LoadArchConfig("", p);
}

CollectiveCall Call(CollectiveKind kind, CollectiveAlgo algo, std::uint64_t ranks) {
  CollectiveCall c;
  c.kind = kind;
  c.bytes = 800'000'000;
  c.group.ranks = ranks;
  c.algo = algo;
  return c;
}

struct Case {
  std::vector<std::string> system;
  CollectiveAlgo algo;
};

// Uniform: every transfer of a step sees the same load and latency (single-hop
// neighbours, or a switch), so both oracles give the closed forms.
TEST(CollectiveReference, EqualOnUniformSystems) {
  const std::vector<Case> cases = {
      {{"system.chips_per_node=8", "system.topology=switch"}, CollectiveAlgo::kRing},
      {{"system.chips_per_node=8", "system.topology=switch"}, CollectiveAlgo::kHalvingDoubling},
      {{"system.chips_per_node=8", "system.topology=ring"}, CollectiveAlgo::kRing},
      {{"system.chips_per_node=8", "system.topology=fully_connected", "system.links_per_chip=7"},
       CollectiveAlgo::kRing},
      {{"system.chips_per_node=8", "system.topology=fully_connected", "system.links_per_chip=7"},
       CollectiveAlgo::kHalvingDoubling},
      {{"chip.cores=2", "system.chips_per_node=4", "system.topology=switch",
        "core.dma.setup_latency_ns=1000"},
       CollectiveAlgo::kRing},
  };
  for (const Case& c : cases) {
    const ArchConfig arch = System(c.system);
    const std::uint64_t p = arch.cores * arch.system.chips();
    for (CollectiveKind kind :
         {CollectiveKind::kAllReduce, CollectiveKind::kReduceScatter, CollectiveKind::kAllGather}) {
      const CollectiveCall call = Call(kind, c.algo, p);
      const double fast = TimeCollective(arch, call).time_ns;
      const double every_rank = SimulateEveryRank(arch, call);
      EXPECT_NEAR(fast, every_rank, 1e-9 * fast)
          << c.system[0] << " " << c.system[1] << " " << CollectiveAlgoName(c.algo) << " "
          << CollectiveKindName(kind);
    }
  }
}

// Mixed: transfers of one step see different loads or latencies (a ring crossing nodes,
// a snake round a torus, halving-doubling partners at different hop counts). The
// synchronous model charges every step its slowest transfer; ranks in the simulation may
// run ahead, so it is never slower, and not by much.
TEST(CollectiveReference, NeverSlowerOnMixedSystems) {
  const std::vector<Case> cases = {
      {{"system.chips_per_node=4", "system.nodes=2", "system.topology=switch",
        "system.node_bandwidth_gbps=40"},
       CollectiveAlgo::kRing},
      {{"system.chips_per_node=16", "system.topology=torus2d"}, CollectiveAlgo::kRing},
      {{"system.chips_per_node=8", "system.topology=ring"}, CollectiveAlgo::kHalvingDoubling},
      {{"chip.cores=2", "system.chips_per_node=4", "system.topology=switch"},
       CollectiveAlgo::kHalvingDoubling},
  };
  for (const Case& c : cases) {
    const ArchConfig arch = System(c.system);
    const std::uint64_t p = arch.cores * arch.system.chips();
    const CollectiveCall call = Call(CollectiveKind::kAllReduce, c.algo, p);
    const double fast = TimeCollective(arch, call).time_ns;
    const double every_rank = SimulateEveryRank(arch, call);
    EXPECT_LE(every_rank, fast * (1 + 1e-9)) << c.system[0] << " " << c.system[1];
    EXPECT_GT(every_rank, 0.8 * fast) << c.system[0] << " " << c.system[1];
  }
}

}  // namespace
}  // namespace systole
