// CALC read buffers of the fast SCALE-Sim engine (memory/read_buffer.py in CALC mode): the
// misses and completed epochs (50*N distinct addresses) of an operand's prefetch stream,
// fold by fold, in rows (see scalesim_fast.cpp's header comment for the methods).
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

struct ChunkSeq;
void BuildChunkSeq(const Geometry& g, const Mapping& mp, const Pattern& pat, u64 fr, u64 fc, u64 ru,
                   ChunkSeq* out);
u64 ChunkValid(const Geometry& g, const Mapping& mp, u64 fr, u64 fc);
void ChunkRows(const Geometry& g, const Mapping& mp, u64 fold, u64 pos, u64* row, u64* first,
               u64* last);

// CALC read buffer on an operand without repeated addresses, fold by fold. With `holes`
// (an ifmap whose windows do not overlap but may leave the image) fold sizes and positions
// skip the out-of-image elements.
CalcReadRows CalcInjective(const Mapping& mp, int op, u64 size_words, const Geometry* holes) {
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

}  // namespace systole::scalesim::fast
