// One DMA queue of a core: timing of HBM <-> scratchpad transfers (EngineCostModel).
//
// What it models
//   A transfer moves `chunks` contiguous chunks of chunk_bytes (HbmPattern) between HBM
//   and a scratchpad tile. The queue moves data at queue_bandwidth_gbps, and a chunk
//   shorter than efficient_chunk_bytes takes as long as one of that size, so
//     queue_time = chunks * max(chunk_bytes, efficient_chunk_bytes) / bandwidth
//   (many small strided chunks are slower than one large transfer). Every transfer pays
//   setup_latency_ns before its data moves, overlapped with the data of transfers ahead
//   of it in the queue (up to max_outstanding in flight); data phases of one queue are
//   serial:
//     data_start = max(issue + setup_latency, previous data_end of this queue)
//     data_end   = max(data_start + queue_time, HBM completion, scratchpad completion)
//   The HBM side is one TLM transaction (HbmPatternExtension, and the same pattern as an
//   HbmChunksExtension for the banked model) to the HBM model, which is
//   shared by all queues, so queues contend there; the scratchpad side is one
//   transaction to the scratchpad.
//
// Collective steps (kDmaLink, models/link/link.h)
//   The queue reads the chunk to send from HBM (as a load does), the link of the
//   instruction (Program::links) carries it once the queue has it, and the chunk received
//   from the peer is written to HBM when it is delivered. A reducing step (accumulate) also
//   reads the local chunk and the received one and writes their sum (DMA-side reduction,
//   as collective engines beside the DMA do): 5 x the chunk of HBM traffic instead of 2.
//     data_end = max(queue data end, HBM read, link delivery, HBM write of the received)
//
// What it ignores
//   DMA rings, cross-core traffic, address translation.
//
// Parameters (CoreConfig.dma)
//   queue_bandwidth_gbps (GB/s), setup_latency_ns (ns), efficient_chunk_bytes (bytes),
//   max_outstanding (transfers)
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>

#include "models/chip/arch_config.h"
#include "models/core/engine.h"
#include "models/dma/dma_engines.h"
#include "models/hbm/hbm.h"
#include "models/link/link.h"
#include "models/memory/duration_cache.h"
#include "models/memory/hbm_pattern.h"
#include "models/memory/onchip_memory.h"

namespace systole {

// Queue-side data time of a pattern, in ns (no HBM or scratchpad effects).
double DmaQueueTimeNs(const DmaConfig& config, const HbmPattern& pattern);

class DmaQueue : public sc_core::sc_module, public EngineCostModel {
 public:
  tlm_utils::simple_initiator_socket<DmaQueue> hbm;
  tlm_utils::simple_initiator_socket<DmaQueue> scratchpad;

  // chunk_lists: attach the HbmChunksExtension (only the banked HBM model reads it).
  // engines: the core's shared DMA engines (used when enabled()); links: the program's link
  // targets (kDmaLink), shared by the core's queues; either may be null.
  DmaQueue(sc_core::sc_module_name name, const CoreConfig& core, bool chunk_lists,
           DmaEngines* engines, std::vector<Link>* links = nullptr);
  ~DmaQueue() override;
  IssueTiming Issue(const Instruction& instr) override;
  IssueTiming IssueLink(const Instruction& instr);
  std::uint64_t bytes() const { return bytes_; }

 private:
  DmaConfig config_;
  sc_core::sc_time setup_;
  sc_core::sc_time data_free_at_;
  tlm::tlm_generic_payload payload_;
  HbmPatternExtension* extension_;
  HbmChunksExtension* chunks_;  // the same pattern as a chunk list, for the banked HBM
  bool chunk_lists_;
  DmaEngines* engines_;
  OnChipAccessor sp_access_;
  std::uint64_t bytes_ = 0;
  DurationCache<> queue_time_;  // recent charged bytes -> queue time
  std::vector<Link>* links_;
  // One HBM transaction of the pattern at `delay` (updated to its completion).
  void HbmAccess(const HbmPattern& pattern, bool read, sc_core::sc_time& delay);
};

}  // namespace systole
