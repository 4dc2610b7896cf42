// Fast engine for the SCALE-Sim emulation. Same semantics as the reference engine in
// scalesim_sim.cpp (tests check both against SCALE-Sim's goldens and against each other on
// random shapes); what changes is the granularity:
//
// * Demand rows are described per fold by their column ranges (Pattern), so the number of
//   addresses in a row, in all rows before it, and the row holding the p-th address of a
//   fold are closed forms.
// * Repeat-free operands (every GEMM operand, every filter, and the ifmap of convolutions
//   whose windows do not overlap) hold each address once in the prefetch sequence, and
//   their fold blocks have disjoint address sets ("chunks": e.g. the OS ifmap block of row
//   fold fr is re-read for every column fold):
//     CALC  the epoch of 50*N distinct addresses is tracked per chunk as a cut position
//           (addresses after the cut were seen in the current epoch), so a whole fold is
//           processed in O(1): misses are the prefix before the cut, a completed epoch
//           makes every later address of the fold a miss. O(folds) per operand.
//     USER  a demand row is a contiguous run of prefetch positions, so the row's set ids
//           are an interval [p0/E, p1/E] computed in O(1); a miss moves the window by the
//           closed-form number of prefetches in O(1). Runs of rows whose reads hit and whose
//           writes neither start a drain nor stall ("quiet" rows) are skipped with
//           galloping searches; cost O(prefetch events + drains + folds).
// * The ofmap write buffer is event driven: rows between drain starts and stalls are
//   stored in bulk (O(drains + stalls + folds) per layer).
// * CALC reads never stall, so stalls come from the write buffer only and read-side events
//   (first request, completed epochs) are converted from rows to cycles afterwards.
// * The ifmap of convolutions with overlapping windows is handled
//     CALC  OS: per image location (the epoch is one channel suffix per location, a fold
//           prefix one channel prefix), O(ru * Fh * Fw) per fold and per binary-search
//           probe for the element completing an epoch, independent of the channel count
//           (CalcOsIfmapWindows); WS/IS, or OS with two epochs in one fold: address by
//           address over per-chunk address sequences with 8-bit epoch stamps; both stop
//           early once a column fold provably repeats the previous one;
//     USER  windows inside the image: positions in closed form; windows leaving the image:
//           a rank bitmap over the prefetch sequence, built from the clipped pixels (all
//           cells valid, out-of-image cells of the last ofmap rows/columns cleared). Rows
//           not entirely in the window check every occurrence of an address, with runs of
//           cells that hit through the occurrence at the same pixel offset skipped (OS).
// Anything outside these cases (a CALC epoch narrower than an array row, address spaces
// whose tables would not fit in memory) runs the reference engine.
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <deque>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/scalesim/scalesim_engine.h"

namespace systole::scalesim {

namespace {

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
Pattern FoldPattern(const Mapping& mp, int op, u64 ru, u64 cu) {
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
i64 ChunkOf(const Mapping& mp, int op, u64 fr, u64 fc) {
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
bool IfmapInjective(const Geometry& g) {
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

struct ChunkSeq;
void BuildChunkSeq(const Geometry& g, const Mapping& mp, const Pattern& pat, u64 fr, u64 fc, u64 ru,
                   ChunkSeq* out);
u64 ChunkValid(const Geometry& g, const Mapping& mp, u64 fr, u64 fc);
void ChunkRows(const Geometry& g, const Mapping& mp, u64 fold, u64 pos, u64* row, u64* first,
               u64* last);

// CALC read buffer on an operand without repeated addresses, fold by fold. With `holes`
// (an ifmap whose windows do not overlap but may leave the image) fold sizes and positions
// skip the out-of-image elements.
CalcReadRows CalcInjective(const Mapping& mp, int op, u64 size_words,
                           const Geometry* holes = nullptr) {
  const u64 cap = 50 * (size_words / 100);
  const FoldIter fi{mp};
  CalcReadRows out;
  u64 nchunks = 0;
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    for (u64 fr = 0; fr < mp.RF; ++fr) {
      const i64 x = ChunkOf(mp, op, fr, fc);
      if (x >= 0) nchunks = std::max<u64>(nchunks, static_cast<u64>(x) + 1);
    }
  }
  std::vector<u64> present_epoch(nchunks, ~u64{0});
  std::vector<u64> cut(nchunks, 0);
  u64 e = 0;
  u64 epoch_id = 0;
  u64 fold = 0;
  u64 first_fold = 0, first_pos = 0, last_fold = 0, last_pos = 0;
  std::vector<u64> chunk_valid(nchunks, ~u64{0});
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    for (u64 fr = 0; fr < mp.RF; ++fr, ++fold) {
      const Pattern pat = FoldPattern(mp, op, fi.ru(fr), fi.cu(fc));
      const i64 x = ChunkOf(mp, op, fr, fc);
      u64 S = pat.Total();
      if (holes != nullptr) {
        if (x < 0) {
          S = ChunkValid(*holes, mp, fr, fc);
        } else {
          u64& v = chunk_valid[static_cast<u64>(x)];
          if (v == ~u64{0}) v = ChunkValid(*holes, mp, fr, fc);
          S = v;
        }
      }
      u64 q = S;
      if (x >= 0 && present_epoch[static_cast<u64>(x)] == epoch_id) q = cut[static_cast<u64>(x)];
      if (e + q < cap) {
        e += q;
        out.inserted += q;
        if (x >= 0) {
          present_epoch[static_cast<u64>(x)] = epoch_id;
          cut[static_cast<u64>(x)] = 0;
        }
        continue;
      }
      const u64 p1 = cap - e - 1;
      const u64 more = (S - 1 - p1) / cap;
      const u64 p_last = p1 + more * cap;
      if (out.epochs == 0) {
        first_fold = fold;
        first_pos = p1;
      }
      last_fold = fold;
      last_pos = p_last;
      out.epochs += 1 + more;
      out.inserted += S;
      epoch_id += 1 + more;
      e = S - 1 - p_last;
      if (x >= 0) {
        present_epoch[static_cast<u64>(x)] = epoch_id;
        cut[static_cast<u64>(x)] = p_last + 1;
      }
    }
  }
  if (holes != nullptr) {
    u64 row = 0, first = 0, last = 0;
    ChunkRows(*holes, mp, 0, 0, &row, &first, &last);
    out.first_row = first;  // fold 0 always holds the image's first pixel
    for (u64 f = mp.folds; f-- > 0;) {
      const u64 fr = f % mp.RF, fc = f / mp.RF;
      if (ChunkValid(*holes, mp, fr, fc) == 0) continue;
      ChunkRows(*holes, mp, f, 0, &row, &first, &last);
      out.last_row = f * mp.P + last;
      break;
    }
    if (out.epochs > 0) {
      ChunkRows(*holes, mp, first_fold, first_pos, &row, &first, &last);
      out.first_epoch_row = first_fold * mp.P + row;
      ChunkRows(*holes, mp, last_fold, last_pos, &row, &first, &last);
      out.last_epoch_row = last_fold * mp.P + row;
    }
    return out;
  }
  const Pattern p_first = FoldPattern(mp, op, fi.ru(0), fi.cu(0));
  const Pattern p_lastf = FoldPattern(mp, op, fi.ru(mp.RF - 1), fi.cu(mp.CF - 1));
  out.first_row = p_first.FirstRow();
  out.last_row = (mp.folds - 1) * mp.P + p_lastf.LastRow();
  if (out.epochs > 0) {
    const u64 rf = first_fold % mp.RF, cf = first_fold / mp.RF;
    const u64 rl = last_fold % mp.RF, cl = last_fold / mp.RF;
    out.first_epoch_row =
        first_fold * mp.P + FoldPattern(mp, op, fi.ru(rf), fi.cu(cf)).RowOf(first_pos);
    out.last_epoch_row =
        last_fold * mp.P + FoldPattern(mp, op, fi.ru(rl), fi.cu(cl)).RowOf(last_pos);
  }
  return out;
}

// CALC read buffer on an ifmap with repeated addresses: address by address, with epoch
// stamps indexed by address (the ifmap is H*W*C words). The fold's valid addresses are laid
// out once per chunk in demand order (OS/WS chunks repeat for every column fold), so the
// scan is a linear pass. The caller guarantees an epoch (50*N addresses) is wider than a
// row, so two epochs never complete in the same row.
struct ChunkSeq {
  std::vector<std::uint32_t> addr;  // valid ifmap words (address - offset), demand order
  std::vector<u64> row_prefix;      // valid addresses before row FirstRow()+i
  u64 first_row = 0, last_row = 0;  // rows (within the fold) holding valid addresses
  bool any = false;
};

void BuildChunkSeq(const Geometry& g, const Mapping& mp, const Pattern& pat, u64 fr, u64 fc, u64 ru,
                   ChunkSeq* out) {
  std::vector<i64> table;  // [c][u] for skewed patterns
  if (pat.skewed) {
    table.assign(pat.used * pat.len, -1);
    for (u64 c = 0; c < pat.used; ++c) {
      i64* row = &table[c * pat.len];
      if (mp.df == Dataflow::kOutputStationary) {  // pixel m fixed, window index k = u
        const u64 m = fr * mp.R + c;
        const u64 irow = (m / g.Ew) * g.Sh, icol = (m % g.Ew) * g.Sw;
        const i64 base = static_cast<i64>((irow * g.W + icol) * g.Ch) + g.if_off;
        u64 k = 0;
        for (u64 cr = 0; cr < g.Fh; ++cr) {
          for (u64 cc = 0; cc < g.Fw; ++cc) {
            const bool ok = cr + irow < g.H && cc + icol < g.W;
            const i64 a0 = base + static_cast<i64>((cr * g.W + cc) * g.Ch);
            for (u64 ch = 0; ch < g.Ch; ++ch, ++k) row[k] = ok ? a0 + static_cast<i64>(ch) : -1;
          }
        }
      } else {  // WS: window index k fixed, pixel m = u
        const u64 k = fr * mp.R + c;
        const u64 cr = k / (g.Fw * g.Ch), rem = k % (g.Fw * g.Ch);
        const u64 cc = rem / g.Ch, ch = rem % g.Ch;
        const i64 a0 = static_cast<i64>((cr * g.W + cc) * g.Ch + ch) + g.if_off;
        u64 m = 0;
        for (u64 orow = 0; orow < g.Eh; ++orow) {
          const u64 irow = orow * g.Sh;
          for (u64 ocol = 0; ocol < g.Ew; ++ocol, ++m) {
            const u64 icol = ocol * g.Sw;
            row[m] = (cr + irow < g.H && cc + icol < g.W)
                         ? a0 + static_cast<i64>((irow * g.W + icol) * g.Ch)
                         : -1;
          }
        }
      }
    }
  }
  out->addr.clear();
  out->row_prefix.clear();
  out->any = false;
  for (u64 t = pat.FirstRow(); t <= pat.LastRow(); ++t) {
    out->row_prefix.push_back(out->addr.size());
    const std::size_t before = out->addr.size();
    i64 lo, hi;
    pat.Cols(t, &lo, &hi);
    if (pat.skewed) {
      for (i64 c = lo; c <= hi; ++c) {
        const i64 a = table[static_cast<u64>(c) * pat.len + (t - pat.pre - static_cast<u64>(c))];
        if (a >= 0) out->addr.push_back(static_cast<std::uint32_t>(a - g.if_off));
      }
    } else if (hi >= lo) {  // IS: block row t holds array row ru-1-(t-t0), window index k
      const u64 k = fr * mp.R + (ru - 1 - (t - pat.t0));
      for (i64 c = lo; c <= hi; ++c) {
        const i64 a = g.IfmapAddr(fc * mp.C + static_cast<u64>(c), k);
        if (a >= 0) out->addr.push_back(static_cast<std::uint32_t>(a - g.if_off));
      }
    }
    if (out->addr.size() > before) {
      if (!out->any) out->first_row = t;
      out->any = true;
      out->last_row = t;
    }
  }
  out->row_prefix.push_back(out->addr.size());
}

// Valid ifmap addresses of fold (fr, fc), in closed form. The fold reads the im2col block
// m in [m0, m1) x k in [k0, k1); window index k (offset crow, ccol) is inside the image for
// the pixels with orow < A(crow) and ocol < B(ccol), counted over a raster range of pixels.
u64 ChunkValid(const Geometry& g, const Mapping& mp, u64 fr, u64 fc) {
  const FoldIter fi{mp};
  u64 m0 = 0, m1 = g.M, k0 = 0, k1 = g.K;
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      m0 = fr * mp.R;
      m1 = m0 + fi.ru(fr);
      break;
    case Dataflow::kWeightStationary:
      k0 = fr * mp.R;
      k1 = k0 + fi.ru(fr);
      break;
    case Dataflow::kInputStationary:
      k0 = fr * mp.R;
      k1 = k0 + fi.ru(fr);
      m0 = fc * mp.C;
      m1 = m0 + fi.cu(fc);
      break;
  }
  // #{m < x : m / Ew < a, m % Ew < b}
  auto pix = [&](u64 x, u64 a, u64 b) {
    const u64 full = x / g.Ew;
    return std::min(full, a) * std::min(g.Ew, b) + (full < a ? std::min(x % g.Ew, b) : 0);
  };
  auto lim = [](u64 size, u64 off, u64 stride, u64 n) {  // #{o < n : o*stride + off < size}
    return off < size ? std::min(n, (size - off + stride - 1) / stride) : 0;
  };
  u64 total = 0;
  for (u64 q = k0 / g.Ch; q * g.Ch < k1; ++q) {
    const u64 crow = q / g.Fw, ccol = q % g.Fw;
    const u64 nch = std::min(k1, (q + 1) * g.Ch) - std::max(k0, q * g.Ch);
    const u64 a = lim(g.H, crow, g.Sh, g.Eh), b = lim(g.W, ccol, g.Sw, g.Ew);
    total += nch * (pix(m1, a, b) - pix(m0, a, b));
  }
  return total;
}

// Row (within the fold) of the pos-th valid ifmap address of `fold`, and the fold's first
// and last rows holding valid addresses.
void ChunkRows(const Geometry& g, const Mapping& mp, u64 fold, u64 pos, u64* row, u64* first,
               u64* last) {
  const FoldIter fi{mp};
  const u64 fr = fold % mp.RF, fc = fold / mp.RF;
  const Pattern pat = FoldPattern(mp, 0, fi.ru(fr), fi.cu(fc));
  ChunkSeq seq;
  BuildChunkSeq(g, mp, pat, fr, fc, fi.ru(fr), &seq);
  *row = static_cast<u64>(std::upper_bound(seq.row_prefix.begin(), seq.row_prefix.end(), pos) -
                          seq.row_prefix.begin()) -
         1 + pat.FirstRow();
  *first = seq.first_row;
  *last = seq.last_row;
}

CalcReadRows CalcScanIfmap(const Geometry& g, const Mapping& mp, u64 size_words) {
  const u64 cap = 50 * (size_words / 100);
  std::vector<std::uint8_t> stamp(g.H * g.W * g.Ch, 0);  // epoch tag when present
  std::uint8_t tag = 1;
  u64 e = 0;
  CalcReadRows out;
  bool seen = false;
  const FoldIter fi{mp};
  ChunkSeq seq;
  i64 cached_chunk = -2;
  u64 fold = 0;
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    for (u64 fr = 0; fr < mp.RF; ++fr, ++fold) {
      const u64 ru = fi.ru(fr), cu = fi.cu(fc);
      const Pattern pat = FoldPattern(mp, 0, ru, cu);
      const i64 chunk = ChunkOf(mp, 0, fr, fc);
      if (chunk < 0 || chunk != cached_chunk) {
        cached_chunk = chunk;
        BuildChunkSeq(g, mp, pat, fr, fc, ru, &seq);
      }
      if (!seq.any) continue;
      const u64 base = fold * mp.P;
      if (!seen) {
        seen = true;
        out.first_row = base + seq.first_row;
      }
      out.last_row = base + seq.last_row;
      const std::uint32_t* a = seq.addr.data();
      const std::size_t n = seq.addr.size();
      for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t& st = stamp[a[i]];
        e += st != tag;  // branch-free: hits and misses interleave unpredictably
        st = tag;
        if (__builtin_expect(e < cap, 1)) continue;
        // Epoch complete at the i-th valid address of the fold.
        const u64 row =
            static_cast<u64>(std::upper_bound(seq.row_prefix.begin(), seq.row_prefix.end(), i) -
                             seq.row_prefix.begin()) -
            1 + pat.FirstRow();
        if (out.epochs == 0) out.first_epoch_row = base + row;
        out.last_epoch_row = base + row;
        ++out.epochs;
        out.inserted += e;
        e = 0;
        if (++tag == 0) {
          std::fill(stamp.begin(), stamp.end(), 0);
          tag = 1;
        }
      }
    }
  }
  out.inserted += e;
  return out;
}

// Misses among prev[0..n) for the current last-epoch position tau: an address is in the
// epoch iff its previous occurrence is after the last completed epoch.
inline u64 CountMisses(const std::int32_t* prev, std::size_t n, std::int32_t tau) {
  u64 c = 0;
#if defined(__SSE2__)
  std::size_t i = 0;
  const __m128i t1 = _mm_set1_epi32(tau + 1);
  __m128i acc = _mm_setzero_si128();
  for (; i + 4 <= n; i += 4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(prev + i));
    acc = _mm_sub_epi32(acc, _mm_cmpgt_epi32(t1, v));  // prev <= tau  <=>  tau+1 > prev
  }
  alignas(16) std::int32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
  c = static_cast<u64>(lanes[0]) + static_cast<u64>(lanes[1]) + static_cast<u64>(lanes[2]) +
      static_cast<u64>(lanes[3]);
  for (; i < n; ++i) c += prev[i] <= tau;
#else
  for (std::size_t i = 0; i < n; ++i) c += prev[i] <= tau;
#endif
  return c;
}

// OS/WS ifmap with repeated addresses, by previous occurrence. The stream is the same
// repetition S (row folds 0..RF-1) once per column fold. Position i of S misses iff the
// previous occurrence of its address (in this repetition, or for the first occurrence in S
// the last one of the previous repetition, at prev[i] = last - |S|) is at or before the
// position tau where the last epoch completed (relative to the repetition start; -1 before
// the first repetition, where nothing has been seen). Counting misses is then a vectorised
// comparison over prev[]; only blocks where an epoch completes are walked one by one. The
// repetition shortcuts of CalcScanIfmapRepeating apply unchanged.
bool CalcScanIfmapPrev(const Geometry& g, const Mapping& mp, u64 size_words, CalcReadRows* result) {
  const FoldIter fi{mp};
  u64 total = 0;
  for (u64 fr = 0; fr < mp.RF; ++fr) {
    total += FoldPattern(mp, 0, fi.ru(fr), fi.cu(0)).Total();
    if (total > (u64{1} << 21)) return false;
  }
  if (g.H * g.W * g.Ch > (u64{1} << 23)) return false;  // 32-bit last-occurrence table
  std::vector<Pattern> pats;
  std::vector<std::vector<u64>> row_prefix(mp.RF);
  std::vector<u64> offs(mp.RF + 1, 0);
  // Scratch reused across layers (avoids re-faulting fresh pages for every layer).
  thread_local std::vector<std::int32_t> prev;
  thread_local std::vector<std::uint32_t> addr;
  thread_local std::vector<std::int32_t> last;
  CalcReadRows out;
  bool seen = false;
  {
    // im2col factors: element (m, k) is word base_m[m] + off_k[k] when inside the image.
    if (g.M > (u64{1} << 24) || g.K > (u64{1} << 24)) return false;
    std::vector<std::uint32_t> base_m(g.M), irow_m(g.M), icol_m(g.M);
    for (u64 m = 0; m < g.M; ++m) {
      irow_m[m] = static_cast<std::uint32_t>((m / g.Ew) * g.Sh);
      icol_m[m] = static_cast<std::uint32_t>((m % g.Ew) * g.Sw);
      base_m[m] = static_cast<std::uint32_t>((irow_m[m] * g.W + icol_m[m]) * g.Ch);
    }
    std::vector<std::uint32_t> off_k(g.K), crow_k(g.K), ccol_k(g.K);
    for (u64 k = 0; k < g.K; ++k) {
      crow_k[k] = static_cast<std::uint32_t>(k / (g.Fw * g.Ch));
      const u64 rem = k % (g.Fw * g.Ch);
      ccol_k[k] = static_cast<std::uint32_t>(rem / g.Ch);
      off_k[k] = static_cast<std::uint32_t>((crow_k[k] * g.W + ccol_k[k]) * g.Ch + rem % g.Ch);
    }
    const std::uint32_t H = static_cast<std::uint32_t>(g.H), W = static_cast<std::uint32_t>(g.W);
    // prev[] is produced while generating the stream: prev[i] = last position of the same
    // word so far; first occurrences are fixed up afterwards (last position in S minus |S|).
    last.assign(g.H * g.W * g.Ch, -1);
    prev.clear();
    prev.reserve(total);
    addr.clear();  // here: words of first occurrences, in order
    const bool os = mp.df == Dataflow::kOutputStationary;
    for (u64 fr = 0; fr < mp.RF; ++fr) {
      pats.push_back(FoldPattern(mp, 0, fi.ru(fr), fi.cu(0)));
      const Pattern& pat = pats.back();
      std::vector<u64>& rp = row_prefix[fr];
      bool any = false;
      u64 first = 0, last_t = 0;
      for (u64 t = pat.FirstRow(); t <= pat.LastRow(); ++t) {
        rp.push_back(prev.size() - offs[fr]);
        const std::size_t before = prev.size();
        i64 lo, hi;
        pat.Cols(t, &lo, &hi);
        for (i64 ci = lo; ci <= hi; ++ci) {
          const u64 c = static_cast<u64>(ci);
          const u64 m = os ? fr * mp.R + c : t - pat.pre - c;
          const u64 k = os ? t - pat.pre - c : fr * mp.R + c;
          if (irow_m[m] + crow_k[k] < H && icol_m[m] + ccol_k[k] < W) {
            const std::uint32_t word = base_m[m] + off_k[k];
            std::int32_t& l = last[word];
            if (l < 0) addr.push_back(word);
            prev.push_back(l);
            l = static_cast<std::int32_t>(prev.size() - 1);
          }
        }
        if (prev.size() > before) {
          if (!any) first = t;
          any = true;
          last_t = t;
        }
      }
      rp.push_back(prev.size() - offs[fr]);
      offs[fr + 1] = prev.size();
      if (any) {
        if (!seen) out.first_row = fr * mp.P + first;
        seen = true;
        out.last_row = ((mp.CF - 1) * mp.RF + fr) * mp.P + last_t;
      }
    }
    const std::int32_t n = static_cast<std::int32_t>(prev.size());
    std::size_t f = 0;  // first occurrences come in stream order
    for (std::int32_t i = 0; i < n && f < addr.size(); ++i) {
      if (prev[static_cast<u64>(i)] < 0) prev[static_cast<u64>(i)] = last[addr[f++]] - n;
    }
  }
  const std::int32_t n = static_cast<std::int32_t>(prev.size());
  auto row_of = [&](u64 fc, u64 j) {
    const u64 fr =
        static_cast<u64>(std::upper_bound(offs.begin(), offs.end(), j) - offs.begin()) - 1;
    const std::vector<u64>& rp = row_prefix[fr];
    const u64 r =
        static_cast<u64>(std::upper_bound(rp.begin(), rp.end(), j - offs[fr]) - rp.begin()) - 1 +
        pats[fr].FirstRow();
    return (fc * mp.RF + fr) * mp.P + r;
  };
  const u64 cap = 50 * (size_words / 100);
  struct Trig {
    u64 idx, misses;  // position in S and misses of the repetition up to it
  };
  std::vector<Trig> prev_trigs, cur;
  u64 prev_misses = 0;
  u64 inserted = 0;  // misses in completed epochs
  u64 e = 0;
  std::int32_t tau = -1;
  constexpr std::size_t kBlock = 256;
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    if (fc > 0) tau = std::max<std::int32_t>(tau - n, -n - 1);  // shift to this repetition
    const u64 rep_start = inserted + e;
    cur.clear();
    for (std::size_t b = 0; b < prev.size(); b += kBlock) {
      const std::size_t len = std::min(kBlock, prev.size() - b);
      const u64 c = CountMisses(prev.data() + b, len, tau);
      if (e + c < cap) {
        e += c;
        continue;
      }
      for (std::size_t i = b; i < b + len; ++i) {
        if (prev[i] > tau) continue;
        if (++e < cap) continue;
        inserted += e;
        e = 0;
        tau = static_cast<std::int32_t>(i);
        const u64 misses = inserted - rep_start;
        if (out.epochs == 0) out.first_epoch_row = row_of(fc, i);
        out.last_epoch_row = row_of(fc, i);
        ++out.epochs;
        cur.push_back({i, misses});
        for (std::size_t j = 0; j < prev_trigs.size(); ++j) {
          if (prev_trigs[j].idx != i) continue;
          // Synchronised with repetition fc-1 from here on (see CalcScanIfmapRepeating).
          const u64 rest_triggers = prev_trigs.size() - 1 - j;
          const u64 rep_misses = misses + (prev_misses - prev_trigs[j].misses);
          const u64 rep_triggers = cur.size() + rest_triggers;
          const u64 later = mp.CF - 1 - fc;
          out.inserted = rep_start + rep_misses * (1 + later);
          out.epochs += rest_triggers + rep_triggers * later;
          out.last_epoch_row = row_of(mp.CF - 1, prev_trigs.back().idx);
          *result = out;
          return true;
        }
      }
    }
    const u64 rep_misses = inserted + e - rep_start;
    if (fc > 0 && rep_misses == 0) break;  // state unchanged: later repetitions are hit-only
    prev_trigs.swap(cur);
    prev_misses = rep_misses;
  }
  out.inserted = inserted + e;
  *result = out;
  return true;
}

// OS/WS ifmap with repeated addresses: the stream is the same repetition S (row folds
// fr = 0..RF-1) once per column fold. After an epoch completes at position p of S the
// epoch holds exactly the addresses seen after p, so everything that follows within the
// repetition, and the state the next repetition starts from, depends on p alone. Hence as
// soon as an epoch of repetition r completes at a position where one of repetition r-1
// completed, the rest of r equals the rest of r-1 and every later repetition equals r;
// likewise a repetition without misses leaves the state unchanged. Repetitions are scanned
// until either happens. Returns false when S is too large to keep (the caller scans).
bool CalcScanIfmapRepeating(const Geometry& g, const Mapping& mp, u64 size_words,
                            CalcReadRows* result) {
  const FoldIter fi{mp};
  std::vector<ChunkSeq> seqs(mp.RF);
  u64 total = 0;
  for (u64 fr = 0; fr < mp.RF; ++fr) {
    total += FoldPattern(mp, 0, fi.ru(fr), fi.cu(0)).Total();
    if (total > (u64{1} << 22)) return false;
  }
  std::vector<Pattern> pats;
  for (u64 fr = 0; fr < mp.RF; ++fr) {
    pats.push_back(FoldPattern(mp, 0, fi.ru(fr), fi.cu(0)));
    BuildChunkSeq(g, mp, pats.back(), fr, 0, fi.ru(fr), &seqs[fr]);
  }
  const u64 cap = 50 * (size_words / 100);
  std::vector<std::uint8_t> stamp(g.H * g.W * g.Ch, 0);
  std::uint8_t tag = 1;
  u64 e = 0;
  CalcReadRows out;
  struct Trig {
    u64 fr, idx, misses;  // position in S and misses of the repetition up to it
  };
  std::vector<Trig> prev, cur;
  u64 prev_misses = 0;
  auto row_of = [&](u64 fc, u64 fr, u64 idx) {
    const ChunkSeq& q = seqs[fr];
    const u64 r = static_cast<u64>(std::upper_bound(q.row_prefix.begin(), q.row_prefix.end(), idx) -
                                   q.row_prefix.begin()) -
                  1 + pats[fr].FirstRow();
    return (fc * mp.RF + fr) * mp.P + r;
  };
  bool seen = false;
  for (u64 fr = 0; fr < mp.RF; ++fr) {
    if (!seqs[fr].any) continue;
    if (!seen) out.first_row = fr * mp.P + seqs[fr].first_row;
    seen = true;
    out.last_row = ((mp.CF - 1) * mp.RF + fr) * mp.P + seqs[fr].last_row;
  }
  u64 inserted = 0;  // misses so far (all repetitions)
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    const u64 rep_start = inserted + e;
    cur.clear();
    for (u64 fr = 0; fr < mp.RF; ++fr) {
      const std::uint32_t* a = seqs[fr].addr.data();
      const std::size_t n = seqs[fr].addr.size();
      for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t& st = stamp[a[i]];
        e += st != tag;
        st = tag;
        if (__builtin_expect(e < cap, 1)) continue;
        inserted += e;
        e = 0;
        const u64 misses = inserted - rep_start;
        if (out.epochs == 0) out.first_epoch_row = row_of(fc, fr, i);
        out.last_epoch_row = row_of(fc, fr, i);
        ++out.epochs;
        cur.push_back({fr, i, misses});
        if (++tag == 0) {
          std::fill(stamp.begin(), stamp.end(), 0);
          tag = 1;
        }
        for (std::size_t j = 0; j < prev.size(); ++j) {
          if (prev[j].fr != fr || prev[j].idx != i) continue;
          // Synchronised with repetition fc-1 from here on.
          const u64 rest_triggers = prev.size() - 1 - j;
          const u64 rep_misses = misses + (prev_misses - prev[j].misses);
          const u64 rep_triggers = cur.size() + rest_triggers;
          const u64 later = mp.CF - 1 - fc;
          const Trig& last = prev.back();
          // e after this repetition equals e after the previous one.
          const u64 e_end = prev_misses - last.misses;
          out.inserted = rep_start + rep_misses * (1 + later) - e_end;  // completed epochs
          out.inserted += e_end;
          out.epochs += rest_triggers + rep_triggers * later;
          out.last_epoch_row = row_of(mp.CF - 1, last.fr, last.idx);
          *result = out;
          return true;
        }
      }
    }
    const u64 rep_misses = inserted + e - rep_start;
    if (fc > 0 && rep_misses == 0) break;  // state unchanged: later repetitions are hit-only
    prev.swap(cur);
    prev_misses = rep_misses;
    if (prev.empty()) prev_misses = 0;
  }
  out.inserted = inserted + e;
  *result = out;
  return true;
}

// OS ifmap with overlapping windows, per image location instead of per element. In fold fr
// pixel c (ofmap pixel m = fr*R + c, window origin (oy, ox)) reads its window indices
// k = (crow*Fw + ccol)*Ch + ch in demand row t = c + k, so a prefix of the fold's demand
// order gives every pixel a prefix [0, ke) of its window and a suffix gives it [ks, K). At
// image location (oy+crow, ox+ccol) that is a channel prefix [0, n) resp. suffix [s, Ch);
// unions of prefixes (suffixes) are prefixes (suffixes). The current epoch, built from the
// tail of the fold where the last epoch completed and whole folds after it, is therefore one
// channel suffix [s(y,x), Ch) per location, and the misses of a fold prefix are
// sum over its locations of min(n(y,x), s(y,x)): O(ru * Fh * Fw) per fold and per probe of
// the binary search for the element completing an epoch, independent of Ch. Requires at
// most one completed epoch per fold (the tail after it holds fewer than 50*N distinct
// words); returns false otherwise, or when the tables would be too large. The repetition
// shortcuts of CalcScanIfmapRepeating apply unchanged (an epoch state is fixed by the
// element (fr, t, c) that completed it).
bool CalcOsIfmapWindows(const Geometry& g, const Mapping& mp, u64 size_words,
                        CalcReadRows* result) {
  if (mp.df != Dataflow::kOutputStationary) return false;
  const u64 HW = g.H * g.W;
  if (HW > (u64{1} << 24) || g.Ch > (u64{1} << 30) || mp.R > (u64{1} << 20)) return false;
  const u64 cap = 50 * (size_words / 100);
  const u64 Ch = g.Ch, K = g.K, R = mp.R;
  const FoldIter fi{mp};
  // Epoch state: seen channels [s, Ch) at location l when sstamp[l] == epoch, else none.
  thread_local std::vector<std::uint32_t> sval, sstamp, pval, pstamp, touched;
  sval.assign(HW, 0);
  sstamp.assign(HW, 0);
  pval.assign(HW, 0);
  pstamp.assign(HW, 0);
  std::uint32_t epoch = 1, probe = 0;
  auto seen_from = [&](u64 l) -> u64 { return sstamp[l] == epoch ? sval[l] : Ch; };
  // Window origin of pixel c of fold fr; false when it lies outside the image.
  auto origin = [&](u64 fr, u64 c, u64* oy, u64* ox) {
    const u64 m = fr * R + c;
    *oy = (m / g.Ew) * g.Sh;
    *ox = (m % g.Ew) * g.Sw;
    return *oy < g.H && *ox < g.W;
  };
  // Visits (location, channels of pixel c's window range [k0, k1) at it) for every pixel.
  auto for_each_cell = [&](u64 fr, u64 ru, auto&& range, auto&& visit) {
    for (u64 c = 0; c < ru; ++c) {
      u64 oy = 0, ox = 0;
      if (!origin(fr, c, &oy, &ox)) continue;
      u64 k0 = 0, k1 = 0;
      range(c, &k0, &k1);
      if (k0 >= k1) continue;
      const u64 rows = std::min(g.Fh, g.H - oy), cols = std::min(g.Fw, g.W - ox);
      for (u64 q = k0 / Ch; q * Ch < k1; ++q) {
        const u64 crow = q / g.Fw, ccol = q % g.Fw;
        if (crow >= rows) break;
        if (ccol >= cols) continue;
        const u64 lo = std::max(k0, q * Ch) - q * Ch, hi = std::min(k1, (q + 1) * Ch) - q * Ch;
        visit((oy + crow) * g.W + ox + ccol, lo, hi);
      }
    }
  };
  // Misses of the fold prefix giving pixel c window indices [0, ke(c)); fills `touched`.
  auto prefix_misses = [&](u64 fr, u64 ru, auto&& ke) {
    ++probe;
    touched.clear();
    for_each_cell(
        fr, ru,
        [&](u64 c, u64* k0, u64* k1) {
          *k0 = 0;
          *k1 = ke(c);
        },
        [&](u64 l, u64, u64 hi) {
          if (pstamp[l] != probe) {
            pstamp[l] = probe;
            pval[l] = static_cast<std::uint32_t>(hi);
            touched.push_back(static_cast<std::uint32_t>(l));
          } else if (hi > pval[l]) {
            pval[l] = static_cast<std::uint32_t>(hi);
          }
        });
    u64 misses = 0;
    for (const std::uint32_t l : touched) misses += std::min<u64>(pval[l], seen_from(l));
    return misses;
  };
  // Prefix: rows < t of the fold, plus row t up to column cp (cp < 0: none of row t).
  auto rows_misses = [&](u64 fr, u64 ru, u64 t, i64 cp) {
    return prefix_misses(fr, ru, [&](u64 c) {
      const i64 n = static_cast<i64>(t) - static_cast<i64>(c) + (static_cast<i64>(c) <= cp);
      return static_cast<u64>(std::clamp<i64>(n, 0, static_cast<i64>(K)));
    });
  };

  CalcReadRows out;
  // First and last rows holding a valid address: pixel c reads (oy, ox) in row c and its
  // last in-image word in row c + k_last.
  bool seen_any = false;
  u64 last_fr = 0, last_t = 0;
  for (u64 fr = 0; fr < mp.RF; ++fr) {
    for (u64 c = 0; c < fi.ru(fr); ++c) {
      u64 oy = 0, ox = 0;
      if (!origin(fr, c, &oy, &ox)) continue;
      const u64 kl =
          ((std::min(g.Fh, g.H - oy) - 1) * g.Fw + std::min(g.Fw, g.W - ox) - 1) * Ch + Ch - 1;
      if (!seen_any) out.first_row = fr * mp.P + c;
      if (!seen_any || fr != last_fr || c + kl > last_t) last_t = c + kl;
      seen_any = true;
      last_fr = fr;
    }
  }
  if (!seen_any) {
    *result = out;
    return true;
  }
  out.last_row = ((mp.CF - 1) * mp.RF + last_fr) * mp.P + last_t;

  struct Trig {
    u64 fr, t, c, misses;  // element completing the epoch; misses of the repetition up to it
  };
  std::vector<Trig> prev_trigs, cur;
  u64 prev_misses = 0, inserted = 0, e = 0;
  auto row_of = [&](u64 fc, u64 fr, u64 t) { return (fc * mp.RF + fr) * mp.P + t; };
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    const u64 rep_start = inserted + e;
    cur.clear();
    for (u64 fr = 0; fr < mp.RF; ++fr) {
      const u64 ru = fi.ru(fr);
      const u64 full = prefix_misses(fr, ru, [&](u64) { return K; });
      if (e + full < cap) {
        e += full;
        for (const std::uint32_t l : touched) {
          sstamp[l] = epoch;
          sval[l] = 0;
        }
        continue;
      }
      // The epoch completes in this fold: first row, then first column, reaching `need`.
      const u64 need = cap - e;
      const u64 rows = K + ru - 1;
      u64 lo = 0, hi = rows - 1;  // rows_misses(t + 1, -1) >= need holds at t = rows - 1
      while (lo < hi) {
        const u64 mid = lo + (hi - lo) / 2;
        if (rows_misses(fr, ru, mid + 1, -1) >= need) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      const u64 t = lo;
      i64 clo = std::max<i64>(0, static_cast<i64>(t) - static_cast<i64>(K) + 1);
      i64 chi = std::min<i64>(static_cast<i64>(ru) - 1, static_cast<i64>(t));
      while (clo < chi) {
        const i64 mid = clo + (chi - clo) / 2;
        if (rows_misses(fr, ru, t, mid) >= need) {
          chi = mid;
        } else {
          clo = mid + 1;
        }
      }
      const u64 c = static_cast<u64>(clo);
      inserted += cap;
      e = 0;
      const u64 misses = inserted - rep_start;
      if (out.epochs == 0) out.first_epoch_row = row_of(fc, fr, t);
      out.last_epoch_row = row_of(fc, fr, t);
      ++out.epochs;
      cur.push_back({fr, t, c, misses});
      for (std::size_t j = 0; j < prev_trigs.size(); ++j) {
        if (prev_trigs[j].fr != fr || prev_trigs[j].t != t || prev_trigs[j].c != c) continue;
        // Synchronised with repetition fc-1 from here on (see CalcScanIfmapRepeating).
        const u64 rest_triggers = prev_trigs.size() - 1 - j;
        const u64 rep_misses = misses + (prev_misses - prev_trigs[j].misses);
        const u64 rep_triggers = cur.size() + rest_triggers;
        const u64 later = mp.CF - 1 - fc;
        out.inserted = rep_start + rep_misses * (1 + later);
        out.epochs += rest_triggers + rep_triggers * later;
        out.last_epoch_row = row_of(mp.CF - 1, prev_trigs.back().fr, prev_trigs.back().t);
        *result = out;
        return true;
      }
      // The new epoch holds the rest of the fold: pixel c' from window index
      // t - c' (+1 up to column c), a channel suffix per location.
      ++epoch;
      if (epoch == 0) return false;  // 2^32 epochs: not worth a reset path
      for_each_cell(
          fr, ru,
          [&](u64 cc, u64* k0, u64* k1) {
            const i64 n = static_cast<i64>(t) - static_cast<i64>(cc) + (cc <= c);
            *k0 = static_cast<u64>(std::clamp<i64>(n, 0, static_cast<i64>(K)));
            *k1 = K;
          },
          [&](u64 l, u64 lo2, u64) {
            if (sstamp[l] != epoch) {
              sstamp[l] = epoch;
              sval[l] = static_cast<std::uint32_t>(lo2);
            } else if (lo2 < sval[l]) {
              sval[l] = static_cast<std::uint32_t>(lo2);
            }
          });
      // Distinct words of the tail; a second epoch in this fold is not handled here.
      ++probe;
      for_each_cell(
          fr, ru,
          [&](u64, u64* k0, u64* k1) {
            *k0 = 0;
            *k1 = K;
          },
          [&](u64 l, u64, u64) {
            if (pstamp[l] == probe) return;
            pstamp[l] = probe;
            if (sstamp[l] == epoch) e += Ch - sval[l];
          });
      if (e >= cap) return false;
    }
    const u64 rep_misses = inserted + e - rep_start;
    if (fc > 0 && rep_misses == 0) break;  // state unchanged: later repetitions are hit-only
    prev_trigs.swap(cur);
    prev_misses = rep_misses;
  }
  out.inserted = inserted + e;
  *result = out;
  return true;
}

// ---------------------------------------------------------------------------------------
// Write buffer (memory/write_buffer.py) with bulk stores; pending lines kept as runs.
class FastWriteBuffer {
 public:
  FastWriteBuffer(u64 size_words, u64 bw)
      : active_(static_cast<i64>((size_words + 1) / 2)),
        drain_lines_(CeilDiv(size_words - (size_words + 1) / 2, bw)),
        bw_(bw),
        free_(static_cast<i64>(size_words)) {}

  i64 free_space() const { return free_; }
  i64 active() const { return active_; }
  i64 drain_end() const { return drain_end_; }

  void Store(u64 n) {
    if (n == 0) return;
    free_ -= static_cast<i64>(n);
    const u64 total = line_fill_ + n;
    if (total < bw_) {
      line_fill_ = total;
      return;
    }
    const u64 full = total / bw_;
    line_fill_ = total % bw_;
    Push(bw_, full);
  }

  // One demand row of n writes arriving at `cycle`; returns the served cycle.
  i64 Row(u64 n, i64 cycle) {
    i64 cur = cycle;
    while (n > 0) {
      if (cur < drain_end_) {
        const u64 safe = free_ > 1 ? static_cast<u64>(free_ - 1) : 0;
        if (n <= safe) {
          Store(n);
          return cur;
        }
        Store(safe + 1);
        n -= safe + 1;
        cur = drain_end_;
      } else {
        const u64 safe = free_ > active_ ? static_cast<u64>(free_ - active_) : 0;
        if (n <= safe) {
          Store(n);
          return cur;
        }
        Store(safe + 1);
        n -= safe + 1;
        drain_end_ = Drain(cur);
      }
    }
    return cur;
  }

  void Finish(i64 cycle) {
    CloseLine();
    while (pending_lines_ > 0) {
      drain_end_ = Drain(cycle);
      cycle = drain_end_ + 1;
    }
  }

  i64 dram_start() const { return dram_start_; }
  i64 dram_stop() const { return dram_stop_; }
  u64 accesses() const { return accesses_; }

 private:
  void Push(u64 fill, u64 count) {
    if (count == 0) return;
    if (!runs_.empty() && runs_.back().first == fill) {
      runs_.back().second += count;
    } else {
      runs_.emplace_back(fill, count);
    }
    pending_lines_ += count;
  }
  void CloseLine() {
    if (line_fill_ != 0) {
      Push(line_fill_, 1);
      line_fill_ = 0;
    }
  }
  i64 Drain(i64 start) {
    CloseLine();
    const u64 take = std::min(drain_lines_, pending_lines_);
    if (take == 0) throw std::logic_error("write buffer drain with no data");
    u64 left = take;
    u64 last_fill = 0;
    while (left > 0) {
      auto& run = runs_.front();
      const u64 k = std::min(left, run.second);
      last_fill = run.first;
      run.second -= k;
      left -= k;
      if (run.second == 0) runs_.pop_front();
    }
    pending_lines_ -= take;
    const u64 data = take * bw_ - (bw_ - last_fill);
    accesses_ += data;
    free_ += static_cast<i64>(data);
    const i64 end = start + static_cast<i64>(take) - 1;
    if (!drained_) {
      drained_ = true;
      dram_start_ = start;
    }
    dram_stop_ = end;
    return end;
  }

  i64 active_;
  u64 drain_lines_, bw_;
  i64 free_;
  u64 line_fill_ = 0;
  std::deque<std::pair<u64, u64>> runs_;  // (fill, line count)
  u64 pending_lines_ = 0;
  i64 drain_end_ = 0;
  u64 accesses_ = 0;
  bool drained_ = false;
  i64 dram_start_ = 0, dram_stop_ = 0;
};

// ---------------------------------------------------------------------------------------
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

// Stall profile of a CALC run: cumulative stall after each stalling row.
struct StallProfile {
  std::vector<std::pair<u64, i64>> steps;  // (row, total stall after that row), increasing
  i64 Before(u64 row) const {              // stall accumulated over rows < row
    auto it = std::lower_bound(steps.begin(), steps.end(), std::make_pair(row, INT64_MIN));
    if (it == steps.begin()) return 0;
    return std::prev(it)->second;
  }
};

// ---------------------------------------------------------------------------------------
// CALC mode: read side in rows, write side event driven.
bool SimulateCalc(const Config& cfg, const Geometry& g, const Mapping& mp, LayerResult* out) {
  const u64 if_words = cfg.ifmap_sram_kb * 1024;
  const u64 f_words = cfg.filter_sram_kb * 1024;
  const u64 widest = std::max(mp.R, mp.C);
  if (50 * (if_words / 100) <= widest || 50 * (f_words / 100) <= widest) return false;
  const bool if_inj = IfmapInjective(g);
  // Per-word ifmap tables (8-bit stamps) must stay small: peak memory target < 50 MB.
  if (!if_inj && g.H * g.W * g.Ch > (u64{1} << 25)) return false;
  CalcReadRows rd[2];
  const bool repeat_free = (g.Fh <= g.Sh || g.Eh == 1) && (g.Fw <= g.Sw || g.Ew == 1);
  if (if_inj) {
    rd[0] = CalcInjective(mp, 0, if_words);
  } else if (repeat_free && mp.folds <= (u64{1} << 20)) {
    rd[0] = CalcInjective(mp, 0, if_words, &g);
  } else if (CalcOsIfmapWindows(g, mp, if_words, &rd[0])) {
  } else if (mp.df == Dataflow::kInputStationary ||
             (!CalcScanIfmapPrev(g, mp, if_words, &rd[0]) &&
              !CalcScanIfmapRepeating(g, mp, if_words, &rd[0]))) {
    rd[0] = CalcScanIfmap(g, mp, if_words);
  }
  rd[1] = CalcInjective(mp, 1, f_words);

  // Write buffer, event driven over the rows that hold ofmap writes.
  FastWriteBuffer wr(cfg.ofmap_sram_kb * 1024, cfg.array_cols);
  const FoldIter fi{mp};
  StallProfile prof;
  i64 stall = 0;
  bool first_write_seen = false;
  i64 first_write_served = 0, last_write_served = 0;
  u64 fold = 0;
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    for (u64 fr = 0; fr < mp.RF; ++fr, ++fold) {
      const Pattern pat = FoldPattern(mp, 2, fi.ru(fr), fi.cu(fc));
      const u64 base = fold * mp.P;
      const u64 tw0 = pat.FirstRow();
      const u64 tw1 = pat.LastRow();
      auto note = [&](u64 t, i64 served) {
        if (!first_write_seen) {
          first_write_seen = true;
          first_write_served = served;
        }
        if (t == tw1) last_write_served = served;
      };
      u64 t = tw0;
      while (t <= tw1) {
        const i64 cycle = static_cast<i64>(base + t) + stall;
        u64 limit = tw1 + 1;  // rows [t, limit) considered for a bulk store
        u64 need;             // writes that trigger an event (stall or drain start)
        if (cycle < wr.drain_end()) {
          const u64 end_row =
              static_cast<u64>(wr.drain_end() - stall) - base;  // cycle >= drain_end
          limit = std::min(limit, end_row);
          need = wr.free_space() > 1 ? static_cast<u64>(wr.free_space() - 1) + 1 : 1;
        } else {
          need = wr.free_space() > wr.active() ? static_cast<u64>(wr.free_space() - wr.active()) + 1
                                               : 1;
        }
        const u64 before = pat.Prefix(t);
        if (pat.Prefix(limit) - before < need) {
          // No event in rows [t, limit): served = cycle for each.
          wr.Store(pat.Prefix(limit) - before);
          if (!first_write_seen) note(t, cycle);
          if (tw1 < limit) last_write_served = static_cast<i64>(base + tw1) + stall;
          t = limit;
          continue;
        }
        // First row in [t, limit) whose writes reach the event (rows hold up to `used`
        // writes, exactly that away from the fold's ramps).
        const u64 per_row = std::max<u64>(1, pat.used);
        const u64 lo = FirstTrue(t, limit, (need + per_row - 1) / per_row - 1,
                                 [&](u64 x) { return pat.Prefix(x + 1) - before >= need; });
        if (lo > t) {
          wr.Store(pat.Prefix(lo) - before);
          if (!first_write_seen) note(t, cycle);
        }
        const i64 c = static_cast<i64>(base + lo) + stall;
        const i64 served = wr.Row(pat.Count(lo), c);
        note(lo, served);
        if (served > c) {
          stall += served - c;
          prof.steps.emplace_back(base + lo, stall);
        }
        t = lo + 1;
      }
    }
  }
  // SCALE-Sim's CALC write buffer drains ArrayWidth words per cycle and was never seen to
  // stall (3000 random wide-array layers included); the stall bookkeeping above is exact by
  // construction but untested against SCALE-Sim, so such layers take the reference engine.
  if (stall > 0) return false;
  const u64 last_row = mp.rows_total - 1;
  const Pattern last_pat = FoldPattern(mp, 2, fi.ru(mp.RF - 1), fi.cu(mp.CF - 1));
  const bool last_has_write = last_pat.LastRow() == mp.P - 1;
  const i64 total = last_has_write ? last_write_served : static_cast<i64>(last_row) + stall;
  wr.Finish(total);
  out->total_cycles = total;
  out->stall_cycles = stall;
  out->sram_start[2] = first_write_served;
  out->sram_stop[2] = last_write_served;
  out->dram_start[2] = wr.dram_start();
  out->dram_stop[2] = wr.dram_stop();
  out->dram_count[2] = wr.accesses();

  for (int op = 0; op < 2; ++op) {
    const CalcReadRows& r = rd[op];
    auto cyc = [&](u64 row) { return static_cast<i64>(row) + prof.Before(row); };
    out->sram_start[op] = cyc(r.first_row) + 1;
    out->sram_stop[op] = cyc(r.last_row) + 1;
    const i64 n = static_cast<i64>((op == 0 ? if_words : f_words) / 100);
    if (r.epochs == 0) {
      const i64 sets = (static_cast<i64>(r.inserted) + n - 1) / n;
      out->dram_start[op] = -((sets * n + 9) / 10);
      out->dram_stop[op] = -1;
    } else {
      out->dram_start[op] = cyc(r.first_row) - 5 * n;
      out->dram_stop[op] = cyc(r.last_epoch_row) + 1;
    }
    out->dram_count[op] = r.inserted;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// USER mode. A row is quiet when both reads hit (their set intervals lie in the active
// windows) and its writes neither start a drain nor stall: it is served at cycle+1 / cycle
// and changes nothing but the write buffer's fill. Runs of quiet rows are found with binary
// searches (set ids and write counts are monotone in the row within a fold) and stored in
// bulk; the remaining rows go through the exact per-row routines.
bool SimulateUser(const Config& cfg, const Geometry& g, const Mapping& mp, LayerResult* out) {
  const bool ranked = !IfmapInjective(g);
  if (ranked && GetPrefetchShape(mp, 0).elems > (u64{1} << 27)) return false;  // bitmap memory
  const u64 bw = cfg.bandwidths.at(0);
  PositionalUserBuffer rd[2] = {
      PositionalUserBuffer(g, mp, 0, cfg.ifmap_sram_kb * 1024, bw, ranked),
      PositionalUserBuffer(g, mp, 1, cfg.filter_sram_kb * 1024, bw, false)};
  FastWriteBuffer wr(cfg.ofmap_sram_kb * 1024, bw);
  const FoldIter fi{mp};
  // Global first/last rows holding each operand (every row of a pattern's span does).
  u64 first_row[3], last_row[3];
  for (int op = 0; op < 3; ++op) {
    first_row[op] = FoldPattern(mp, op, fi.ru(0), fi.cu(0)).FirstRow();
    last_row[op] =
        (mp.folds - 1) * mp.P + FoldPattern(mp, op, fi.ru(mp.RF - 1), fi.cu(mp.CF - 1)).LastRow();
  }
  if (ranked) {  // ifmap rows may hold only out-of-image elements
    const Pattern p0 = FoldPattern(mp, 0, fi.ru(0), fi.cu(0));
    u64 j0, j1;
    i64 lo, hi;
    u64 t = p0.FirstRow();
    for (; t <= p0.LastRow(); ++t) {
      p0.Cols(t, &lo, &hi);
      if (hi >= lo && rd[0].Sets(0, 0, t, lo, hi, p0, &j0, &j1)) break;
    }
    first_row[0] = t;
    bool found = false;
    for (u64 f = mp.folds; f-- > 0 && !found;) {  // the last folds may lie outside the image
      const u64 fr = f % mp.RF, fc = f / mp.RF;
      const Pattern pf = FoldPattern(mp, 0, fi.ru(fr), fi.cu(fc));
      for (u64 t2 = pf.LastRow() + 1; t2-- > pf.FirstRow();) {
        pf.Cols(t2, &lo, &hi);
        if (hi >= lo && rd[0].Sets(fr, fc, t2, lo, hi, pf, &j0, &j1)) {
          last_row[0] = f * mp.P + t2;
          found = true;
          break;
        }
      }
    }
  }
  auto note = [&](int op, u64 row, i64 served) {
    if (row == first_row[op]) out->sram_start[op] = served;
    if (row == last_row[op]) out->sram_stop[op] = served;
  };
  // The six noted rows in order, so quiet runs only look at the ones they cover.
  std::pair<u64, int> notes[6];
  for (int op = 0; op < 3; ++op) {
    notes[2 * op] = {first_row[op], op};
    notes[2 * op + 1] = {last_row[op], op};
  }
  std::sort(notes, notes + 6);
  int next_note = 0;
  rd[0].Start(0);
  rd[1].Start(0);
  i64 stall = 0;
  i64 last_out = 0;
  u64 fold = 0;
  for (u64 fc = 0; fc < mp.CF; ++fc) {
    for (u64 fr = 0; fr < mp.RF; ++fr, ++fold) {
      const u64 ru = fi.ru(fr), cu = fi.cu(fc);
      const Pattern pats[3] = {FoldPattern(mp, 0, ru, cu), FoldPattern(mp, 1, ru, cu),
                               FoldPattern(mp, 2, ru, cu)};
      const u64 base = fold * mp.P;
      bool cache_ok[2] = {false, false};
      u64 cache_moves[2] = {0, 0}, cache_limit[2] = {0, 0};
      u64 known_row[2] = {~u64{0}, ~u64{0}};
      u64 known_pos[2][2] = {{0, 0}, {0, 0}};
      u64 write_event_row = ~u64{0};
      u64 t = 0;
      while (t < mp.P) {
        // First row >= t that may not be quiet, per read operand. A run found earlier stays
        // valid while the operand's window has not moved.
        auto op_limit = [&](int op) -> u64 {
          const Pattern& pat = pats[op];
          if (t > pat.LastRow() || (op == 0 && rd[0].FoldEmpty(fr))) return mp.P;
          if (t < pat.FirstRow()) return pat.FirstRow();
          const u64 E = rd[op].items_per_set();
          const u64 cols = rd[op].prefetch_cols();
          i64 lo, hi;
          pat.Cols(t, &lo, &hi);
          u64 p0 = 0, p1 = 0, reach = 0;
          if (!rd[op].Positions(fr, fc, t, lo, hi, pat, &p0, &p1)) {
            return t;
          }
          known_row[op] = t;  // Row() may reuse these positions for row t
          known_pos[op][0] = p0;
          known_pos[op][1] = p1;
          if (!pat.skewed) {  // block rows walk the prefetch order backwards
            if (!rd[op].WindowReachBack(p1 / E, &reach) || p0 / E < reach) {
              return t;
            }
            // First row with j0 < reach; rows step back `cols` positions (exact away from
            // fold edges). Rows without valid addresses stop the run (conservative).
            const u64 guess = (p0 - reach * E) / cols;
            if (rd[op].BlockLinear(pat)) {  // row starts step back exactly `cols` a row
              const u64 a = t + guess + 1;
              if (a > pat.LastRow()) return mp.P;
              known_row[op] = a;
              known_pos[op][0] = p0 - (a - t) * cols;
              known_pos[op][1] = p1 - (a - t) * cols;
              return a;
            }
            const u64 a = FirstTrue(t + 1, pat.LastRow() + 1, guess, [&](u64 x) {
              pat.Cols(x, &lo, &hi);
              u64 q0 = 0;
              return !rd[op].FirstPos(fr, fc, x, lo, hi, pat, &q0) || q0 / E < reach;
            });
            return a <= pat.LastRow() ? a : mp.P;
          }
          if (!rd[op].WindowReach(p0 / E, &reach) || p1 / E > reach) {
            return t;
          }
          if (reach != ~u64{0}) {  // closed form where row ends advance `cols` positions a row
            const u64 a = t + ((reach + 1) * E - p1 + cols - 1) / cols;
            if (rd[op].LastPosLinear(fr, fc, t, std::min(a, pat.LastRow()), pat)) {
              if (a > pat.LastRow()) return mp.P;
              if (a + 1 <= pat.pre + pat.len) {  // row a starts at column 0 as row t does:
                known_row[op] = a;               // its first position advances alike
                known_pos[op][0] = p0 + (a - t) * cols;
                known_pos[op][1] = p1 + (a - t) * cols;
              }
              return a;
            }
          }
          // First row with j1 > reach; rows advance `cols` positions (exact away from fold
          // edges). Rows without valid addresses stop the run (conservative).
          u64 guess = pat.LastRow() + 1;
          if (reach != ~u64{0}) guess = ((reach + 1) * E - p1 + cols - 1) / cols - 1;
          const u64 a = FirstTrue(t + 1, pat.LastRow() + 1, guess, [&](u64 x) {
            pat.Cols(x, &lo, &hi);
            u64 q1 = 0;
            return !rd[op].LastPos(fr, fc, x, lo, hi, pat, &q1) || q1 / E > reach;
          });
          return a <= pat.LastRow() ? a : mp.P;
        };
        u64 limit = mp.P;
        // A run that ended at t because a read operand is not quiet there: row t goes
        // straight to the exact routines.
        bool pending = t == write_event_row;
        u64 writes = 0;
        for (int op = 0; op < 2; ++op) {
          pending = pending ||
                    (cache_ok[op] && cache_moves[op] == rd[op].moves() && cache_limit[op] == t);
        }
        for (int op = 0; op < 2 && !pending; ++op) {
          if (!(cache_ok[op] && cache_moves[op] == rd[op].moves() && cache_limit[op] > t)) {
            cache_limit[op] = op_limit(op);
            cache_moves[op] = rd[op].moves();
            cache_ok[op] = true;
          }
          limit = std::min(limit, cache_limit[op]);
        }
        if (pending) limit = t;
        const Pattern& wp = pats[2];
        if (limit > t) {
          const i64 cycle = static_cast<i64>(base + t) + stall;
          u64 need;
          if (cycle < wr.drain_end()) {
            limit = std::min<u64>(limit, static_cast<u64>(wr.drain_end() - stall) - base);
            need = wr.free_space() > 1 ? static_cast<u64>(wr.free_space() - 1) + 1 : 1;
          } else {
            need = wr.free_space() > wr.active()
                       ? static_cast<u64>(wr.free_space() - wr.active()) + 1
                       : 1;
          }
          const u64 before = wp.Prefix(t);
          writes = wp.Prefix(limit) - before;
          if (writes >= need) {
            // First row whose writes reach the event (rows hold at most cu writes).
            const u64 a = FirstTrue(t, limit, need / std::max<u64>(1, wp.used),
                                    [&](u64 x) { return wp.Prefix(x + 1) - before >= need; });
            limit = a;
            write_event_row = a;  // goes straight to the exact routines
            writes = wp.Prefix(limit) - before;
          }
        }
        if (limit > t) {  // rows [t, limit) are quiet
          wr.Store(writes);
          while (next_note < 6 && notes[next_note].first < base + t) ++next_note;
          for (int i = next_note; i < 6 && notes[i].first < base + limit; ++i) {
            const u64 r = notes[i].first;
            const int op = notes[i].second;
            note(op, r, static_cast<i64>(r) + stall + (op < 2 ? 1 : 0));
          }
          last_out = static_cast<i64>(base + limit - 1) + stall;
          t = limit;
          continue;
        }
        // Row t through the exact routines.
        const u64 row = base + t;
        const i64 cycle = static_cast<i64>(row) + stall;
        i64 served[3];
        for (int op = 0; op < 2; ++op) {
          i64 lo, hi;
          pats[op].Cols(t, &lo, &hi);
          const bool known = known_row[op] == t && cache_moves[op] == rd[op].moves();
          if (cache_moves[op] == rd[op].moves() && cache_limit[op] > t) {
            served[op] = cycle + 1;  // row t is quiet for this operand (op_limit)
            continue;
          }
          served[op] = hi >= lo ? rd[op].Row(fr, fc, t, lo, hi, pats[op], cycle,
                                             known ? known_pos[op] : nullptr)
                                : cycle + 1;
        }
        const u64 nw = wp.Count(t);
        served[2] = nw > 0 ? wr.Row(nw, cycle) : cycle;
        stall += std::max({served[0] - cycle - 1, served[1] - cycle - 1, served[2] - cycle});
        for (int op = 0; op < 3; ++op) note(op, row, served[op]);
        last_out = served[2];
        ++t;
      }
    }
  }
  wr.Finish(last_out);
  out->total_cycles = last_out;
  out->stall_cycles = stall;
  rd[0].Finish(&out->dram_start[0], &out->dram_stop[0], &out->dram_count[0]);
  rd[1].Finish(&out->dram_start[1], &out->dram_stop[1], &out->dram_count[1]);
  out->dram_start[2] = wr.dram_start();
  out->dram_stop[2] = wr.dram_stop();
  out->dram_count[2] = wr.accesses();
  return true;
}

}  // namespace

int FastIfmapRankSelfCheck(const Config& cfg, const Layer& layer) {
  const Geometry g(cfg, layer);
  const Mapping mp(cfg, g);
  if (IfmapInjective(g)) return 0;
  const u64 words = cfg.ifmap_sram_kb * 1024;
  const u64 bw = cfg.bandwidths.empty() ? 1 : cfg.bandwidths[0];
  const PositionalUserBuffer fast(g, mp, 0, words, bw, true);
  if (!fast.sparse()) return 0;
  const PositionalUserBuffer scan(g, mp, 0, words, bw, true, true);
  return fast.bits() == scan.bits() && fast.rank() == scan.rank() ? 1 : -1;
}

bool SimulateFast(const Config& cfg, const Layer& layer, LayerResult* out) {
  const Geometry g(cfg, layer);
  const Mapping mp(cfg, g);
  LayerResult r;
  const bool ok = cfg.mode == BandwidthMode::kCalc ? SimulateCalc(cfg, g, mp, &r)
                                                   : SimulateUser(cfg, g, mp, &r);
  if (!ok) return false;
  FillComputeColumns(cfg, g, mp, &r);
  FillRatioColumns(cfg, g, &r);
  *out = r;
  return true;
}

}  // namespace systole::scalesim
