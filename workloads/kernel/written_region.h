// Which elements of a tile have been written, so that a kernel reading what nothing wrote
// is rejected (kernel_builder.h).
//
// Per partition, a sorted set of disjoint written element ranges [first, second). Kernels
// write whole partition ranges at once (a row tile, a slice of rows), so partitions with
// the same ranges are kept together as one run: marking and checking a view cost
// O(runs x ranges), not O(partitions) with a list per partition.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace systole {

class WrittenRegion {
 public:
  WrittenRegion() = default;
  WrittenRegion(std::uint32_t partitions, std::uint64_t elems);

  // Marks [p0, p0 + np) x [f0, f0 + nf) written (within the tile's bounds).
  void Mark(std::uint32_t p0, std::uint32_t np, std::uint64_t f0, std::uint64_t nf);
  // The first partition of [p0, p0 + np) whose elements [f0, f0 + nf) are not all
  // written, if any. The view must lie inside the tile (the kernel builder checks it).
  std::optional<std::uint32_t> FirstUnwritten(std::uint32_t p0, std::uint32_t np, std::uint64_t f0,
                                              std::uint64_t nf) const;
  // Every element of every partition written.
  bool full() const { return full_; }
  std::size_t runs() const { return runs_.size(); }

 private:
  using Ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;  // sorted, disjoint
  struct Run {
    std::uint32_t begin = 0;  // the run covers partitions [begin, next run's begin)
    Ranges ranges;
  };
  // Index of the run starting at partition p, splitting the run containing it if needed
  // (runs_.size() for p == partitions).
  std::size_t SplitAt(std::uint32_t p);
  static void Add(Ranges& ranges, std::uint64_t lo, std::uint64_t hi);

  std::uint32_t partitions_ = 0;
  std::uint64_t elems_ = 0;
  std::vector<Run> runs_;
  bool full_ = false;
};

}  // namespace systole
