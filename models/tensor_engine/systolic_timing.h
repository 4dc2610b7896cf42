// Tile-level timing of an R x C systolic tensor engine (the fast model).
//
// What it models
//   A GEMM  C[M,N] = A[M,K] * B[K,N]  on an array of R rows x C columns of MAC PEs in one of
//   three dataflows. The GEMM is cut into folds (one fold = one array-sized tile of the two
//   spatial dimensions); each fold streams the temporal dimension T through the array.
//
//   dataflow  rows carry  cols carry  temporal  folds
//   OS        M           N           K         ceil(M/R) * ceil(N/C)
//   WS        K           N           M         ceil(K/R) * ceil(N/C)
//   IS        K           M           N         ceil(K/R) * ceil(M/C)
//
//   (A is the moving "ifmap" operand, B the "filter"; IS keeps A stationary and streams B.)
//
// Per-fold cycles, derived cycle by cycle (and checked against the PE-level model in
// models/tensor_engine/pe_array_ref.h, which moves every operand through every PE):
//   OS  A row r enters array row r from the left skewed by r cycles, B column c enters
//       array column c from the top skewed by c; PE(r,c) performs its k-th MAC at cycle
//       k + r + c. The last MAC of the fold is at PE(rows_used-1, cols_used-1), k = T-1:
//         cycles = T + (rows_used - 1) + (cols_used - 1)          [stream + skew fill]
//       Results are drained through a separate output path overlapped with the next fold.
//   WS  The stationary operand is shifted in from the top edge, one array row per cycle:
//       R load cycles (idle rows are loaded with zeros). Moving element (t, r) enters array
//       row r at cycle R + t + r and moves right one column per cycle; partial sums move
//       down one row per cycle and pass through idle rows to the bottom edge, so the last
//       partial sum (t = T-1, column cols_used-1) leaves row R-1 at cycle
//       R + (T-1) + (R-1) + (cols_used-1):
//         cycles = R + T + (R - 1) + (cols_used - 1)              [load + stream + fill]
//   IS  Same as WS with A stationary and B moving.
//
// Edge folds: with EdgePolicy::kPadToFullArray every fold costs as much as a full fold
// (rows_used = R, cols_used = C), which is what SCALE-Sim v2 charges; with kTrimToUsed
// (Systole's own engine) an edge fold stops waiting once its last used PE is done.
//
// What it ignores
//   Memory stalls (the scratchpad/DMA models add those), overlap of one fold's fill with
//   the previous fold's drain (folds are serial), numeric datatype throughput factors,
//   power. Cost of evaluating a whole GEMM is O(1): folds fall into at most four classes
//   (full or edge in each spatial dimension).
//
// Parameters (all counts are plain integers)
//   rows, cols     array size in PEs, >= 1
//   M, K, N        GEMM dimensions in elements, >= 1
#pragma once

#include <cstdint>
#include <string>

namespace systole {

enum class Dataflow { kOutputStationary, kWeightStationary, kInputStationary };

// "os" / "ws" / "is" (case-insensitive). Throws InputError for anything else.
Dataflow ParseDataflow(const std::string& text);
const char* DataflowName(Dataflow dataflow);  // "os", "ws", "is"

struct ArrayShape {
  std::uint64_t rows = 1;  // R, PEs
  std::uint64_t cols = 1;  // C, PEs
};

struct GemmShape {
  std::uint64_t m = 1;  // rows of A and C
  std::uint64_t k = 1;  // reduction dimension
  std::uint64_t n = 1;  // columns of B and C
};

enum class EdgePolicy { kPadToFullArray, kTrimToUsed };

// How a GEMM maps onto the array (SCALE-Sim's Sr, Sc, T).
struct FoldMapping {
  std::uint64_t spatial_rows = 0;  // GEMM extent mapped onto array rows
  std::uint64_t spatial_cols = 0;  // GEMM extent mapped onto array columns
  std::uint64_t temporal = 0;      // GEMM extent streamed in time (T)
  std::uint64_t row_folds = 0;     // ceil(spatial_rows / R)
  std::uint64_t col_folds = 0;     // ceil(spatial_cols / C)
  std::uint64_t folds() const { return row_folds * col_folds; }
};

FoldMapping MapGemm(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array);

// Cycle breakdown of one fold; total_cycles = load + fill + stream.
struct FoldTiming {
  std::uint64_t load_cycles = 0;    // stationary-operand shift-in (WS/IS: R, OS: 0)
  std::uint64_t fill_cycles = 0;    // skew: (rows spanned - 1) + (cols_used - 1)
  std::uint64_t stream_cycles = 0;  // T
  std::uint64_t total_cycles() const { return load_cycles + fill_cycles + stream_cycles; }
};

// Timing of one fold that uses rows_used x cols_used PEs (1 <= rows_used <= R, ...).
FoldTiming TimeFold(Dataflow dataflow, const ArrayShape& array, std::uint64_t temporal,
                    std::uint64_t rows_used, std::uint64_t cols_used);

// SRAM-side operand traffic of a whole GEMM, in elements.
struct OperandAccesses {
  std::uint64_t ifmap_reads = 0;   // elements of A read into the array
  std::uint64_t filter_reads = 0;  // elements of B read into the array
  std::uint64_t ofmap_writes = 0;  // output/partial-sum elements written out
};

struct GemmTiming {
  FoldMapping mapping;
  std::uint64_t compute_cycles = 0;  // sum of fold cycles (folds are serial)
  std::uint64_t macs = 0;            // M*K*N
  // Mean over folds of used PEs / (R*C) (unweighted, as SCALE-Sim reports it), in [0, 1].
  double mapping_efficiency = 0.0;
  // macs / (compute_cycles * R * C), in [0, 1].
  double compute_utilization = 0.0;
  OperandAccesses accesses;
};

// Whole-GEMM timing in O(1). Throws InputError if a dimension is 0 or a count overflows
// 64 bits.
GemmTiming TimeGemm(Dataflow dataflow, const GemmShape& gemm, const ArrayShape& array,
                    EdgePolicy edges);

}  // namespace systole
