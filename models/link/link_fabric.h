// Links as shared resources: the time of one synchronous communication step.
//
// What it models
//   A step is a set of flows (src rank -> dst rank, bytes) that start together; the step
//   ends when the most loaded resource has moved its bytes. Resources, per level of
//   models/link/system_config.h:
//     chip     each core's DMA queues (queues x queue_bandwidth_gbps, every byte the core
//              sends) and each chip's HBM (peak bandwidth; a flow reads its bytes at the
//              source and writes them at the destination, and a reducing flow also reads
//              both operands and writes the sum: 2 or 5 bytes of HBM traffic per byte).
//     node     directed chip-to-chip links. ring: links_per_chip / 2 links to each
//              neighbour; torus2d: links_per_chip / 4 to each of 4 neighbours, x-then-y
//              dimension-order routing; shortest way round each ring, ties broken by the
//              flow's direction hint. fully_connected: links_per_chip / (chips - 1) links
//              to each other chip. switch: each chip's links_per_chip links form one
//              uplink and one downlink (a non-blocking switch).
//     network  fat_tree: one egress per node (node_bandwidth_gbps / oversubscription when
//              oversubscription > 1: the spine is assumed crossed). rail_optimized: one
//              NIC per chip (node_bandwidth_gbps / chips_per_node); a flow between chips
//              of different index crosses rails and is charged oversubscription x bytes.
//              Both divided among `network_share` groups using the network at once.
//   Time = max over resources (bytes on it / its bandwidth) plus the latency of the
//   slowest flow: link_latency_ns per hop (one hop through a switch or a direct link),
//   node_latency_ns across nodes, core.dma.setup_latency_ns between cores of one chip.
//   Flows are given from the representative node only (symmetric ranks): every other
//   node carries the same load.
//
// What it ignores
//   Store-and-forward vs cut-through differences, packetisation, routing adaptivity,
//   ingress contention beyond the egress mirror image (symmetric patterns), HBM bank
//   effects (the timed HBM model does that when transfers run as DMA instructions).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "models/link/system_config.h"

namespace systole {

struct ArchConfig;

struct Flow {
  std::uint64_t src = 0;  // global rank (core)
  std::uint64_t dst = 0;
  double bytes = 0;
  int direction_hint = +1;  // +1 / -1: way round a ring on a tie
};

struct RankPosition {
  std::uint64_t core = 0, chip = 0, node = 0;  // chip within its node
};

struct StepLoad {
  double latency_ns = 0;
  double link_ns = 0;                      // slowest chip-to-chip link
  double network_ns = 0;                   // slowest network resource
  double dma_ns = 0;                       // busiest core's DMA queues
  double hbm_ns = 0;                       // busiest chip's HBM
  double hbm_bytes = 0;                    // of the busiest chip
  SystemLevel level = SystemLevel::kChip;  // slowest level crossed
  // Bytes the flows from `probe_rank` send over each level.
  std::array<double, kSystemLevels> probe_bytes{0, 0, 0};
  double transfer_ns() const;  // max of the four resource times
  double time_ns() const { return latency_ns + transfer_ns(); }
};

class LinkFabric {
 public:
  explicit LinkFabric(const ArchConfig& arch);
  std::uint64_t total_ranks() const { return total_ranks_; }
  RankPosition Locate(std::uint64_t rank) const;
  // Chip-to-chip hops between two chips of one node (0 for the same chip).
  std::uint64_t Hops(std::uint64_t chip_a, std::uint64_t chip_b) const;
  SystemLevel LevelBetween(std::uint64_t rank_a, std::uint64_t rank_b) const;
  StepLoad Time(const std::vector<Flow>& flows, bool reduce, double network_share,
                std::uint64_t probe_rank) const;
  // The resources one flow occupies alone (its source core's DMA queues, the chip-to-chip
  // links of its route, its network egress) with their bandwidth in GB/s, and its latency.
  // Used by the every-rank reference simulation (workloads/collective/collective_reference.h).
  struct Resource {
    std::uint64_t id;
    double gbps;
  };
  std::vector<Resource> ResourcesOf(const Flow& flow, double network_share,
                                    double* latency_ns) const;
  double dma_gbps() const { return dma_gbps_; }
  double hbm_gbps() const { return hbm_gbps_; }

 private:
  // Directed links of the chip-to-chip fabric a flow crosses, appended to `out`.
  void Route(std::uint64_t src_chip, std::uint64_t dst_chip, int hint,
             std::vector<std::uint64_t>& out) const;
  double LinkCapacityGBps() const;

  SystemConfig sys_;
  std::uint64_t cores_;
  std::uint64_t total_ranks_;
  std::uint64_t torus_x_ = 1, torus_y_ = 1;
  double dma_gbps_;
  double hbm_gbps_;
  double dma_latency_ns_;
};

}  // namespace systole
