// The USER-mode read buffer of the fast SCALE-Sim engine (scalesim_fast.cpp).
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "workloads/scalesim/scalesim_fast_internal.h"

namespace systole::scalesim::fast {

// USER-mode read buffer (memory/read_buffer.py) addressed by prefetch positions. A demand
// row is one run of consecutive cells of the prefetch sequence (one anti-diagonal, or one
// row of a row-major prefetch matrix), so its valid addresses have consecutive positions
// and set ids [j0, j1]. For injective operands positions are closed forms. For an ifmap
// with repeated or out-of-image elements, positions come from a rank bitmap over the
// prefetch sequence, and an address that misses at its own position may still hit through
// another occurrence (SCALE-Sim checks every set holding the address): rows not entirely
// in the window are resolved address by address, enumerating the occurrences.
class PositionalUserBuffer {
 public:
  PositionalUserBuffer(const Geometry& g, const Mapping& mp, int op, u64 size_words, u64 bw,
                       bool ranked, bool force_scan = false)
      : g_(g),
        mp_(mp),
        op_(op),
        s_(GetPrefetchShape(mp, op)),
        ranked_(ranked),
        force_scan_(force_scan),
        p_(size_words, bw, ranked ? BuildRank() : ValidCount(s_), s_.elems) {}

  static u64 ValidCount(const PrefetchShape& s) {
    return s.elems - s.block_rows * (s.cols - s.last_used);
  }

  // Demand row t of fold (fr, fc), pattern columns [lo, hi] (non-empty).
  // `known` (optional) holds the row's positions [p0, p1] already computed by the caller.
  i64 Row(u64 fr, u64 fc, u64 t, i64 lo, i64 hi, const Pattern& pat, i64 cycle,
          const u64* known = nullptr) {
    Start(cycle);
    i64 offset = 1;
    u64 j0, j1;
    if (known != nullptr) {
      j0 = known[0] / p_.items_per_set;
      j1 = known[1] / p_.items_per_set;
    } else if (!Sets(fr, fc, t, lo, hi, pat, &j0, &j1)) {
      return cycle + offset;
    }
    if (!ranked_) {
      for (u64 j = j0; j <= j1; ++j) {
        if (!InWindow(j)) Advance(Steps(j), cycle, &offset);
      }
      return cycle + offset;
    }
    u64 reach;
    if (WindowReach(j0, &reach) && j1 <= reach) return cycle + offset;
    // Without out-of-image elements the row's cells hold consecutive positions from p0.
    const u64 p0 = !inside_           ? 0
                   : known != nullptr ? known[0]
                                      : SeqRank(fr, fc, t, static_cast<u64>(lo), pat);
    const u64 E = p_.items_per_set;
    // The row's cells are consecutive in the prefetch sequence.
    const u64 idx0 = inside_ ? 0 : SeqIndex(fr, fc, t, static_cast<u64>(lo), pat);
    for (i64 c = lo; c <= hi; ++c) {
      u64 rank = 0;
      if (inside_) {
        rank = p0 + static_cast<u64>(c - lo);
      } else {
        const u64 idx = idx0 + static_cast<u64>(c - lo);
        if (!Valid(idx)) continue;
        rank = Rank(idx);
      }
      const u64 j = rank / E;
      if (InWindow(j)) {  // the rest of set j (the window only moves on a miss); ranks grow
        // by at most one a cell, so the next (j + 1) * E - rank - 1 cells are in set j or
        // invalid
        c = std::min<i64>(hi, c + static_cast<i64>((j + 1) * E - rank) - 1);
        continue;
      }
      // Other occurrences of the same address.
      u64 m = 0, k = 0;
      Element(fr, fc, t, static_cast<u64>(c), pat, &m, &k);
      u64 best = ~u64{0};
      // The occurrence at the pixel offset that hit last time, or the time before, usually
      // hits again (which occurrence is tried first does not change the outcome).
      u64 m2 = 0, k2 = 0, r2 = 0, reach2 = 0;
      bool hit = false;
      if (OccurrenceAt(m, k, hint_dr_, hint_dc_, &m2, &k2)) {
        r2 = ElementRank(m2, k2);
        hit = WindowReach(r2 / E, &reach2);
      }
      if (!hit && OccurrenceAt(m, k, hint2_dr_, hint2_dc_, &m2, &k2)) {
        r2 = ElementRank(m2, k2);
        hit = WindowReach(r2 / E, &reach2);
        if (hit) {
          std::swap(hint_dr_, hint2_dr_);
          std::swap(hint_dc_, hint2_dc_);
        }
      }
      if (hit && mp_.df == Dataflow::kOutputStationary) {
        // OS: the next cells of the row are (m+1, k-1). While both pixels stay in their
        // ofmap rows, m2 in its prefetch block and the window offset of k-1, k-2, ...
        // shifted by the pixel offset stays inside the window (OccurrenceRun), their
        // occurrences at the same pixel offset are (m2+1, k2-1), ...: the next cells of
        // one anti-diagonal, with ranks at most r2+1, r2+2, ... (exactly those unless
        // out-of-image cells lie between): hits while inside the window.
        u64 run = std::min<u64>(static_cast<u64>(hi - c) + 1, OccurrenceRun(k));
        run = std::min(run, g_.Ew - m % g_.Ew);
        run = std::min(run, g_.Ew - m2 % g_.Ew);
        run = std::min(run, s_.cols - m2 % s_.cols);
        if (reach2 != ~u64{0}) run = std::min(run, (reach2 + 1) * E - r2);
        c += static_cast<i64>(run) - 1;
      }
      if (!hit) {
        ForEachOccurrence(m, k, [&](u64 mo, u64 ko) {
          if (hit) return;
          const u64 j = ElementRank(mo, ko) / p_.items_per_set;
          if (InWindow(j)) {
            hit = true;
            hint2_dr_ = hint_dr_;
            hint2_dc_ = hint_dc_;
            hint_dr_ = static_cast<i64>(m / g_.Ew) - static_cast<i64>(mo / g_.Ew);
            hint_dc_ = static_cast<i64>(m % g_.Ew) - static_cast<i64>(mo % g_.Ew);
          } else {
            best = std::min(best, Steps(j));
          }
        });
      }
      if (!hit) Advance(best, cycle, &offset);
    }
    return cycle + offset;
  }
  // Set ids [j0, j1] of the valid addresses of demand row t; false when it has none.
  bool Sets(u64 fr, u64 fc, u64 t, i64 lo, i64 hi, const Pattern& pat, u64* j0, u64* j1) const {
    if (!ranked_) {
      u64 p0 = 0, p1 = 0;
      Positions(fr, fc, t, lo, hi, pat, &p0, &p1);
      *j0 = p0 / p_.items_per_set;
      *j1 = p1 / p_.items_per_set;
      return true;
    }
    const u64 a = SeqRank(fr, fc, t, static_cast<u64>(lo), pat);
    const u64 b = SeqRankAfter(fr, fc, t, static_cast<u64>(hi), pat);
    if (b == a) return false;
    *j0 = a / p_.items_per_set;
    *j1 = (b - 1) / p_.items_per_set;
    return true;
  }
  // Positions (in the valid prefetch sequence) of the first and last valid address of row t.
  bool Positions(u64 fr, u64 fc, u64 t, i64 lo, i64 hi, const Pattern& pat, u64* p0,
                 u64* p1) const {
    if (!ranked_) {
      u64 row0 = 0, col0 = 0, row1 = 0, col1 = 0;
      Cell(fr, fc, t, static_cast<u64>(lo), pat, &row0, &col0);
      Cell(fr, fc, t, static_cast<u64>(hi), pat, &row1, &col1);
      if (s_.antidiag && row0 + col0 == row1 + col1) {  // one anti-diagonal: shared base
        const u64 d = row0 + col0;
        const u64 base = DiagBase(d);
        *p0 = base + DiagBefore(row0, d);
        *p1 = base + DiagBefore(row1, d);
        return true;
      }
      *p0 = CellPosition(row0, col0);
      *p1 = CellPosition(row1, col1);
      return true;
    }
    const u64 a = SeqRank(fr, fc, t, static_cast<u64>(lo), pat);
    const u64 b = SeqRankAfter(fr, fc, t, static_cast<u64>(hi), pat);
    if (b == a) return false;
    *p0 = a;
    *p1 = b - 1;
    return true;
  }
  // Position of the last (first) valid address of row t; false when the row has none.
  bool LastPos(u64 fr, u64 fc, u64 t, i64 lo, i64 hi, const Pattern& pat, u64* p1) const {
    if (!ranked_) {
      *p1 = Position(fr, fc, t, static_cast<u64>(hi), pat);
      return true;
    }
    u64 p0 = 0;
    return Positions(fr, fc, t, lo, hi, pat, &p0, p1);
  }
  bool FirstPos(u64 fr, u64 fc, u64 t, i64 lo, i64 hi, const Pattern& pat, u64* p0) const {
    if (!ranked_) {
      *p0 = Position(fr, fc, t, static_cast<u64>(lo), pat);
      return true;
    }
    u64 p1 = 0;
    return Positions(fr, fc, t, lo, hi, pat, p0, &p1);
  }
  // Whether the last position of demand rows t..x of a skewed pattern grows by exactly
  // prefetch_cols() a row: injective, no padding, full rows (last column used-1, so the
  // cell moves down one prefetch row a row) and, in anti-diagonal order, diagonals between
  // the two ramps (nc cells each, the last column nc-1-... above the cell: before = col).
  bool LastPosLinear(u64 fr, u64 fc, u64 t, u64 x, const Pattern& pat) const {
    if (ranked_ || !pat.skewed || s_.last_used != s_.cols || pat.used == 0) return false;
    if (t + 1 < pat.pre + pat.used) return false;
    if (!s_.antidiag) return true;
    u64 row = 0, col = 0;
    Cell(fr, fc, t, pat.used - 1, pat, &row, &col);
    const u64 d = row + col;
    return d + 1 >= s_.cols && d + (x - t) + 1 <= s_.rows;
  }
  // Whether the rows of a block pattern are whole prefetch rows of a row-major matrix
  // without padding: row t+1 starts exactly prefetch_cols() positions before row t.
  bool BlockLinear(const Pattern& pat) const {
    return !ranked_ && !pat.skewed && !s_.antidiag && s_.last_used == s_.cols;
  }
  u64 items_per_set() const { return p_.items_per_set; }
  u64 prefetch_cols() const { return s_.cols; }
  bool sparse() const { return sparse_; }
  // Whether no demand row of fold (fr, fc) holds a valid address (OS ifmap: every pixel of
  // the row fold starts its window outside the image); such rows are served at cycle+1.
  bool FoldEmpty(u64 fr) const { return !block_empty_.empty() && block_empty_[fr]; }
  const std::vector<u64>& bits() const { return bits_; }
  const std::vector<u64>& rank() const { return rank_; }
  u64 moves() const { return moves_; }  // window moves so far
  // Largest J such that every set in [j, J] is in the active window; false if j is not.
  bool WindowReach(u64 j, u64* reach) const {
    if (!InWindow(j)) return false;
    if (p_.active_sets >= p_.num_sets) {
      *reach = ~u64{0};
      return true;
    }
    const u64 end = window_ + p_.active_sets;  // exclusive, may exceed num_sets (wrap)
    if (j >= window_) {
      *reach = end >= p_.num_sets ? ~u64{0} : end - 1;  // set ids never exceed num_sets-1
    } else {
      *reach = end - p_.num_sets - 1;  // j lies in the wrapped part [0, end - num_sets)
    }
    return true;
  }
  // Smallest J such that every set in [J, j] is in the active window; false if j is not.
  bool WindowReachBack(u64 j, u64* reach) const {
    if (!InWindow(j)) return false;
    if (p_.active_sets >= p_.num_sets) {
      *reach = 0;
      return true;
    }
    *reach = j >= window_ ? window_ : 0;  // below window_ only the wrapped part [0, ...)
    return true;
  }
  void Start(i64 cycle) {
    if (started_) return;
    started_ = true;
    accesses_ += p_.initial_lines * p_.bandwidth;
    dram_start_ = cycle - static_cast<i64>(p_.initial_lines);
    last_cycle_ = cycle - 1;
  }
  void Finish(i64* start, i64* stop, u64* count) const {
    *start = dram_start_;
    *stop = last_cycle_;
    *count = accesses_;
  }

 private:
  bool InWindow(u64 j) const {
    if (p_.active_sets >= p_.num_sets) return true;
    const u64 d = j >= window_ ? j - window_ : j + p_.num_sets - window_;
    return d < p_.active_sets;
  }
  // read_buffer.new_prefetch() repeats until the address hits; each call moves the window
  // by prefetch_sets. For set j with d = (j - start) mod num_sets >= active_sets the first
  // hit comes after ceil((d - active_sets + 1) / prefetch_sets) moves (steps never exceed
  // the window width, so the walk cannot jump over it).
  u64 Steps(u64 j) const {
    if (p_.prefetch_sets == 0) {
      throw InputError(
          "SCALE-Sim v2 cannot simulate this layer: an address outside a prefetch window "
          "that can never move (it would loop forever)");
    }
    const u64 d = j >= window_ ? j - window_ : j + p_.num_sets - window_;
    return (d - p_.active_sets + p_.prefetch_sets) / p_.prefetch_sets;
  }
  // k moves; each fetches prefetch_lines rows one cycle apart and sets
  // offset = max(offset, last - cycle).
  void Advance(u64 k, i64 cycle, i64* offset) {
    moves_ += k;
    if (k == 1) {
      window_ += p_.prefetch_sets;
      while (window_ >= p_.num_sets) window_ -= p_.num_sets;
    } else {
      window_ = (window_ + (k % p_.num_sets) * p_.prefetch_sets) % p_.num_sets;
    }
    accesses_ += k * p_.prefetch_lines * p_.bandwidth;
    last_cycle_ += static_cast<i64>(k * (p_.prefetch_lines + 1));
    *offset = std::max(*offset, last_cycle_ - cycle);
  }
  // Prefetch matrix cell of fold (fr, fc), demand row t, block column c.
  void Cell(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat, u64* row, u64* col) const {
    const u64 R = mp_.R;
    *col = c;
    switch (mp_.df) {
      case Dataflow::kOutputStationary:  // u = k; rows fr*T + k (ifmap) / fc*T + k (filter)
        *row = (op_ == 0 ? fr : fc) * mp_.T + (t - pat.pre - c);
        return;
      case Dataflow::kWeightStationary:
        if (op_ == 0) {
          *row = fr * mp_.T + (t - pat.pre - c);  // m
        } else {
          *row = fc * mp_.Sr + fr * R + (R - 1 - t);  // k
        }
        return;
      case Dataflow::kInputStationary:
        if (op_ == 0) {
          *row = fc * mp_.Sr + fr * R + (R - 1 - t);  // k
        } else {
          *row = fr * mp_.T + (t - pat.pre - c);  // n
        }
        return;
    }
  }
  // GEMM element (m, k) of an ifmap demand cell.
  void Element(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat, u64* m, u64* k) const {
    u64 row = 0, col = 0;
    Cell(fr, fc, t, c, pat, &row, &col);
    CellElement(row, col, m, k);
  }
  void CellElement(u64 row, u64 col, u64* m, u64* k) const {
    const u64 b = row / s_.block_rows, r = row % s_.block_rows;
    switch (mp_.df) {
      case Dataflow::kOutputStationary:
        *m = b * s_.cols + col;
        *k = r;
        return;
      case Dataflow::kWeightStationary:
        *m = r;
        *k = b * s_.cols + col;
        return;
      case Dataflow::kInputStationary:
        *m = b * s_.cols + col;
        *k = r;
        return;
    }
  }
  // Valid position of ifmap element (m, k) in the prefetch sequence.
  u64 ElementRank(u64 m, u64 k) const {
    u64 row = 0, col = 0;
    CellOf(m, k, &row, &col);
    return inside_ ? CellPosition(row, col) : Rank(IndexOf(row, col));
  }
  // Valid position of demand cell (fr, fc, t, c) (which must be valid).
  u64 SeqRank(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat) const {
    u64 row = 0, col = 0;
    Cell(fr, fc, t, c, pat, &row, &col);
    return inside_ ? CellPosition(row, col) : Rank(IndexOf(row, col));
  }
  // Valid cells up to and including demand cell (fr, fc, t, c).
  u64 SeqRankAfter(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat) const {
    u64 row = 0, col = 0;
    Cell(fr, fc, t, c, pat, &row, &col);
    return inside_ ? CellPosition(row, col) + 1 : Rank(IndexOf(row, col) + 1);
  }
  // Prefetch cell holding ifmap element (m, k).
  void CellOf(u64 m, u64 k, u64* prow, u64* pcol) const {
    u64& row = *prow;
    u64& col = *pcol;
    switch (mp_.df) {
      case Dataflow::kOutputStationary:
        row = (m / s_.cols) * s_.block_rows + k;
        col = m % s_.cols;
        break;
      case Dataflow::kWeightStationary:
        row = (k / s_.cols) * s_.block_rows + m;
        col = k % s_.cols;
        break;
      case Dataflow::kInputStationary:
        row = (m / s_.cols) * s_.block_rows + k;
        col = m % s_.cols;
        break;
    }
  }
  // The im2col element holding the same ifmap word as (m, k) at the pixel dr ofmap rows
  // and dc ofmap columns before it; false when that pixel does not read the word.
  bool OccurrenceAt(u64 m, u64 k, i64 dr, i64 dc, u64* m2, u64* k2) const {
    const i64 orow = static_cast<i64>(m / g_.Ew), ocol = static_cast<i64>(m % g_.Ew);
    const i64 r2 = orow - dr, c2 = ocol - dc;
    if (r2 < 0 || c2 < 0 || r2 >= static_cast<i64>(g_.Eh) || c2 >= static_cast<i64>(g_.Ew)) {
      return false;
    }
    const u64 crow = k / (g_.Fw * g_.Ch), rem = k % (g_.Fw * g_.Ch);
    const u64 ccol = rem / g_.Ch, ch = rem % g_.Ch;
    const i64 y = orow * static_cast<i64>(g_.Sh) + static_cast<i64>(crow);
    const i64 x = ocol * static_cast<i64>(g_.Sw) + static_cast<i64>(ccol);
    const i64 cr2 = y - r2 * static_cast<i64>(g_.Sh), cc2 = x - c2 * static_cast<i64>(g_.Sw);
    if (cr2 < 0 || cc2 < 0 || cr2 >= static_cast<i64>(g_.Fh) || cc2 >= static_cast<i64>(g_.Fw)) {
      return false;
    }
    *m2 = static_cast<u64>(r2) * g_.Ew + static_cast<u64>(c2);
    *k2 = (static_cast<u64>(cr2) * g_.Fw + static_cast<u64>(cc2)) * g_.Ch + ch;
    return true;
  }
  // Window indices k, k-1, ..., k-n+1 (n returned) whose window offsets (row, column)
  // shifted by the hint's pixel offset (hint_dr_ * Sh, hint_dc_ * Sw) stay inside the
  // window, given that k's does. With a column shift, k-1, ... leave it when the column
  // offset drops below max(0, -shift) (a wrap to the last column of the previous window row
  // lands beyond the window for any non-zero shift); without, when the row offset drops
  // below max(0, -row shift).
  u64 OccurrenceRun(u64 k) const {
    const u64 fwc = g_.Fw * g_.Ch;
    const i64 sc = hint_dc_ * static_cast<i64>(g_.Sw);
    if (sc != 0) {
      const u64 cc = (k % fwc) / g_.Ch;
      const u64 lo = sc < 0 ? static_cast<u64>(-sc) : 0;
      return (cc - lo) * g_.Ch + k % g_.Ch + 1;
    }
    const i64 sr = hint_dr_ * static_cast<i64>(g_.Sh);
    const u64 lo = sr < 0 ? static_cast<u64>(-sr) : 0;
    return k - lo * fwc + 1;
  }
  // Every im2col element (m2, k2) holding the same ifmap word as (m, k).
  template <class F>
  void ForEachOccurrence(u64 m, u64 k, F&& f) const {
    const u64 orow = m / g_.Ew, ocol = m % g_.Ew;
    const u64 crow = k / (g_.Fw * g_.Ch), rem = k % (g_.Fw * g_.Ch);
    const u64 ccol = rem / g_.Ch, ch = rem % g_.Ch;
    const u64 y = orow * g_.Sh + crow, x = ocol * g_.Sw + ccol;
    const u64 r_lo = y + 1 > g_.Fh ? (y + 1 - g_.Fh + g_.Sh - 1) / g_.Sh : 0;
    const u64 r_hi = std::min(g_.Eh - 1, y / g_.Sh);
    const u64 c_lo = x + 1 > g_.Fw ? (x + 1 - g_.Fw + g_.Sw - 1) / g_.Sw : 0;
    const u64 c_hi = std::min(g_.Ew - 1, x / g_.Sw);
    for (u64 r2 = r_lo; r2 <= r_hi; ++r2) {
      for (u64 c2 = c_lo; c2 <= c_hi; ++c2) {
        const u64 k2 = ((y - r2 * g_.Sh) * g_.Fw + (x - c2 * g_.Sw)) * g_.Ch + ch;
        f(r2 * g_.Ew + c2, k2);
      }
    }
  }
  u64 IndexOf(u64 row, u64 col) const {
    if (!s_.antidiag) return row * s_.cols + col;
    const u64 d = row + col;
    return static_cast<u64>(ClippedTri(s_.rows, s_.cols, static_cast<i64>(d))) +
           (std::min(d, s_.rows - 1) - row);
  }
  u64 SeqIndex(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat) const {
    u64 row = 0, col = 0;
    Cell(fr, fc, t, c, pat, &row, &col);
    return IndexOf(row, col);
  }
  bool Valid(u64 idx) const { return (bits_[idx >> 6] >> (idx & 63)) & 1; }
  // Valid cells before sequence index idx.
  u64 Rank(u64 idx) const {
    const u64 w = idx >> 6, b = idx & 63;
    u64 r = rank_[w];
    if (b != 0) r += PopCount(bits_[w] & ((u64{1} << b) - 1));
    return r;
  }
  u64 BuildRank() {
    // Every window inside the image: the valid cells are the non-padding ones, ranked in
    // closed form like an injective operand's (CellPosition), no bitmap.
    inside_ = (g_.Eh - 1) * g_.Sh + g_.Fh <= g_.H && (g_.Ew - 1) * g_.Sw + g_.Fw <= g_.W;
    if (inside_) return ValidCount(s_);
    // Only pixels in the last ofmap rows/columns have windows leaving the image. When the
    // cells of those pixels plus the padding are at most half the sequence, start from an
    // all-valid bitmap and clear the invalid ones (a few times dearer per cell than the
    // scan, which tests every cell).
    const u64 clipped_rows = ClippedCount(g_.Eh, g_.Sh, g_.Fh, g_.H);
    const u64 clipped_cols = ClippedCount(g_.Ew, g_.Sw, g_.Fw, g_.W);
    const u64 clipped = clipped_rows * g_.Ew + clipped_cols * g_.Eh - clipped_rows * clipped_cols;
    const u64 padding = s_.block_rows * (s_.cols - s_.last_used);
    if (mp_.df == Dataflow::kOutputStationary) {  // prefetch blocks = row folds' pixels
      block_empty_.assign(s_.blocks, true);
      for (u64 m = 0; m < g_.M; ++m) {
        if ((m / g_.Ew) * g_.Sh < g_.H && (m % g_.Ew) * g_.Sw < g_.W) {
          block_empty_[m / s_.cols] = false;
        }
      }
    }
    if (!force_scan_ && (clipped * g_.K + padding) * 2 <= s_.elems) {
      BuildRankSparse();
    } else {
      BuildRankScan();
    }
    rank_.assign(bits_.size() + 1, 0);
    for (std::size_t w = 0; w < bits_.size(); ++w) {
      rank_[w + 1] = rank_[w] + PopCount(bits_[w]);
    }
    return rank_.back();
  }
  // Ofmap rows (columns) whose window leaves the image: the last ones, as the window starts
  // grow with the index.
  static u64 ClippedCount(u64 e, u64 s, u64 f, u64 h) {
    u64 n = 0;
    while (n < e && (e - 1 - n) * s + f > h) ++n;
    return n;
  }
  void ClearBit(u64 idx) { bits_[idx >> 6] &= ~(u64{1} << (idx & 63)); }
  // All cells valid, then the padding cells (spatial index >= extent, last block) and the
  // out-of-image elements of clipped pixels cleared.
  void BuildRankSparse() {
    bits_.assign(s_.elems / 64 + 1, ~u64{0});
    bits_.back() = (u64{1} << (s_.elems & 63)) - 1;  // word elems/64: cells beyond elems
    sparse_ = true;
    const u64 r0 = (s_.blocks - 1) * s_.block_rows;
    for (u64 col = s_.last_used; col < s_.cols; ++col) {
      for (u64 r = 0; r < s_.block_rows; ++r) ClearBit(IndexOf(r0 + r, col));
    }
    for (u64 orow = 0; orow < g_.Eh; ++orow) {
      const u64 irow = orow * g_.Sh;
      const bool row_clipped = irow + g_.Fh > g_.H;
      for (u64 ocol = 0; ocol < g_.Ew; ++ocol) {
        const u64 icol = ocol * g_.Sw;
        if (!row_clipped && icol + g_.Fw <= g_.W) continue;
        const u64 m = orow * g_.Ew + ocol;
        u64 k = 0;
        for (u64 cr = 0; cr < g_.Fh; ++cr) {
          for (u64 cc = 0; cc < g_.Fw; ++cc, k += g_.Ch) {
            if (irow + cr < g_.H && icol + cc < g_.W) continue;
            for (u64 ch = 0; ch < g_.Ch; ++ch) {
              u64 row = 0, col = 0;
              CellOf(m, k + ch, &row, &col);
              ClearBit(IndexOf(row, col));
            }
          }
        }
      }
    }
  }
  // Every cell tested.
  void BuildRankScan() {
    bits_.assign(s_.elems / 64 + 1, 0);
    // Validity of im2col element (m, k) from per-pixel and per-window-index factors.
    std::vector<std::uint32_t> irow(g_.M), icol(g_.M), crow(g_.K), ccol(g_.K);
    for (u64 m = 0; m < g_.M; ++m) {
      irow[m] = static_cast<std::uint32_t>((m / g_.Ew) * g_.Sh);
      icol[m] = static_cast<std::uint32_t>((m % g_.Ew) * g_.Sw);
    }
    for (u64 k = 0; k < g_.K; ++k) {
      crow[k] = static_cast<std::uint32_t>(k / (g_.Fw * g_.Ch));
      ccol[k] = static_cast<std::uint32_t>((k % (g_.Fw * g_.Ch)) / g_.Ch);
    }
    const bool m_is_col = mp_.df != Dataflow::kWeightStationary;  // else k is the column
    auto valid = [&](u64 b, u64 r, u64 col) {
      const u64 spatial = b * s_.cols + col;  // padding beyond the extent is -1
      if (spatial >= s_.extent) return false;
      const u64 m = m_is_col ? spatial : r;
      const u64 k = m_is_col ? r : spatial;
      return irow[m] + crow[k] < g_.H && icol[m] + ccol[k] < g_.W;
    };
    u64 idx = 0;
    auto set = [&](bool v) {
      if (v) bits_[idx >> 6] |= u64{1} << (idx & 63);
      ++idx;
    };
    if (!s_.antidiag) {
      for (u64 row = 0; row < s_.rows; ++row) {
        const u64 b = row / s_.block_rows, r = row % s_.block_rows;
        for (u64 col = 0; col < s_.cols; ++col) set(valid(b, r, col));
      }
    } else {
      const u64 diags = s_.rows + s_.cols - 1;
      for (u64 d = 0; d < diags; ++d) {
        const u64 max_row = std::min(d, s_.rows - 1);
        const u64 min_row = d + 1 > s_.cols ? d + 1 - s_.cols : 0;
        u64 b = max_row / s_.block_rows, r = max_row % s_.block_rows;
        for (u64 row = max_row + 1; row-- > min_row;) {
          set(valid(b, r, d - row));
          if (r == 0) {
            r = s_.block_rows - 1;
            --b;
          } else {
            --r;
          }
        }
      }
    }
  }
  // Position in the sequence of valid prefetch elements (closed form, injective operands).
  u64 Position(u64 fr, u64 fc, u64 t, u64 c, const Pattern& pat) const {
    u64 row = 0, col = 0;
    Cell(fr, fc, t, c, pat, &row, &col);
    return CellPosition(row, col);
  }
  u64 CellPosition(u64 row, u64 col) const {
    if (!s_.antidiag) {
      const u64 r0 = (s_.blocks - 1) * s_.block_rows;  // padding: rows >= r0, cols >= u
      u64 pos = row * s_.cols + col;
      if (row > r0) pos -= (row - r0) * (s_.cols - s_.last_used);
      return pos;  // col < u on the padded rows, so no padding before it in its row
    }
    const u64 d = row + col;
    return DiagBase(d) + DiagBefore(row, d);
  }
  // Valid cells on anti-diagonals before d.
  u64 DiagBase(u64 d) const {
    const u64 nr = s_.rows, nc = s_.cols;
    const u64 r0 = (s_.blocks - 1) * s_.block_rows;
    const u64 u = s_.last_used;
    const i64 di = static_cast<i64>(d);
    u128 pos = ClippedTri(nr, nc, di);
    if (u < nc) {
      pos -= ClippedTri(nr - r0, nc - u, di - static_cast<i64>(r0 + u));
    }
    return static_cast<u64>(pos);
  }
  // Valid cells on diagonal d above `row` in the sequence: rows (row, max_row].
  u64 DiagBefore(u64 row, u64 d) const {
    const u64 r0 = (s_.blocks - 1) * s_.block_rows;
    const u64 u = s_.last_used;
    const u64 max_row = std::min(d, s_.rows - 1);
    u64 before = max_row - row;
    if (u < s_.cols && d >= u) {
      const i64 lo = std::max<i64>(static_cast<i64>(row) + 1, static_cast<i64>(r0));
      const i64 hi = std::min<i64>(static_cast<i64>(max_row), static_cast<i64>(d - u));
      if (hi >= lo) before -= static_cast<u64>(hi - lo + 1);
    }
    return before;
  }

  const Geometry& g_;
  const Mapping& mp_;
  int op_;
  PrefetchShape s_;
  bool ranked_;
  bool force_scan_;                // build the bitmap cell by cell (tests)
  bool inside_ = false;            // ranked, but every im2col element valid (no bitmap)
  bool sparse_ = false;            // bitmap built from the clipped pixels (BuildRankSparse)
  std::vector<u64> bits_;          // valid prefetch cells, sequence order (ranked mode)
  std::vector<u64> rank_;          // valid cells before each 64-cell word
  std::vector<bool> block_empty_;  // OS ifmap with a bitmap: prefetch blocks without valid cells
  UserBufferParams p_;
  bool started_ = false;
  i64 hint_dr_ = 0, hint_dc_ = 0;    // pixel offset of the last hit through another occurrence
  i64 hint2_dr_ = 0, hint2_dc_ = 0;  // the one before
  u64 window_ = 0;
  u64 moves_ = 0;
  u64 accesses_ = 0;
  i64 dram_start_ = 0;
  i64 last_cycle_ = -1;
};

}  // namespace systole::scalesim::fast
