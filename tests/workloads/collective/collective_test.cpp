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

TEST(Collective, ZeroBytesIsAnInputError) {
  const ArchConfig arch = SwitchSystem();
  EXPECT_THROW(TimeCollective(arch, Call(CollectiveKind::kAllReduce, 0, 8, CollectiveAlgo::kAuto)),
               InputError);
}

}  // namespace
}  // namespace systole
