// The system around the chip: cores, chips, nodes and the links between them.
//
// What it describes
//   A system of `nodes` nodes of `chips_per_node` chips of ArchConfig::cores cores. A rank
//   is one core; ranks are numbered core fastest, then chip within the node, then node:
//     rank = (node * chips_per_node + chip) * cores + core.
//   Three levels of links, innermost first:
//     chip    cores of one chip share its HBM: a transfer between them is an HBM-to-HBM
//             copy by the cores' DMA queues (no link; bounded by DMA and HBM bandwidth).
//     node    chip-to-chip links inside a node: `links_per_chip` links per chip, each
//             `link_bandwidth_gbps` per direction, `link_latency_ns` per message, in a
//             topology: ring, 2-D torus (torus_x x chips_per_node / torus_x), fully
//             connected (links split evenly over the other chips) or a switch.
//     network node-to-node: `node_bandwidth_gbps` per direction per node (all its NICs),
//             `node_latency_ns` per message, a fat tree (oversubscribed by
//             `oversubscription` above the leaf) or a rail-optimised network (chip i of
//             every node on rail i, non-blocking within a rail; traffic between rails
//             crosses the oversubscribed spine).
//
// What it ignores
//   Packet-level effects (MTU, headers, credits), adaptive routing, link failures, NIC
//   queue pairs, congestion control, the network's own topology below one figure per node.
//
// Parameters (units in the names): SystemConfig below, `systole params` (system.*). The
// defaults are one chip in one node, so single-chip presets are unchanged.
#pragma once

#include <cstdint>
#include <string>

namespace systole {

struct ArchConfig;

// Levels of the system, innermost first.
enum class SystemLevel : int { kChip = 0, kNode = 1, kNetwork = 2 };
inline constexpr int kSystemLevels = 3;
const char* SystemLevelName(SystemLevel level);

enum class ChipTopology { kRing, kTorus2d, kFullyConnected, kSwitch };
enum class NetworkTopology { kFatTree, kRailOptimized };

const char* ChipTopologyName(ChipTopology t);
const char* NetworkTopologyName(NetworkTopology t);

struct SystemConfig {
  std::uint64_t chips_per_node = 1;
  std::uint64_t nodes = 1;
  // Chip-to-chip, inside a node.
  ChipTopology topology = ChipTopology::kRing;
  std::uint64_t torus_x = 0;  // chips along x of the 2-D torus (0: the squarest factor)
  std::uint64_t links_per_chip = 4;
  double link_bandwidth_gbps = 48;  // GB/s per link per direction
  double link_latency_ns = 2000;    // ns per message (one hop, software included)
  // Node-to-node.
  NetworkTopology network = NetworkTopology::kFatTree;
  double node_bandwidth_gbps = 100;  // GB/s per node per direction (all NICs)
  double node_latency_ns = 15000;    // ns per message
  double oversubscription = 1;       // spine : leaf bandwidth ratio (1 = non-blocking)

  std::uint64_t chips() const { return chips_per_node * nodes; }
  // Per-chip injection bandwidth into the chip-to-chip fabric, GB/s per direction.
  double ChipInjectionGBps() const {
    return static_cast<double>(links_per_chip) * link_bandwidth_gbps;
  }
  // Torus x extent actually used (torus_x, or the largest factor <= sqrt(chips_per_node)).
  std::uint64_t TorusX() const;
};

// Fills arch.system from arch.values (system.* keys) and checks that the topology can be
// built (InputError naming the key and value otherwise).
void LoadSystemConfig(ArchConfig& arch);

}  // namespace systole
