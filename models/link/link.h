// One link as a shared resource on a core's timeline (kDmaLink instructions).
//
// What it models
//   A link of bandwidth_gbps (GB/s per direction) and latency_ns: transfers that use it
//   are served one after another in issue order; a transfer of B bytes that may start at
//   t occupies it from max(t, free) for B / bandwidth, and its data is delivered
//   latency_ns after that. For a collective step the bandwidth is the rank's share of its
//   most loaded resource (LinkFabric), so a step alone takes latency + bytes / bandwidth,
//   as in TimeCollective, and steps queued behind compute traffic in the DMA queues or
//   HBM take longer.
//
// What it ignores
//   Everything on the far side (the peer is symmetric: what this rank sends over a link,
//   it receives from its other peer at the same time), flow control, packetisation.
//
// Parameters: bandwidth_gbps (GB/s), latency_ns (ns), from Program::links.
#pragma once

#include <algorithm>
#include <cstdint>
#include <systemc>

namespace systole {

class Link {
 public:
  Link(double bandwidth_gbps, double latency_ns)
      : bandwidth_gbps_(bandwidth_gbps), latency_(latency_ns, sc_core::SC_NS) {}
  // Books `bytes` starting no earlier than `earliest`; returns when the data is delivered.
  sc_core::sc_time Transfer(sc_core::sc_time earliest, std::uint64_t bytes) {
    const sc_core::sc_time start = std::max(earliest, free_at_);
    free_at_ =
        start + sc_core::sc_time(static_cast<double>(bytes) / bandwidth_gbps_, sc_core::SC_NS);
    bytes_ += bytes;
    return free_at_ + latency_;
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  double bandwidth_gbps_;
  sc_core::sc_time latency_;
  sc_core::sc_time free_at_ = sc_core::SC_ZERO_TIME;
  std::uint64_t bytes_ = 0;
};

}  // namespace systole
