// Off-chip memory as a pure bandwidth + latency pipe (the roofline fidelity of HBM).
//
// What it models
//   One shared data path of bandwidth_gbps (GB/s = bytes/ns) and a fixed access latency.
//   A transaction (HbmPatternExtension or plain data_length) occupies the path for
//   bytes / bandwidth, starting at the first time the path is free for that long (so
//   concurrent DMA queues share the bandwidth), and completes latency_ns after its data.
//
// What it ignores
//   Banks, rows, refresh, read/write turnaround: see models/hbm/ for those.
//
// Parameters
//   bandwidth_gbps   GB/s
//   latency_ns       ns
#pragma once

#include <cstdint>
#include <systemc>
#include <tlm>

#include "models/memory/duration_cache.h"
#include "models/memory/lt_target.h"
#include "models/memory/reservation_calendar.h"

namespace systole {

struct BandwidthMemoryStats {
  std::uint64_t read_bytes = 0;
  std::uint64_t write_bytes = 0;
  sc_core::sc_time busy;
};

class BandwidthMemory : public sc_core::sc_module, public LtTarget {
 public:
  // Any number of initiators (engines, DMA queues) bind here.
  Socket socket;
  BandwidthMemory(sc_core::sc_module_name name, double bandwidth_gbps, double latency_ns);
  const BandwidthMemoryStats& stats() const { return stats_; }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) override;
  double ps_per_byte_;
  sc_core::sc_time latency_;
  ReservationCalendar path_;
  BandwidthMemoryStats stats_;
  DurationCache<> data_time_;  // recent transfer bytes -> data time
};

}  // namespace systole
