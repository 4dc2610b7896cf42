#include "models/l2/l2_cache.h"

#include <algorithm>
#include <set>
#include <utility>

namespace systole {

namespace {

// A panel: (item, index) of an A row panel or a B column panel.
using Panel = std::pair<std::uint64_t, std::uint64_t>;

struct WavePanels {
  std::set<Panel> a, b;
};

}  // namespace

std::vector<WaveTraffic> GemmWaveTraffic(const GemmTiling& g, std::uint64_t cores,
                                         std::uint64_t l2_bytes) {
  std::vector<WaveTraffic> out;
  const std::uint64_t tm = g.TilesM(), tn = g.TilesN(), tiles = g.Tiles();
  if (tiles == 0 || cores == 0) return out;
  auto rows_of = [&](std::uint64_t r) { return std::min(g.tile_m, g.m - r * g.tile_m); };
  auto cols_of = [&](std::uint64_t c) { return std::min(g.tile_n, g.n - c * g.tile_n); };
  auto a_bytes = [&](const Panel& p) { return rows_of(p.second) * g.k * g.dtype_bytes; };
  auto b_bytes = [&](const Panel& p) { return cols_of(p.second) * g.k * g.dtype_bytes; };
  auto footprint = [&](const WavePanels& w) {
    std::uint64_t bytes = 0;
    for (const Panel& p : w.a) bytes += a_bytes(p);
    for (const Panel& p : w.b) bytes += b_bytes(p);
    return bytes;
  };
  WavePanels previous;
  for (std::uint64_t first = 0; first < tiles; first += cores) {
    const std::uint64_t last = std::min(tiles, first + cores);
    WaveTraffic w;
    w.tiles = last - first;
    WavePanels now;
    for (std::uint64_t t = first; t < last; ++t) {
      const std::uint64_t item = t / (tm * tn), r = (t / tn) % tm, c = t % tn;
      w.l2_read_bytes += (rows_of(r) + cols_of(c)) * g.k * g.dtype_bytes;
      w.write_bytes += rows_of(r) * cols_of(c) * g.dtype_bytes;
      now.a.insert({item, r});
      now.b.insert({item, c});
    }
    if (l2_bytes == 0) {
      w.hbm_read_bytes = w.l2_read_bytes;
    } else {
      // The previous wave's panels still resident when both waves' panels fit together.
      WavePanels both = previous;
      both.a.insert(now.a.begin(), now.a.end());
      both.b.insert(now.b.begin(), now.b.end());
      const bool resident = footprint(both) <= l2_bytes;
      for (const Panel& p : now.a) {
        if (!(resident && previous.a.count(p))) w.hbm_read_bytes += a_bytes(p);
      }
      for (const Panel& p : now.b) {
        if (!(resident && previous.b.count(p))) w.hbm_read_bytes += b_bytes(p);
      }
    }
    out.push_back(w);
    previous = std::move(now);
  }
  return out;
}

}  // namespace systole
