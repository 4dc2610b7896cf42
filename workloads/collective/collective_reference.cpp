#include "workloads/collective/collective_reference.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

#include "models/chip/arch_config.h"
#include "models/link/link_fabric.h"

namespace systole {

namespace {

// One rank's sends of one step (both halves of a ring step start together).
struct Transfer {
  std::uint64_t src = 0;                             // group index
  std::vector<std::pair<std::uint64_t, double>> to;  // (group index, bytes)
  std::vector<int> hints;
  double ready_ns = 0;
  double done_ns = 0;  // delivered
};

// Every resource serves the transfers that cross it first come, first served at its
// bandwidth; a transfer is delivered when its last resource has moved its bytes, plus
// its latency.
class Network {
 public:
  Network(const LinkFabric& fabric, double share) : fabric_(fabric), share_(share) {}
  double Book(const Transfer& t, const std::vector<std::uint64_t>& ranks) {
    std::map<std::uint64_t, std::pair<double, double>> load;  // id -> (bytes, GB/s)
    double latency = 0;
    for (std::size_t k = 0; k < t.to.size(); ++k) {
      Flow f;
      f.src = ranks[t.src];
      f.dst = ranks[t.to[k].first];
      f.bytes = t.to[k].second;
      f.direction_hint = t.hints[k];
      double l = 0;
      for (const auto& r : fabric_.ResourcesOf(f, share_, &l)) {
        load[r.id].first += f.bytes;
        load[r.id].second = r.gbps;
      }
      latency = std::max(latency, l);
    }
    double done = t.ready_ns;
    for (const auto& [id, bw] : load) {
      double& free = free_[id];
      free = std::max(free, t.ready_ns) + bw.first / bw.second;
      done = std::max(done, free);
    }
    return done + latency;
  }

 private:
  const LinkFabric& fabric_;
  double share_;
  std::map<std::uint64_t, double> free_;
};

}  // namespace

double SimulateEveryRank(const ArchConfig& arch, const CollectiveCall& call) {
  const LinkFabric fabric(arch);
  const std::uint64_t p = call.group.ranks;
  std::vector<std::uint64_t> ranks(p);
  for (std::uint64_t i = 0; i < p; ++i) ranks[i] = call.group.first_rank + i * call.group.stride;
  Network net(fabric, static_cast<double>(call.group.groups_sharing_network));
  const double s = static_cast<double>(call.bytes);
  std::vector<double> free_at(p, 0);  // each rank: when its last send completed / data arrived
  double end = 0;
  if (call.algo == CollectiveAlgo::kRing) {
    std::uint64_t steps = p - 1;
    if (call.kind == CollectiveKind::kAllReduce) steps = 2 * (p - 1);
    // Two counter-rotating rings, half the chunk each: a rank's step starts when the
    // chunks of its previous step have arrived from both neighbours.
    const double half = s / static_cast<double>(p) / 2;
    for (std::uint64_t step = 0; step < steps; ++step) {
      std::vector<double> arrived(p, 0);
      for (std::uint64_t i = 0; i < p; ++i) {
        Transfer t;
        t.src = i;
        t.to = {{(i + 1) % p, half}, {(i + p - 1) % p, half}};
        t.hints = {+1, -1};
        t.ready_ns = free_at[i];
        const double done = net.Book(t, ranks);
        arrived[(i + 1) % p] = std::max(arrived[(i + 1) % p], done);
        arrived[(i + p - 1) % p] = std::max(arrived[(i + p - 1) % p], done);
        end = std::max(end, done);
      }
      free_at = arrived;
    }
    return end;
  }
  if (call.algo == CollectiveAlgo::kHalvingDoubling) {
    std::vector<std::pair<std::uint64_t, double>> plan;  // (distance, bytes)
    double size = s;
    if (call.kind != CollectiveKind::kAllGather) {
      for (std::uint64_t d = p / 2; d >= 1; d /= 2) plan.emplace_back(d, size /= 2);
    }
    if (call.kind != CollectiveKind::kReduceScatter) {
      double g = s / static_cast<double>(p);
      for (std::uint64_t d = 1; d < p; d *= 2, g *= 2) plan.emplace_back(d, g);
    }
    for (const auto& [d, bytes] : plan) {
      std::vector<double> next(p, 0);
      for (std::uint64_t i = 0; i < p; ++i) {
        const std::uint64_t j = i ^ d;
        Transfer t;
        t.src = i;
        t.to = {{j, bytes}};
        t.hints = {j > i ? +1 : -1};
        t.ready_ns = free_at[i];
        const double done = net.Book(t, ranks);
        next[j] = std::max(next[j], done);  // the partner has this rank's half
        end = std::max(end, done);
      }
      free_at = next;
    }
    return end;
  }
  throw std::logic_error("SimulateEveryRank: ring or halving-doubling only");
}

}  // namespace systole
