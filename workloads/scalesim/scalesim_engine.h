// Internals shared by the reference (row-level) and fast (fold-level) SCALE-Sim engines.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "workloads/scalesim/scalesim_input.h"
#include "workloads/scalesim/scalesim_sim.h"

namespace systole::scalesim {

// Operand addresses of one layer (compute/operand_matrix.py).
struct Geometry {
  Geometry(const Config& cfg, const Layer& layer);
  std::uint64_t H, W, Fh, Fw, Ch, Sh, Sw, Eh, Ew;
  std::uint64_t M, K, N;
  std::int64_t if_off, f_off, o_off;
  bool gemm_like;  // ifmap(m, k) = m*K + k + offset (GEMM input or an equivalent conv)

  // im2col element (ofmap pixel m, window index k); -1 outside the image.
  std::int64_t IfmapAddr(std::uint64_t m, std::uint64_t k) const {
    const std::uint64_t irow = (m / Ew) * Sh;
    const std::uint64_t icol = (m % Ew) * Sw;
    const std::uint64_t crow = k / (Fw * Ch);
    const std::uint64_t rem = k % (Fw * Ch);
    const std::uint64_t ccol = rem / Ch;
    const std::uint64_t ch = rem % Ch;
    if (crow + irow >= H || ccol + icol >= W) return -1;
    return static_cast<std::int64_t>((crow * W + ccol) * Ch + ch + (irow * W + icol) * Ch) + if_off;
  }
  std::int64_t FilterAddr(std::uint64_t k, std::uint64_t n) const {
    return static_cast<std::int64_t>(n * K + k) + f_off;
  }
  std::int64_t OfmapAddr(std::uint64_t m, std::uint64_t n) const {
    return static_cast<std::int64_t>(N * m + n) + o_off;
  }
};

struct Mapping {
  Mapping(const Config& cfg, const Geometry& g);
  Dataflow df;
  std::uint64_t R, C, Sr, Sc, T, RF, CF, folds, P, rows_total;
};

// Valid addresses (column order) of demand row t of fold (fr, fc); op 0 ifmap, 1 filter,
// 2 ofmap.
void RowAddresses(const Geometry& g, const Mapping& mp, int op, std::uint64_t fr, std::uint64_t fc,
                  std::uint64_t t, std::vector<std::int64_t>& out);

// The prefetch matrix of a read operand: `blocks` fold chunks of block_rows x cols stacked
// vertically, read out along anti-diagonals (antidiag) or row-major.
struct PrefetchShape {
  std::uint64_t blocks = 0, block_rows = 0, cols = 0, rows = 0, elems = 0;
  std::uint64_t extent = 0;     // spatial extent chunked into `cols`-wide blocks
  std::uint64_t last_used = 0;  // valid columns of the last block (the rest is -1 padding)
  bool antidiag = false;
};
PrefetchShape GetPrefetchShape(const Mapping& mp, int op);
std::int64_t PrefetchElem(const Geometry& g, const Mapping& mp, int op, const PrefetchShape& s,
                          std::uint64_t row, std::uint64_t col);

template <class F>
void ForEachPrefetch(const PrefetchShape& s, F&& visit) {
  if (!s.antidiag) {
    for (std::uint64_t r = 0; r < s.rows; ++r) {
      for (std::uint64_t c = 0; c < s.cols; ++c) visit(r, c);
    }
    return;
  }
  const std::uint64_t diags = s.rows + s.cols - 1;
  for (std::uint64_t d = 0; d < diags; ++d) {
    const std::uint64_t max_row = std::min(d, s.rows - 1);
    const std::uint64_t min_row = d + 1 > s.cols ? d + 1 - s.cols : 0;
    for (std::uint64_t r = max_row + 1; r-- > min_row;) visit(r, d - r);
  }
}

struct UserBufferParams {
  UserBufferParams(std::uint64_t size_words, std::uint64_t bw, std::uint64_t valid_elems,
                   std::uint64_t prefetch_elems);
  std::uint64_t bandwidth, items_per_set, active_size, prefetch_size;
  std::uint64_t num_sets, active_sets, prefetch_sets;
  std::uint64_t fetch_rows, initial_lines, prefetch_lines;
};

class WriteBuffer {
 public:
  WriteBuffer(std::uint64_t size_words, std::uint64_t bw);
  // n valid writes arriving at `cycle`; returns the served cycle.
  std::int64_t Service(std::uint64_t n, std::int64_t cycle);
  void Finish(std::int64_t cycle);  // empty_all_buffers()
  std::int64_t dram_start() const { return dram_start_; }
  std::int64_t dram_stop() const { return dram_stop_; }
  std::uint64_t accesses() const { return accesses_; }

 private:
  void Store() {
    ++line_fill_;
    --free_;
    if (line_fill_ == bw_) {
      pending_.push_back(line_fill_);
      line_fill_ = 0;
    }
  }
  std::int64_t Drain(std::int64_t start);

  std::int64_t active_;
  std::uint64_t drain_lines_, bw_;
  std::int64_t free_;
  std::uint64_t line_fill_ = 0;
  std::deque<std::uint64_t> pending_;
  std::int64_t drain_end_ = 0;
  std::uint64_t accesses_ = 0;
  bool drained_ = false;
  std::int64_t dram_start_ = 0, dram_stop_ = 0;
};

void FillComputeColumns(const Config& cfg, const Geometry& g, const Mapping& mp, LayerResult* out);
void FillRatioColumns(const Config& cfg, const Geometry& g, LayerResult* out);

LayerResult SimulateReference(const Config& cfg, const Layer& layer);
// Test hook for the fast USER engine's ifmap validity bitmap: 1 when it was built from the
// clipped pixels and equals the cell-by-cell scan, -1 when they differ, 0 when the layer
// takes neither (injective ifmap, windows inside the image, or too many clipped cells).
int FastIfmapRankSelfCheck(const Config& cfg, const Layer& layer);
// Returns false when no proven fast path applies (the caller then runs the reference).
bool SimulateFast(const Config& cfg, const Layer& layer, LayerResult* out);

}  // namespace systole::scalesim
