#include "models/link/link_fabric.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "models/chip/arch_config.h"

namespace systole {

namespace {

// Signed shortest way from a to b round a ring of n (ties go the hinted way).
std::int64_t RingDelta(std::uint64_t a, std::uint64_t b, std::uint64_t n, int hint) {
  const std::uint64_t fwd = (b + n - a) % n;
  const std::uint64_t back = (n - fwd) % n;
  if (fwd == 0) return 0;
  if (fwd < back || (fwd == back && hint > 0)) return static_cast<std::int64_t>(fwd);
  return -static_cast<std::int64_t>(back);
}

}  // namespace

double StepLoad::transfer_ns() const {
  return std::max(std::max(link_ns, network_ns), std::max(dma_ns, hbm_ns));
}

LinkFabric::LinkFabric(const ArchConfig& arch)
    : sys_(arch.system),
      cores_(arch.cores),
      total_ranks_(arch.cores * arch.system.chips()),
      dma_gbps_(static_cast<double>(arch.core.dma.queues) * arch.core.dma.queue_bandwidth_gbps),
      hbm_gbps_(arch.hbm.PeakGBps()),
      dma_latency_ns_(arch.core.dma.setup_latency_ns) {
  if (sys_.topology == ChipTopology::kTorus2d && sys_.chips_per_node > 1) {
    torus_x_ = sys_.TorusX();
    torus_y_ = sys_.chips_per_node / torus_x_;
  }
}

RankPosition LinkFabric::Locate(std::uint64_t rank) const {
  RankPosition p;
  p.core = rank % cores_;
  const std::uint64_t chip_global = rank / cores_;
  p.chip = chip_global % sys_.chips_per_node;
  p.node = chip_global / sys_.chips_per_node;
  return p;
}

SystemLevel LinkFabric::LevelBetween(std::uint64_t a, std::uint64_t b) const {
  const RankPosition pa = Locate(a), pb = Locate(b);
  if (pa.node != pb.node) return SystemLevel::kNetwork;
  if (pa.chip != pb.chip) return SystemLevel::kNode;
  return SystemLevel::kChip;
}

std::uint64_t LinkFabric::Hops(std::uint64_t a, std::uint64_t b) const {
  if (a == b) return 0;
  const std::uint64_t k = sys_.chips_per_node;
  switch (sys_.topology) {
    case ChipTopology::kRing: {
      const std::int64_t d = RingDelta(a, b, k, +1);
      return static_cast<std::uint64_t>(d < 0 ? -d : d);
    }
    case ChipTopology::kTorus2d: {
      const std::int64_t dx = RingDelta(a % torus_x_, b % torus_x_, torus_x_, +1);
      const std::int64_t dy = RingDelta(a / torus_x_, b / torus_x_, torus_y_, +1);
      return static_cast<std::uint64_t>((dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy));
    }
    case ChipTopology::kFullyConnected:
    case ChipTopology::kSwitch:
      return 1;
  }
  return 1;
}

double LinkFabric::LinkCapacityGBps() const {
  const double links = static_cast<double>(sys_.links_per_chip);
  const double b = sys_.link_bandwidth_gbps;
  switch (sys_.topology) {
    case ChipTopology::kRing:
      return b * links / 2;
    case ChipTopology::kTorus2d:
      return b * links / 4;
    case ChipTopology::kFullyConnected:
      return b * links / static_cast<double>(sys_.chips_per_node - 1);
    case ChipTopology::kSwitch:
      return b * links;
  }
  return b;
}

// Link ids: ring (chip, dir) = chip * 2 + (dir < 0); torus chip * 4 + {+x, -x, +y, -y};
// fully connected src * chips + dst; switch uplink chip * 2, downlink chip * 2 + 1.
void LinkFabric::Route(std::uint64_t src, std::uint64_t dst, int hint,
                       std::vector<std::uint64_t>& out) const {
  const std::uint64_t k = sys_.chips_per_node;
  switch (sys_.topology) {
    case ChipTopology::kRing: {
      const std::int64_t d = RingDelta(src, dst, k, hint);
      const std::uint64_t steps = static_cast<std::uint64_t>(d < 0 ? -d : d);
      std::uint64_t at = src;
      for (std::uint64_t i = 0; i < steps; ++i) {
        out.push_back(at * 2 + (d < 0 ? 1 : 0));
        at = d < 0 ? (at + k - 1) % k : (at + 1) % k;
      }
      return;
    }
    case ChipTopology::kTorus2d: {
      std::uint64_t x = src % torus_x_, y = src / torus_x_;
      const std::int64_t dx = RingDelta(x, dst % torus_x_, torus_x_, hint);
      const std::int64_t dy = RingDelta(y, dst / torus_x_, torus_y_, hint);
      for (std::int64_t i = 0; i < (dx < 0 ? -dx : dx); ++i) {
        out.push_back((y * torus_x_ + x) * 4 + (dx < 0 ? 1 : 0));
        x = dx < 0 ? (x + torus_x_ - 1) % torus_x_ : (x + 1) % torus_x_;
      }
      for (std::int64_t i = 0; i < (dy < 0 ? -dy : dy); ++i) {
        out.push_back((y * torus_x_ + x) * 4 + (dy < 0 ? 3 : 2));
        y = dy < 0 ? (y + torus_y_ - 1) % torus_y_ : (y + 1) % torus_y_;
      }
      return;
    }
    case ChipTopology::kFullyConnected:
      out.push_back(src * k + dst);
      return;
    case ChipTopology::kSwitch:
      out.push_back(src * 2);
      out.push_back(dst * 2 + 1);
      return;
  }
}

std::vector<LinkFabric::Resource> LinkFabric::ResourcesOf(const Flow& f, double network_share,
                                                          double* latency_ns) const {
  // Resource ids: kind in the top bits, then the index used by Time().
  constexpr std::uint64_t kDma = 1ull << 60, kLink = 2ull << 60, kNic = 3ull << 60;
  std::vector<Resource> out;
  const RankPosition s = Locate(f.src), d = Locate(f.dst);
  out.push_back({kDma | f.src, dma_gbps_});
  *latency_ns = dma_latency_ns_;
  if (s.node != d.node) {
    *latency_ns = sys_.node_latency_ns;
    double cap = sys_.node_bandwidth_gbps / std::max(1.0, network_share);
    if (sys_.network == NetworkTopology::kRailOptimized) {
      cap /= static_cast<double>(sys_.chips_per_node);
      if (s.chip != d.chip) cap /= sys_.oversubscription;
      out.push_back({kNic | (f.src / cores_), cap});
    } else {
      out.push_back({kNic | s.node, cap / sys_.oversubscription});
    }
  } else if (s.chip != d.chip) {
    std::vector<std::uint64_t> path;
    Route(s.chip, d.chip, f.direction_hint, path);
    // Links of the representative node only (every node is the same); ids per node.
    for (std::uint64_t id : path) out.push_back({kLink | (s.node << 40) | id, LinkCapacityGBps()});
    const double hops = sys_.topology == ChipTopology::kSwitch ? 1.0 : path.size();
    *latency_ns = sys_.link_latency_ns * hops;
  }
  return out;
}

StepLoad LinkFabric::Time(const std::vector<Flow>& flows, bool reduce, double network_share,
                          std::uint64_t probe_rank) const {
  StepLoad load;
  std::map<std::uint64_t, double> link_bytes;  // directed chip-to-chip links
  std::map<std::uint64_t, double> core_bytes;  // per source rank (DMA)
  std::map<std::uint64_t, double> chip_hbm;    // per source chip (HBM)
  std::map<std::uint64_t, double> nic_bytes;   // network egress (node or chip NIC)
  std::vector<std::uint64_t> path;
  const double hbm_per_byte = reduce ? 5.0 : 2.0;
  const bool rails = sys_.network == NetworkTopology::kRailOptimized;
  for (const Flow& f : flows) {
    if (f.src == f.dst || f.bytes <= 0) continue;
    const RankPosition s = Locate(f.src), d = Locate(f.dst);
    core_bytes[f.src] += f.bytes;
    chip_hbm[f.src / cores_] += hbm_per_byte * f.bytes;
    SystemLevel level = SystemLevel::kChip;
    double latency = dma_latency_ns_;
    if (s.node != d.node) {
      level = SystemLevel::kNetwork;
      latency = sys_.node_latency_ns;
      if (rails) {
        nic_bytes[f.src / cores_] += f.bytes * (s.chip == d.chip ? 1.0 : sys_.oversubscription);
      } else {
        nic_bytes[s.node] += f.bytes;
      }
    } else if (s.chip != d.chip) {
      level = SystemLevel::kNode;
      path.clear();
      Route(s.chip, d.chip, f.direction_hint, path);
      for (std::uint64_t id : path) link_bytes[id] += f.bytes;
      const double hops = sys_.topology == ChipTopology::kSwitch ? 1.0 : path.size();
      latency = sys_.link_latency_ns * hops;
    }
    if (static_cast<int>(level) > static_cast<int>(load.level)) load.level = level;
    load.latency_ns = std::max(load.latency_ns, latency);
    if (f.src == probe_rank) load.probe_bytes[static_cast<int>(level)] += f.bytes;
  }
  const double link_cap = LinkCapacityGBps();
  for (const auto& [id, bytes] : link_bytes)
    load.link_ns = std::max(load.link_ns, bytes / link_cap);
  for (const auto& [rank, bytes] : core_bytes)
    load.dma_ns = std::max(load.dma_ns, bytes / dma_gbps_);
  for (const auto& [chip, bytes] : chip_hbm) {
    load.hbm_bytes = std::max(load.hbm_bytes, bytes);
    load.hbm_ns = std::max(load.hbm_ns, bytes / hbm_gbps_);
  }
  double nic_cap = sys_.node_bandwidth_gbps / std::max(1.0, network_share);
  if (rails) {
    nic_cap /= static_cast<double>(sys_.chips_per_node);
  } else {
    nic_cap /= sys_.oversubscription;
  }
  for (const auto& [id, bytes] : nic_bytes)
    load.network_ns = std::max(load.network_ns, bytes / nic_cap);
  return load;
}

}  // namespace systole
