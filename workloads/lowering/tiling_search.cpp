#include "workloads/lowering/tiling_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "models/core/core.h"
#include "workloads/kernel/wave_schedule.h"

namespace systole {

namespace {

constexpr double kSearchThreshold = 1.25;
constexpr std::uint64_t kSampleBlocks = 4;
constexpr double kSampleInstructions = 8000;
constexpr int kRounds = 3;

// The knobs of a candidate, resolved (so that equal candidates compare equal).
struct Knobs {
  bool transposed = false;
  std::uint64_t block_m = 0, block_n = 0;
  int out_buffers = 0;
  int store_queues = 0;
  bool operator==(const Knobs& o) const {
    return transposed == o.transposed && block_m == o.block_m && block_n == o.block_n &&
           out_buffers == o.out_buffers && store_queues == o.store_queues;
  }
};

KernelCall Apply(const KernelCall& stated, const Knobs& k) {
  KernelCall c = k.transposed ? Transposed(stated) : stated;
  c.try_transposed = false;
  c.mm.block_m = k.block_m;
  c.mm.block_n = k.block_n;
  c.mm.out_buffers = k.out_buffers;
  c.mm.store_queues = k.store_queues;
  return c;
}

// The resolved knobs of `call` as the kernel would run it (fills in the level defaults).
Knobs Resolved(const ArchConfig& arch, const KernelCall& call, bool transposed) {
  const MatmulKernelOptions o = ResolveMatmulOptions(arch, call.mm);
  return {transposed, o.block_m, o.block_n, o.out_buffers, o.store_queues};
}

}  // namespace

KernelResult SimulateKernel(const ArchConfig& arch, const KernelCall& call) {
  if (arch.schedule == ChipSchedule::kWaves) {
    const WaveRun w =
        call.matmul ? SimulateMatmulWaves(arch, call.mm) : SimulateElementwiseWaves(arch, call.ew);
    // The waves schedule records no per-block activity yet: such a kernel's energy is its
    // static share only.
    return {w.time_ns, w.represented_instructions, w.simulated_instructions, Activity{}};
  }
  std::vector<Program> programs = call.matmul ? BuildMatmulKernelForChip(arch, call.mm)
                                              : BuildElementwiseKernelForChip(arch, call.ew);
  const std::vector<CoreRunResult> r = RunCores(arch, programs, {});
  KernelResult out;
  for (const CoreRunResult& c : r) {
    out.time_ns = std::max(out.time_ns, c.time_ns);
    out.instructions += c.instructions;
    out.activity += c.activity;
  }
  out.simulated_instructions = out.instructions;
  out.time_ns += arch.kernel_launch_ns;
  return out;
}

double MatmulRooflineNs(const ArchConfig& arch, const MatmulKernelOptions& mm) {
  const double batch = static_cast<double>(mm.batch);
  const double m = static_cast<double>(mm.m), k = static_cast<double>(mm.k),
               n = static_cast<double>(mm.n);
  const double compute_ns = 2.0 * batch * m * k * n / arch.PeakFlopsPerNs();
  const double bytes = batch * (m * k + k * n + m * n) * DtypeBytes(mm.dtype);
  return std::max(compute_ns, bytes / arch.hbm.PeakGBps());
}

MatmulTuning TuneMatmul(const ArchConfig& arch, const KernelCall& call,
                        const std::function<KernelResult(const KernelCall&)>& simulate) {
  MatmulTuning t;
  auto full = [&](const KernelCall& c) {
    KernelResult r = simulate(c);
    t.simulated_instructions += r.simulated_instructions;
    return r;
  };
  // The stated call, and the transposed one where allowed, in full (as without a search).
  KernelCall stated = call;
  stated.try_transposed = false;
  t.call = stated;
  t.result = full(stated);
  // On a waves chip the thread-block tile choice (workloads/kernel/wave_schedule.h) covers both
  // orientations (128x256 and 256x128 tiles) and the blocking: no search here.
  if (arch.schedule == ChipSchedule::kWaves) return t;
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

  // Instructions per matmul tile of the stated call (its loads, matmul, evacuation, store
  // shares), to size the samples.
  const MatmulKernelOptions stated_options = ResolveMatmulOptions(arch, stated.mm);
  const double instructions_per_tile =
      static_cast<double>(t.result.instructions) /
      static_cast<double>(stated_options.batch * CeilDiv(stated_options.m, stated_options.tile_m) *
                          CeilDiv(stated_options.k, stated_options.tile_k) *
                          CeilDiv(stated_options.n, stated_options.tile_n));
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
    // Work units: M blocks over all items. Two samples, the first `small` and `large` units
    // (the first blocks of one item, or whole items when an item has few blocks); the
    // full call is extrapolated from the second at the rate between them, so the
    // pipeline's fill and drain are counted once.
    const std::uint64_t units = blocks * o.batch;
    // Blocks with many instructions (a long K) sample 1 and 2 of them, the rest 2 and 4.
    const double block_instructions =
        instructions_per_tile *
        static_cast<double>(o.block_m * CeilDiv(o.k, o.tile_k) * CeilDiv(o.n, o.tile_n));
    const std::uint64_t sample_blocks =
        block_instructions > kSampleInstructions / 2 ? kSampleBlocks / 2 : kSampleBlocks;
    // Few M blocks but a long K (a convolution's weight gradient: K = every pixel): the
    // samples are the first 2 and 4 K blocks of every output block instead.
    const std::uint64_t k_blocks = CeilDiv(CeilDiv(o.k, o.tile_k), o.block_k);
    const bool along_k = units <= 2 * sample_blocks && k_blocks > kSampleBlocks;
    auto run = [&](std::uint64_t n_units, double* ns) {
      KernelCall sc = c;
      if (along_k) {
        sc.mm.k_blocks_limit = n_units;
      } else if (blocks > sample_blocks) {
        sc.mm.batch = 1;
        sc.mm.m_blocks_limit = n_units;
      } else {
        sc.mm.batch = n_units / blocks;
      }
      const KernelResult r = simulate(sc);
      t.simulated_instructions += r.instructions;
      *ns = r.time_ns;
    };
    const std::uint64_t small = along_k                  ? kSampleBlocks / 2
                                : blocks > sample_blocks ? sample_blocks / 2
                                                         : blocks;
    const std::uint64_t large = along_k                  ? kSampleBlocks
                                : blocks > sample_blocks ? sample_blocks
                                                         : 2 * blocks;
    const std::uint64_t total = along_k ? k_blocks : units;
    double small_ns = 0, large_ns = 0;
    try {
      if (total <= large) {  // the sample would be the whole call
        run(total, out_ns);
        ++t.candidates;
        return true;
      }
      run(small, &small_ns);
      run(large, &large_ns);
    } catch (const InputError&) {  // over the scratchpad or accumulator capacity
      return false;
    }
    ++t.candidates;
    const double rate = std::max(0.0, large_ns - small_ns) / static_cast<double>(large - small);
    *out_ns = large_ns + rate * static_cast<double>(total - large);
    return true;
  };

  Knobs best;
  double best_ns = std::numeric_limits<double>::infinity();
  // Every block_m of one orientation, with as many output buffers as fit (more stores in
  // flight are never slower; they only take scratchpad space); store_queues 0 = default.
  // neighbours: only the block sizes either side of the best one (a re-sweep).
  auto sweep_blocks = [&](bool transposed, int store_queues, bool neighbours) {
    const KernelCall oriented = transposed ? Transposed(call) : call;
    const MatmulKernelOptions o = ResolveMatmulOptions(arch, oriented.mm);
    const std::uint64_t mt = CeilDiv(o.m, o.tile_m), nt = CeilDiv(o.n, o.tile_n);
    const std::uint64_t acc_tiles =
        std::max<std::uint64_t>(1, arch.core.accumulator.partition_bytes / 4 / o.tile_n);
    std::vector<std::uint64_t> sizes;  // distinct block_m values, ascending
    for (std::uint64_t bm : {1, 2, 4, 8, 16}) {
      if (bm > acc_tiles || (!sizes.empty() && sizes.back() == std::min(bm, mt))) break;
      sizes.push_back(std::min(bm, mt));
    }
    if (neighbours) {
      const auto at = std::find(sizes.begin(), sizes.end(), best.block_m);
      std::vector<std::uint64_t> near;
      if (at != sizes.end() && at != sizes.begin()) near.push_back(*(at - 1));
      if (at != sizes.end() && at + 1 != sizes.end()) near.push_back(*(at + 1));
      sizes = near;
    }
    int worse = 0;  // consecutive sizes slower than the one before: stop after two
    double previous_ns = std::numeric_limits<double>::infinity();
    for (std::uint64_t bm : sizes) {
      for (int ob : {8, 4, 2}) {
        const Knobs k{transposed, bm, std::min(nt, std::max<std::uint64_t>(1, acc_tiles / bm)), ob,
                      store_queues ? store_queues : o.store_queues};
        if (k == best) break;
        double ns = 0;
        if (!estimate(k, &ns)) continue;  // does not fit: fewer buffers
        if (ns < best_ns) {
          best = k;
          best_ns = ns;
        }
        worse = ns > previous_ns ? worse + 1 : 0;
        previous_ns = ns;
        break;
      }
      if (worse == 2) break;
    }
  };
  for (bool transposed : {false, true}) {
    if (!transposed || call.try_transposed) sweep_blocks(transposed, 0, false);
  }
  if (best_ns == std::numeric_limits<double>::infinity()) return t;
  // Then the DMA queues' split between loads and stores: half or three quarters storing,
  // or a share in proportion to the bytes each side moves with the chosen blocking (AT
  // once per N block, B once per M block, C and any stored epilogue tensor once). A new
  // split shifts the balance, so the block size hill-climbs again with it, and so on while
  // the split changes (at most kRounds times).
  for (int round = 0; round < kRounds; ++round) {
    const MatmulKernelOptions o = ResolveMatmulOptions(arch, Apply(call, best).mm);
    const double mt = static_cast<double>(CeilDiv(o.m, o.tile_m));
    const double nt = static_cast<double>(CeilDiv(o.n, o.tile_n));
    const double m = static_cast<double>(o.m), k = static_cast<double>(o.k),
                 n = static_cast<double>(o.n);
    double stores = 1;
    for (EpilogueStep e : o.epilogue) stores += e == EpilogueStep::kStore ? 1 : 0;
    const double load_bytes = m * k * std::ceil(nt / static_cast<double>(o.block_n)) +
                              k * n * std::ceil(mt / static_cast<double>(o.block_m));
    const int queues = static_cast<int>(arch.core.dma.queues);
    const int proportional = StoreQueuesByBytes(queues, load_bytes, stores * m * n);
    const Knobs from = best;
    for (int sq : {queues / 2, 3 * queues / 4, proportional}) {
      Knobs c = from;
      c.store_queues = std::clamp(sq, 1, std::max(1, queues - 1));
      if (c == best) continue;
      double ns = 0;
      if (estimate(c, &ns) && ns < best_ns) {
        best = c;
        best_ns = ns;
      }
    }
    if (best.store_queues == from.store_queues) break;
    // Hill-climb the block size from the best one while a neighbour is faster.
    for (std::uint64_t was = 0; was != best.block_m;) {
      was = best.block_m;
      sweep_blocks(best.transposed, best.store_queues, true);
    }
  }
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
