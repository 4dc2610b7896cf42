// On-chip SRAM (the scratchpad, or the accumulator memory) as a TLM-2.0 LT target.
//
// What it models
//   partitions x partition_bytes of SRAM, each partition split into `banks` equal banks
//   along its bytes. An access (one transaction per tile instruction) touches a rectangle:
//   a range of partitions and a byte range within each (OnChipRegion, carried in a
//   RegionExtension). All touched partitions transfer in parallel at
//   bytes_per_cycle_per_partition each, so an access lasts
//       ceil(bytes_per_partition / bytes_per_cycle_per_partition) cycles,
//   starting at the first time every bank it touches is free for that long (accesses to a
//   bank serialise: this is how concurrent engines contend; see ReservationCalendar), and
//   its data is usable access_overhead_cycles later.
//   The initiator's annotated delay is the requested start (LT); the returned delay is the
//   time until the access completes, overhead included.
//
// What it ignores
//   Contention between accesses to disjoint partition ranges of the same bank (every
//   access is assumed to span the partitions it needs in parallel and to own the bank
//   for its duration).
//   Capacity is enforced by the kernel's allocator, not here.
//
// Parameters
//   config.partitions, config.partition_bytes (bytes), config.banks,
//   config.bytes_per_cycle_per_partition (bytes/cycle), config.access_overhead_cycles,
//   clock_ghz (GHz: the memory's clock, the core clock)
#pragma once

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "base/divider.h"
#include "models/chip/arch_config.h"
#include "models/core/program.h"
#include "models/memory/duration_cache.h"
#include "models/memory/lt_target.h"
#include "models/memory/reservation_calendar.h"

namespace systole {

// Carries the accessed rectangle with a transaction to an OnChipMemory.
struct RegionExtension : tlm::tlm_extension<RegionExtension> {
  OnChipRegion region;
  tlm::tlm_extension_base* clone() const override { return new RegionExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    region = static_cast<const RegionExtension&>(other).region;
  }
};

struct OnChipMemoryStats {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t read_bytes = 0;
  std::uint64_t write_bytes = 0;
  std::uint64_t busy_cycles = 0;        // sum over accesses of their bank-occupancy cycles
  std::uint64_t contention_cycles = 0;  // cycles accesses waited for a busy bank
};

class OnChipMemory : public sc_core::sc_module, public LtTarget {
 public:
  // Any number of initiators (engines, DMA queues) bind here.
  Socket socket;

  OnChipMemory(sc_core::sc_module_name name, const OnChipMemoryConfig& config, double clock_ghz);

  const OnChipMemoryConfig& config() const { return config_; }
  const OnChipMemoryStats& stats() const { return stats_; }
  // Cycles one access of `bytes_per_partition` per partition occupies its banks.
  std::uint64_t AccessCycles(std::uint64_t bytes_per_partition) const;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) override;

  OnChipMemoryConfig config_;
  sc_core::sc_time cycle_;
  sc_core::sc_time overhead_;    // access_overhead_cycles * cycle_
  DurationCache<> access_time_;  // access cycles -> occupancy
  Divider bank_bytes_;           // bytes per bank (of a partition)
  Divider bytes_per_cycle_;      // config.bytes_per_cycle_per_partition
  std::vector<ReservationCalendar> banks_;
  OnChipMemoryStats stats_;
};

// Helper for initiators: one reusable payload + extension per socket user.
class OnChipAccessor {
 public:
  OnChipAccessor();
  ~OnChipAccessor();
  OnChipAccessor(const OnChipAccessor&) = delete;
  OnChipAccessor& operator=(const OnChipAccessor&) = delete;
  // Issues one access starting `start_offset` from now; returns the time from now until
  // it completes.
  template <class Socket>
  sc_core::sc_time Access(Socket& socket, const OnChipRegion& region, bool write,
                          sc_core::sc_time start_offset) {
    Prepare(region, write);
    sc_core::sc_time delay = start_offset;
    socket->b_transport(payload_, delay);
    return delay;
  }

 private:
  void Prepare(const OnChipRegion& region, bool write);
  tlm::tlm_generic_payload payload_;
  RegionExtension* extension_;
};

}  // namespace systole
