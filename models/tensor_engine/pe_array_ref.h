// PE-level reference model of an R x C systolic tensor engine (the slow oracle).
//
// What it models
//   The same GEMM  C[M,N] = A[M,K] * B[K,N]  and the same fold decomposition as the tile
//   model in models/tensor_engine/systolic_timing.h (folds run serially: for each column
//   fold, for each row fold), but every fold is simulated cycle by cycle, PE by PE, on real
//   integer data (int32 operands, int64 products and sums), so both the result matrix and
//   the cycle count come out of the simulation rather than from a formula:
//   - Every PE has pipeline registers for the operands it forwards. In each cycle a PE reads
//     what its left/top neighbour latched in the previous cycle (or what the edge injects),
//     uses it and latches it for its right/bottom neighbour: one hop per cycle. The next
//     state is computed from the current state only (double-buffered registers).
//   - Every operand carries its temporal index as a tag; a PE checks that the two operands
//     it multiplies carry the same tag (a broken skew throws std::logic_error).
//   - OS: A row r of the fold enters array row r from the left, skewed by r cycles; B
//     column c enters array column c from the top, skewed by c. PE(r,c) multiplies the two
//     operands that meet there and accumulates into its own accumulator register in place.
//     The fold ends when the last MAC has been performed; the accumulators are then read
//     out as final outputs (the drain is assumed overlapped with the next fold).
//   - WS / IS: the stationary operand (WS: B, IS: A transposed) is shifted in from the top
//     edge, one array row per cycle, for R cycles; unused rows/columns are loaded with 0.
//     Then moving element (t, r) enters array row r at load + t + r and moves right; a zero
//     partial sum for output (t, c) enters column c at the top at load + t + c and moves
//     down one row per cycle, passing through unused rows unchanged, and leaves the bottom
//     edge after row R-1. Leaving partial sums are added into an accumulator outside the
//     array (so K split over several row folds sums up there). The fold ends when the last
//     partial sum it waits for has left the array.
//   - Edge folds: with EdgePolicy::kTrimToUsed unused PEs receive no data (the operands are
//     not forwarded into them) and the fold ends when the last used PE's result is done.
//     With EdgePolicy::kPadToFullArray zero-valued padding operands are injected into the
//     unused rows/columns as well, so every one of the R x C PEs works and the fold ends
//     when the result of the last physical PE (OS) / column (WS, IS) is done. Padding MACs
//     are performed but not counted in mac_ops.
//   fold cycles = (cycle index at which the fold's last awaited result is produced) + 1.
//
// What it ignores
//   Everything systolic_timing.h ignores (memory stalls, fold overlap, datatype throughput,
//   power), plus the OS output drain path (accumulators are read out ideally at fold end).
//   Cost is O(folds * (fold cycles + drain) * R * C): meant for small arrays in tests.
//
// Parameters (all counts are plain integers)
//   array.rows, array.cols  array size in PEs, >= 1, at most kPeArrayMaxPes PEs in total
//   gemm.m, gemm.k, gemm.n  GEMM dimensions in elements, >= 1
//   a                       M x K int32 elements, row-major
//   b                       K x N int32 elements, row-major
#pragma once

#include <cstdint>
#include <vector>

#include "models/tensor_engine/systolic_timing.h"

namespace systole {

// Largest array the reference model accepts (it allocates per-PE state), in PEs.
inline constexpr std::uint64_t kPeArrayMaxPes = std::uint64_t{1} << 20;
// Largest operand/result matrix it accepts, in elements.
inline constexpr std::uint64_t kPeArrayMaxElements = std::uint64_t{1} << 28;

struct PeGemmResult {
  std::vector<std::int64_t> c;             // M x N, row-major, exact
  std::vector<std::uint64_t> fold_cycles;  // per fold, in fold order (col fold, row fold)
  std::uint64_t total_cycles = 0;          // sum of fold_cycles (folds are serial)
  std::uint64_t mac_ops = 0;               // MACs on real (non-padding) operands, = M*K*N
};

// Simulates the GEMM PE by PE. Throws InputError if a dimension is 0, the array or a
// matrix is larger than the limits above, a.size() != M*K, b.size() != K*N, or an
// accumulation overflows int64.
PeGemmResult RunPeArrayGemm(Dataflow dataflow, const ArrayShape& array, const GemmShape& gemm,
                            const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b,
                            EdgePolicy edges);

}  // namespace systole
