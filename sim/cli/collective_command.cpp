#include "sim/cli/collective_command.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/error.h"
#include "base/number_parse.h"
#include "sim/config/arch_config.h"
#include "workloads/collective/collective.h"

namespace systole {

std::uint64_t ParseByteCount(const std::string& text, const std::string& key) {
  auto bad = [&]() {
    return InputError(fmt::format(
        "{} = '{}': expected a whole number of bytes (e.g. 1e9, 4096, 512MiB, 1GB)", key, text));
  };
  // The number in the one grammar (base/number_parse.h), then an optional unit.
  std::size_t split = text.size();
  while (split > 0 && std::isalpha(static_cast<unsigned char>(text[split - 1])) &&
         text[split - 1] != 'e' && text[split - 1] != 'E') {
    --split;
  }
  double value = 0;
  std::string why;
  if (!ParseReal(std::string_view(text).substr(0, split), &value, &why) || value < 0) {
    throw bad();
  }
  const std::string unit = text.substr(split);
  double scale = 1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KB") {
    scale = 1e3;
  } else if (unit == "MB") {
    scale = 1e6;
  } else if (unit == "GB") {
    scale = 1e9;
  } else if (unit == "KiB") {
    scale = 1024.0;
  } else if (unit == "MiB") {
    scale = 1024.0 * 1024;
  } else if (unit == "GiB") {
    scale = 1024.0 * 1024 * 1024;
  } else {
    throw bad();
  }
  const double bytes = value * scale;
  if (bytes != std::floor(bytes) || bytes >= 1.8e19) throw bad();
  return static_cast<std::uint64_t>(bytes);
}

std::string FormatCollectiveSummary(const ArchConfig& arch, const CollectiveCall& call,
                                    const CollectiveResult& r) {
  std::string out;
  const SystemConfig& s = arch.system;
  out +=
      fmt::format("{} of {} bytes over {} ranks (stride {}) on {}\n", CollectiveKindName(call.kind),
                  call.bytes, call.group.ranks, call.group.stride, arch.name);
  out += fmt::format(
      "system: {} node(s) x {} chip(s) x {} core(s); chips: {} {} x {} GB/s; network: {} "
      "{} GB/s per node\n",
      s.nodes, s.chips_per_node, arch.cores, ChipTopologyName(s.topology), s.links_per_chip,
      s.link_bandwidth_gbps, NetworkTopologyName(s.network), s.node_bandwidth_gbps);
  out += fmt::format("group spread: {} per chip x {} chips per node x {} nodes{}\n",
                     r.layout.ranks_at[0], r.layout.ranks_at[1], r.layout.ranks_at[2],
                     r.layout.regular ? "" : " (irregular)");
  out += fmt::format("algorithm: {}{}\n", CollectiveAlgoName(r.algo),
                     call.algo == CollectiveAlgo::kAuto ? " (fastest)" : " (forced)");
  out += fmt::format("time_us: {:.3f}  (latency {:.3f} + transfer {:.3f})\n", r.time_ns / 1e3,
                     r.latency_ns / 1e3, r.transfer_ns / 1e3);
  const double algbw = static_cast<double>(call.bytes) / r.time_ns;  // bytes/ns = GB/s
  out += fmt::format("algorithm bandwidth_GBps: {:.3f}\n", algbw);
  out += fmt::format("{:<8} {:>6} {:>16} {:>16} {:>16} {:>16}\n", "level", "ranks",
                     "bandwidth_GBps", "bytes_sent", "link_busy_us", "latency_us");
  for (int l = 0; l < kSystemLevels; ++l) {
    const LevelUsage& u = r.levels[l];
    out += fmt::format("{:<8} {:>6} {:>16.3f} {:>16.0f} {:>16.3f} {:>16.3f}\n",
                       SystemLevelName(static_cast<SystemLevel>(l)), u.ranks, u.bandwidth_gbps,
                       u.bytes_sent, u.link_busy_ns / 1e3, u.latency_total_ns / 1e3);
  }
  out += fmt::format("hbm_bytes per rank: {:.0f}   dma_busy_us: {:.3f}\n", r.hbm_bytes,
                     r.dma_busy_ns / 1e3);
  if (r.candidates.size() > 1) {
    out += "candidates:";
    for (const auto& [algo, t] : r.candidates) {
      out += fmt::format(" {} {:.3f} us;", CollectiveAlgoName(algo), t / 1e3);
    }
    out += "\n";
  }
  return out;
}

std::string CollectiveJson(const ArchConfig& arch, const CollectiveCall& call,
                           const CollectiveResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = "systole.collective/1";
  j["arch"] = arch.name;
  j["collective"] = CollectiveKindName(call.kind);
  j["bytes"] = call.bytes;
  j["ranks"] = call.group.ranks;
  j["stride"] = call.group.stride;
  j["algo_requested"] = CollectiveAlgoName(call.algo);
  j["algo"] = CollectiveAlgoName(r.algo);
  j["time_ns"] = r.time_ns;
  j["latency_ns"] = r.latency_ns;
  j["transfer_ns"] = r.transfer_ns;
  j["hbm_bytes"] = r.hbm_bytes;
  j["dma_busy_ns"] = r.dma_busy_ns;
  j["layout"] = {{"ranks_per_chip", r.layout.ranks_at[0]},
                 {"chips_per_node", r.layout.ranks_at[1]},
                 {"nodes", r.layout.ranks_at[2]},
                 {"regular", r.layout.regular}};
  nlohmann::ordered_json levels = nlohmann::ordered_json::array();
  for (int l = 0; l < kSystemLevels; ++l) {
    const LevelUsage& u = r.levels[l];
    levels.push_back({{"level", SystemLevelName(static_cast<SystemLevel>(l))},
                      {"ranks", u.ranks},
                      {"bandwidth_gbps", u.bandwidth_gbps},
                      {"latency_ns", u.latency_ns},
                      {"bytes_sent", u.bytes_sent},
                      {"link_busy_ns", u.link_busy_ns},
                      {"latency_total_ns", u.latency_total_ns}});
  }
  j["levels"] = levels;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const CollectiveStep& s : r.steps) {
    steps.push_back({{"level", SystemLevelName(s.level)},
                     {"peer_offset", s.peer_offset},
                     {"send_bytes", s.send_bytes},
                     {"reduce", s.reduce},
                     {"repeat", s.repeat},
                     {"latency_ns", s.latency_ns},
                     {"transfer_ns", s.transfer_ns},
                     {"link_ns", s.link_ns}});
  }
  j["steps"] = steps;
  nlohmann::ordered_json cands = nlohmann::ordered_json::array();
  for (const auto& [algo, t] : r.candidates) {
    cands.push_back({{"algo", CollectiveAlgoName(algo)}, {"time_ns", t}});
  }
  j["candidates"] = cands;
  return j.dump(2) + "\n";
}

void RegisterCollectiveCommand(CLI::App& app, std::function<int()>& action) {
  struct Options {
    std::string kind;
    std::string bytes;
    std::uint64_t ranks = 0;
    std::uint64_t stride = 1;
    std::uint64_t first = 0;
    std::uint64_t sharing = 1;
    std::string algo = "auto";
    std::string arch_path;
    std::vector<std::string> overrides;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "collective",
      "Time one collective (allreduce, reducescatter, allgather, alltoall, broadcast, "
      "sendrecv) on the architecture's [system]");
  cmd->add_option("kind", o->kind,
                  "allreduce | reducescatter | allgather | alltoall | "
                  "broadcast | sendrecv")
      ->required();
  cmd->add_option("--bytes", o->bytes,
                  "Bytes per rank (all-reduce/broadcast buffer, reduce-scatter input, "
                  "all-gather output, all-to-all send buffer): 1e9, 512MiB, ...")
      ->required();
  cmd->add_option("--ranks", o->ranks, "Ranks (cores) in the group")->required();
  cmd->add_option("--stride", o->stride,
                  "Distance between members in the global rank order (core fastest, then "
                  "chip, then node); default 1");
  cmd->add_option("--first-rank", o->first, "Global rank of the first member (default 0)");
  cmd->add_option("--groups-sharing-network", o->sharing,
                  "Groups of this shape using the same nodes' network at once (default 1)");
  cmd->add_option("--algo", o->algo, "auto (fastest) | ring | tree | hd | hierarchical");
  cmd->add_option("--arch", o->arch_path, "Architecture TOML file (default: built-in baseline)");
  cmd->add_option("-p,--param", o->overrides, "Override a parameter: -p system.nodes=32")
      ->take_all();
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  cmd->callback([o, &action]() {
    action = [o]() {
      const ArchConfig arch = LoadArchConfig(o->arch_path, o->overrides);
      CollectiveCall call;
      call.kind = ParseCollectiveKind(o->kind, "collective");
      call.bytes = ParseByteCount(o->bytes, "--bytes");
      if (call.bytes == 0) {
        throw InputError(fmt::format("--bytes = {}: a collective needs at least 1 byte", o->bytes));
      }
      if (o->ranks == 0) throw InputError("--ranks = 0: expected at least 1 rank");
      call.group.ranks = o->ranks;
      call.group.stride = o->stride;
      call.group.first_rank = o->first;
      call.group.groups_sharing_network = o->sharing;
      call.algo = ParseCollectiveAlgo(o->algo, "--algo");
      const CollectiveResult result = TimeCollective(arch, call);
      std::cout << (o->json ? CollectiveJson(arch, call, result)
                            : FormatCollectiveSummary(arch, call, result));
      return 0;
    };
  });
}

}  // namespace systole
