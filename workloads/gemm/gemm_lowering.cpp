#include "workloads/gemm/gemm_lowering.h"

#include <algorithm>

namespace systole {

namespace {

// Appends `count` folds of one shape, extending the previous instruction when identical.
void AppendRun(std::vector<MatmulFoldInstr>& program, const MatmulFoldInstr& fold,
               std::uint64_t count) {
  if (count == 0) return;
  if (!program.empty()) {
    MatmulFoldInstr& last = program.back();
    if (last.tag == fold.tag && last.temporal == fold.temporal &&
        last.rows_used == fold.rows_used && last.cols_used == fold.cols_used) {
      last.repeat += count;
      return;
    }
  }
  MatmulFoldInstr run = fold;
  run.repeat = count;
  program.push_back(run);
}

}  // namespace

void LowerGemmToFolds(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array,
                      std::uint32_t tag, std::vector<MatmulFoldInstr>& program) {
  const FoldMapping map = MapGemm(dataflow, gemm, array);
  const std::uint64_t full_row_folds = map.spatial_rows / array.rows;
  const std::uint64_t edge_rows = map.spatial_rows % array.rows;
  for (std::uint64_t fc = 0; fc < map.col_folds; ++fc) {
    const std::uint64_t cols_used = std::min(array.cols, map.spatial_cols - fc * array.cols);
    AppendRun(program, {map.temporal, array.rows, cols_used, tag, 1}, full_row_folds);
    if (edge_rows != 0) AppendRun(program, {map.temporal, edge_rows, cols_used, tag, 1}, 1);
  }
}

}  // namespace systole
