#include "workloads/kernel/written_region.h"

#include <algorithm>

namespace systole {

WrittenRegion::WrittenRegion(std::uint32_t partitions, std::uint64_t elems)
    : partitions_(partitions), elems_(elems) {
  if (partitions_ > 0) runs_.push_back(Run{0, {}});
}

std::size_t WrittenRegion::SplitAt(std::uint32_t p) {
  if (p >= partitions_) return runs_.size();
  // The last run starting at or before p.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), p,
                             [](std::uint32_t x, const Run& r) { return x < r.begin; });
  const auto i = static_cast<std::size_t>(std::prev(it) - runs_.begin());
  if (runs_[i].begin == p) return i;
  Run copy{p, runs_[i].ranges};
  runs_.insert(runs_.begin() + static_cast<std::ptrdiff_t>(i + 1), std::move(copy));
  return i + 1;
}

void WrittenRegion::Add(Ranges& ranges, std::uint64_t lo, std::uint64_t hi) {
  // Ranges that overlap or touch [lo, hi) merge with it.
  auto first = std::lower_bound(ranges.begin(), ranges.end(), lo,
                                [](const auto& r, std::uint64_t x) { return r.second < x; });
  auto last = first;
  while (last != ranges.end() && last->first <= hi) {
    lo = std::min(lo, last->first);
    hi = std::max(hi, last->second);
    ++last;
  }
  if (first == last) {
    ranges.insert(first, {lo, hi});
  } else {
    *first = {lo, hi};
    ranges.erase(first + 1, last);
  }
}

void WrittenRegion::Mark(std::uint32_t p0, std::uint32_t np, std::uint64_t f0, std::uint64_t nf) {
  if (full_ || np == 0) return;
  const std::uint32_t p1 = std::min(partitions_, p0 + np);
  if (p0 >= p1) return;
  const std::size_t i0 = SplitAt(p0);
  const std::size_t i1 = SplitAt(p1);
  for (std::size_t i = i0; i < i1; ++i) Add(runs_[i].ranges, f0, f0 + nf);
  // Neighbouring runs that now hold the same ranges become one.
  const std::size_t lo = i0 > 0 ? i0 - 1 : 0;
  const std::size_t hi = std::min(i1, runs_.size() - 1);
  std::size_t out = lo;
  for (std::size_t i = lo + 1; i <= hi; ++i) {
    if (runs_[i].ranges == runs_[out].ranges) continue;
    ++out;
    if (out != i) runs_[out] = std::move(runs_[i]);
  }
  runs_.erase(runs_.begin() + static_cast<std::ptrdiff_t>(out + 1),
              runs_.begin() + static_cast<std::ptrdiff_t>(hi + 1));
  full_ = runs_.size() == 1 && runs_[0].ranges.size() == 1 && runs_[0].ranges[0].first == 0 &&
          runs_[0].ranges[0].second == elems_;
  if (full_) runs_.clear();
}

std::optional<std::uint32_t> WrittenRegion::FirstUnwritten(std::uint32_t p0, std::uint32_t np,
                                                           std::uint64_t f0,
                                                           std::uint64_t nf) const {
  if (full_ || np == 0) return std::nullopt;
  const std::uint32_t p1 = p0 + np;
  auto it = std::upper_bound(runs_.begin(), runs_.end(), p0,
                             [](std::uint32_t x, const Run& r) { return x < r.begin; });
  if (it != runs_.begin()) --it;
  for (; it != runs_.end() && it->begin < p1; ++it) {
    const Ranges& r = it->ranges;
    auto at = std::upper_bound(r.begin(), r.end(), std::make_pair(f0, ~std::uint64_t{0}));
    const bool covered = at != r.begin() && std::prev(at)->second >= f0 + nf;
    if (!covered) return std::max(it->begin, p0);
  }
  return std::nullopt;
}

}  // namespace systole
