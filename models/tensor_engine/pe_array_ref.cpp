#include "models/tensor_engine/pe_array_ref.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "base/checked_math.h"
#include "base/error.h"

namespace systole {
namespace {

// A pipeline register holding a moving operand (OS: A and B, WS/IS: the moving operand).
struct OperandReg {
  std::int32_t value = 0;
  std::uint32_t tag = 0;  // temporal index of the element (OS: k, WS/IS: t)
  bool valid = false;
  bool real = false;  // false for padding operands
};

// A pipeline register holding a partial sum travelling down a column (WS/IS).
struct PsumReg {
  std::int64_t value = 0;
  std::uint32_t tag = 0;  // temporal index t of the output row it belongs to
  bool valid = false;
  bool real = false;  // false for partial sums of unused (padding) columns
};

// A PE's stationary-operand register (WS/IS), shifted in from the top edge.
struct WeightReg {
  std::int32_t value = 0;
  std::uint32_t row = 0;  // array row this weight is meant for (checked after the load)
  bool valid = false;
  bool real = false;  // false for the zeros loaded into unused PEs
};

// Read-only 2-D view into a row-major matrix: element (i, j) = data[i*si + j*sj].
struct TileView {
  const std::int32_t* data = nullptr;
  std::uint64_t si = 0;
  std::uint64_t sj = 0;
  std::int32_t at(std::uint64_t i, std::uint64_t j) const { return data[i * si + j * sj]; }
};

// Writable 2-D view into the M x N result.
struct OutView {
  std::int64_t* data = nullptr;
  std::uint64_t si = 0;
  std::uint64_t sj = 0;
  std::int64_t& at(std::uint64_t i, std::uint64_t j) const { return data[i * si + j * sj]; }
};

struct FoldOutcome {
  std::uint64_t cycles = 0;
  std::uint64_t real_macs = 0;
};

std::int64_t AddChecked(std::int64_t x, std::int64_t y) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(x, y, &out)) {
    throw InputError("PE-level GEMM: a sum of products overflows int64; use smaller values");
  }
  return out;
}

// Element t of an edge lane enters the array at cycle start + t + lane (the skew). Returns
// true and sets *t if some element enters lane `lane` at `cycle`.
bool SkewedElement(std::uint64_t cycle, std::uint64_t start, std::uint64_t lane,
                   std::uint64_t temporal, std::uint64_t* t) {
  if (cycle < start + lane) return false;
  *t = cycle - start - lane;
  return *t < temporal;
}

[[noreturn]] void Broken(const std::string& what, std::uint64_t cycle, std::uint64_t r,
                         std::uint64_t c) {
  throw std::logic_error("PE array reference: " + what + " at cycle " + std::to_string(cycle) +
                         ", PE(" + std::to_string(r) + "," + std::to_string(c) + ")");
}

// Output-stationary fold. left(r, k): moving row operand of array row r (r < ru);
// top(k, c): operand of array column c (c < cu); out(r, c) receives the final outputs.
FoldOutcome RunOsFold(std::uint64_t R, std::uint64_t C, std::uint64_t T, std::uint64_t ru,
                      std::uint64_t cu, bool pad, const TileView& left, const TileView& top,
                      const OutView& out) {
  const std::uint64_t row_limit = pad ? R : ru;  // rows that receive operands
  const std::uint64_t col_limit = pad ? C : cu;  // columns that receive operands
  const std::size_t pes = static_cast<std::size_t>(R * C);
  std::vector<OperandReg> a_cur(pes), a_nxt(pes), b_cur(pes), b_nxt(pes);
  std::vector<std::int64_t> acc(pes, 0);
  std::vector<std::uint64_t> macs(pes, 0);

  const std::uint64_t last_injection = (T - 1) + std::max(row_limit, col_limit) - 1;
  const std::uint64_t cycle_limit = T + R + C + 4;  // generous; only guards against bugs
  bool any_mac = false;
  std::uint64_t last_mac_cycle = 0;
  FoldOutcome outcome;
  for (std::uint64_t cycle = 0;; ++cycle) {
    if (cycle > cycle_limit) Broken("fold did not drain", cycle, 0, 0);
    std::uint64_t in_flight = 0;
    for (std::uint64_t r = 0; r < R; ++r) {
      for (std::uint64_t c = 0; c < C; ++c) {
        const std::size_t i = static_cast<std::size_t>(r * C + c);
        OperandReg a_in;
        OperandReg b_in;
        if (r < row_limit && c < col_limit) {
          std::uint64_t k = 0;
          if (c == 0) {
            if (SkewedElement(cycle, 0, r, T, &k)) {
              const bool real = r < ru;
              a_in = {real ? left.at(r, k) : 0, static_cast<std::uint32_t>(k), true, real};
            }
          } else {
            a_in = a_cur[i - 1];
          }
          if (r == 0) {
            if (SkewedElement(cycle, 0, c, T, &k)) {
              const bool real = c < cu;
              b_in = {real ? top.at(k, c) : 0, static_cast<std::uint32_t>(k), true, real};
            }
          } else {
            b_in = b_cur[i - static_cast<std::size_t>(C)];
          }
        }
        if (a_in.valid != b_in.valid) Broken("operands arrive out of step", cycle, r, c);
        if (a_in.valid) {
          if (a_in.tag != b_in.tag) Broken("operand tags differ", cycle, r, c);
          acc[i] = AddChecked(acc[i], std::int64_t{a_in.value} * std::int64_t{b_in.value});
          any_mac = true;
          last_mac_cycle = cycle;
          if (a_in.real && b_in.real) {
            ++outcome.real_macs;
            ++macs[i];
          }
          in_flight += 2;
        }
        a_nxt[i] = a_in;
        b_nxt[i] = b_in;
      }
    }
    std::swap(a_cur, a_nxt);
    std::swap(b_cur, b_nxt);
    if (cycle >= last_injection && in_flight == 0) break;
  }
  if (!any_mac) Broken("fold performed no MAC", 0, 0, 0);

  // Read the accumulators out (the drain path is not timed).
  for (std::uint64_t r = 0; r < R; ++r) {
    for (std::uint64_t c = 0; c < C; ++c) {
      const std::size_t i = static_cast<std::size_t>(r * C + c);
      if (r < ru && c < cu) {
        if (macs[i] != T) Broken("used PE performed a wrong number of MACs", 0, r, c);
        out.at(r, c) = acc[i];
      } else if (acc[i] != 0 || macs[i] != 0) {
        Broken("idle PE accumulated data", 0, r, c);
      }
    }
  }
  outcome.cycles = last_mac_cycle + 1;
  return outcome;
}

// Weight- or input-stationary fold. stationary(r, c): operand held by PE(r, c) (r < ru,
// c < cu); moving(t, r): element t of the stream entering array row r (r < ru);
// out(t, c) accumulates the partial sums leaving the bottom of column c (c < cu).
FoldOutcome RunStationaryFold(std::uint64_t R, std::uint64_t C, std::uint64_t T, std::uint64_t ru,
                              std::uint64_t cu, bool pad, const TileView& stationary,
                              const TileView& moving, const OutView& out) {
  const std::uint64_t row_limit = pad ? R : ru;  // rows that receive moving operands
  const std::uint64_t col_limit = pad ? C : cu;  // columns that carry operands and psums
  const std::size_t pes = static_cast<std::size_t>(R * C);
  const std::size_t bottom_left = static_cast<std::size_t>((R - 1) * C);
  std::vector<WeightReg> w_cur(pes), w_nxt(pes);
  std::vector<OperandReg> x_cur(pes), x_nxt(pes);
  std::vector<PsumReg> p_cur(pes), p_nxt(pes);

  // Load: the weight row meant for array row R-1 enters the top row first; every cycle
  // each row latches the weights of the row above. Shift until that first row reaches the
  // bottom. Unused PEs get zeros.
  std::uint64_t cycle = 0;
  while (!w_cur[bottom_left].valid) {
    if (cycle >= R) Broken("weight load did not complete", cycle, 0, 0);
    const std::uint64_t entering = R - 1 - cycle;
    for (std::uint64_t r = 0; r < R; ++r) {
      for (std::uint64_t c = 0; c < C; ++c) {
        const std::size_t i = static_cast<std::size_t>(r * C + c);
        if (r == 0) {
          const bool real = entering < ru && c < cu;
          w_nxt[i] = {real ? stationary.at(entering, c) : 0, static_cast<std::uint32_t>(entering),
                      true, real};
        } else {
          w_nxt[i] = w_cur[i - static_cast<std::size_t>(C)];
        }
      }
    }
    std::swap(w_cur, w_nxt);
    ++cycle;
  }
  for (std::uint64_t r = 0; r < R; ++r) {
    for (std::uint64_t c = 0; c < C; ++c) {
      const WeightReg& w = w_cur[static_cast<std::size_t>(r * C + c)];
      if (!w.valid || w.row != r) Broken("weight landed in the wrong row", cycle, r, c);
    }
  }

  // Stream: element t of row r enters at start + t + r, the zero partial sum of output t
  // of column c enters the top at start + t + c; both meet in PE(r, c) at start + t + r + c.
  const std::uint64_t start = cycle;
  const std::uint64_t last_injection = start + (T - 1) + std::max(row_limit, col_limit) - 1;
  const std::uint64_t cycle_limit = start + T + 2 * R + C + 4;  // guards against bugs
  bool any_exit = false;
  std::uint64_t last_exit_cycle = 0;
  std::uint64_t real_exits = 0;
  FoldOutcome outcome;
  for (;; ++cycle) {
    if (cycle > cycle_limit) Broken("fold did not drain", cycle, 0, 0);
    std::uint64_t in_flight = 0;
    for (std::uint64_t r = 0; r < R; ++r) {
      for (std::uint64_t c = 0; c < C; ++c) {
        const std::size_t i = static_cast<std::size_t>(r * C + c);
        OperandReg x_in;
        PsumReg p_in;
        if (c < col_limit) {
          std::uint64_t t = 0;
          if (r < row_limit) {
            if (c == 0) {
              if (SkewedElement(cycle, start, r, T, &t)) {
                const bool real = r < ru;
                x_in = {real ? moving.at(t, r) : 0, static_cast<std::uint32_t>(t), true, real};
              }
            } else {
              x_in = x_cur[i - 1];
            }
          }
          if (r == 0) {
            if (SkewedElement(cycle, start, c, T, &t)) {
              p_in = {0, static_cast<std::uint32_t>(t), true, c < cu};
            }
          } else {
            p_in = p_cur[i - static_cast<std::size_t>(C)];
          }
        }
        PsumReg p_out = p_in;
        if (x_in.valid) {
          if (!p_in.valid) Broken("operand arrived without a partial sum", cycle, r, c);
          if (x_in.tag != p_in.tag) Broken("operand and partial sum tags differ", cycle, r, c);
          const WeightReg& w = w_cur[i];
          p_out.value = AddChecked(p_in.value, std::int64_t{w.value} * std::int64_t{x_in.value});
          if (w.real && x_in.real) ++outcome.real_macs;
        } else if (p_in.valid && r < row_limit) {
          Broken("partial sum arrived without an operand", cycle, r, c);
        }
        x_nxt[i] = x_in;
        if (r == R - 1 && p_out.valid) {
          // The partial sum leaves the bottom edge into the accumulator outside the array.
          any_exit = true;
          last_exit_cycle = cycle;
          if (p_out.real) {
            std::int64_t& dst = out.at(p_out.tag, c);
            dst = AddChecked(dst, p_out.value);
            ++real_exits;
          } else if (p_out.value != 0) {
            Broken("padding column produced a non-zero sum", cycle, r, c);
          }
          p_nxt[i] = PsumReg{};
        } else {
          p_nxt[i] = p_out;
        }
        in_flight += (x_nxt[i].valid ? 1 : 0) + (p_nxt[i].valid ? 1 : 0);
      }
    }
    std::swap(x_cur, x_nxt);
    std::swap(p_cur, p_nxt);
    if (cycle >= last_injection && in_flight == 0) break;
  }
  if (!any_exit || real_exits != T * cu) Broken("wrong number of outputs left the array", 0, 0, 0);
  if (outcome.real_macs != T * ru * cu) Broken("wrong number of MACs in fold", 0, 0, 0);
  outcome.cycles = last_exit_cycle + 1;
  return outcome;
}

std::uint64_t CheckedMatrix(std::uint64_t rows, std::uint64_t cols, const char* what) {
  const std::uint64_t n = CheckedMul(rows, cols, what);
  if (n > kPeArrayMaxElements) {
    throw InputError(std::string("PE-level GEMM: ") + what + " has " + std::to_string(n) +
                     " elements, more than the reference model's limit of " +
                     std::to_string(kPeArrayMaxElements));
  }
  return n;
}

void RequireSize(const std::vector<std::int32_t>& v, std::uint64_t expected, const char* what) {
  if (v.size() != expected) {
    throw InputError(std::string("PE-level GEMM: ") + what + " has " + std::to_string(v.size()) +
                     " elements, expected " + std::to_string(expected));
  }
}

}  // namespace

PeGemmResult RunPeArrayGemm(Dataflow dataflow, const ArrayShape& array, const GemmShape& gemm,
                            const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b,
                            EdgePolicy edges) {
  const FoldMapping map = MapGemm(dataflow, gemm, array);  // checks every dimension >= 1
  const std::uint64_t R = array.rows;
  const std::uint64_t C = array.cols;
  const std::uint64_t pes = CheckedMul(R, C, "array PE count");
  if (pes > kPeArrayMaxPes) {
    throw InputError("PE-level GEMM: array " + std::to_string(R) + "x" + std::to_string(C) +
                     " has more than " + std::to_string(kPeArrayMaxPes) + " PEs");
  }
  const std::uint64_t M = gemm.m;
  const std::uint64_t K = gemm.k;
  const std::uint64_t N = gemm.n;
  RequireSize(a, CheckedMatrix(M, K, "A (M x K)"), "A (M x K)");
  RequireSize(b, CheckedMatrix(K, N, "B (K x N)"), "B (K x N)");
  const std::uint64_t mn = CheckedMatrix(M, N, "C (M x N)");

  PeGemmResult result;
  result.c.assign(static_cast<std::size_t>(mn), 0);
  result.fold_cycles.reserve(static_cast<std::size_t>(map.folds()));
  const bool pad = edges == EdgePolicy::kPadToFullArray;
  const std::uint64_t T = map.temporal;
  for (std::uint64_t cf = 0; cf < map.col_folds; ++cf) {
    for (std::uint64_t rf = 0; rf < map.row_folds; ++rf) {
      const std::uint64_t r0 = rf * R;  // first spatial row of the fold
      const std::uint64_t c0 = cf * C;  // first spatial column of the fold
      const std::uint64_t ru = std::min(R, map.spatial_rows - r0);
      const std::uint64_t cu = std::min(C, map.spatial_cols - c0);
      FoldOutcome fold;
      switch (dataflow) {
        case Dataflow::kOutputStationary:
          // rows: m = r0 + r, columns: n = c0 + c, stream: k.
          fold = RunOsFold(R, C, T, ru, cu, pad, TileView{a.data() + r0 * K, K, 1},
                           TileView{b.data() + c0, N, 1},
                           OutView{result.c.data() + r0 * N + c0, N, 1});
          break;
        case Dataflow::kWeightStationary:
          // rows: k = r0 + r, columns: n = c0 + c, stream: t = m; PE(r,c) holds B[k][n].
          fold =
              RunStationaryFold(R, C, T, ru, cu, pad, TileView{b.data() + r0 * N + c0, N, 1},
                                TileView{a.data() + r0, K, 1}, OutView{result.c.data() + c0, N, 1});
          break;
        case Dataflow::kInputStationary:
          // rows: k = r0 + r, columns: m = c0 + c, stream: t = n; PE(r,c) holds A[m][k].
          fold = RunStationaryFold(R, C, T, ru, cu, pad, TileView{a.data() + c0 * K + r0, 1, K},
                                   TileView{b.data() + r0 * N, 1, N},
                                   OutView{result.c.data() + c0 * N, 1, N});
          break;
      }
      result.fold_cycles.push_back(fold.cycles);
      result.total_cycles = CheckedAdd(result.total_cycles, fold.cycles, "cycle count");
      result.mac_ops += fold.real_macs;
    }
  }
  return result;
}

}  // namespace systole
