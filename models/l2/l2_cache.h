// The last-level cache (L2) of a GPU-class chip, at the granularity of a GEMM's
// thread-block tiles, one wave of tiles at a time.
//
// What it models
//   A GPU GEMM library cuts each batch item's output C[M,N] into BM x BN tiles and runs
//   them on the cores (SMs) in waves of `cores` tiles. Tiles are numbered item-major, then
//   row-major (tile t of an item: row t / Tn, column t % Tn, with Tm x Tn tiles). Each
//   tile reads its A panel [rows x K] and its B panel [K x cols] through the L2 (rows,
//   cols: the tile's extent, smaller at the edges) and writes its C tile once.
//   - Tiles of one wave march through K together, so a panel that several tiles of the
//     wave share (same item and row: A; same item and column: B) comes from HBM once for
//     the wave: the wave's HBM reads are its distinct panels, its L2 reads every tile's.
//   - Across waves: a panel the previous wave read is still resident, and hits, when the
//     distinct panels of both waves fit in the L2 together (an LRU cache holding the
//     working set of two consecutive waves); otherwise it is read again.
//   - C tiles are written through the L2 to HBM once (write-back of the whole output).
//   - Without an L2 (capacity 0) nothing is shared: HBM bytes = L2 bytes.
// What it ignores
//   Partial residency (when two waves do not fit, every panel of the earlier wave is a
//   miss), associativity and set conflicts, the two L2 partitions of A100/H100 (data that
//   crosses between halves), rasterisation swizzles and thread-block clusters (tiles run
//   in plain row-major order), prefetch, and the time-varying overlap of waves.
// Parameters
//   tile_m, tile_n (elements), m, k, n, batch, dtype bytes (the GEMM and its tiling);
//   cores (tiles per wave); l2_bytes (capacity, bytes; chip.l2_bytes).
#pragma once

#include <cstdint>
#include <vector>

namespace systole {

struct GemmTiling {
  std::uint64_t m = 0, k = 0, n = 0, batch = 1;
  std::uint64_t tile_m = 128, tile_n = 128;
  std::uint64_t dtype_bytes = 2;
  std::uint64_t TilesM() const { return (m + tile_m - 1) / tile_m; }
  std::uint64_t TilesN() const { return (n + tile_n - 1) / tile_n; }
  std::uint64_t Tiles() const { return batch * TilesM() * TilesN(); }
};

struct WaveTraffic {
  std::uint64_t tiles = 0;           // tiles in the wave (cores busy)
  std::uint64_t l2_read_bytes = 0;   // every tile's A and B panels
  std::uint64_t hbm_read_bytes = 0;  // the panels that miss
  std::uint64_t write_bytes = 0;     // C tiles (through the L2 to HBM)
};

// One entry per wave, in order.
std::vector<WaveTraffic> GemmWaveTraffic(const GemmTiling& g, std::uint64_t cores,
                                         std::uint64_t l2_bytes);

}  // namespace systole
