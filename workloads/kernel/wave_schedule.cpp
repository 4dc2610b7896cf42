#include "workloads/kernel/wave_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "base/checked_math.h"
#include "base/error.h"
#include "models/core/core.h"
#include "models/l2/l2_cache.h"

namespace systole {

namespace {

struct CtaTile {
  std::uint64_t m, n;
};
// Thread-block tiles of CUTLASS/cuBLAS GEMMs on A100/H100, largest first.
constexpr CtaTile kCtaTiles[] = {{128, 256}, {256, 128}, {128, 128},
                                 {64, 128},  {128, 64},  {64, 64}};

// The program of `items` BM x K x BN tiles back to back on one core, with the deepest
// operand pipeline (K tiles per stage x stages, as a multistage GPU GEMM) that fits the
// scratchpad; false when none fits.
bool BuildTileProgram(const ArchConfig& arch, const MatmulKernelOptions& mm, std::uint64_t bm,
                      std::uint64_t bn, std::uint64_t items, std::uint64_t hbm_base, Program* out) {
  MatmulKernelOptions o = mm;
  o.m = bm;
  o.n = bn;
  o.batch = items;
  o.level = "tuned";  // the parametrised nest (block3 is the NKI tutorial kernel)
  o.tile_m = o.tile_k = o.tile_n = 0;
  o.block_m = o.block_n = std::numeric_limits<std::uint32_t>::max();  // the whole tile
  o.m_blocks_limit = o.k_blocks_limit = 0;
  // (K tiles per stage, stages), deepest first.
  constexpr std::pair<std::uint64_t, int> kPipelines[] = {{2, 4}, {1, 6}, {1, 4}, {2, 2},
                                                          {1, 3}, {1, 2}, {1, 1}};
  for (const auto& [bk, stages] : kPipelines) {
    o.block_k = bk;
    o.buffers = stages;
    try {
      *out = BuildMatmulKernel(arch, o, hbm_base);
      return true;
    } catch (const InputError&) {
      // does not fit: a shallower K block
    }
  }
  return false;
}

double RunOne(const ArchConfig& arch, const Program& p, double share_gbps) {
  CoreRunOptions options;
  options.hbm_gbps = share_gbps;
  return RunCore(arch, p, options).time_ns;
}

// Bandwidth per core (GB/s) over a set of waves: the bytes one core moves / the waves'
// memory time.
double ShareGbps(const ArchConfig& arch, const std::vector<WaveTraffic>& waves, bool full,
                 std::uint64_t cores) {
  double per_core_bytes = 0, memory_ns = 0;
  for (const WaveTraffic& w : waves) {
    if ((w.tiles == cores) != full) continue;
    const double l2 = static_cast<double>(w.l2_read_bytes + w.write_bytes);
    const double hbm = static_cast<double>(w.hbm_read_bytes + w.write_bytes);
    double ns = hbm / arch.hbm.PeakGBps();
    if (arch.l2_bandwidth_gbps > 0) ns = std::max(ns, l2 / arch.l2_bandwidth_gbps);
    per_core_bytes += l2 / static_cast<double>(w.tiles);
    memory_ns += ns;
  }
  return memory_ns > 0 ? per_core_bytes / memory_ns : arch.hbm.PeakGBps();
}

WaveRun RunWithTile(const ArchConfig& arch, const MatmulKernelOptions& mm, std::uint64_t bm,
                    std::uint64_t bn, bool* fits) {
  WaveRun r;
  r.tile_m = bm;
  r.tile_n = bn;
  Program one, two;
  *fits = BuildTileProgram(arch, mm, bm, bn, 1, 0, &one) &&
          BuildTileProgram(arch, mm, bm, bn, 2, 0, &two);
  if (!*fits) return r;
  GemmTiling g;
  g.m = mm.m;
  g.k = mm.k;
  g.n = mm.n;
  g.batch = mm.batch;
  g.tile_m = bm;
  g.tile_n = bn;
  g.dtype_bytes = DtypeBytes(mm.dtype);
  const std::uint64_t cores = arch.cores;
  const std::vector<WaveTraffic> waves = GemmWaveTraffic(g, cores, arch.l2_bytes);
  for (const WaveTraffic& w : waves) {
    r.hbm_bytes += w.hbm_read_bytes + w.write_bytes;
    r.l2_bytes += w.l2_read_bytes + w.write_bytes;
  }
  r.tiles = g.Tiles();
  r.full_waves = r.tiles / cores;
  r.tail_tiles = r.tiles % cores;
  r.represented_instructions = one.instructions.size() * r.tiles;
  auto times = [&](double share, double* t1, double* t2) {
    *t1 = RunOne(arch, one, share);
    *t2 = RunOne(arch, two, share);
    r.simulated_instructions += one.instructions.size() + two.instructions.size();
  };
  double t = 0;
  if (r.full_waves > 0) {
    r.full_share_gbps = ShareGbps(arch, waves, true, cores);
    double t1 = 0, t2 = 0;
    times(r.full_share_gbps, &t1, &t2);
    t = t1 + static_cast<double>(r.full_waves - 1) * (t2 - t1);
  }
  if (r.tail_tiles > 0) {
    r.tail_share_gbps = ShareGbps(arch, waves, false, cores);
    if (r.full_waves == 0) {
      t = RunOne(arch, one, r.tail_share_gbps);
      r.simulated_instructions += one.instructions.size();
    } else {
      double t1 = 0, t2 = 0;
      times(r.tail_share_gbps, &t1, &t2);
      t += t2 - t1;
    }
  }
  r.time_ns = t + arch.kernel_launch_ns;
  return r;
}

}  // namespace

WaveRun SimulateMatmulWaves(const ArchConfig& arch, const MatmulKernelOptions& mm,
                            std::uint64_t tile_m, std::uint64_t tile_n) {
  if (mm.m == 0 || mm.k == 0 || mm.n == 0 || mm.batch == 0) {
    throw InputError(fmt::format("matmul: M, K, N and batch must be >= 1 (got {}, {}, {}, {})",
                                 mm.m, mm.k, mm.n, mm.batch));
  }
  std::vector<CtaTile> candidates;
  if (tile_m > 0 && tile_n > 0) {
    candidates.push_back({tile_m, tile_n});
  } else {
    candidates.assign(std::begin(kCtaTiles), std::end(kCtaTiles));
  }
  WaveRun best;
  bool any = false;
  std::uint64_t simulated = 0;
  for (const CtaTile& c : candidates) {
    bool fits = false;
    WaveRun r = RunWithTile(arch, mm, c.m, c.n, &fits);
    simulated += r.simulated_instructions;
    if (fits && (!any || r.time_ns < best.time_ns)) {  // ties keep the larger tile
      best = r;
      any = true;
    }
  }
  if (!any) {
    throw InputError(fmt::format(
        "chip.schedule = waves: no thread-block tile ({}) of the {}x{}x{} matmul fits the "
        "core (core.scratchpad.partition_bytes = {}, core.accumulator.partition_bytes = {})",
        tile_m > 0 ? fmt::format("{}x{}", tile_m, tile_n) : std::string("64x64 to 256x128"), mm.m,
        mm.k, mm.n, arch.core.scratchpad.partition_bytes, arch.core.accumulator.partition_bytes));
  }
  best.simulated_instructions = simulated;
  return best;
}

WaveRun SimulateElementwiseWaves(const ArchConfig& arch, const ElementwiseKernelOptions& ew) {
  if (ew.rows == 0 || ew.cols == 0) {
    throw InputError(fmt::format("kernel {}: rows and cols must be >= 1 (got {}x{})", ew.kind,
                                 ew.rows, ew.cols));
  }
  WaveRun r;
  // Rows too wide for the scratchpad are cut into pieces on more rows.
  ElementwiseKernelOptions o = ew;
  Program p;
  for (;;) {
    const std::uint64_t active_now = std::min<std::uint64_t>(arch.cores, o.rows);
    ElementwiseKernelOptions core = o;
    core.rows = CeilDiv(o.rows, active_now);
    try {
      p = BuildElementwiseKernel(arch, core);
      break;
    } catch (const InputError&) {
      if (o.cols % 2 != 0 || o.cols < 2) throw;
      o.cols /= 2;
      o.rows *= 2;
    }
  }
  const std::uint64_t cores_used = std::min<std::uint64_t>(arch.cores, o.rows);
  double share = arch.hbm.PeakGBps();
  if (arch.l2_bandwidth_gbps > 0) share = std::min(share, arch.l2_bandwidth_gbps);
  share /= static_cast<double>(cores_used);
  r.full_share_gbps = share;
  r.tiles = cores_used;
  r.full_waves = 1;
  r.time_ns = RunOne(arch, p, share) + arch.kernel_launch_ns;
  r.simulated_instructions = p.instructions.size();
  r.represented_instructions = p.instructions.size() * cores_used;
  r.hbm_bytes = p.hbm_bytes * cores_used;
  return r;
}

std::string FormatWaveRun(const ArchConfig& arch, const MatmulKernelOptions& mm, const WaveRun& w) {
  const double flops = 2.0 * static_cast<double>(mm.batch) * static_cast<double>(mm.m) *
                       static_cast<double>(mm.k) * static_cast<double>(mm.n);
  std::string out = fmt::format("kernel matmul {}{}x{}x{} {} on {} ({} cores, waves)\n",
                                mm.batch > 1 ? fmt::format("{} x ", mm.batch) : "", mm.m, mm.k,
                                mm.n, DtypeName(mm.dtype), arch.name, arch.cores);
  out += fmt::format("time {:.3f} us  {:.1f} TFLOP/s  HFU {:.1f}% (launch {:.3f} us included)\n",
                     w.time_ns / 1000.0, flops / w.time_ns / 1000.0,
                     100.0 * flops / (w.time_ns * arch.PeakFlopsPerNs()),
                     arch.kernel_launch_ns / 1000.0);
  out += fmt::format(
      "thread-block tile {}x{}: {} tiles = {} full waves + a tail of {} tiles; per core "
      "{:.1f} GB/s (full waves), {:.1f} GB/s (tail)\n",
      w.tile_m, w.tile_n, w.tiles, w.full_waves, w.tail_tiles, w.full_share_gbps,
      w.tail_share_gbps);
  out += fmt::format(
      "L2 traffic {:.3f} MiB, HBM traffic {:.3f} MiB ({:.1f}% of L2 traffic)\n",
      static_cast<double>(w.l2_bytes) / 1048576.0, static_cast<double>(w.hbm_bytes) / 1048576.0,
      w.l2_bytes ? 100.0 * static_cast<double>(w.hbm_bytes) / static_cast<double>(w.l2_bytes)
                 : 0.0);
  out += fmt::format("simulated {} instructions for a kernel of {}\n", w.simulated_instructions,
                     w.represented_instructions);
  return out;
}

double FullWaveSimulationNs(const ArchConfig& arch, const MatmulKernelOptions& mm,
                            std::uint64_t tile_m, std::uint64_t tile_n) {
  GemmTiling g;
  g.m = mm.m;
  g.n = mm.n;
  g.batch = mm.batch;
  g.tile_m = tile_m;
  g.tile_n = tile_n;
  const std::uint64_t tiles = g.Tiles();
  std::vector<Program> programs;
  for (std::uint64_t c = 0; c < arch.cores && c < tiles; ++c) {
    const std::uint64_t count = tiles / arch.cores + (c < tiles % arch.cores ? 1 : 0);
    Program p;
    if (!BuildTileProgram(arch, mm, tile_m, tile_n, count,
                          c * (arch.hbm.CapacityBytes() / arch.cores), &p)) {
      throw InputError(
          fmt::format("thread-block tile {}x{} does not fit the core", tile_m, tile_n));
    }
    programs.push_back(std::move(p));
  }
  double t = 0;
  for (const CoreRunResult& r : RunCores(arch, programs, {})) t = std::max(t, r.time_ns);
  return t;
}

}  // namespace systole
