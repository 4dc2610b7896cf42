#include "models/tensor_engine/pe_array_ref.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "models/tensor_engine/systolic_timing.h"

namespace systole {
namespace {

constexpr Dataflow kDataflows[] = {Dataflow::kOutputStationary, Dataflow::kWeightStationary,
                                   Dataflow::kInputStationary};
constexpr EdgePolicy kPolicies[] = {EdgePolicy::kTrimToUsed, EdgePolicy::kPadToFullArray};

const char* PolicyName(EdgePolicy edges) {
  return edges == EdgePolicy::kTrimToUsed ? "trim" : "pad";
}

std::vector<std::int32_t> RandomMatrix(std::mt19937& rng, std::uint64_t count) {
  std::uniform_int_distribution<std::int32_t> dist(-1000, 1000);
  std::vector<std::int32_t> v(count);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<std::int64_t> CpuGemm(const GemmShape& g, const std::vector<std::int32_t>& a,
                                  const std::vector<std::int32_t>& b) {
  std::vector<std::int64_t> c(g.m * g.n, 0);
  for (std::uint64_t m = 0; m < g.m; ++m) {
    for (std::uint64_t n = 0; n < g.n; ++n) {
      std::int64_t sum = 0;
      for (std::uint64_t k = 0; k < g.k; ++k) {
        sum += std::int64_t{a[m * g.k + k]} * std::int64_t{b[k * g.n + n]};
      }
      c[m * g.n + n] = sum;
    }
  }
  return c;
}

// Fold cycles the tile model predicts, in the PE model's fold order (col fold, row fold).
std::vector<std::uint64_t> ExpectedFoldCycles(Dataflow df, const ArrayShape& array,
                                              const GemmShape& g, EdgePolicy edges) {
  const FoldMapping map = MapGemm(df, g, array);
  std::vector<std::uint64_t> out;
  for (std::uint64_t cf = 0; cf < map.col_folds; ++cf) {
    for (std::uint64_t rf = 0; rf < map.row_folds; ++rf) {
      std::uint64_t ru = std::min(array.rows, map.spatial_rows - rf * array.rows);
      std::uint64_t cu = std::min(array.cols, map.spatial_cols - cf * array.cols);
      if (edges == EdgePolicy::kPadToFullArray) {
        ru = array.rows;
        cu = array.cols;
      }
      out.push_back(TimeFold(df, array, map.temporal, ru, cu).total_cycles());
    }
  }
  return out;
}

// Runs the PE model and checks result, cycles and MACs against the CPU GEMM and the tile
// model. Returns the PE model's result for further checks.
PeGemmResult CheckAgainstOracles(Dataflow df, const ArrayShape& array, const GemmShape& g,
                                 EdgePolicy edges, std::mt19937& rng) {
  SCOPED_TRACE(std::string(DataflowName(df)) + " " + PolicyName(edges) + " array " +
               std::to_string(array.rows) + "x" + std::to_string(array.cols) + " M=" +
               std::to_string(g.m) + " K=" + std::to_string(g.k) + " N=" + std::to_string(g.n));
  const std::vector<std::int32_t> a = RandomMatrix(rng, g.m * g.k);
  const std::vector<std::int32_t> b = RandomMatrix(rng, g.k * g.n);
  PeGemmResult pe = RunPeArrayGemm(df, array, g, a, b, edges);
  EXPECT_EQ(pe.c, CpuGemm(g, a, b));
  EXPECT_EQ(pe.fold_cycles, ExpectedFoldCycles(df, array, g, edges));
  EXPECT_EQ(pe.total_cycles, TimeGemm(df, g, array, edges).compute_cycles);
  EXPECT_EQ(pe.mac_ops, g.m * g.k * g.n);
  return pe;
}

std::vector<std::int32_t> Iota(std::uint64_t count, std::int32_t first) {
  std::vector<std::int32_t> v(count);
  for (std::uint64_t i = 0; i < count; ++i) v[i] = first + static_cast<std::int32_t>(i);
  return v;
}

TEST(PeArrayRef, OsTwoByTwoValuesAndCycles) {
  // OS 2x2, M=K=N=2: one fold, stream K=2 + skew (2-1)+(2-1) = 4 cycles.
  // A = [1 2; 3 4], B = [5 6; 7 8] -> C = [19 22; 43 50].
  const PeGemmResult r = RunPeArrayGemm(Dataflow::kOutputStationary, {2, 2}, {2, 2, 2},
                                        {1, 2, 3, 4}, {5, 6, 7, 8}, EdgePolicy::kTrimToUsed);
  EXPECT_EQ(r.c, (std::vector<std::int64_t>{19, 22, 43, 50}));
  EXPECT_EQ(r.fold_cycles, (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(r.total_cycles, 4u);
  EXPECT_EQ(r.mac_ops, 8u);
}

TEST(PeArrayRef, WsFourByFourSingleFold) {
  // WS 4x4, M=5, K=N=4: load 4 + stream 5 + fill (4-1)+(4-1) = 15.
  std::mt19937 rng(1);
  const PeGemmResult r = CheckAgainstOracles(Dataflow::kWeightStationary, {4, 4}, {5, 4, 4},
                                             EdgePolicy::kTrimToUsed, rng);
  EXPECT_EQ(r.fold_cycles, (std::vector<std::uint64_t>{15}));
}

TEST(PeArrayRef, WsTrimmedColumnsButAllRows) {
  // WS 4x4, M=3, K=2, N=1: only PE(0..1, 0) used. Psums still pass all 4 rows:
  // load 4 + stream 3 + fill (4-1)+(1-1) = 10; padded: 4 + 3 + 3 + 3 = 13.
  std::mt19937 rng(2);
  const GemmShape g{3, 2, 1};
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kWeightStationary, {4, 4}, g, EdgePolicy::kTrimToUsed, rng)
          .total_cycles,
      10u);
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kWeightStationary, {4, 4}, g, EdgePolicy::kPadToFullArray, rng)
          .total_cycles,
      13u);
}

TEST(PeArrayRef, OsEdgeFoldsTrimmedAndPadded) {
  // OS 8x8, M=10 (row folds of 8 and 2), K=5, N=8 (one column fold):
  // full fold 5 + 7 + 7 = 19, edge fold 5 + (2-1) + 7 = 13; padded 19 + 19.
  std::mt19937 rng(3);
  const GemmShape g{10, 5, 8};
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kOutputStationary, {8, 8}, g, EdgePolicy::kTrimToUsed, rng)
          .fold_cycles,
      (std::vector<std::uint64_t>{19, 13}));
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kOutputStationary, {8, 8}, g, EdgePolicy::kPadToFullArray, rng)
          .fold_cycles,
      (std::vector<std::uint64_t>{19, 19}));
}

TEST(PeArrayRef, IsFoldsOverKAccumulateOutsideTheArray) {
  // IS 3x2, M=3 (col folds 2, 1), K=7 (row folds 3, 3, 1), N=4 = T.
  // Every fold: load 3 + stream 4 + fill (3-1) + (c_used-1): 10 for c_used = 2, 9 for 1.
  // Order (col fold, row fold): 10 10 10 9 9 9.
  std::mt19937 rng(4);
  const PeGemmResult r = CheckAgainstOracles(Dataflow::kInputStationary, {3, 2}, {3, 7, 4},
                                             EdgePolicy::kTrimToUsed, rng);
  EXPECT_EQ(r.fold_cycles, (std::vector<std::uint64_t>{10, 10, 10, 9, 9, 9}));
  EXPECT_EQ(r.total_cycles, 57u);
}

TEST(PeArrayRef, OneByOneArray) {
  // 1x1 array, M=2, K=3, N=2. OS: 4 folds of K=3 cycles (no skew) = 12.
  // WS: K*N = 6 folds of load 1 + stream M=2 + fill 0 = 3 -> 18.
  std::mt19937 rng(5);
  const GemmShape g{2, 3, 2};
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kOutputStationary, {1, 1}, g, EdgePolicy::kTrimToUsed, rng)
          .total_cycles,
      12u);
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kWeightStationary, {1, 1}, g, EdgePolicy::kPadToFullArray, rng)
          .total_cycles,
      18u);
}

TEST(PeArrayRef, FullThirtyTwoArrayAllDataflows) {
  // 32x32, M=K=N=32: one full fold. OS 32 + 31 + 31 = 94; WS/IS 32 + 32 + 31 + 31 = 126.
  std::mt19937 rng(6);
  const GemmShape g{32, 32, 32};
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kOutputStationary, {32, 32}, g, EdgePolicy::kTrimToUsed, rng)
          .total_cycles,
      94u);
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kWeightStationary, {32, 32}, g, EdgePolicy::kTrimToUsed, rng)
          .total_cycles,
      126u);
  EXPECT_EQ(
      CheckAgainstOracles(Dataflow::kInputStationary, {32, 32}, g, EdgePolicy::kPadToFullArray, rng)
          .total_cycles,
      126u);
}

TEST(PeArrayRef, ExtremeValuesAreExact) {
  // K=3 products of magnitude 2^62 sum to 3 * 2^62 > INT64_MAX: overflow is reported.
  const std::int32_t lo = INT32_MIN;
  const std::vector<std::int32_t> a = {lo, lo, lo};
  EXPECT_THROW(
      RunPeArrayGemm(Dataflow::kOutputStationary, {2, 2}, {1, 3, 1}, a, a, EdgePolicy::kTrimToUsed),
      InputError);
  // K=1: a single product 2^62 is exact.
  const PeGemmResult r = RunPeArrayGemm(Dataflow::kWeightStationary, {2, 2}, {1, 1, 1}, {lo}, {lo},
                                        EdgePolicy::kTrimToUsed);
  EXPECT_EQ(r.c, (std::vector<std::int64_t>{std::int64_t{1} << 62}));
}

TEST(PeArrayRef, NonSquareIotaMatchesCpu) {
  // Deterministic data on 3x5 / 5x3 arrays with shapes that leave edge folds in both dims.
  const GemmShape g{7, 11, 6};
  const std::vector<std::int32_t> a = Iota(g.m * g.k, -20);
  const std::vector<std::int32_t> b = Iota(g.k * g.n, -30);
  const std::vector<std::int64_t> expected = CpuGemm(g, a, b);
  for (Dataflow df : kDataflows) {
    for (EdgePolicy edges : kPolicies) {
      for (ArrayShape array : {ArrayShape{3, 5}, ArrayShape{5, 3}}) {
        const PeGemmResult r = RunPeArrayGemm(df, array, g, a, b, edges);
        EXPECT_EQ(r.c, expected) << DataflowName(df) << " " << PolicyName(edges);
        EXPECT_EQ(r.total_cycles, TimeGemm(df, g, array, edges).compute_cycles);
      }
    }
  }
}

TEST(PeArrayRef, RandomShapesMatchCpuGemmAndTileTiming) {
  // 600 random cases (100 per dataflow x policy): arrays 1..32 per side (mostly
  // non-square), M, K, N from 1 to 3x the larger array side + 2, so folds are full, edge or
  // both in each spatial dimension.
  std::mt19937 rng(20240611);
  int cases = 0;
  for (int i = 0; i < 100; ++i) {
    for (Dataflow df : kDataflows) {
      for (EdgePolicy edges : kPolicies) {
        // Bias towards small arrays so the whole test stays fast, but cover up to 32.
        std::uniform_int_distribution<int> pick(0, 3);
        auto side = [&]() -> std::uint64_t {
          const int bucket = pick(rng);
          const std::uint64_t hi = bucket == 0 ? 32 : (bucket == 1 ? 12 : 6);
          return std::uniform_int_distribution<std::uint64_t>(1, hi)(rng);
        };
        const ArrayShape array{side(), side()};
        const std::uint64_t big = std::max(array.rows, array.cols);
        auto dim = [&](std::uint64_t limit) {
          return std::uniform_int_distribution<std::uint64_t>(1, limit)(rng);
        };
        const std::uint64_t max_dim = 3 * big + 2;
        const GemmShape g{dim(max_dim), dim(max_dim), dim(max_dim)};
        CheckAgainstOracles(df, array, g, edges, rng);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 600);
}

TEST(PeArrayRef, ExhaustiveSmallShapes) {
  // Every array 1..4 x 1..4 and every M, K, N in 1..5 for one dataflow/policy per shape
  // (rotating), so all combinations of full/edge folds on small arrays are covered.
  std::mt19937 rng(7);
  int index = 0;
  for (std::uint64_t rows = 1; rows <= 4; ++rows) {
    for (std::uint64_t cols = 1; cols <= 4; ++cols) {
      for (std::uint64_t m = 1; m <= 5; ++m) {
        for (std::uint64_t k = 1; k <= 5; ++k) {
          for (std::uint64_t n = 1; n <= 5; ++n) {
            const Dataflow df = kDataflows[index % 3];
            const EdgePolicy edges = kPolicies[(index / 3) % 2];
            ++index;
            CheckAgainstOracles(df, {rows, cols}, {m, k, n}, edges, rng);
          }
        }
      }
    }
  }
}

TEST(PeArrayRef, RejectsBadInput) {
  const std::vector<std::int32_t> four(4, 1);
  // Wrong operand sizes.
  EXPECT_THROW(RunPeArrayGemm(Dataflow::kOutputStationary, {2, 2}, {2, 2, 2}, {1, 2, 3}, four,
                              EdgePolicy::kTrimToUsed),
               InputError);
  EXPECT_THROW(RunPeArrayGemm(Dataflow::kWeightStationary, {2, 2}, {2, 2, 2}, four, {1},
                              EdgePolicy::kTrimToUsed),
               InputError);
  // Zero dimensions.
  EXPECT_THROW(RunPeArrayGemm(Dataflow::kInputStationary, {0, 2}, {2, 2, 2}, four, four,
                              EdgePolicy::kTrimToUsed),
               InputError);
  EXPECT_THROW(RunPeArrayGemm(Dataflow::kInputStationary, {2, 2}, {2, 0, 2}, {}, {},
                              EdgePolicy::kTrimToUsed),
               InputError);
  // Array too large for the reference model.
  EXPECT_THROW(RunPeArrayGemm(Dataflow::kOutputStationary, {4096, 4096}, {1, 1, 1}, {1}, {1},
                              EdgePolicy::kTrimToUsed),
               InputError);
}

}  // namespace
}  // namespace systole
