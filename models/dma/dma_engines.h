// The DMA engines a core's DMA queues share (NeuronCore-class DMA).
//
// What it models
//   On a NeuronCore a DMA transfer is not moved by one engine: it is split by scratchpad
//   partition over the core's DMA engines, each engine serving a fixed group of
//   partitions (16 engines for 128 partitions: 8 partitions each), and the transfer is done
//   when every engine that holds part of it has finished its part. An engine works through
//   descriptors, one per contiguous run of HBM bytes (a row of a block narrower than its
//   tensor), a run that spans several engines' partitions being cut at their boundaries
//   (a contiguous [4 x 4096] bf16 block is one 32 KiB descriptor on one engine); each costs a
//   fixed processing time on top of its bytes at the engine's bandwidth:
//     engine_time = descriptors_on_engine * descriptor_ns + bytes_on_engine / engine_gbps
//   so small or strided transfers (many short descriptors) reach a fraction of the peak
//   and transfers of >= 4 KiB per partition approach it. Engines are shared by all
//   queues: each engine serves the parts given to it in the order they arrive (a queue's
//   later transfer waits for the engines its earlier ones still hold).
//
// What it ignores
//   Per-queue round-robin arbitration inside an engine (parts are served first come,
//   first served), descriptor-generation engines (DGE), DMA rings and their refill,
//   transposing DMAs, cross-core traffic.
//
// Parameters (CoreConfig.dma)
//   engines (count; 0 = every queue is its own engine of queue_bandwidth_gbps, the
//   simple queue model), engine_bandwidth_gbps (GB/s per engine), descriptor_ns (ns per
//   descriptor); the partitions per engine follow from core.scratchpad.partitions.
#pragma once

#include <cstdint>
#include <systemc>
#include <vector>

#include "models/chip/arch_config.h"
#include "models/core/program.h"

namespace systole {

// How a transfer is cut into descriptors: max(HBM chunks, engines it spans) of equal size.
struct DmaDescriptors {
  std::uint64_t count = 0;
  std::uint64_t bytes_each = 0;
};
DmaDescriptors DescriptorsOf(const HbmPattern& hbm, const OnChipRegion& tile,
                             std::uint64_t partitions_per_engine);

// Time one engine needs for `descriptors` descriptors of `bytes_each` bytes, in ns.
double DmaEngineTimeNs(const DmaConfig& config, std::uint64_t descriptors,
                       std::uint64_t bytes_each);

// Closed form of a transfer alone on idle engines: the slowest engine's part, in ns.
double DmaTransferTimeNs(const DmaConfig& config, std::uint64_t partitions_per_engine,
                         const HbmPattern& hbm, const OnChipRegion& tile);

class DmaEngines {
 public:
  DmaEngines(const DmaConfig& config, std::uint64_t scratchpad_partitions);
  bool enabled() const { return !free_at_.empty(); }
  std::uint64_t partitions_per_engine() const { return partitions_per_engine_; }
  // Books the transfer's parts on its engines, none starting before `start` (absolute);
  // returns when the last part ends (absolute). `busy` gets the slowest part's time.
  sc_core::sc_time Transfer(const sc_core::sc_time& start, const HbmPattern& hbm,
                            const OnChipRegion& tile, sc_core::sc_time* busy);

 private:
  DmaConfig config_;
  std::uint64_t partitions_per_engine_ = 1;
  std::vector<sc_core::sc_time> free_at_;  // per engine
};

}  // namespace systole
