#include "workloads/collective/collective.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "base/error.h"
#include "models/chip/arch_config.h"
#include "models/link/link_fabric.h"

namespace systole {

namespace {

bool IsPowerOfTwo(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
std::uint64_t CeilLog2(std::uint64_t v) {
  std::uint64_t r = 0;
  while ((std::uint64_t{1} << r) < v) ++r;
  return r;
}

// A concrete group: its members (global ranks in group order) and the translates of it
// that run the same steps at the same time on the same chips (hierarchical sub-groups).
struct Members {
  std::vector<std::uint64_t> ranks;
  std::vector<std::uint64_t> translates{0};
  double network_share = 1;
};

// How every member i picks its peer in a step.
enum class Pattern { kShift, kXor, kRowShift };

struct Send {
  Pattern pattern = Pattern::kShift;
  std::int64_t offset = 1;  // shift: peer i + offset (mod p); xor: peer i ^ offset
  double bytes = 0;
  std::uint64_t row = 0;  // row shift: peer in i's row of `row` members, offset along it
};

// Send lists built element by element (GCC 12 warns falsely on initializer-list copies).
std::vector<Send> Sends(Send a) {
  std::vector<Send> v;
  v.push_back(a);
  return v;
}
std::vector<Send> Sends(Send a, Send b) {
  std::vector<Send> v = Sends(a);
  v.push_back(b);
  return v;
}

// One kind of step of an algorithm, repeated.
struct StepSpec {
  std::vector<Send> sends;
  bool reduce = false;
  std::uint64_t repeat = 1;
  double latency_multiplier = 1;  // pipelined trees: depth x per-hop latency
};

class Timer {
 public:
  Timer(const LinkFabric& fabric, const Members& m) : fabric_(fabric), m_(m) {
    const std::uint64_t rep_node = fabric_.Locate(m_.ranks[0]).node;
    for (std::size_t i = 0; i < m_.ranks.size(); ++i) {
      if (fabric_.Locate(m_.ranks[i]).node == rep_node) local_.push_back(i);
    }
  }

  CollectiveStep Time(const StepSpec& spec, std::array<LevelUsage, kSystemLevels>& levels,
                      double& hbm_bytes, double& dma_ns) const {
    const std::uint64_t p = m_.ranks.size();
    flows_.clear();
    for (std::uint64_t t : m_.translates) {
      for (std::size_t i : local_) {
        for (const Send& s : spec.sends) {
          std::uint64_t j;
          if (s.pattern == Pattern::kShift) {
            const std::int64_t off = s.offset % static_cast<std::int64_t>(p);
            j = (i + static_cast<std::uint64_t>(off + static_cast<std::int64_t>(p))) % p;
          } else if (s.pattern == Pattern::kRowShift) {
            const std::int64_t r = static_cast<std::int64_t>(s.row);
            const std::int64_t along = static_cast<std::int64_t>(i % s.row);
            j = (i / s.row) * s.row + static_cast<std::uint64_t>(((along + s.offset) % r + r) % r);
          } else {
            j = i ^ static_cast<std::uint64_t>(s.offset);
          }
          Flow f;
          f.src = m_.ranks[i] + t;
          f.dst = m_.ranks[j] + t;
          f.bytes = s.bytes;
          f.direction_hint = s.offset < 0 ? -1 : +1;
          if (s.pattern == Pattern::kXor && j < i) f.direction_hint = -1;
          flows_.push_back(f);
        }
      }
    }
    const StepLoad load = fabric_.Time(flows_, spec.reduce, m_.network_share, m_.ranks[0]);
    CollectiveStep step;
    step.level = load.level;
    step.peer_offset =
        spec.sends.empty() ? 0 : static_cast<std::uint64_t>(std::llabs(spec.sends[0].offset));
    for (const Send& s : spec.sends)
      step.send_bytes += static_cast<std::uint64_t>(std::llround(s.bytes));
    step.reduce = spec.reduce;
    step.repeat = spec.repeat;
    step.latency_ns = load.latency_ns * spec.latency_multiplier;
    step.transfer_ns = load.transfer_ns();
    step.link_ns = std::max(load.link_ns, load.network_ns);
    // Bytes of the representative rank: its share of the chip's HBM traffic.
    const double rep_hbm = (spec.reduce ? 5.0 : 2.0) * static_cast<double>(step.send_bytes);
    step.hbm_bytes = rep_hbm;
    const double r = static_cast<double>(spec.repeat);
    for (int l = 0; l < kSystemLevels; ++l) {
      if (load.probe_bytes[l] <= 0) continue;
      LevelUsage& u = levels[l];
      u.bytes_sent += r * load.probe_bytes[l];
      const double busy = l == 2   ? load.network_ns
                          : l == 1 ? load.link_ns
                                   : load.probe_bytes[l] / fabric_.dma_gbps();
      u.link_busy_ns += r * busy;
      u.latency_total_ns += r * step.latency_ns;
    }
    hbm_bytes += r * rep_hbm;
    dma_ns += r * static_cast<double>(step.send_bytes) / fabric_.dma_gbps();
    return step;
  }

 private:
  const LinkFabric& fabric_;
  const Members& m_;
  std::vector<std::size_t> local_;  // members in the representative node
  mutable std::vector<Flow> flows_;
};

// Steps of a flat algorithm over p members; empty when it does not implement the kind.
std::vector<StepSpec> FlatSteps(CollectiveKind kind, CollectiveAlgo algo, std::uint64_t p,
                                double bytes) {
  const double m = bytes / static_cast<double>(p);
  std::vector<StepSpec> out;
  auto ring = [&](bool reduce) {
    StepSpec s;  // two counter-rotating rings, half the chunk each way
    s.sends = Sends(Send{Pattern::kShift, +1, m / 2}, Send{Pattern::kShift, -1, m / 2});
    s.reduce = reduce;
    s.repeat = p - 1;
    out.push_back(s);
  };
  auto halving = [&](bool reduce) {  // recursive halving: far partners first
    double size = bytes;
    for (std::uint64_t d = p / 2; d >= 1; d /= 2) {
      size /= 2;
      StepSpec s;
      s.sends = Sends(Send{Pattern::kXor, static_cast<std::int64_t>(d), size});
      s.reduce = reduce;
      out.push_back(s);
    }
  };
  auto doubling = [&]() {  // recursive doubling: near partners first
    double size = m;
    for (std::uint64_t d = 1; d < p; d *= 2) {
      StepSpec s;
      s.sends = Sends(Send{Pattern::kXor, static_cast<std::int64_t>(d), size});
      out.push_back(s);
      size *= 2;
    }
  };
  auto tree = [&](bool reduce) {
    StepSpec s;  // double binary tree, pipelined: each rank moves S in and S out per phase
    s.sends = Sends(Send{Pattern::kShift, +1, bytes / 2}, Send{Pattern::kShift, -1, bytes / 2});
    s.reduce = reduce;
    s.latency_multiplier = static_cast<double>(CeilLog2(p));
    out.push_back(s);
  };
  switch (kind) {
    case CollectiveKind::kAllReduce:
      if (algo == CollectiveAlgo::kRing) {
        ring(true);
        ring(false);
      } else if (algo == CollectiveAlgo::kHalvingDoubling && IsPowerOfTwo(p)) {
        halving(true);
        doubling();
      } else if (algo == CollectiveAlgo::kTree) {
        tree(true);
        tree(false);
      }
      break;
    case CollectiveKind::kReduceScatter:
      if (algo == CollectiveAlgo::kRing) ring(true);
      if (algo == CollectiveAlgo::kHalvingDoubling && IsPowerOfTwo(p)) halving(true);
      break;
    case CollectiveKind::kAllGather:
      if (algo == CollectiveAlgo::kRing) ring(false);
      if (algo == CollectiveAlgo::kHalvingDoubling && IsPowerOfTwo(p)) doubling();
      break;
    case CollectiveKind::kBroadcast:
      if (algo == CollectiveAlgo::kRing) {
        StepSpec s;  // pipelined chain; chunk count set by the caller
        s.sends = Sends(Send{Pattern::kShift, +1, bytes});
        out.push_back(s);
      } else if (algo == CollectiveAlgo::kHalvingDoubling && IsPowerOfTwo(p)) {
        halving(false);  // scatter (binomial), then all-gather (doubling)
        doubling();
      } else if (algo == CollectiveAlgo::kTree) {
        tree(false);
      }
      break;
    case CollectiveKind::kAllToAll:
      if (algo == CollectiveAlgo::kRing) {  // pairwise exchange: p - 1 shifts
        for (std::uint64_t j = 1; j < p; ++j) {
          StepSpec s;
          s.sends = Sends(Send{Pattern::kShift, static_cast<std::int64_t>(j), m});
          out.push_back(s);
        }
      }
      break;
    case CollectiveKind::kSendRecv:
      if (algo == CollectiveAlgo::kRing) {
        StepSpec s;
        s.sends = Sends(Send{Pattern::kShift, +1, bytes});
        out.push_back(s);
      }
      break;
  }
  return out;
}

struct Partial {
  bool ok = false;
  double time_ns = 0;
  std::vector<CollectiveStep> steps;
  std::array<LevelUsage, kSystemLevels> levels;
  double hbm_bytes = 0;
  double dma_ns = 0;
  double latency_ns = 0;
};

void Accumulate(Partial& into, const Partial& part) {
  into.time_ns += part.time_ns;
  into.steps.insert(into.steps.end(), part.steps.begin(), part.steps.end());
  for (int l = 0; l < kSystemLevels; ++l) {
    into.levels[l].bytes_sent += part.levels[l].bytes_sent;
    into.levels[l].link_busy_ns += part.levels[l].link_busy_ns;
    into.levels[l].latency_total_ns += part.levels[l].latency_total_ns;
  }
  into.hbm_bytes += part.hbm_bytes;
  into.dma_ns += part.dma_ns;
  into.latency_ns += part.latency_ns;
}

Partial TimeFlat(const LinkFabric& fabric, const Members& members, CollectiveKind kind,
                 CollectiveAlgo algo, double bytes) {
  Partial out;
  const std::uint64_t p = members.ranks.size();
  if (p <= 1) {
    out.ok = true;
    return out;
  }
  std::vector<StepSpec> specs = FlatSteps(kind, algo, p, bytes);
  if (specs.empty()) return out;
  const Timer timer(fabric, members);
  if (kind == CollectiveKind::kBroadcast && algo == CollectiveAlgo::kRing) {
    // Pipelined chain in k chunks: (p - 2 + k)(alpha + T(S)/k); every resource time is
    // linear in bytes, so T(S)/k is the step time of a chunk. k* = sqrt((p-2) T(S)/alpha).
    Partial probe;
    const CollectiveStep whole = timer.Time(specs[0], probe.levels, probe.hbm_bytes, probe.dma_ns);
    const double pm2 = static_cast<double>(p - 2);
    auto total = [&](double k) { return (pm2 + k) * (whole.latency_ns + whole.transfer_ns / k); };
    double k = 1;
    if (whole.latency_ns > 0 && p > 2) {
      const double ideal = std::sqrt(pm2 * whole.transfer_ns / whole.latency_ns);
      const double lo = std::max(1.0, std::floor(ideal)), hi = std::max(1.0, std::ceil(ideal));
      k = total(lo) <= total(hi) ? lo : hi;
    } else if (whole.latency_ns == 0) {
      k = std::max(1.0, pm2) * 1024;  // no latency: finer is always better; bounded
    }
    StepSpec chunk = specs[0];
    chunk.sends[0].bytes = bytes / k;
    chunk.repeat = static_cast<std::uint64_t>(pm2 + k);
    specs.assign(1, chunk);
  }
  for (const StepSpec& spec : specs) {
    CollectiveStep step = timer.Time(spec, out.levels, out.hbm_bytes, out.dma_ns);
    out.time_ns += step.time_ns();
    out.latency_ns += static_cast<double>(step.repeat) * step.latency_ns;
    out.steps.push_back(step);
  }
  out.ok = true;
  return out;
}

// Best flat algorithm among ring, halving-doubling and (where given) tree.
Partial BestFlat(const LinkFabric& fabric, const Members& members, CollectiveKind kind,
                 double bytes) {
  Partial best;
  for (CollectiveAlgo a :
       {CollectiveAlgo::kRing, CollectiveAlgo::kHalvingDoubling, CollectiveAlgo::kTree}) {
    Partial p = TimeFlat(fabric, members, kind, a, bytes);
    if (p.ok && (!best.ok || p.time_ns < best.time_ns)) best = std::move(p);
  }
  return best;
}

Members FlatMembers(const CollectiveGroup& g) {
  Members m;
  m.ranks.resize(g.ranks);
  for (std::uint64_t i = 0; i < g.ranks; ++i) m.ranks[i] = g.first_rank + i * g.stride;
  m.network_share = static_cast<double>(g.groups_sharing_network);
  return m;
}

// Sub-group of a regular layout: `count` members `inner` group ranks apart, and as
// translates the other sub-groups that run at the same time in the same node.
Members SubMembers(const CollectiveGroup& g, std::uint64_t count, std::uint64_t inner) {
  Members m;
  for (std::uint64_t i = 0; i < count; ++i) m.ranks.push_back(g.first_rank + i * inner * g.stride);
  m.translates.clear();
  for (std::uint64_t j = 0; j < inner; ++j) m.translates.push_back(j * g.stride);
  m.network_share = static_cast<double>(g.groups_sharing_network);
  return m;
}

// Hierarchical: the levels a regular group spans, innermost first, each a sub-group. A
// group that covers a whole 2-D torus node chip by chip splits that level into its x and
// y rings (as TPU and Trainium collectives run on a torus).
// A square n x n torus level (members row-major: x along a row) in two dimensions at once,
// as TPU ICI collectives do: half the data reduce-scatters along x then y while the other
// half goes along y then x, so every phase keeps all four neighbour links busy. Each
// ring step moves its chunk half each way round its ring. Reduce-scatter of b bytes:
//   phase 1: n-1 steps of b/(2n) per rank (split over x+-, y+-), phase 2: n-1 steps of
//   b/(2n^2); all-gather the mirror image; all-reduce both; broadcast falls back to flat.
Partial TimeTorus2d(const LinkFabric& fabric, const Members& members, std::uint64_t n,
                    CollectiveKind kind, double bytes) {
  if (kind != CollectiveKind::kAllReduce && kind != CollectiveKind::kReduceScatter &&
      kind != CollectiveKind::kAllGather) {
    return BestFlat(fabric, members, kind, bytes);
  }
  const Timer timer(fabric, members);
  const double nd = static_cast<double>(n);
  auto phase = [&](double chunk, bool reduce) {
    StepSpec s;
    const double q = chunk / 4;
    s.sends = Sends(Send{Pattern::kRowShift, +1, q, n}, Send{Pattern::kRowShift, -1, q, n});
    s.sends.push_back(Send{Pattern::kShift, static_cast<std::int64_t>(n), q, 0});
    s.sends.push_back(Send{Pattern::kShift, -static_cast<std::int64_t>(n), q, 0});
    s.reduce = reduce;
    s.repeat = n - 1;
    return s;
  };
  std::vector<StepSpec> specs;
  if (kind != CollectiveKind::kAllGather) {
    specs.push_back(phase(bytes / nd, true));
    specs.push_back(phase(bytes / (nd * nd), true));
  }
  if (kind != CollectiveKind::kReduceScatter) {
    specs.push_back(phase(bytes / (nd * nd), false));
    specs.push_back(phase(bytes / nd, false));
  }
  Partial out;
  for (const StepSpec& spec : specs) {
    CollectiveStep step = timer.Time(spec, out.levels, out.hbm_bytes, out.dma_ns);
    out.time_ns += step.time_ns();
    out.latency_ns += static_cast<double>(step.repeat) * step.latency_ns;
    out.steps.push_back(step);
  }
  out.ok = true;
  return out;
}

struct HierLevel {
  Members members;
  std::uint64_t square_torus = 0;  // n: the members form an n x n torus, run in 2-D
};

std::vector<HierLevel> HierarchyLevels(const ArchConfig& arch, const LinkFabric& fabric,
                                       const CollectiveGroup& g, const GroupLayout& layout) {
  std::vector<HierLevel> out;
  std::uint64_t inner = 1;
  for (int l = 0; l < kSystemLevels; ++l) {
    const std::uint64_t r = layout.ranks_at[l];
    if (r <= 1) continue;
    const SystemConfig& s = arch.system;
    const bool torus = l == 1 && s.topology == ChipTopology::kTorus2d && r == s.chips_per_node &&
                       inner * g.stride == arch.cores && fabric.Locate(g.first_rank).chip == 0;
    if (torus && s.TorusX() * s.TorusX() == r) {
      out.push_back({SubMembers(g, r, inner), s.TorusX()});
    } else if (torus) {
      const std::uint64_t x = s.TorusX();
      out.push_back({SubMembers(g, x, inner), 0});
      out.push_back({SubMembers(g, r / x, inner * x), 0});
    } else {
      out.push_back({SubMembers(g, r, inner), 0});
    }
    inner *= r;
  }
  return out;
}

Partial TimeHierarchical(const ArchConfig& arch, const LinkFabric& fabric, const CollectiveGroup& g,
                         const GroupLayout& layout, CollectiveKind kind, double bytes) {
  Partial out;
  if (!layout.regular) return out;
  const std::vector<HierLevel> levels = HierarchyLevels(arch, fabric, g, layout);
  const bool single_torus = levels.size() == 1 && levels[0].square_torus != 0;
  if (levels.size() < 2 && !single_torus) return out;  // one level: same as flat
  const int n = static_cast<int>(levels.size());
  auto run = [&](int l, CollectiveKind k, double b) {
    Partial p = levels[l].square_torus != 0
                    ? TimeTorus2d(fabric, levels[l].members, levels[l].square_torus, k, b)
                    : BestFlat(fabric, levels[l].members, k, b);
    if (!p.ok) return false;
    Accumulate(out, p);
    return true;
  };
  // Data per rank at each level going up: reduce-scatter divides it by the level's ranks.
  std::vector<double> size(n + 1, bytes);
  for (int l = 0; l < n; ++l) {
    size[l + 1] = size[l] / static_cast<double>(levels[l].members.ranks.size());
  }
  const int top = n - 1;
  bool ok = true;
  switch (kind) {
    case CollectiveKind::kAllReduce:
      for (int l = 0; l < top && ok; ++l) ok = run(l, CollectiveKind::kReduceScatter, size[l]);
      if (ok) ok = run(top, CollectiveKind::kAllReduce, size[top]);
      for (int l = top - 1; l >= 0 && ok; --l) ok = run(l, CollectiveKind::kAllGather, size[l]);
      break;
    case CollectiveKind::kReduceScatter:
      for (int l = 0; l <= top && ok; ++l) ok = run(l, CollectiveKind::kReduceScatter, size[l]);
      break;
    case CollectiveKind::kAllGather:
      for (int l = top; l >= 0 && ok; --l) ok = run(l, CollectiveKind::kAllGather, size[l]);
      break;
    case CollectiveKind::kBroadcast:
      for (int l = top; l >= 0 && ok; --l) ok = run(l, CollectiveKind::kBroadcast, bytes);
      break;
    case CollectiveKind::kAllToAll:
    case CollectiveKind::kSendRecv:
      return Partial{};
  }
  out.ok = ok;
  return out;
}

}  // namespace

const char* CollectiveKindName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce:
      return "all-reduce";
    case CollectiveKind::kReduceScatter:
      return "reduce-scatter";
    case CollectiveKind::kAllGather:
      return "all-gather";
    case CollectiveKind::kAllToAll:
      return "all-to-all";
    case CollectiveKind::kBroadcast:
      return "broadcast";
    case CollectiveKind::kSendRecv:
      return "send-recv";
  }
  return "?";
}

const char* CollectiveAlgoName(CollectiveAlgo algo) {
  switch (algo) {
    case CollectiveAlgo::kAuto:
      return "auto";
    case CollectiveAlgo::kRing:
      return "ring";
    case CollectiveAlgo::kTree:
      return "tree";
    case CollectiveAlgo::kHalvingDoubling:
      return "halving-doubling";
    case CollectiveAlgo::kHierarchical:
      return "hierarchical";
  }
  return "?";
}

CollectiveKind ParseCollectiveKind(const std::string& text, const std::string& key) {
  std::string t;
  for (char c : text) {
    if (c != '-' && c != '_') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (t == "allreduce") return CollectiveKind::kAllReduce;
  if (t == "reducescatter") return CollectiveKind::kReduceScatter;
  if (t == "allgather") return CollectiveKind::kAllGather;
  if (t == "alltoall") return CollectiveKind::kAllToAll;
  if (t == "broadcast") return CollectiveKind::kBroadcast;
  if (t == "sendrecv" || t == "send" || t == "p2p") return CollectiveKind::kSendRecv;
  throw InputError(
      fmt::format("{} = '{}': expected allreduce, reducescatter, allgather, alltoall, broadcast or "
                  "sendrecv",
                  key, text));
}

CollectiveAlgo ParseCollectiveAlgo(const std::string& text, const std::string& key) {
  if (text == "auto") return CollectiveAlgo::kAuto;
  if (text == "ring") return CollectiveAlgo::kRing;
  if (text == "tree" || text == "dbt" || text == "double-binary-tree") return CollectiveAlgo::kTree;
  if (text == "hd" || text == "halving-doubling" || text == "rabenseifner") {
    return CollectiveAlgo::kHalvingDoubling;
  }
  if (text == "hierarchical" || text == "hier") return CollectiveAlgo::kHierarchical;
  throw InputError(fmt::format(
      "{} = '{}': expected auto, ring, tree, halving-doubling (hd) or hierarchical", key, text));
}

GroupLayout ResolveGroup(const ArchConfig& arch, const CollectiveGroup& g) {
  const std::uint64_t total = arch.cores * arch.system.chips();
  if (g.ranks == 0) throw InputError("collective ranks = 0: expected at least 1 rank");
  if (g.stride == 0) throw InputError("collective stride = 0: expected at least 1");
  const std::uint64_t last = g.first_rank + (g.ranks - 1) * g.stride;
  if ((g.ranks - 1) > 0 && (last - g.first_rank) / (g.ranks - 1) != g.stride) {
    throw InputError(
        fmt::format("collective ranks = {}: too many for stride {}", g.ranks, g.stride));
  }
  if (last >= total) {
    throw InputError(fmt::format(
        "collective ranks = {}: {} ranks (stride {}, first {}) do not fit the system's {} "
        "ranks (system.nodes {} x system.chips_per_node {} x chip.cores {})",
        g.ranks, g.ranks, g.stride, g.first_rank, total, arch.system.nodes,
        arch.system.chips_per_node, arch.cores));
  }
  const LinkFabric fabric(arch);
  GroupLayout layout;
  std::set<std::uint64_t> nodes, chips_in_node, cores_in_chip;
  const RankPosition first = fabric.Locate(g.first_rank);
  for (std::uint64_t i = 0; i < g.ranks; ++i) {
    const RankPosition p = fabric.Locate(g.first_rank + i * g.stride);
    nodes.insert(p.node);
    if (p.node == first.node) chips_in_node.insert(p.chip);
    if (p.node == first.node && p.chip == first.chip) cores_in_chip.insert(p.core);
  }
  layout.ranks_at = {cores_in_chip.size(), chips_in_node.size(), nodes.size()};
  layout.regular = layout.ranks_at[0] * layout.ranks_at[1] * layout.ranks_at[2] == g.ranks;
  return layout;
}

CollectiveResult TimeCollective(const ArchConfig& arch, const CollectiveCall& call) {
  if (call.bytes == 0) {
    throw InputError(fmt::format("collective bytes = 0: a {} needs at least 1 byte",
                                 CollectiveKindName(call.kind)));
  }
  if (call.group.groups_sharing_network == 0) {
    throw InputError("collective groups_sharing_network = 0: expected at least 1");
  }
  CollectiveResult result;
  result.layout = ResolveGroup(arch, call.group);
  for (int l = 0; l < kSystemLevels; ++l) result.levels[l].ranks = result.layout.ranks_at[l];
  if (call.kind == CollectiveKind::kSendRecv && call.group.ranks < 2) {
    throw InputError("collective ranks = 1: a send/recv needs 2 ranks (a sender and a receiver)");
  }
  const LinkFabric fabric(arch);
  const double bytes = static_cast<double>(call.bytes);
  const Members flat = FlatMembers(call.group);

  std::vector<CollectiveAlgo> algos;
  if (call.algo == CollectiveAlgo::kAuto) {
    algos = {CollectiveAlgo::kRing, CollectiveAlgo::kTree, CollectiveAlgo::kHalvingDoubling,
             CollectiveAlgo::kHierarchical};
  } else {
    algos = {call.algo};
  }
  Partial best;
  CollectiveAlgo best_algo = CollectiveAlgo::kRing;
  for (CollectiveAlgo a : algos) {
    Partial p = a == CollectiveAlgo::kHierarchical
                    ? TimeHierarchical(arch, fabric, call.group, result.layout, call.kind, bytes)
                    : TimeFlat(fabric, flat, call.kind, a, bytes);
    if (!p.ok) continue;
    result.candidates.emplace_back(a, p.time_ns);
    if (!best.ok || p.time_ns < best.time_ns) {
      best = std::move(p);
      best_algo = a;
    }
  }
  if (!best.ok) {
    std::string why;
    if (call.algo == CollectiveAlgo::kHalvingDoubling && !IsPowerOfTwo(call.group.ranks)) {
      why = fmt::format(" (it needs a power-of-two number of ranks, got {})", call.group.ranks);
    } else if (call.algo == CollectiveAlgo::kHierarchical) {
      why = result.layout.regular
                ? " (the group spans one level only, or the collective has no hierarchical form)"
                : " (the group does not split evenly over chips and nodes)";
    }
    throw InputError(fmt::format("collective algo = {}: does not implement {}{}",
                                 CollectiveAlgoName(call.algo), CollectiveKindName(call.kind),
                                 why));
  }
  result.algo = best_algo;
  result.time_ns = best.time_ns;
  result.steps = std::move(best.steps);
  for (int l = 0; l < kSystemLevels; ++l) {
    LevelUsage& u = result.levels[l];
    u.bytes_sent = best.levels[l].bytes_sent;
    u.link_busy_ns = best.levels[l].link_busy_ns;
    u.latency_total_ns = best.levels[l].latency_total_ns;
  }
  // Nominal per-rank bandwidth and latency of each level (what the closed forms call B
  // and alpha for a neighbour exchange in both directions).
  const SystemConfig& s = arch.system;
  result.levels[0].bandwidth_gbps = fabric.dma_gbps();
  result.levels[0].latency_ns = arch.core.dma.setup_latency_ns;
  result.levels[1].bandwidth_gbps =
      s.ChipInjectionGBps() /
      static_cast<double>(std::max<std::uint64_t>(1, result.layout.ranks_at[0]));
  result.levels[1].latency_ns = s.link_latency_ns;
  result.levels[2].bandwidth_gbps =
      s.node_bandwidth_gbps /
      static_cast<double>(result.layout.ranks_at[0] * result.layout.ranks_at[1]) /
      static_cast<double>(call.group.groups_sharing_network);
  result.levels[2].latency_ns = s.node_latency_ns;
  result.hbm_bytes = best.hbm_bytes;
  result.dma_busy_ns = best.dma_ns;
  result.latency_ns = best.latency_ns;
  result.transfer_ns = best.time_ns - best.latency_ns;
  return result;
}

}  // namespace systole
