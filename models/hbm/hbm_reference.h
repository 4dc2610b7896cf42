// Detailed HBM controller + device model: the slow oracle for the fast model in hbm.h.
//
// What it models
//   Every request is split into bursts (HbmConfig::BurstBytes(), 32 B for both presets),
//   each mapped to (pseudo-channel, bank group, bank, row) by DecodeHbmAddress. Each
//   pseudo-channel (PC) has its own controller with a queue of queue_depth bursts, filled in
//   arrival order (a burst enters when it has arrived and a slot is free; the slot frees
//   when the burst's column command issues). Scheduling is FR-FCFS with HBM's separate row
//   and column command buses:
//     - row commands: for the oldest queued burst of each bank whose open row no queued
//       burst wants, PRE (if another row is open) and ACT are placed at the earliest time
//       allowed by tRP, tRAS, tRC, tRRD_S/_L, tFAW (at most 4 ACTs in any tFAW window);
//     - column commands: among queued bursts whose row is open ("first ready"), the one
//       whose RD/WR can issue earliest wins, ties to the oldest ("first come"); a RD/WR
//       respects tRCD, tCCD_S/_L, tWTR_S/_L (write data end -> RD), read -> write bus
//       turnaround (2 tCK), and data-bus occupancy: read data [RD + tCL, + burst), write
//       data [WR + tCWL, + burst);
//     - PRE waits for tRAS after ACT, tRTP after RD, tWR after write data;
//     - an oldest burst bypassed 4 x queue_depth times is served next (no starvation).
//   Rows stay open until a conflict or a refresh (open-page policy). All-bank refresh:
//   PC i is due at (i + 1) x tREFI / num_pcs + k x tREFI; when the next command would pass
//   the due time, all banks precharge and the PC is blocked for tRFC. Per-bank refresh
//   (hbm_config.h): due every tREFIpb = tREFI / banks the same way; one bank (not yet
//   refreshed this round; no queued burst wants it, else the most recently used, else the
//   one furthest ahead of the oldest burst's) precharges and is blocked for tRFCpb; ACTs for
//   a bank still refreshing are not planned while another burst can go ahead.
//   A request completes when its last burst's data has crossed the bus (reads and writes).
//
// What it ignores
//   Data values, command-bus slot conflicts (one ACT and one RD/WR per clock on separate
//   buses are assumed free), REFsb's command slot and tRREFD, power-down, the PHY/controller
//   pipeline latency outside the DRAM timings (add it in the initiator), write buffering.
//
// Closed forms it is tested against (hbm_reference_test.cpp)
//   - closed-bank read: ACT at arrival, RD at +tRCD, data at +tCL, done after one burst:
//     latency = tRCD + tCL + burst (+ tRP when another row is open);
//   - a long sequential read reaches >= 90% of peak (ACTs hide behind other banks' data);
//   - random 64 B reads are activation-bound: per PC at most 4 ACTs per tFAW, one per
//     tRRD_S, one per tRC per bank, so bandwidth <= 64 B / max(tFAW/4, tRRD_S, tRC/banks);
//   - refresh costs about (tRFC + tRP + tRCD + tCL) / tREFI of a busy PC's time;
//   - per-bank refresh costs a stream over all banks nothing, and a stream that never leaves
//     one bank tRTP + tRP + tRFCpb + tRCD per tREFI (the bank goes last in each round);
//   - a read right after a write to the same bank group waits tWTR_L after write data.
//
// Cost: O(bursts x queue_depth) time, plain C++ (no SystemC). Parameters: HbmConfig.
#pragma once

#include <cstdint>
#include <vector>

#include "models/hbm/hbm_config.h"
#include "models/hbm/hbm_stats.h"

namespace systole {

struct HbmRequest {
  std::uint64_t arrival_ps = 0;
  std::uint64_t address = 0;  // bytes
  std::uint64_t bytes = 0;
  bool is_write = false;
};

struct HbmReferenceResult {
  std::vector<std::uint64_t> completion_ps;  // per request, same order as the input
  HbmStats stats;
};

class HbmReference {
 public:
  explicit HbmReference(const HbmConfig& config);
  // Simulates the requests from an idle, precharged memory at time 0.
  HbmReferenceResult Run(const std::vector<HbmRequest>& requests) const;

 private:
  HbmConfig config_;
  HbmTiming timing_;
};

}  // namespace systole
