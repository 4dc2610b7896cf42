// Internals of the fast SCALE-Sim engine (scalesim_fast.cpp), shared by its files:
//   scalesim_fast_internal.h      demand-row patterns of a fold, fold iteration, CALC read
//                                 results (this file)
//   scalesim_fast_calc_reads.cpp  CALC read buffers: misses and completed epochs of distinct
//                                 addresses, fold by fold
//   scalesim_fast_write_buffer.h  the ofmap write buffer, event driven
//   scalesim_fast_user_buffer.h   the USER-mode read buffer addressed by prefetch positions
//   scalesim_fast.cpp             the CALC and USER layer loops and the entry points
// Nothing outside workloads/scalesim/ includes these files.
#pragma once

#include <algorithm>
#include <cstdint>

#include "workloads/scalesim/scalesim_engine.h"

namespace systole::scalesim::fast {

using u64 = std::uint64_t;
using i64 = std::int64_t;
using u128 = unsigned __int128;

// Inline bit count (the default target has no popcnt instruction; the builtin is a call).
inline u64 PopCount(u64 x) {
#if defined(__POPCNT__)
  return static_cast<u64>(__builtin_popcountll(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return (x * 0x0101010101010101ULL) >> 56;
#endif
}

// #{(a, b) : a, b >= 0, a + b < x}
inline u128 Tri(i64 x) {
  if (x <= 0) return 0;
  if (x < (i64{1} << 31)) return static_cast<u64>(x) * static_cast<u64>(x + 1) / 2;
  return static_cast<u128>(x) * static_cast<u128>(x + 1) / 2;
}
// #{(a, b) : 0 <= a < na, 0 <= b < nb, a + b < x}
__attribute__((always_inline)) inline u128 ClippedTri(u64 na, u64 nb, i64 x) {
  const i64 a = static_cast<i64>(na);
  const i64 b = static_cast<i64>(nb);
  if (x <= 0) return 0;
  if (x >= a + b) return static_cast<u128>(na) * nb;
  if (a + b < (i64{1} << 31)) {  // every term below 2^62: 64-bit arithmetic (mod 2^64)
    auto tri = [](i64 y) -> u64 { return y <= 0 ? 0 : static_cast<u64>(y) * (y + 1) / 2; };
    return tri(x) - tri(x - a) - tri(x - b) + tri(x - a - b);
  }
  return Tri(x) - Tri(x - a) - Tri(x - b) + Tri(x - a - b);
}

// Rows of one fold that hold an operand's demand. Skewed: row t holds block columns c in
// [max(0, t-pre-len+1), min(used-1, t-pre)]. Block: rows [t0, t0+rows) hold columns [0, cols).
struct Pattern {
  bool skewed = true;
  u64 used = 0, pre = 0, len = 0;
  u64 t0 = 0, rows = 0, cols = 0;

  static Pattern Skew(u64 used, u64 pre, u64 len) {
    Pattern p;
    p.used = used;
    p.pre = pre;
    p.len = len;
    return p;
  }
  static Pattern Block(u64 t0, u64 rows, u64 cols) {
    Pattern p;
    p.skewed = false;
    p.t0 = t0;
    p.rows = rows;
    p.cols = cols;
    return p;
  }
  // Column range of row t; lo > hi when empty.
  void Cols(u64 t, i64* lo, i64* hi) const {
    const i64 ti = static_cast<i64>(t);
    if (skewed) {
      *lo = std::max<i64>(0, ti - static_cast<i64>(pre + len) + 1);
      *hi = std::min<i64>(static_cast<i64>(used) - 1, ti - static_cast<i64>(pre));
    } else if (t >= t0 && t < t0 + rows) {
      *lo = 0;
      *hi = static_cast<i64>(cols) - 1;
    } else {
      *lo = 0;
      *hi = -1;
    }
  }
  u64 Count(u64 t) const {
    i64 lo, hi;
    Cols(t, &lo, &hi);
    return hi >= lo ? static_cast<u64>(hi - lo + 1) : 0;
  }
  // Addresses in rows < t.
  u64 Prefix(u64 t) const {
    if (skewed) {
      return static_cast<u64>(ClippedTri(used, len, static_cast<i64>(t) - static_cast<i64>(pre)));
    }
    if (t <= t0) return 0;
    return cols * std::min(t - t0, rows);
  }
  u64 Total() const { return skewed ? used * len : rows * cols; }
  u64 FirstRow() const { return skewed ? pre : t0; }
  u64 LastRow() const { return skewed ? pre + used + len - 2 : t0 + rows - 1; }
  // Row holding the p-th address (0-based, demand order) of the fold.
  u64 RowOf(u64 p) const {
    u64 lo = FirstRow();
    u64 hi = LastRow();
    while (lo < hi) {  // smallest t with Prefix(t + 1) > p
      const u64 mid = lo + (hi - lo) / 2;
      if (Prefix(mid + 1) > p) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }
};

// First x in [a, b) with f(x) true for a predicate that is false then true; b if none.
// Probes a + guess (an estimate of the answer) and its neighbour first, then gallops and
// bisects, so a good estimate costs two evaluations.
template <class Pred>
u64 FirstTrue(u64 a, u64 b, u64 guess, Pred&& f) {
  if (a >= b) return b;
  u64 lo = a;  // f is false below lo
  u64 hi = b;  // f is true at hi (or hi == b)
  const u64 x = guess >= b - a ? b - 1 : a + guess;
  if (f(x)) {
    if (x == a || !f(x - 1)) return x;
    hi = x - 1;
  } else {
    lo = x + 1;
    u64 step = 1;
    while (lo < b) {
      const u64 y = step >= b - lo ? b - 1 : lo + step - 1;
      if (f(y)) {
        hi = y;
        break;
      }
      lo = y + 1;
      step *= 2;
    }
    if (lo >= b) return b;
  }
  while (lo < hi) {
    const u64 mid = lo + (hi - lo) / 2;
    if (f(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

// op: 0 ifmap, 1 filter, 2 ofmap; fold uses ru array rows and cu array columns.
inline Pattern FoldPattern(const Mapping& mp, int op, u64 ru, u64 cu) {
  const u64 R = mp.R;
  const u64 T = mp.T;
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      if (op == 0) return Pattern::Skew(ru, 0, T);
      if (op == 1) return Pattern::Skew(cu, 0, T);
      return Pattern::Skew(cu, T - 1 + R - ru, ru);
    case Dataflow::kWeightStationary:
      if (op == 0) return Pattern::Skew(ru, R, T);
      if (op == 1) return Pattern::Block(R - ru, ru, cu);
      return Pattern::Skew(cu, 2 * R - 1, T);
    case Dataflow::kInputStationary:
      if (op == 0) return Pattern::Block(R - ru, ru, cu);
      if (op == 1) return Pattern::Skew(ru, R, T);
      return Pattern::Skew(cu, 2 * R - 1, T);
  }
  return Pattern();
}

// Chunk (disjoint address block) read by fold (fr, fc); -1 when every fold has its own.
inline i64 ChunkOf(const Mapping& mp, int op, u64 fr, u64 fc) {
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      return static_cast<i64>(op == 0 ? fr : fc);
    case Dataflow::kWeightStationary:
      return op == 0 ? static_cast<i64>(fr) : -1;
    case Dataflow::kInputStationary:
      return op == 1 ? static_cast<i64>(fr) : -1;
  }
  return -1;
}

// Each ifmap address at most once in im2col and never -1.
inline bool IfmapInjective(const Geometry& g) {
  const bool rows_ok = g.Fh <= g.Sh || g.Eh == 1;
  const bool cols_ok = g.Fw <= g.Sw || g.Ew == 1;
  return rows_ok && cols_ok && (g.Eh - 1) * g.Sh + g.Fh <= g.H && (g.Ew - 1) * g.Sw + g.Fw <= g.W;
}

struct FoldIter {
  const Mapping& mp;
  u64 ru(u64 fr) const { return std::min(mp.R, mp.Sr - fr * mp.R); }
  u64 cu(u64 fc) const { return std::min(mp.C, mp.Sc - fc * mp.C); }
};

// ---------------------------------------------------------------------------------------
// Read-side results in rows (CALC): converted to cycles once the stall profile is known.
struct CalcReadRows {
  u64 inserted = 0;
  u64 epochs = 0;
  u64 first_row = 0;        // first row with a valid address
  u64 last_row = 0;         // last row with a valid address
  u64 first_epoch_row = 0;  // row completing the first epoch
  u64 last_epoch_row = 0;   // row completing the last epoch
};

// CALC read buffers (scalesim_fast_calc_reads.cpp).
// An operand without repeated addresses, fold by fold. With `holes` (an ifmap whose windows
// do not overlap but may leave the image) fold sizes and positions skip the out-of-image
// elements.
CalcReadRows CalcInjective(const Mapping& mp, int op, u64 size_words,
                           const Geometry* holes = nullptr);
// An ifmap with repeated addresses, address by address.
CalcReadRows CalcScanIfmap(const Geometry& g, const Mapping& mp, u64 size_words);
// The same by previous occurrence, by repetition, or per image location (OS); false when the
// method does not apply (the caller tries the next).
bool CalcScanIfmapPrev(const Geometry& g, const Mapping& mp, u64 size_words, CalcReadRows* result);
bool CalcScanIfmapRepeating(const Geometry& g, const Mapping& mp, u64 size_words,
                            CalcReadRows* result);
bool CalcOsIfmapWindows(const Geometry& g, const Mapping& mp, u64 size_words, CalcReadRows* result);

}  // namespace systole::scalesim::fast
