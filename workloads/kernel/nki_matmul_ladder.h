// The four kernels of the public NKI matrix-multiplication tutorial, loop for loop, tile
// for tile and DMA for DMA, as `systole kernel matmul --level naive|hoist|block|block3`.
//
// Source: AWS Neuron SDK documentation, "NKI Matrix multiplication" tutorial
// (awsdocs-neuron.readthedocs-hosted.com, general/nki/tutorials/matrix_multiplication.rst,
// kernels in general/nki/examples/matrix_multiplication/matrix_multiplication_nki_kernels.py;
// also github.com/aws-neuron/nki-samples src/tutorials/matrix_multiplication). C[M,N] =
// lhsT[K,M]^T x rhs[K,N], tiles TM (stationary columns, 128), TK (contraction, 128),
// TN (moving columns, 512 = one PSUM bank of fp32):
//   naive   nki_matmul_tiled_: for m, n: PSUM tile; for k: load lhsT [TK x TM], load rhs
//           [TK x TN], matmul; copy PSUM -> SBUF; store [TM x TN].
//   hoist   nki_matmul_hoist_load_: for m: load the K/TK lhsT tiles of column m; for n:
//           load the K/TK rhs tiles of column n; K/TK matmuls into PSUM; copy; store.
//   block   nki_matmul_block_free_dimension_: blocks of block_m (2) M tiles and block_n
//           (2) N tiles, every K tile of a block loaded once (one DMA per [TK x TM] or
//           [TK x TN] tile); per (bm, bn): K/TK matmuls into PSUM, copy, store.
//   block3  nki_matmul_fully_optimized_: blocks of block_m (16) x block_n (2) x block_k
//           (8) tiles. For each N block: result tiles in SBUF for the whole M extent; for
//           each K block: one DMA per K tile of [TK x block_n*TN] of rhs; for each M
//           block: one DMA per K tile of [TK x block_m*TM] of lhsT; per (bn, bm): block_k
//           matmuls into a PSUM tile, then the PSUM tile is added into its SBUF result
//           tile (vector engine; the tutorial zero-fills the SBUF tiles and adds on every
//           K block, here the first K block copies instead of adding to zeros). After the
//           K loop: per M tile, the block_n result tiles are packed into one [TM x
//           block_n*TN] tile (vector copies) and stored with one DMA.
// Tiles allocated inside a loop are double-buffered when two copies fit the scratchpad
// (the NKI compiler allocates loop tiles of independent iterations to rotating buffers),
// otherwise single (then a block's loads wait for the previous block's matmuls). PSUM
// tiles rotate over as many buffers as fit the accumulator, at most its banks.
// Loads go round-robin over the load queues, stores over the store queues (QueuePlan).
// Shapes need not be multiples of the tiles (edge tiles are smaller); a kernel whose
// tiles do not fit the scratchpad is refused with the bytes it needs.
#pragma once

#include <cstdint>
#include <string>

#include "models/chip/arch_config.h"
#include "models/core/program.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {

bool IsNkiLadderLevel(const std::string& level);

// `options` resolved by ResolveMatmulOptions (tiles and blocks filled in).
Program BuildNkiMatmulLadder(const ArchConfig& arch, const MatmulKernelOptions& options,
                             std::uint64_t hbm_base = 0);

}  // namespace systole
