#include "sim/tiling_search.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "models/core/core.h"
#include "sim/common/checked_math.h"
#include "sim/common/error.h"

namespace systole {

namespace {

constexpr double kSearchThreshold = 1.25;
constexpr std::uint64_t kSampleBlocks = 3;
constexpr std::uint64_t kSampleItems = 2;

// The knobs of a candidate, resolved (so that equal candidates compare equal).
struct Knobs {
  bool transposed = false;
  std::uint64_t block_m = 0, block_n = 0;
  int out_buffers = 0;
  bool operator==(const Knobs& o) const {
    return transposed == o.transposed && block_m == o.block_m && block_n == o.block_n &&
           out_buffers == o.out_buffers;
  }
};

KernelCall Apply(const KernelCall& stated, const Knobs& k) {
  KernelCall c = k.transposed ? Transposed(stated) : stated;
  c.try_transposed = false;
  c.mm.block_m = k.block_m;
  c.mm.block_n = k.block_n;
  c.mm.out_buffers = k.out_buffers;
  return c;
}

// The resolved knobs of `call` as the kernel would run it (fills in the level defaults).
Knobs Resolved(const ArchConfig& arch, const KernelCall& call, bool transposed) {
  const MatmulKernelOptions o = ResolveMatmulOptions(arch, call.mm);
  return {transposed, o.block_m, o.block_n, o.out_buffers};
}

}  // namespace

KernelResult SimulateKernel(const ArchConfig& arch, const KernelCall& call) {
  std::vector<Program> programs = call.matmul ? BuildMatmulKernelForChip(arch, call.mm)
                                              : BuildElementwiseKernelForChip(arch, call.ew);
  const std::vector<CoreRunResult> r = RunCores(arch, programs, {});
  KernelResult out;
  for (const CoreRunResult& c : r) {
    out.time_ns = std::max(out.time_ns, c.time_ns);
    out.instructions += c.instructions;
  }
  return out;
}

double MatmulRooflineNs(const ArchConfig& arch, const MatmulKernelOptions& mm) {
  const double batch = static_cast<double>(mm.batch);
  const double m = static_cast<double>(mm.m), k = static_cast<double>(mm.k),
               n = static_cast<double>(mm.n);
  const double peak_flops_per_ns = 2.0 * static_cast<double>(arch.core.tensor.array.rows) *
                                   static_cast<double>(arch.core.tensor.array.cols) *
                                   arch.core.clock_ghz * static_cast<double>(arch.cores);
  const double compute_ns = 2.0 * batch * m * k * n / peak_flops_per_ns;
  const double bytes = batch * (m * k + k * n + m * n) * DtypeBytes(mm.dtype);
  return std::max(compute_ns, bytes / arch.hbm.PeakGBps());
}

MatmulTuning TuneMatmul(const ArchConfig& arch, const KernelCall& call,
                        const std::function<KernelResult(const KernelCall&)>& simulate) {
  MatmulTuning t;
  auto full = [&](const KernelCall& c) {
    KernelResult r = simulate(c);
    t.simulated_instructions += r.instructions;
    return r;
  };
  // The stated call, and the transposed one where allowed, in full (as without a search).
  KernelCall stated = call;
  stated.try_transposed = false;
  t.call = stated;
  t.result = full(stated);
  if (call.try_transposed) {
    const KernelCall tr = Transposed(call);
    const KernelResult r = full(tr);
    if (r.time_ns < t.result.time_ns) {  // ties keep the stated orientation
      t.call = tr;
      t.result = r;
      t.transposed = true;
    }
  }
  if (t.result.time_ns <= kSearchThreshold * MatmulRooflineNs(arch, call.mm)) return t;
  t.searched = true;

  // Sampled estimate of a candidate's full time; a candidate that does not fit is skipped.
  auto estimate = [&](const Knobs& k, double* out_ns) {
    KernelCall c = Apply(call, k);
    MatmulKernelOptions o;
    try {
      o = ResolveMatmulOptions(arch, c.mm);
    } catch (const InputError&) {
      return false;
    }
    const std::uint64_t m_core = CeilDiv(o.m, arch.cores);
    const std::uint64_t blocks = CeilDiv(CeilDiv(m_core, o.tile_m), o.block_m);
    const std::uint64_t items = std::min(o.batch, kSampleItems);
    c.mm.batch = items;
    c.mm.m_blocks_limit = blocks > kSampleBlocks ? kSampleBlocks : 0;
    KernelResult r;
    try {
      r = simulate(c);
    } catch (const InputError&) {  // over the scratchpad or accumulator capacity
      return false;
    }
    ++t.candidates;
    t.simulated_instructions += r.instructions;
    *out_ns = r.time_ns * static_cast<double>(blocks) /
              static_cast<double>(std::min(blocks, kSampleBlocks)) * static_cast<double>(o.batch) /
              static_cast<double>(items);
    return true;
  };

  // Every block_m for each orientation, with as many output buffers as fit (more stores
  // in flight are never slower; they only take scratchpad space).
  Knobs best;
  double best_ns = std::numeric_limits<double>::infinity();
  for (bool transposed : {false, true}) {
    if (transposed && !call.try_transposed) continue;
    const KernelCall oriented = transposed ? Transposed(call) : call;
    const MatmulKernelOptions o = ResolveMatmulOptions(arch, oriented.mm);
    const std::uint64_t mt = CeilDiv(o.m, o.tile_m), nt = CeilDiv(o.n, o.tile_n);
    const std::uint64_t acc_tiles =
        std::max<std::uint64_t>(1, arch.core.accumulator.partition_bytes / 4 / o.tile_n);
    std::uint64_t last_bm = 0;
    for (std::uint64_t bm : {1, 2, 4, 8, 16}) {
      if (bm > acc_tiles || last_bm == std::min(bm, mt)) break;
      last_bm = std::min(bm, mt);
      for (int ob : {8, 4, 2}) {
        Knobs k{transposed, last_bm, std::min(nt, std::max<std::uint64_t>(1, acc_tiles / bm)), ob};
        double ns = 0;
        if (!estimate(k, &ns)) continue;  // does not fit: fewer buffers
        if (ns < best_ns) {
          best = k;
          best_ns = ns;
        }
        break;
      }
    }
  }
  if (best_ns == std::numeric_limits<double>::infinity()) return t;
  // The sampled winner in full against the best of the defaults.
  const Knobs chosen_default = Resolved(arch, t.call, t.transposed);
  if (best == chosen_default) return t;
  const KernelCall winner = Apply(call, best);
  const KernelResult r = full(winner);
  if (r.time_ns < t.result.time_ns) {
    t.call = winner;
    t.result = r;
    t.transposed = best.transposed;
    t.changed = true;
  }
  return t;
}

}  // namespace systole
