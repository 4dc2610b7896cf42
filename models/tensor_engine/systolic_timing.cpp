#include "models/tensor_engine/systolic_timing.h"

#include <algorithm>
#include <cctype>

#include "base/checked_math.h"
#include "base/error.h"

namespace systole {

Dataflow ParseDataflow(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (lower == "os") return Dataflow::kOutputStationary;
  if (lower == "ws") return Dataflow::kWeightStationary;
  if (lower == "is") return Dataflow::kInputStationary;
  throw InputError("unknown dataflow '" + text + "': expected one of os, ws, is");
}

const char* DataflowName(Dataflow dataflow) {
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return "os";
    case Dataflow::kWeightStationary:
      return "ws";
    case Dataflow::kInputStationary:
      return "is";
  }
  return "?";
}

namespace {

void RequirePositive(std::uint64_t value, const char* name) {
  if (value == 0) throw InputError(std::string(name) + " must be >= 1, got 0");
}

}  // namespace

FoldMapping MapGemm(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array) {
  RequirePositive(array.rows, "array rows");
  RequirePositive(array.cols, "array cols");
  RequirePositive(gemm.m, "GEMM M");
  RequirePositive(gemm.k, "GEMM K");
  RequirePositive(gemm.n, "GEMM N");
  FoldMapping map;
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      map.spatial_rows = gemm.m;
      map.spatial_cols = gemm.n;
      map.temporal = gemm.k;
      break;
    case Dataflow::kWeightStationary:
      map.spatial_rows = gemm.k;
      map.spatial_cols = gemm.n;
      map.temporal = gemm.m;
      break;
    case Dataflow::kInputStationary:
      map.spatial_rows = gemm.k;
      map.spatial_cols = gemm.m;
      map.temporal = gemm.n;
      break;
  }
  map.row_folds = CeilDiv(map.spatial_rows, array.rows);
  map.col_folds = CeilDiv(map.spatial_cols, array.cols);
  CheckedMul(map.row_folds, map.col_folds, "fold count");
  return map;
}

FoldTiming TimeFold(Dataflow dataflow, const ArrayShape& array, std::uint64_t temporal,
                    std::uint64_t rows_used, std::uint64_t cols_used) {
  RequirePositive(temporal, "fold temporal extent");
  RequirePositive(rows_used, "fold rows used");
  RequirePositive(cols_used, "fold cols used");
  FoldTiming t;
  t.stream_cycles = temporal;
  if (dataflow == Dataflow::kOutputStationary) {
    t.fill_cycles = (rows_used - 1) + (cols_used - 1);  // skew to the last used PE
  } else {
    t.load_cycles = array.rows;                          // shift stationary operand in
    t.fill_cycles = (array.rows - 1) + (cols_used - 1);  // psums pass all rows to the edge
  }
  return t;
}

GemmTiming TimeGemm(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array,
                    EdgePolicy edges) {
  GemmTiming out;
  out.mapping = MapGemm(dataflow, gemm, array);
  const FoldMapping& map = out.mapping;
  const std::uint64_t folds = map.folds();
  const std::uint64_t R = array.rows;
  const std::uint64_t C = array.cols;
  const std::uint64_t T = map.temporal;

  // Sum of fold cycles in closed form. Over the row folds of one column of folds the used
  // rows add up to spatial_rows (likewise for columns), so e.g. for OS with trimmed edges
  //   sum (T + r_used + c_used - 2) = folds*(T-2) + col_folds*Sr + row_folds*Sc.
  const bool pad = edges == EdgePolicy::kPadToFullArray;
  const std::uint64_t sum_rows_used =
      pad ? CheckedMul(folds, R, "cycle count")
          : CheckedMul(map.col_folds, map.spatial_rows, "cycle count");
  const std::uint64_t sum_cols_used =
      pad ? CheckedMul(folds, C, "cycle count")
          : CheckedMul(map.row_folds, map.spatial_cols, "cycle count");
  std::uint64_t cycles = 0;
  if (dataflow == Dataflow::kOutputStationary) {
    // folds * T + sum r_used + sum c_used - 2 * folds
    cycles = CheckedAdd(CheckedMul(folds, T, "cycle count"),
                        CheckedAdd(sum_rows_used, sum_cols_used, "cycle count"), "cycle count");
    cycles -= 2 * folds;
  } else {
    // folds * (2R + T - 2) + sum c_used
    const std::uint64_t per_fold = CheckedAdd(CheckedMul(2, R, "cycle count"), T, "cycle count");
    cycles = CheckedAdd(CheckedMul(folds, per_fold, "cycle count"), sum_cols_used, "cycle count");
    cycles -= 2 * folds;
  }
  out.compute_cycles = cycles;
  out.macs = CheckedMul(CheckedMul(gemm.m, gemm.k, "MAC count"), gemm.n, "MAC count");

  const double pe_count = static_cast<double>(R) * static_cast<double>(C);
  out.mapping_efficiency = static_cast<double>(map.spatial_rows) *
                           static_cast<double>(map.spatial_cols) /
                           (static_cast<double>(folds) * pe_count);
  out.compute_utilization =
      static_cast<double>(out.macs) / (static_cast<double>(cycles) * pe_count);

  const std::uint64_t mk = CheckedMul(gemm.m, gemm.k, "ifmap size");
  const std::uint64_t kn = CheckedMul(gemm.k, gemm.n, "filter size");
  const std::uint64_t mn = CheckedMul(gemm.m, gemm.n, "ofmap size");
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      out.accesses.ifmap_reads = CheckedMul(mk, map.col_folds, "ifmap reads");
      out.accesses.filter_reads = CheckedMul(kn, map.row_folds, "filter reads");
      out.accesses.ofmap_writes = mn;
      break;
    case Dataflow::kWeightStationary:
      out.accesses.ifmap_reads = CheckedMul(mk, map.col_folds, "ifmap reads");
      out.accesses.filter_reads = kn;
      out.accesses.ofmap_writes = CheckedMul(mn, map.row_folds, "ofmap writes");
      break;
    case Dataflow::kInputStationary:
      out.accesses.ifmap_reads = mk;
      out.accesses.filter_reads = CheckedMul(kn, map.col_folds, "filter reads");
      out.accesses.ofmap_writes = CheckedMul(mn, map.row_folds, "ofmap writes");
      break;
  }
  return out;
}

}  // namespace systole
