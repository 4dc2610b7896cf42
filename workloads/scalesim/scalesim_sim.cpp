// Exact emulation of SCALE-Sim v2 (https://github.com/scalesim-project/scale-sim-v2, commit
// 22f88b1). Written from the semantics of its code (compute/operand_matrix.py,
// compute/systolic_compute_{os,ws,is}.py, memory/double_buffered_scratchpad_mem.py) and
// checked against SCALE-Sim's outputs (goldens in tests/data/scalesim).
// Notation: R x C array, GEMM (M x K) . (K x N); per dataflow Sr (rows), Sc (cols),
// T (temporal); folds iterate fc outer, fr inner; every fold is P demand rows long
// (os: T+R+C-2, ws/is: 2R+C+T-2).
#include "workloads/scalesim/scalesim_sim.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/scalesim/scalesim_engine.h"

namespace systole::scalesim {

// ---------------------------------------------------------------------------------------
// Number formatting and exact division (Python semantics).

std::string PyFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci = sci.substr(1);
  }
  const std::size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  const int exp10 = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char ch : mant) {
    if (ch != '.') digits.push_back(ch);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
  const int nd = static_cast<int>(digits.size());
  std::string out;
  if (decpt <= -4 || decpt > 16) {
    out = digits.substr(0, 1);
    if (nd > 1) out += "." + digits.substr(1);
    const int e = decpt - 1;
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    out += eb;
  } else if (decpt <= 0) {
    out = "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (decpt < nd) {
    out = digits.substr(0, static_cast<std::size_t>(decpt)) + "." +
          digits.substr(static_cast<std::size_t>(decpt));
  } else {
    out = digits + std::string(static_cast<std::size_t>(decpt - nd), '0') + ".0";
  }
  return sign + out;
}

namespace {
int BitLen(unsigned __int128 v) {
  int n = 0;
  while (v != 0) {
    v >>= 1;
    ++n;
  }
  return n;
}
}  // namespace

double IntTrueDiv(unsigned __int128 a, unsigned __int128 b) {
  if (b == 0) throw std::logic_error("IntTrueDiv by zero");
  if (a == 0) return 0.0;
  const unsigned __int128 kExact = static_cast<unsigned __int128>(1) << 53;
  if (a < kExact && b < kExact) return static_cast<double>(a) / static_cast<double>(b);
  // Long division producing at least 55 quotient bits, then round half to even with the
  // remainder as sticky bit.
  const int bb = BitLen(b);
  if (bb > 120) throw std::logic_error("IntTrueDiv denominator too large");
  unsigned __int128 q = a / b;
  unsigned __int128 r = a % b;
  int s = 0;  // q = floor(a * 2^s / b)
  while (BitLen(q) < 55) {
    const int k = std::min(55 - BitLen(q), 127 - bb);
    q = (q << k) | ((r << k) / b);
    r = (r << k) % b;
    s += k;
  }
  const bool sticky = r != 0;
  const int bits = BitLen(q);
  const int drop = bits - 53;
  unsigned __int128 keep = q >> drop;
  const unsigned __int128 rem = q & ((static_cast<unsigned __int128>(1) << drop) - 1);
  const unsigned __int128 half = static_cast<unsigned __int128>(1) << (drop - 1);
  if (rem > half || (rem == half && (sticky || (keep & 1)))) ++keep;
  return std::ldexp(static_cast<double>(static_cast<std::uint64_t>(keep)), drop - s);
}

// ---------------------------------------------------------------------------------------
// Layer geometry: operand addresses exactly as operand_matrix.py computes them.

Geometry::Geometry(const Config& cfg, const Layer& layer) {
  H = layer.ifmap_h;
  W = layer.ifmap_w;
  Fh = layer.filt_h;
  Fw = layer.filt_w;
  Ch = layer.channels;
  Sh = layer.stride_h;
  Sw = layer.stride_w;
  Eh = layer.ofmap_h();
  Ew = layer.ofmap_w();
  const GemmShape g = LayerGemm(layer);
  M = g.m;
  K = g.k;
  N = g.n;
  if_off = static_cast<std::int64_t>(cfg.ifmap_offset);
  f_off = static_cast<std::int64_t>(cfg.filter_offset);
  o_off = static_cast<std::int64_t>(cfg.ofmap_offset);
  // SCALE-Sim holds addresses in float64 demand matrices; keep them exact.
  const std::uint64_t limit = std::uint64_t{1} << 52;
  const std::uint64_t if_size = CheckedMul(CheckedMul(H, W, "ifmap size"), Ch, "ifmap size");
  const std::uint64_t f_size = CheckedMul(K, N, "filter size");
  const std::uint64_t o_size = CheckedMul(M, N, "ofmap size");
  if (CheckedAdd(if_size, cfg.ifmap_offset, "ifmap address") > limit ||
      CheckedAdd(f_size, cfg.filter_offset, "filter address") > limit ||
      CheckedAdd(o_size, cfg.ofmap_offset, "ofmap address") > limit) {
    throw InputError("layer '" + layer.name +
                     "': operand addresses exceed 2^52, beyond what SCALE-Sim's float64 "
                     "demand matrices represent exactly");
  }
  gemm_like = (Fh == 1 && Sh == 1 && Sw == 1 && Fw == W && Eh == H && Ew == 1);
}

Mapping::Mapping(const Config& cfg, const Geometry& g) {
  df = cfg.dataflow;
  R = cfg.array_rows;
  C = cfg.array_cols;
  GemmShape gemm;
  gemm.m = g.M;
  gemm.k = g.K;
  gemm.n = g.N;
  ArrayShape array;
  array.rows = R;
  array.cols = C;
  const FoldMapping fm = MapGemm(df, gemm, array);
  Sr = fm.spatial_rows;
  Sc = fm.spatial_cols;
  T = fm.temporal;
  RF = fm.row_folds;
  CF = fm.col_folds;
  folds = fm.folds();
  if (df == Dataflow::kOutputStationary) {
    P = CheckedAdd(T, R + C - 2, "fold length");
  } else {
    P = CheckedAdd(T, CheckedAdd(2 * R, C, "fold length") - 2, "fold length");
  }
  rows_total = CheckedMul(folds, P, "demand rows");
}

// Valid addresses of demand row t of fold (fr, fc), in column order.
void RowAddresses(const Geometry& g, const Mapping& mp, int op, std::uint64_t fr, std::uint64_t fc,
                  std::uint64_t t, std::vector<std::int64_t>& out) {
  out.clear();
  const std::uint64_t R = mp.R;
  const std::uint64_t C = mp.C;
  const std::uint64_t ru = std::min(R, mp.Sr - fr * R);
  const std::uint64_t cu = std::min(C, mp.Sc - fc * C);
  const std::uint64_t T = mp.T;
  const std::int64_t ti = static_cast<std::int64_t>(t);
  // Skewed block: column c reads block row (t - c - prefix) when it lies in [0, len).
  auto skewed = [&](std::uint64_t used, std::uint64_t prefix, std::uint64_t len, auto addr) {
    for (std::uint64_t c = 0; c < used; ++c) {
      const std::int64_t u = ti - static_cast<std::int64_t>(c) - static_cast<std::int64_t>(prefix);
      if (u < 0) break;
      if (static_cast<std::uint64_t>(u) >= len) continue;
      const std::int64_t a = addr(c, static_cast<std::uint64_t>(u));
      if (a != -1) out.push_back(a);
    }
  };
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      if (op == 0) {
        skewed(ru, 0, T,
               [&](std::uint64_t c, std::uint64_t k) { return g.IfmapAddr(fr * R + c, k); });
      } else if (op == 1) {
        skewed(cu, 0, T,
               [&](std::uint64_t c, std::uint64_t k) { return g.FilterAddr(k, fc * C + c); });
      } else {
        skewed(cu, T - 1, R, [&](std::uint64_t c, std::uint64_t u) -> std::int64_t {
          const std::uint64_t r = R - 1 - u;
          if (r >= ru) return -1;
          return g.OfmapAddr(fr * R + r, fc * C + c);
        });
      }
      break;
    case Dataflow::kWeightStationary:
      if (op == 0) {
        skewed(ru, R, T,
               [&](std::uint64_t c, std::uint64_t m) { return g.IfmapAddr(m, fr * R + c); });
      } else if (op == 1) {
        if (t < R) {
          const std::uint64_t r = R - 1 - t;
          if (r < ru) {
            for (std::uint64_t c = 0; c < cu; ++c)
              out.push_back(g.FilterAddr(fr * R + r, fc * C + c));
          }
        }
      } else {
        skewed(cu, 2 * R - 1, T,
               [&](std::uint64_t c, std::uint64_t m) { return g.OfmapAddr(m, fc * C + c); });
      }
      break;
    case Dataflow::kInputStationary:
      if (op == 0) {
        if (t < R) {
          const std::uint64_t r = R - 1 - t;
          if (r < ru) {
            for (std::uint64_t c = 0; c < cu; ++c) {
              const std::int64_t a = g.IfmapAddr(fc * C + c, fr * R + r);
              if (a != -1) out.push_back(a);
            }
          }
        }
      } else if (op == 1) {
        skewed(ru, R, T,
               [&](std::uint64_t c, std::uint64_t n) { return g.FilterAddr(fr * R + c, n); });
      } else {
        skewed(cu, 2 * R - 1, T,
               [&](std::uint64_t c, std::uint64_t n) { return g.OfmapAddr(fc * C + c, n); });
      }
      break;
  }
}

// Prefetch matrix of a read operand (compute unit's get_prefetch_matrices()).
PrefetchShape GetPrefetchShape(const Mapping& mp, int op) {
  PrefetchShape s;
  const bool ifmap = op == 0;
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      s.blocks = ifmap ? mp.RF : mp.CF;
      s.block_rows = mp.T;
      s.cols = ifmap ? mp.R : mp.C;
      s.antidiag = true;
      s.extent = ifmap ? mp.Sr : mp.Sc;
      break;
    case Dataflow::kWeightStationary:
      s.blocks = ifmap ? mp.RF : mp.CF;
      s.block_rows = ifmap ? mp.T : mp.Sr;
      s.cols = ifmap ? mp.R : mp.C;
      s.antidiag = ifmap;
      s.extent = ifmap ? mp.Sr : mp.Sc;
      break;
    case Dataflow::kInputStationary:
      s.blocks = ifmap ? mp.CF : mp.RF;
      s.block_rows = ifmap ? mp.Sr : mp.T;
      s.cols = ifmap ? mp.C : mp.R;
      s.antidiag = !ifmap;
      s.extent = ifmap ? mp.Sc : mp.Sr;
      break;
  }
  s.rows = CheckedMul(s.blocks, s.block_rows, "prefetch matrix size");
  s.elems = CheckedMul(s.rows, s.cols, "prefetch matrix size");
  s.last_used = s.extent - (s.blocks - 1) * s.cols;
  return s;
}

// Element (row, col) of the prefetch matrix; -1 for padding and out-of-image pixels.
std::int64_t PrefetchElem(const Geometry& g, const Mapping& mp, int op, const PrefetchShape& s,
                          std::uint64_t row, std::uint64_t col) {
  const std::uint64_t b = row / s.block_rows;
  const std::uint64_t r = row % s.block_rows;
  const std::uint64_t span = s.cols;  // R or C: the spatial chunk of block b
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      if (op == 0) {
        if (b * span + col >= mp.Sr) return -1;
        return g.IfmapAddr(b * span + col, r);
      }
      if (b * span + col >= mp.Sc) return -1;
      return g.FilterAddr(r, b * span + col);
    case Dataflow::kWeightStationary:
      if (op == 0) {
        if (b * span + col >= mp.Sr) return -1;
        return g.IfmapAddr(r, b * span + col);
      }
      if (b * span + col >= mp.Sc) return -1;
      return g.FilterAddr(r, b * span + col);
    case Dataflow::kInputStationary:
      if (op == 0) {
        if (b * span + col >= mp.Sc) return -1;
        return g.IfmapAddr(b * span + col, r);
      }
      if (b * span + col >= mp.Sr) return -1;
      return g.FilterAddr(b * span + col, r);
  }
  return -1;
}

namespace {

// ---------------------------------------------------------------------------------------
// Read buffers.

class ReadBuffer {
 public:
  virtual ~ReadBuffer() = default;
  // Serves one demand row arriving at `cycle`; returns the served cycle.
  virtual std::int64_t Service(const std::int64_t* addrs, std::size_t n, std::int64_t cycle) = 0;
  virtual void Finish(std::int64_t* dram_start, std::int64_t* dram_stop,
                      std::uint64_t* dram_count) = 0;
};

// memory/read_buffer_estimate_bw.py (CALC mode). Reads never stall. Addresses are grouped in
// sets of floor(size/100) distinct words; 50 sets form the active window. Because a set
// that closes the window triggers a "prefetch" that empties the window, the state is one
// epoch of 50*N distinct addresses: an address already seen in the epoch is a hit, a new
// one is a DRAM read; the 50*N-th new address ends the epoch at the current cycle.
class CalcReadBuffer : public ReadBuffer {
 public:
  CalcReadBuffer(std::uint64_t size_words, const char* name)
      : items_per_set_(size_words / 100), epoch_cap_(50 * (size_words / 100)), name_(name) {}

  std::int64_t Service(const std::int64_t* addrs, std::size_t n, std::int64_t cycle) override {
    if (!first_seen_ && n > 0) {
      first_seen_ = true;
      first_cycle_ = cycle;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!epoch_.insert(addrs[i]).second) continue;
      ++inserted_;
      if (++epoch_count_ == epoch_cap_) EndEpoch(cycle);
    }
    return cycle + 1;
  }

  void Finish(std::int64_t* start, std::int64_t* stop, std::uint64_t* count) override {
    const std::int64_t n = static_cast<std::int64_t>(items_per_set_);
    if (epochs_ == 0) {
      const std::int64_t sets = (static_cast<std::int64_t>(inserted_) + n - 1) / n;
      const std::int64_t cycles = (sets * n + 9) / 10;
      *start = -cycles;
      *stop = -1;
    } else {
      *start = first_cycle_ - 5 * n;
      *stop = last_epoch_cycle_ + 1;
    }
    *count = inserted_;
  }

 private:
  void EndEpoch(std::int64_t cycle) {
    if (epochs_ > 0 && cycle == last_epoch_cycle_) {
      throw InputError(std::string("SCALE-Sim v2 cannot simulate this layer: two ") + name_ +
                       " prefetch windows complete in the same cycle (division by zero in its "
                       "CALC-mode read buffer); use a larger " +
                       name_ + " SRAM");
    }
    last_epoch_cycle_ = cycle;
    ++epochs_;
    epoch_.clear();
    epoch_count_ = 0;
  }

  std::uint64_t items_per_set_;
  std::uint64_t epoch_cap_;
  const char* name_;
  std::unordered_set<std::int64_t> epoch_;
  std::uint64_t epoch_count_ = 0;
  std::uint64_t inserted_ = 0;
  std::uint64_t epochs_ = 0;
  bool first_seen_ = false;
  std::int64_t first_cycle_ = 0;
  std::int64_t last_epoch_cycle_ = 0;
};

}  // namespace

// memory/read_buffer.py (USER mode) parameters.
UserBufferParams::UserBufferParams(std::uint64_t size_words, std::uint64_t bw,
                                   std::uint64_t valid_elems, std::uint64_t prefetch_elems) {
  bandwidth = bw;
  items_per_set = (size_words + 99) / 100;
  active_size = (size_words + 1) / 2;
  prefetch_size = size_words - active_size;
  num_sets = valid_elems / items_per_set + 1;
  const std::uint64_t max_active = CeilDiv(active_size, items_per_set);
  const std::uint64_t max_prefetch = CeilDiv(prefetch_size, items_per_set);
  active_sets = std::min(num_sets, max_active);
  prefetch_sets = std::min(num_sets - active_sets, max_prefetch);
  fetch_rows = CeilDiv(prefetch_elems, bw);
  initial_lines = std::min(CeilDiv(active_size, bw), fetch_rows);
  prefetch_lines = CeilDiv(prefetch_size, bw);
}

namespace {

// Set ids holding each address, from the prefetch sequence (reference: a hash map).
class SetTable {
 public:
  SetTable(const Geometry& g, const Mapping& mp, int op, std::uint64_t items_per_set) {
    const PrefetchShape s = GetPrefetchShape(mp, op);
    std::uint64_t pos = 0;
    ForEachPrefetch(s, [&](std::uint64_t row, std::uint64_t col) {
      const std::int64_t a = PrefetchElem(g, mp, op, s, row, col);
      if (a == -1) return;
      const std::uint32_t set = static_cast<std::uint32_t>(pos / items_per_set);
      std::vector<std::uint32_t>& v = sets_[a];
      if (v.empty() || v.back() != set) v.push_back(set);
      ++pos;
    });
    valid_ = pos;
    elems_ = s.elems;
  }
  std::uint64_t valid() const { return valid_; }
  std::uint64_t elems() const { return elems_; }
  // True if a set holding `addr` lies in the circular window [start, start+len) of n sets.
  bool InWindow(std::int64_t addr, std::uint64_t start, std::uint64_t len, std::uint64_t n) const {
    auto it = sets_.find(addr);
    if (it == sets_.end()) return false;
    const std::vector<std::uint32_t>& v = it->second;
    if (len >= n) return true;
    auto any_in = [&](std::uint64_t lo, std::uint64_t hi) {  // [lo, hi)
      auto p = std::lower_bound(v.begin(), v.end(), static_cast<std::uint32_t>(lo));
      return p != v.end() && *p < hi;
    };
    if (start + len <= n) return any_in(start, start + len);
    return any_in(start, n) || any_in(0, start + len - n);
  }

 private:
  std::unordered_map<std::int64_t, std::vector<std::uint32_t>> sets_;
  std::uint64_t valid_ = 0;
  std::uint64_t elems_ = 0;
};

class UserReadBuffer : public ReadBuffer {
 public:
  UserReadBuffer(std::uint64_t size_words, std::uint64_t bw, std::unique_ptr<SetTable> table,
                 const char* name)
      : p_(size_words, bw, table->valid(), table->elems()), table_(std::move(table)), name_(name) {}

  std::int64_t Service(const std::int64_t* addrs, std::size_t n, std::int64_t cycle) override {
    if (!started_) {
      started_ = true;
      const std::int64_t lines = static_cast<std::int64_t>(p_.initial_lines);
      accesses_ += p_.initial_lines * p_.bandwidth;
      dram_start_ = cycle - lines;
      last_cycle_ = cycle - 1;
    }
    std::int64_t offset = 1;
    for (std::size_t i = 0; i < n; ++i) {
      while (!table_->InWindow(addrs[i], window_, p_.active_sets, p_.num_sets)) {
        if (p_.prefetch_sets == 0) {
          throw InputError(std::string("SCALE-Sim v2 cannot simulate this layer: ") + name_ +
                           " address outside its prefetch window that can never move (it "
                           "would loop forever)");
        }
        window_ = (window_ + p_.prefetch_sets) % p_.num_sets;
        accesses_ += p_.prefetch_lines * p_.bandwidth;
        last_cycle_ += static_cast<std::int64_t>(p_.prefetch_lines) + 1;
        const std::int64_t potential = last_cycle_ - (cycle + offset);
        if (potential > 0) offset += potential;
      }
    }
    return cycle + offset;
  }

  void Finish(std::int64_t* start, std::int64_t* stop, std::uint64_t* count) override {
    *start = dram_start_;
    *stop = last_cycle_;
    *count = accesses_;
  }

 private:
  UserBufferParams p_;
  std::unique_ptr<SetTable> table_;
  const char* name_;
  bool started_ = false;
  std::uint64_t window_ = 0;
  std::uint64_t accesses_ = 0;
  std::int64_t dram_start_ = 0;
  std::int64_t last_cycle_ = -1;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// memory/write_buffer.py: ofmap staging buffer drained to DRAM in lines of `bw` words.

WriteBuffer::WriteBuffer(std::uint64_t size_words, std::uint64_t bw)
    : active_(static_cast<std::int64_t>((size_words + 1) / 2)),
      drain_lines_(CeilDiv(size_words - (size_words + 1) / 2, bw)),
      bw_(bw),
      free_(static_cast<std::int64_t>(size_words)) {}

std::int64_t WriteBuffer::Service(std::uint64_t n, std::int64_t cycle) {
  std::int64_t cur = cycle;
  for (std::uint64_t i = 0; i < n; ++i) {
    Store();
    if (cur < drain_end_) {
      if (free_ <= 0) cur = drain_end_;
    } else if (free_ < active_) {
      drain_end_ = Drain(cur);
    }
  }
  return cur;
}

void WriteBuffer::Finish(std::int64_t cycle) {
  if (line_fill_ != 0) {
    pending_.push_back(line_fill_);
    line_fill_ = 0;
  }
  while (!pending_.empty()) {
    drain_end_ = Drain(cycle);
    cycle = drain_end_ + 1;
  }
}

std::int64_t WriteBuffer::Drain(std::int64_t start) {
  if (line_fill_ != 0) {  // append_to_trace_mat(force=True) closes the partial line
    pending_.push_back(line_fill_);
    line_fill_ = 0;
  }
  const std::uint64_t take = std::min<std::uint64_t>(drain_lines_, pending_.size());
  if (take == 0) throw std::logic_error("write buffer drain with no data");
  std::uint64_t last_fill = 0;
  for (std::uint64_t i = 0; i < take; ++i) {
    last_fill = pending_.front();
    pending_.pop_front();
  }
  const std::uint64_t data = take * bw_ - (bw_ - last_fill);
  accesses_ += data;
  free_ += static_cast<std::int64_t>(data);
  const std::int64_t end = start + static_cast<std::int64_t>(take) - 1;
  if (!drained_) {
    drained_ = true;
    dram_start_ = start;
  }
  dram_stop_ = end;
  return end;
}

// ---------------------------------------------------------------------------------------
// Report columns that do not depend on the memory system.

void FillComputeColumns(const Config& cfg, const Geometry& g, const Mapping& mp, LayerResult* out) {
  (void)cfg;
  const std::uint64_t R = mp.R;
  const std::uint64_t C = mp.C;
  const double pes = static_cast<double>(R * C);
  const std::uint64_t fold_cycles =
      mp.df == Dataflow::kOutputStationary ? mp.T + R + C - 2 : 2 * R + 2 * C + mp.T - 3;
  const unsigned __int128 util_den =
      static_cast<unsigned __int128>(R * C) * static_cast<unsigned __int128>(fold_cycles);
  double map_sum = 0;
  double util_sum = 0;
  for (std::uint64_t fc = 0; fc < mp.CF; ++fc) {
    const std::uint64_t cu = std::min(C, mp.Sc - fc * C);
    for (std::uint64_t fr = 0; fr < mp.RF; ++fr) {
      const std::uint64_t ru = std::min(R, mp.Sr - fr * R);
      map_sum += static_cast<double>(ru * cu) / pes;
      util_sum += IntTrueDiv(static_cast<unsigned __int128>(ru * cu) * mp.T, util_den);
    }
  }
  const double folds = static_cast<double>(mp.folds);
  out->mapping_efficiency = map_sum / folds * 100;
  out->compute_util = util_sum / folds * 100;

  const std::uint64_t mk = g.M * g.K;
  const std::uint64_t kn = g.K * g.N;
  const std::uint64_t mn = g.M * g.N;
  switch (mp.df) {
    case Dataflow::kOutputStationary:
      out->sram_count[0] = CheckedMul(mk, mp.CF, "ifmap reads");
      out->sram_count[1] = CheckedMul(kn, mp.RF, "filter reads");
      // create_ofmap_demand_mat() also adds rows + cols of every padded fold block.
      out->sram_count[2] =
          CheckedAdd(mn, CheckedMul(mp.folds, R + C, "ofmap writes"), "ofmap writes");
      break;
    case Dataflow::kWeightStationary:
      out->sram_count[0] = CheckedMul(mk, mp.CF, "ifmap reads");
      out->sram_count[1] = kn;
      out->sram_count[2] = CheckedMul(mn, mp.RF, "ofmap writes");
      break;
    case Dataflow::kInputStationary:
      out->sram_count[0] = mk;
      out->sram_count[1] = CheckedMul(kn, mp.CF, "filter reads");
      out->sram_count[2] = CheckedMul(mn, mp.RF, "ofmap writes");
      break;
  }
}

void FillRatioColumns(const Config& cfg, const Geometry& g, LayerResult* out) {
  if (out->total_cycles <= 0) {
    throw InputError(
        "SCALE-Sim v2 cannot report this layer: it lasts 0 cycles (division by zero "
        "in its utilisation and bandwidth columns)");
  }
  const unsigned __int128 total = static_cast<unsigned __int128>(out->total_cycles);
  const unsigned __int128 macs =
      static_cast<unsigned __int128>(g.M) * g.K * static_cast<unsigned __int128>(g.N);
  out->overall_util = IntTrueDiv(
      macs * 100, total * static_cast<unsigned __int128>(cfg.array_rows * cfg.array_cols));
  for (int i = 0; i < 3; ++i) {
    out->sram_bw[i] = IntTrueDiv(out->sram_count[i], total);
    out->dram_bw[i] = static_cast<double>(out->dram_count[i]) /
                      static_cast<double>(out->dram_stop[i] - out->dram_start[i] + 1);
  }
}

// ---------------------------------------------------------------------------------------
// The reference engine: double_buffered_scratchpad.service_memory_requests(), row by row.

LayerResult SimulateReference(const Config& cfg, const Layer& layer) {
  const Geometry g(cfg, layer);
  const Mapping mp(cfg, g);
  LayerResult out;
  FillComputeColumns(cfg, g, mp, &out);

  const std::uint64_t if_words = cfg.ifmap_sram_kb * 1024;
  const std::uint64_t f_words = cfg.filter_sram_kb * 1024;
  const std::uint64_t o_words = cfg.ofmap_sram_kb * 1024;
  std::unique_ptr<ReadBuffer> rd[2];
  std::uint64_t ofmap_bw = 0;
  if (cfg.mode == BandwidthMode::kCalc) {
    rd[0] = std::make_unique<CalcReadBuffer>(if_words, "ifmap");
    rd[1] = std::make_unique<CalcReadBuffer>(f_words, "filter");
    ofmap_bw = cfg.array_cols;
  } else {
    const std::uint64_t bw = cfg.bandwidths.at(0);
    rd[0] = std::make_unique<UserReadBuffer>(
        if_words, bw, std::make_unique<SetTable>(g, mp, 0, (if_words + 99) / 100), "ifmap");
    rd[1] = std::make_unique<UserReadBuffer>(
        f_words, bw, std::make_unique<SetTable>(g, mp, 1, (f_words + 99) / 100), "filter");
    ofmap_bw = bw;
  }
  WriteBuffer wr(o_words, ofmap_bw);

  std::vector<std::int64_t> addrs[3];
  std::int64_t stall = 0;
  std::int64_t row = 0;
  std::int64_t last_out = 0;
  bool seen[3] = {false, false, false};
  for (std::uint64_t fc = 0; fc < mp.CF; ++fc) {
    for (std::uint64_t fr = 0; fr < mp.RF; ++fr) {
      for (std::uint64_t t = 0; t < mp.P; ++t, ++row) {
        const std::int64_t cycle = row + stall;
        for (int op = 0; op < 3; ++op) RowAddresses(g, mp, op, fr, fc, t, addrs[op]);
        std::int64_t served[3];
        served[0] = rd[0]->Service(addrs[0].data(), addrs[0].size(), cycle);
        served[1] = rd[1]->Service(addrs[1].data(), addrs[1].size(), cycle);
        served[2] = wr.Service(addrs[2].size(), cycle);
        const std::int64_t s =
            std::max({served[0] - cycle - 1, served[1] - cycle - 1, served[2] - cycle});
        stall += s;
        for (int op = 0; op < 3; ++op) {
          if (addrs[op].empty()) continue;
          if (!seen[op]) {
            seen[op] = true;
            out.sram_start[op] = served[op];
          }
          out.sram_stop[op] = served[op];
        }
        last_out = served[2];
      }
    }
  }
  wr.Finish(last_out);
  out.total_cycles = last_out;
  out.stall_cycles = stall;
  rd[0]->Finish(&out.dram_start[0], &out.dram_stop[0], &out.dram_count[0]);
  rd[1]->Finish(&out.dram_start[1], &out.dram_stop[1], &out.dram_count[1]);
  out.dram_start[2] = wr.dram_start();
  out.dram_stop[2] = wr.dram_stop();
  out.dram_count[2] = wr.accesses();
  FillRatioColumns(cfg, g, &out);
  return out;
}

LayerResult SimulateLayer(const Config& config, const Layer& layer, Engine engine) {
  if (engine == Engine::kFast) {
    LayerResult fast;
    if (SimulateFast(config, layer, &fast)) return fast;
  }
  return SimulateReference(config, layer);
}

}  // namespace systole::scalesim
