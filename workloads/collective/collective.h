// Collective communication timing: all-reduce, reduce-scatter, all-gather, all-to-all,
// broadcast and send/recv over the system's levels (models/link/system_config.h).
//
// What it models
//   One representative rank of a group of symmetric ranks (every rank does the same
//   steps at the same time). An algorithm is a list of steps; in each step the rank sends
//   `send_bytes` to a peer `peer_offset` group ranks away and receives as many, optionally
//   reducing what it receives into its own data. A step at a level with per-rank
//   bandwidth B (GB/s = bytes/ns) and latency alpha (ns) takes
//     alpha + max(send_bytes / B, send_bytes / B_dma, hbm_bytes / B_hbm)
//   where B_dma is the rank's DMA bandwidth (queues x queue bandwidth) and B_hbm its share
//   of the chip's HBM. A step's HBM traffic is: read what is sent, write what is received,
//   and for a reducing step read both operands and write the result (5 x the chunk).
//   With links the bottleneck the totals are the textbook closed forms (S bytes, p ranks):
//     ring all-reduce             2(p-1)/p S/B + 2(p-1) alpha
//     ring reduce-scatter/gather  (p-1)/p S/B + (p-1) alpha
//     halving-doubling all-reduce 2(p-1)/p S/B + 2 log2(p) alpha (p a power of two)
//     double-binary-tree AR       2 S/B + 2 ceil(log2 p) alpha (pipelined)
//     hierarchical all-reduce     RS inside each level, AR at the top, AG back down
//     all-to-all (pairwise)       (p-1) (S/p / B + alpha)
//     broadcast (pipelined chain) (p-2+k)(alpha + S/(k B)), k chunks chosen optimally
//     send/recv                   alpha + S/B
//   Per-rank bandwidth of a level is the level's bandwidth divided among the group's ranks
//   that share it (cores of one chip share the chip's links, the group's chips of a node
//   share the node's network), and on multi-hop topologies by the links a peer offset
//   crosses (a partner d chips away on a ring shares each link with d - 1 other flows).
//   A flat algorithm over a group spanning several levels runs each step at the slowest
//   level its peers cross (synchronous steps).
//
// What it ignores
//   Protocol choice (NCCL's LL/LL128/Simple), chunking overheads beyond the per-message
//   latency, imbalance between ranks, in-network reduction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/link/system_config.h"

namespace systole {

struct ArchConfig;

enum class CollectiveKind {
  kAllReduce,
  kReduceScatter,
  kAllGather,
  kAllToAll,
  kBroadcast,
  kSendRecv
};
// kTree: NCCL's double binary tree. kHierarchical: intra-chip, then intra-node, then
// inter-node (each level with its own best flat algorithm), and back.
enum class CollectiveAlgo { kAuto, kRing, kTree, kHalvingDoubling, kHierarchical };

const char* CollectiveKindName(CollectiveKind kind);
const char* CollectiveAlgoName(CollectiveAlgo algo);
// "allreduce"/"all-reduce"/"all_reduce", ... and "auto", "ring", "tree", "hd"/
// "halving-doubling", "hierarchical"; InputError naming `key` otherwise.
CollectiveKind ParseCollectiveKind(const std::string& text, const std::string& key);
CollectiveAlgo ParseCollectiveAlgo(const std::string& text, const std::string& key);

// Which ranks take part: `ranks` members, member i is global rank first_rank + i * stride
// (global ranks: core fastest, then chip in node, then node).
struct CollectiveGroup {
  std::uint64_t ranks = 1;
  std::uint64_t stride = 1;
  std::uint64_t first_rank = 0;
  // Groups of this shape that run the same collective at the same time on the same nodes
  // and share their network (e.g. the tp data-parallel groups of a dp x tp layout whose
  // tp ranks sit in one node): the node network bandwidth is divided among them.
  std::uint64_t groups_sharing_network = 1;
};

struct CollectiveCall {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  // Bytes per rank: all-reduce and broadcast the buffer; reduce-scatter the input (each
  // rank keeps bytes / ranks); all-gather the output (each rank contributes bytes / ranks);
  // all-to-all the send buffer (bytes / ranks to each rank); send/recv the message.
  std::uint64_t bytes = 0;
  CollectiveGroup group;
  CollectiveAlgo algo = CollectiveAlgo::kAuto;
};

// How the group's members spread over the levels: ranks_at[0] members share a chip,
// ranks_at[1] chips of a node, ranks_at[2] nodes. Regular when the product is `ranks`.
struct GroupLayout {
  std::array<std::uint64_t, kSystemLevels> ranks_at{1, 1, 1};
  bool regular = true;
};

// One step of the representative rank (repeated `repeat` times back to back).
struct CollectiveStep {
  SystemLevel level = SystemLevel::kChip;  // slowest level the step's peers cross
  std::uint64_t peer_offset = 1;           // in group ranks (send to +offset)
  std::uint64_t send_bytes = 0;            // also received
  bool reduce = false;                     // received data is reduced into local data
  std::uint64_t repeat = 1;
  double latency_ns = 0;   // per repeat
  double transfer_ns = 0;  // per repeat: max of link, DMA and HBM time
  double link_ns = 0;      // per repeat: link time alone
  double hbm_bytes = 0;    // per repeat
  double time_ns() const { return static_cast<double>(repeat) * (latency_ns + transfer_ns); }
};

struct LevelUsage {
  std::uint64_t ranks = 1;      // group ranks at this level (GroupLayout)
  double bandwidth_gbps = 0;    // per-rank bandwidth at this level, GB/s per direction
  double latency_ns = 0;        // per message
  double bytes_sent = 0;        // by the representative rank over this level
  double link_busy_ns = 0;      // time its links at this level carry its data
  double latency_total_ns = 0;  // sum of latency terms of its steps
};

struct CollectiveResult {
  double time_ns = 0;
  CollectiveAlgo algo = CollectiveAlgo::kRing;  // the algorithm used (chosen when auto)
  GroupLayout layout;
  std::array<LevelUsage, kSystemLevels> levels;
  double hbm_bytes = 0;    // read + written by the representative rank
  double dma_busy_ns = 0;  // its DMA queues' busy time
  double latency_ns = 0;   // breakdown: sum of per-message latencies
  double transfer_ns = 0;  // breakdown: sum of data times (time - latency)
  std::vector<CollectiveStep> steps;
  // Every algorithm that applies, with its time (the chosen one included), for reports.
  std::vector<std::pair<CollectiveAlgo, double>> candidates;
};

// Spread of a group over the system; InputError when it does not fit (names the key).
GroupLayout ResolveGroup(const ArchConfig& arch, const CollectiveGroup& group);

// Times one collective with no other traffic. InputError (one line naming the key and
// value) for zero bytes, a group that does not fit the system, or a forced algorithm that
// does not implement the collective (e.g. halving-doubling on a non-power-of-two group).
CollectiveResult TimeCollective(const ArchConfig& arch, const CollectiveCall& call);

}  // namespace systole
