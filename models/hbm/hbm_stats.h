// Statistics shared by the HBM timing models (hbm_reference.h, hbm.h).
//
// Counts are per burst (pc_width_bits/8 x burst_length bytes): a burst that needed an
// activation is a row miss, every other burst is a row hit. busy_ps is the data-bus time
// of each pseudo-channel (bursts x burst time), so busy_ps / elapsed is its utilisation.
#pragma once

#include <cstdint>
#include <vector>

namespace systole {

struct HbmStats {
  std::uint64_t requests = 0;  // transactions (reference: requests)
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t bursts = 0;
  std::uint64_t activations = 0;
  std::uint64_t row_hits = 0;    // bursts served from an open row
  std::uint64_t row_misses = 0;  // bursts that needed an activation (empty or conflict)
  std::uint64_t refreshes = 0;   // all-bank refreshes that delayed traffic (see each model)
  std::uint64_t first_arrival_ps = UINT64_MAX;
  std::uint64_t last_completion_ps = 0;
  std::vector<std::uint64_t> busy_ps;  // per pseudo-channel data-bus time

  std::uint64_t ElapsedPs() const {
    return last_completion_ps > first_arrival_ps ? last_completion_ps - first_arrival_ps : 0;
  }
  // Bytes moved per ns of [first arrival, last completion] = GB/s (1e9 B/s).
  double AchievedGBps() const {
    const std::uint64_t ps = ElapsedPs();
    return ps == 0
               ? 0.0
               : static_cast<double>(bytes_read + bytes_written) * 1000.0 / static_cast<double>(ps);
  }
};

}  // namespace systole
