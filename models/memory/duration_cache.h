// The last few conversions of an integer size (bytes, cycles) to a duration.
//
// Timing models turn a transfer's bytes or an access's cycles into an sc_time on every
// transaction; building an sc_time from a double is slow next to the rest of a
// transaction, and kernels repeat a handful of sizes (a matmul kernel alternates its
// stationary and moving tile loads). Get() returns a cached duration for a recent size
// and otherwise converts once. Values are exactly what the conversion returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <systemc>

namespace systole {

template <std::size_t N = 4>
class DurationCache {
 public:
  template <class Convert>
  sc_core::sc_time Get(std::uint64_t size, Convert&& convert) {
    for (std::size_t i = 0; i < N; ++i) {
      if (sizes_[i] == size && valid_[i]) return durations_[i];
    }
    const std::size_t slot = next_;
    next_ = (next_ + 1) % N;
    sizes_[slot] = size;
    valid_[slot] = true;
    durations_[slot] = convert(size);
    return durations_[slot];
  }

 private:
  std::uint64_t sizes_[N] = {};
  bool valid_[N] = {};
  sc_core::sc_time durations_[N];
  std::size_t next_ = 0;
};

}  // namespace systole
