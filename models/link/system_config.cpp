#include "models/link/system_config.h"

#include <fmt/format.h>

#include <cstdlib>

#include "base/error.h"
#include "models/chip/arch_config.h"

namespace systole {

const char* SystemLevelName(SystemLevel level) {
  switch (level) {
    case SystemLevel::kChip:
      return "chip";
    case SystemLevel::kNode:
      return "node";
    case SystemLevel::kNetwork:
      return "network";
  }
  return "?";
}

const char* ChipTopologyName(ChipTopology t) {
  switch (t) {
    case ChipTopology::kRing:
      return "ring";
    case ChipTopology::kTorus2d:
      return "torus2d";
    case ChipTopology::kFullyConnected:
      return "fully_connected";
    case ChipTopology::kSwitch:
      return "switch";
  }
  return "?";
}

const char* NetworkTopologyName(NetworkTopology t) {
  return t == NetworkTopology::kFatTree ? "fat_tree" : "rail_optimized";
}

std::uint64_t SystemConfig::TorusX() const {
  if (torus_x != 0) return torus_x;
  std::uint64_t best = 1;
  for (std::uint64_t x = 1; x * x <= chips_per_node; ++x) {
    if (chips_per_node % x == 0) best = x;
  }
  return best;
}

void LoadSystemConfig(ArchConfig& arch) {
  const auto& v = arch.values;
  auto u64 = [&](const char* key) { return std::strtoull(v.at(key).c_str(), nullptr, 10); };
  auto f64 = [&](const char* key) { return std::strtod(v.at(key).c_str(), nullptr); };
  SystemConfig& s = arch.system;
  s.chips_per_node = u64("system.chips_per_node");
  s.nodes = u64("system.nodes");
  const std::string& topo = v.at("system.topology");
  s.topology = topo == "ring"      ? ChipTopology::kRing
               : topo == "torus2d" ? ChipTopology::kTorus2d
               : topo == "switch"  ? ChipTopology::kSwitch
                                   : ChipTopology::kFullyConnected;
  s.torus_x = u64("system.torus_x");
  s.links_per_chip = u64("system.links_per_chip");
  s.link_bandwidth_gbps = f64("system.link_bandwidth_gbps");
  s.link_latency_ns = f64("system.link_latency_ns");
  s.network = v.at("system.network") == "fat_tree" ? NetworkTopology::kFatTree
                                                   : NetworkTopology::kRailOptimized;
  s.node_bandwidth_gbps = f64("system.node_bandwidth_gbps");
  s.node_latency_ns = f64("system.node_latency_ns");
  s.oversubscription = f64("system.oversubscription");

  // A topology the links cannot build: one line naming the key and its value.
  auto bad = [&](const char* key, const std::string& why) {
    const std::string& where = arch.sources.at(key);
    if (where == "default") {
      return InputError(fmt::format("{} = {} (default): {}", key, v.at(key), why));
    }
    return InputError(fmt::format("{}: {} = {}: {}", where, key, v.at(key), why));
  };
  const std::uint64_t k = s.chips_per_node;
  if (k == 1) return;  // no chip-to-chip links in use
  switch (s.topology) {
    case ChipTopology::kRing:
      if (s.links_per_chip < 2) {
        throw bad("system.links_per_chip", "a ring needs at least 2 links per chip");
      }
      if (s.links_per_chip % 2 != 0) {
        throw bad("system.links_per_chip",
                  "a ring splits its links evenly over its 2 neighbours: expected an even "
                  "number");
      }
      break;
    case ChipTopology::kTorus2d: {
      const std::uint64_t x = s.TorusX();
      if (k % x != 0) {
        throw bad("system.torus_x", fmt::format("must divide system.chips_per_node ({})", k));
      }
      if (x < 2 || k / x < 2) {
        throw bad(s.torus_x != 0 ? "system.torus_x" : "system.chips_per_node",
                  fmt::format("a 2-D torus needs at least 2 chips on each side (x = {}, "
                              "y = {}); use system.topology = \"ring\"",
                              x, k / x));
      }
      if (s.links_per_chip < 4 || s.links_per_chip % 4 != 0) {
        throw bad("system.links_per_chip",
                  "a 2-D torus splits its links evenly over 4 neighbours: expected a "
                  "multiple of 4");
      }
      break;
    }
    case ChipTopology::kFullyConnected:
      if (s.links_per_chip < k - 1 || s.links_per_chip % (k - 1) != 0) {
        throw bad("system.links_per_chip",
                  fmt::format("fully connected {} chips need a multiple of {} links per chip "
                              "(one or more to each other chip)",
                              k, k - 1));
      }
      break;
    case ChipTopology::kSwitch:
      break;
  }
}

}  // namespace systole
