#include "workloads/kernel/reference_kernels.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/kernel/kernel_builder.h"
#include "workloads/kernel/nki_matmul_ladder.h"
#include "workloads/kernel/queue_plan.h"

namespace systole {

namespace {

std::uint64_t Pick(std::uint64_t given, std::uint64_t fallback) { return given ? given : fallback; }

// Loads an HBM block into a tile slice as DMAs of at most `rows_per_dma` rows each, so
// the round-robin queue assignment spreads a large block over several DMA queues.
void SplitLoad(KernelBuilder& k, QueuePlan& plan, const Tile& tile, std::uint64_t f0,
               const HbmTensor& src, std::uint64_t r0, std::uint64_t rows, std::uint64_t c0,
               std::uint64_t cols, std::uint64_t rows_per_dma, const std::string& label) {
  for (std::uint64_t r = 0; r < rows; r += rows_per_dma) {
    const std::uint64_t nr = std::min(rows_per_dma, rows - r);
    k.DmaLoad(tile.Slice(static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(nr), f0, cols),
              Block(src, r0 + r, nr, c0, cols), label, plan.Load());
  }
}

}  // namespace

int StoreQueuesByBytes(int queues, double load_bytes, double store_bytes) {
  return static_cast<int>(std::lround(queues * store_bytes / (load_bytes + store_bytes)));
}

const char* EpilogueStepName(EpilogueStep step) {
  switch (step) {
    case EpilogueStep::kBias:
      return "bias";
    case EpilogueStep::kRelu:
      return "relu";
    case EpilogueStep::kGelu:
      return "gelu";
    case EpilogueStep::kSilu:
      return "silu";
    case EpilogueStep::kScale:
      return "scale";
    case EpilogueStep::kResidual:
      return "residual";
    case EpilogueStep::kReluGrad:
      return "relu_grad";
    case EpilogueStep::kGeluGrad:
      return "gelu_grad";
    case EpilogueStep::kSiluGrad:
      return "silu_grad";
    case EpilogueStep::kSwiglu:
      return "swiglu";
    case EpilogueStep::kStore:
      return "store";
  }
  return "?";
}

std::vector<EpilogueStep> ParseEpilogue(const std::string& list) {
  constexpr EpilogueStep kAll[] = {
      EpilogueStep::kBias,     EpilogueStep::kRelu,     EpilogueStep::kGelu,
      EpilogueStep::kSilu,     EpilogueStep::kScale,    EpilogueStep::kResidual,
      EpilogueStep::kReluGrad, EpilogueStep::kGeluGrad, EpilogueStep::kSiluGrad,
      EpilogueStep::kSwiglu,   EpilogueStep::kStore};
  std::vector<EpilogueStep> out;
  std::size_t start = 0;
  while (start < list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string name = list.substr(start, end - start);
    bool found = false;
    for (EpilogueStep s : kAll) {
      if (name == EpilogueStepName(s)) {
        out.push_back(s);
        found = true;
      }
    }
    if (!found) {
      throw InputError("--epilogue '" + list + "': unknown step '" + name +
                       "': expected bias, relu, gelu, silu, scale, residual, relu_grad, "
                       "gelu_grad, silu_grad, swiglu or store");
    }
    start = end + 1;
  }
  return out;
}

std::string EpilogueString(const std::vector<EpilogueStep>& steps) {
  std::string out;
  for (EpilogueStep s : steps) out += (out.empty() ? "" : ",") + std::string(EpilogueStepName(s));
  return out;
}

namespace {
bool LoadsSide(EpilogueStep s) {
  return s == EpilogueStep::kResidual || s == EpilogueStep::kReluGrad ||
         s == EpilogueStep::kGeluGrad || s == EpilogueStep::kSiluGrad || s == EpilogueStep::kSwiglu;
}
}  // namespace

std::uint64_t TunedScratchpadBytes(const MatmulKernelOptions& o, std::uint64_t k_tiles) {
  // Per partition, as BuildMatmulKernel allocates them (64-byte aligned): operand buffers
  // AT [(hoisted: every K tile, else bk) x bm x tm] and B [bk x bn x tn], then per output
  // buffer the row block [bn x tn] and, with the epilogue, its temporaries, stored copies
  // and side inputs, and two bias blocks.
  const std::uint64_t b = DtypeBytes(o.dtype);
  auto aligned = [](std::uint64_t bytes) { return CeilDiv(bytes, 64) * 64; };
  const std::uint64_t at_k = o.hoist ? k_tiles : o.block_k;
  const std::uint64_t row_block = aligned(o.block_n * o.tile_n * b);
  std::uint64_t per_out = row_block;
  bool bias = false, tmp = false, store = false;
  for (EpilogueStep s : o.epilogue) {
    bias = bias || s == EpilogueStep::kBias;
    tmp = tmp || s == EpilogueStep::kGeluGrad || s == EpilogueStep::kSiluGrad ||
          s == EpilogueStep::kSwiglu;
    store = store || s == EpilogueStep::kStore;
    if (LoadsSide(s)) per_out += row_block;
  }
  per_out += (tmp ? row_block : 0) + (store ? row_block : 0);
  return static_cast<std::uint64_t>(o.buffers) * (aligned(at_k * o.block_m * o.tile_m * b) +
                                                  aligned(o.block_k * o.block_n * o.tile_n * b)) +
         static_cast<std::uint64_t>(o.out_buffers) * per_out + (bias ? 2 * row_block : 0);
}

MatmulKernelOptions ResolveMatmulOptions(const ArchConfig& arch, MatmulKernelOptions o) {
  const MatmulKernelOptions options = o;
  if (o.m == 0 || o.k == 0 || o.n == 0) {
    throw InputError(
        fmt::format("matmul kernel: M, K, N must be >= 1 (got {}, {}, {})", o.m, o.k, o.n));
  }
  const ArrayShape& a = arch.core.tensor.array;
  const std::uint64_t acc_fp32 = arch.core.accumulator.partition_bytes / 4;
  const std::uint64_t bank_fp32 = acc_fp32 / arch.core.accumulator.banks;
  o.tile_m = std::min(Pick(o.tile_m, a.cols), o.m);
  o.tile_k = std::min(Pick(o.tile_k, a.rows), o.k);
  o.tile_n = std::min(Pick(o.tile_n, std::max<std::uint64_t>(1, bank_fp32)), o.n);
  const std::uint64_t mt = CeilDiv(o.m, o.tile_m);
  const std::uint64_t kt = CeilDiv(o.k, o.tile_k);
  const std::uint64_t nt = CeilDiv(o.n, o.tile_n);
  std::uint64_t bm = 1, bn = 1, bk = 1;
  int hoist = 0, buffers = 1;
  if (IsNkiLadderLevel(o.level)) {
    // The NKI tutorial's kernels (nki_matmul_ladder.h) and their block sizes.
    if (!o.epilogue.empty() || o.batch != 1 || o.m_blocks_limit || o.k_blocks_limit) {
      throw InputError("matmul kernel --level " + o.level +
                       ": the NKI tutorial kernel takes no epilogue, batch or sampling: use "
                       "--level tuned");
    }
    if (o.level == "hoist") {
      bk = kt;
    } else if (o.level == "block") {
      bm = 2;
      bn = 2;
      bk = kt;
    } else if (o.level == "block3") {
      bm = 16;
      bn = 2;
      bk = 8;
    }
    buffers = 2;
  } else if (o.level == "tuned") {
    buffers = 2;
    // As many accumulator tiles as the accumulator holds, split between M and N (N gets
    // what a given block_m leaves).
    const std::uint64_t acc_tiles = std::max<std::uint64_t>(1, acc_fp32 / o.tile_n);
    bm = 2;
    bn = std::max<std::uint64_t>(1, acc_tiles / std::min(Pick(o.block_m, bm), mt));
    bk = 8;
  } else {
    throw InputError("matmul kernel: unknown --level '" + o.level +
                     "': expected naive, hoist, block, block3 (the NKI tutorial's kernels) or "
                     "tuned");
  }
  o.block_m = std::min(Pick(o.block_m, bm), mt);
  o.block_n = std::min(Pick(o.block_n, bn), nt);
  o.block_k = std::min(Pick(o.block_k, bk), kt);
  if (o.hoist < 0) o.hoist = hoist;
  // Blocked levels spread each block load over several DMA queues.
  o.dma_rows = std::min(Pick(o.dma_rows, bm * bn * bk > 1 ? 32 : o.tile_k), o.tile_k);
  if (o.buffers == 0) o.buffers = buffers;
  if (o.buffers < 1 || o.buffers > 8) {
    throw InputError(fmt::format("matmul kernel: --buffers must be in [1, 8], got {}", o.buffers));
  }
  const auto queues = static_cast<int>(arch.core.dma.queues);
  if (o.store_queues == 0) o.store_queues = queues >= 4 ? queues / 4 : 1;
  if (queues >= 2 && (o.store_queues < 1 || o.store_queues >= queues)) {
    throw InputError(fmt::format("matmul kernel: --store-queues must be in [1, {}], got {}",
                                 queues - 1, o.store_queues));
  }
  if (o.batch == 0) throw InputError("matmul kernel: --batch must be >= 1");
  if (o.out_buffers == 0) o.out_buffers = o.epilogue.empty() ? 2 : 3;
  if (o.out_buffers < 1 || o.out_buffers > 8) {
    throw InputError(
        fmt::format("matmul kernel: --out-buffers must be in [1, 8], got {}", o.out_buffers));
  }
  if (o.level == "tuned") {
    // Blocks the scratchpad cannot hold (wide dtypes, epilogues with side inputs) shrink:
    // K first, then N, then M, unless the user gave that block size.
    const std::uint64_t capacity = arch.core.scratchpad.partition_bytes;
    while (TunedScratchpadBytes(o, kt) > capacity) {
      if (options.block_k == 0 && o.block_k > 1) {
        o.block_k = CeilDiv(o.block_k, 2);
      } else if (options.block_n == 0 && o.block_n > 1) {
        o.block_n = CeilDiv(o.block_n, 2);
      } else if (options.block_m == 0 && o.block_m > 1) {
        o.block_m = CeilDiv(o.block_m, 2);
      } else {
        break;  // the builder names the allocation that does not fit
      }
    }
  }
  return o;
}

Program BuildMatmulKernel(const ArchConfig& arch, const MatmulKernelOptions& options,
                          std::uint64_t hbm_base) {
  const MatmulKernelOptions o = ResolveMatmulOptions(arch, options);
  if (IsNkiLadderLevel(o.level)) return BuildNkiMatmulLadder(arch, o, hbm_base);
  KernelBuilder k("matmul", arch, hbm_base);
  // A batch of products: item i's AT, B and C are row blocks i of these tensors.
  const std::uint64_t batch = o.batch;
  const HbmTensor at = k.Hbm("AT", batch * o.k, o.m, o.dtype);
  const HbmTensor b = k.Hbm("B", batch * o.k, o.n, o.dtype);
  const HbmTensor c = k.Hbm("C", batch * o.m, o.n, o.dtype, /*initialised=*/false);
  const std::uint64_t tm = o.tile_m, tk = o.tile_k, tn = o.tile_n;
  const std::uint64_t mt = CeilDiv(o.m, tm), kt = CeilDiv(o.k, tk), nt = CeilDiv(o.n, tn);
  const std::uint64_t bm = o.block_m, bn = o.block_n, bk = o.block_k;
  const auto tk32 = static_cast<std::uint32_t>(tk);
  const auto tm32 = static_cast<std::uint32_t>(tm);
  // Sampling (the tiling search) stops after these many M and K tiles.
  const std::uint64_t m_end = o.m_blocks_limit ? std::min(mt, o.m_blocks_limit * bm) : mt;
  const std::uint64_t k_end = o.k_blocks_limit ? std::min(kt, o.k_blocks_limit * bk) : kt;
  {
    // About how many instructions the loops below issue (a capacity hint; a kernel far
    // over the program limit is rejected here). In doubles: huge shapes overflow integers.
    const double mb = CeilDiv(m_end, bm), nb = CeilDiv(nt, bn), mtd = m_end, ntd = nt, ktd = k_end;
    const double dmas_per_k_tile = CeilDiv(tk, o.dma_rows);
    const double dmas_per_m_tile = CeilDiv(tm, o.dma_rows);
    const double at_loads = (o.hoist ? mb : mb * nb) * ktd * dmas_per_k_tile;
    const double b_loads = mb * nb * ktd * dmas_per_k_tile;
    const double per_row_block = dmas_per_m_tile * (1.0 + static_cast<double>(o.epilogue.size())) +
                                 2.0 * static_cast<double>(o.epilogue.size());
    k.ReserveInstructions(static_cast<double>(batch) * (mtd * ntd * ktd + at_loads + b_loads +
                                                        mtd * ntd + mtd * nb * per_row_block));
  }

  // Operand buffers: AT block [tk x (kcols*bm*tm)] (kcols = every K tile when hoisted),
  // B block [tk x (bk*bn*tn)].
  const std::uint64_t at_ktiles = o.hoist ? kt : bk;
  std::vector<Tile> at_buf, b_buf;
  for (int i = 0; i < o.buffers; ++i) {
    at_buf.push_back(
        k.Scratchpad(fmt::format("at_block{}", i), tk32, at_ktiles * bm * tm, o.dtype));
    b_buf.push_back(k.Scratchpad(fmt::format("b_block{}", i), tk32, bk * bn * tn, o.dtype));
  }
  std::vector<Tile> acc;
  for (std::uint64_t i = 0; i < bm * bn; ++i) {
    acc.push_back(k.Accumulator(fmt::format("acc{}", i), tm32, tn));
  }
  // Output row blocks [tm x bn*tn], one store per M tile row: out_buffers of them (by
  // default double-buffered, triple with an epilogue, whose steps lengthen the time from
  // evacuation to store).
  const std::vector<EpilogueStep>& epi = o.epilogue;
  const int out_buffers = o.out_buffers;
  std::vector<Tile> out, post, epi_tmp;
  for (int i = 0; i < out_buffers; ++i) {
    out.push_back(k.Scratchpad(fmt::format("out{}", i), tm32, bn * tn, o.dtype));
  }
  // Epilogue: its HBM tensors and tiles (see the header). Step i's side input (residual,
  // saved x of a gradient) or extra output (store) is side[i] / stored[i].
  auto has = [&](std::initializer_list<EpilogueStep> steps) {
    for (EpilogueStep s : epi) {
      for (EpilogueStep t : steps) {
        if (s == t) return true;
      }
    }
    return false;
  };
  HbmTensor bias_hbm;
  std::vector<Tile> bias_tiles;  // double-buffered over M x N blocks
  if (has({EpilogueStep::kBias})) {
    bias_hbm = k.Hbm("bias", tm, o.n, o.dtype);  // pre-broadcast over tm rows
    for (int i = 0; i < 2; ++i) {
      bias_tiles.push_back(k.Scratchpad(fmt::format("bias{}", i), tm32, bn * tn, o.dtype));
    }
  }
  int bias_phase = 0;
  for (int i = 0; i < out_buffers; ++i) {
    if (has({EpilogueStep::kGeluGrad, EpilogueStep::kSiluGrad, EpilogueStep::kSwiglu})) {
      epi_tmp.push_back(k.Scratchpad(fmt::format("epilogue_tmp{}", i), tm32, bn * tn, o.dtype));
    }
    if (has({EpilogueStep::kStore})) {
      post.push_back(k.Scratchpad(fmt::format("post{}", i), tm32, bn * tn, o.dtype));
    }
  }
  std::vector<HbmTensor> side_hbm(epi.size()), stored_hbm(epi.size());
  std::vector<std::vector<Tile>> side(epi.size());
  for (std::size_t i = 0; i < epi.size(); ++i) {
    if (LoadsSide(epi[i])) {
      side_hbm[i] = k.Hbm(fmt::format("epilogue{}_{}", i, EpilogueStepName(epi[i])), batch * o.m,
                          o.n, o.dtype);
      for (int b = 0; b < out_buffers; ++b) {
        side[i].push_back(
            k.Scratchpad(fmt::format("epilogue{}_in{}", i, b), tm32, bn * tn, o.dtype));
      }
    } else if (epi[i] == EpilogueStep::kStore) {
      stored_hbm[i] = k.Hbm(fmt::format("epilogue{}_store", i), batch * o.m, o.n, o.dtype,
                            /*initialised=*/false);
    }
  }

  QueuePlan plan(static_cast<int>(arch.core.dma.queues), o.store_queues);
  int at_phase = 0, b_phase = 0, out_phase = 0;
  // Items run back to back; the operand and output buffers rotate across them, so one
  // item's loads overlap the previous item's matmuls and stores.
  for (std::uint64_t item = 0; item < batch; ++item) {
    const std::uint64_t item_k = item * o.k, item_m = item * o.m;
    for (std::uint64_t m0 = 0; m0 < m_end; m0 += bm) {
      const std::uint64_t mcount = std::min(bm, mt - m0);
      bool at_loaded = false;
      for (std::uint64_t n0 = 0; n0 < nt; n0 += bn) {
        const std::uint64_t ncount = std::min(bn, nt - n0);
        for (std::uint64_t k0 = 0; k0 < k_end; k0 += bk) {
          const std::uint64_t kcount = std::min(bk, kt - k0);
          if (!(o.hoist && at_loaded)) {
            // Hoisted: every K tile of this M block once; otherwise this K block's tiles.
            at_phase = (at_phase + 1) % o.buffers;
            const std::uint64_t first = o.hoist ? 0 : k0;
            const std::uint64_t count = o.hoist ? kt : kcount;
            for (std::uint64_t kk = 0; kk < count; ++kk) {
              const std::uint64_t krow = (first + kk) * tk, krows = std::min(tk, o.k - krow);
              const std::uint64_t mcol = m0 * tm, mcols = std::min(mcount * tm, o.m - mcol);
              SplitLoad(k, plan, at_buf[at_phase], kk * bm * tm, at, item_k + krow, krows, mcol,
                        mcols, o.dma_rows, "load_AT");
            }
            at_loaded = true;
          }
          b_phase = (b_phase + 1) % o.buffers;
          for (std::uint64_t kk = 0; kk < kcount; ++kk) {
            const std::uint64_t krow = (k0 + kk) * tk, krows = std::min(tk, o.k - krow);
            const std::uint64_t ncol = n0 * tn, ncols = std::min(ncount * tn, o.n - ncol);
            SplitLoad(k, plan, b_buf[b_phase], kk * bn * tn, b, item_k + krow, krows, ncol, ncols,
                      o.dma_rows, "load_B");
          }
          for (std::uint64_t mi = 0; mi < mcount; ++mi) {
            const std::uint64_t ms = std::min(tm, o.m - (m0 + mi) * tm);
            for (std::uint64_t ni = 0; ni < ncount; ++ni) {
              const std::uint64_t ns = std::min(tn, o.n - (n0 + ni) * tn);
              for (std::uint64_t kk = 0; kk < kcount; ++kk) {
                const std::uint64_t ks = std::min(tk, o.k - (k0 + kk) * tk);
                const std::uint64_t at_col = (o.hoist ? (k0 + kk) : kk) * bm * tm + mi * tm;
                k.Matmul(acc[mi * bn + ni].Slice(0, static_cast<std::uint32_t>(ms), 0, ns),
                         at_buf[at_phase].Slice(0, static_cast<std::uint32_t>(ks), at_col, ms),
                         b_buf[b_phase].Slice(0, static_cast<std::uint32_t>(ks),
                                              kk * bn * tn + ni * tn, ns),
                         /*accumulate=*/k0 + kk > 0, "matmul");
              }
            }
          }
        }
        const std::uint64_t block_cols = std::min(ncount * tn, o.n - n0 * tn);
        if (bias_hbm.cols) {
          const std::uint64_t rows = std::min(tm, o.m - m0 * tm);
          bias_phase ^= 1;
          SplitLoad(k, plan, bias_tiles[bias_phase], 0, bias_hbm, 0, rows, n0 * tn, block_cols,
                    o.dma_rows, "load_bias");
        }
        for (std::uint64_t mi = 0; mi < mcount; ++mi) {
          const std::uint64_t ms = std::min(tm, o.m - (m0 + mi) * tm);
          const std::uint64_t row0 = item_m + (m0 + mi) * tm;  // in C
          const auto ms32 = static_cast<std::uint32_t>(ms);
          out_phase = (out_phase + 1) % out_buffers;
          std::uint64_t row_cols = 0;
          for (std::uint64_t ni = 0; ni < ncount; ++ni) {
            const std::uint64_t ns = std::min(tn, o.n - (n0 + ni) * tn);
            k.Vector(VectorOp::kCopy, out[out_phase].Slice(0, ms32, ni * tn, ns),
                     acc[mi * bn + ni].Slice(0, ms32, 0, ns), "evacuate_acc");
            row_cols += ns;
          }
          // The row block lives in out[] until a store step; later steps then write to
          // post[] (and back), so they need not wait for that store to drain.
          bool in_out = true, stored = false;
          auto view = [&](bool o_tile) {
            return (o_tile ? out : post)[out_phase].Slice(0, ms32, 0, row_cols);
          };
          auto step = [&](const std::function<void(const TileView&, const TileView&)>& emit) {
            const bool dst_out = stored ? !in_out : in_out;
            emit(view(dst_out), view(in_out));
            in_out = dst_out;
            stored = false;
          };
          for (std::size_t i = 0; i < epi.size(); ++i) {
            TileView sv;
            if (LoadsSide(epi[i])) {
              SplitLoad(k, plan, side[i][out_phase], 0, side_hbm[i], row0, ms, n0 * tn, row_cols,
                        o.dma_rows, fmt::format("load_epilogue{}", i));
              sv = side[i][out_phase].Slice(0, ms32, 0, row_cols);
            }
            const std::string label = fmt::format("epilogue_{}", EpilogueStepName(epi[i]));
            auto vector1 = [&](VectorOp op) {
              step([&](const TileView& d, const TileView& x) { k.Vector(op, d, x, label); });
            };
            auto vector2 = [&](VectorOp op, const TileView& y) {
              step([&](const TileView& d, const TileView& x) { k.Vector(op, d, x, y, label); });
            };
            auto activation = [&](ActivationFn fn) {
              step([&](const TileView& d, const TileView& x) { k.Activation(fn, d, x, label); });
            };
            switch (epi[i]) {
              case EpilogueStep::kBias:
                vector2(VectorOp::kAdd, bias_tiles[bias_phase].Slice(0, ms32, 0, row_cols));
                break;
              case EpilogueStep::kRelu:
                vector1(VectorOp::kRelu);
                break;
              case EpilogueStep::kScale:
                vector1(VectorOp::kScale);
                break;
              case EpilogueStep::kGelu:
                activation(ActivationFn::kGelu);
                break;
              case EpilogueStep::kSilu:
                activation(ActivationFn::kSilu);
                break;
              case EpilogueStep::kResidual:
                vector2(VectorOp::kAdd, sv);
                break;
              case EpilogueStep::kReluGrad:
                vector2(VectorOp::kMul, sv);
                break;
              case EpilogueStep::kGeluGrad:
              case EpilogueStep::kSiluGrad:
              case EpilogueStep::kSwiglu: {
                const TileView tv = epi_tmp[out_phase].Slice(0, ms32, 0, row_cols);
                k.Activation(
                    epi[i] == EpilogueStep::kGeluGrad ? ActivationFn::kGelu : ActivationFn::kSilu,
                    tv, sv, label + (epi[i] == EpilogueStep::kSwiglu ? "_silu" : "_derivative"));
                vector2(VectorOp::kMul, tv);
                break;
              }
              case EpilogueStep::kStore:
                for (std::uint64_t r = 0; r < ms; r += o.dma_rows) {
                  const std::uint64_t nr = std::min(o.dma_rows, ms - r);
                  k.DmaStore(Block(stored_hbm[i], row0 + r, nr, n0 * tn, row_cols),
                             (in_out ? out : post)[out_phase].Slice(static_cast<std::uint32_t>(r),
                                                                    static_cast<std::uint32_t>(nr),
                                                                    0, row_cols),
                             label, plan.Store());
                }
                stored = true;
                break;
            }
          }
          for (std::uint64_t r = 0; r < ms; r += o.dma_rows) {
            const std::uint64_t nr = std::min(o.dma_rows, ms - r);
            k.DmaStore(
                Block(c, row0 + r, nr, n0 * tn, row_cols),
                (in_out ? out : post)[out_phase].Slice(static_cast<std::uint32_t>(r),
                                                       static_cast<std::uint32_t>(nr), 0, row_cols),
                "store_C", plan.Store());
          }
        }
      }
    }
  }
  return k.Finish();
}

Program BuildElementwiseKernel(const ArchConfig& arch, const ElementwiseKernelOptions& o,
                               std::uint64_t hbm_base) {
  const std::string& kind = o.kind;
  if (kind != "add" && kind != "gelu" && kind != "relu" && kind != "softmax" &&
      kind != "layernorm" && kind != "rmsnorm") {
    throw InputError(
        "kernel '" + kind +
        "': unknown kernel: expected matmul, add, gelu, relu, softmax, layernorm, rmsnorm");
  }
  if (o.rows == 0 || o.cols == 0) {
    throw InputError(
        fmt::format("kernel {}: --shape {}x{} must be at least 1x1", kind, o.rows, o.cols));
  }
  KernelBuilder k(kind, arch, hbm_base);
  const auto P = static_cast<std::uint32_t>(std::min<std::uint64_t>(
      o.rows, std::min(arch.core.scratchpad.partitions, arch.core.vector.lanes)));
  const std::uint64_t F = o.cols;
  const HbmTensor x = k.Hbm("x", o.rows, o.cols, o.dtype);
  const HbmTensor y = kind == "add" ? k.Hbm("y", o.rows, o.cols, o.dtype) : HbmTensor{};
  const HbmTensor gain = (kind == "layernorm" || kind == "rmsnorm")
                             ? k.Hbm("gain", P, o.cols, o.dtype)  // pre-broadcast rows
                             : HbmTensor{};
  const HbmTensor out = k.Hbm("out", o.rows, o.cols, o.dtype, /*initialised=*/false);

  Tile xt[2], yt[2], ot[2];
  for (int i = 0; i < 2; ++i) {
    xt[i] = k.Scratchpad(fmt::format("x{}", i), P, F, o.dtype);
    ot[i] = k.Scratchpad(fmt::format("out{}", i), P, F, o.dtype);
    if (kind == "add") yt[i] = k.Scratchpad(fmt::format("y{}", i), P, F, o.dtype);
  }
  // Loads x (and y for add) and stores out: queues split by bytes, 1:1 (2:1 for add). A
  // row tile moves as one DMA per queue of its side (rows_per_dma rows each).
  const int queues = static_cast<int>(arch.core.dma.queues);
  QueuePlan plan(queues, StoreQueuesByBytes(queues, kind == "add" ? 2.0 : 1.0, 1.0));
  const std::uint64_t load_rows = CeilDiv(P, static_cast<std::uint64_t>(plan.load_queues));
  const std::uint64_t store_rows =
      CeilDiv(P, static_cast<std::uint64_t>(std::max(1, plan.store_queues)));
  // Capacity: per row tile, its loads (x, y) and stores split over the queues, and at most 8
  // vector/scalar ops (layernorm's); growing the program by doubling instead copies every
  // instruction again, which dominated building of kernels with millions of rows.
  const double tiles = std::ceil(static_cast<double>(o.rows) / P);
  k.ReserveInstructions(1 + tiles * (2.0 * static_cast<double>(CeilDiv(P, load_rows)) +
                                     static_cast<double>(CeilDiv(P, store_rows)) + 8.0));
  Tile g;
  if (gain.cols) {
    g = k.Scratchpad("gain", P, F, o.dtype);
    SplitLoad(k, plan, g, 0, gain, 0, P, 0, F, load_rows, "load_gain");
  }
  // Per-row statistics and the scalar engine's per-partition (scale, bias) operand, and the
  // full-size temporary: one set per phase, so consecutive row tiles do not wait for each
  // other's reads.
  Tile stat[2], stat2[2], sb[2], tmp[2];
  for (int i = 0; i < 2; ++i) {
    stat[i] = k.Scratchpad(fmt::format("stat{}", i), P, 1, Dtype::kFp32);
    stat2[i] = k.Scratchpad(fmt::format("stat2_{}", i), P, 1, Dtype::kFp32);
    sb[i] = k.Scratchpad(fmt::format("scale_bias{}", i), P, 2, Dtype::kFp32);
    if (kind != "add" && kind != "gelu" && kind != "relu") {
      tmp[i] = k.Scratchpad(fmt::format("tmp{}", i), P, F, o.dtype);
    }
  }

  // Software-pipelined over row tiles: stage A of tile i + 1 (load, statistics, scalar
  // passes) is issued before stage B of tile i (the last vector op and the store), so the
  // vector engine works on the next tile while the scalar engine finishes this one.
  struct Views {
    std::uint64_t r0;
    std::uint32_t p;
    int phase;
    TileView xv, ov, tv, s1, s2, scale, bias, scale_bias;
  };
  auto views = [&](std::uint64_t r0, int phase) {
    const auto p = static_cast<std::uint32_t>(std::min<std::uint64_t>(P, o.rows - r0));
    return Views{r0,
                 p,
                 phase,
                 xt[phase].Slice(0, p, 0, F),
                 ot[phase].Slice(0, p, 0, F),
                 tmp[phase].Slice(0, p, 0, F),
                 stat[phase].Slice(0, p, 0, 1),
                 stat2[phase].Slice(0, p, 0, 1),
                 sb[phase].Slice(0, p, 0, 1),
                 sb[phase].Slice(0, p, 1, 1),
                 sb[phase].Slice(0, p, 0, 2)};
  };
  auto stage_a = [&](const Views& v) {
    SplitLoad(k, plan, xt[v.phase], 0, x, v.r0, v.p, 0, F, load_rows, "load_x");
    if (kind == "add") {
      const TileView yv = yt[v.phase].Slice(0, v.p, 0, F);
      SplitLoad(k, plan, yt[v.phase], 0, y, v.r0, v.p, 0, F, load_rows, "load_y");
      k.Vector(VectorOp::kAdd, v.ov, v.xv, yv, "add");
    } else if (kind == "gelu") {
      k.Activation(ActivationFn::kGelu, v.ov, v.xv, "gelu");
    } else if (kind == "relu") {
      k.Vector(VectorOp::kRelu, v.ov, v.xv, "relu");
    } else if (kind == "softmax") {
      // exp(x - max) in one scalar pass (bias = -max), the division as a per-row scale.
      k.Vector(VectorOp::kReduceMax, v.s1, v.xv, "row_max");
      k.Vector(VectorOp::kScale, v.scale, v.s1, "exp_scale");
      k.Vector(VectorOp::kScale, v.bias, v.s1, "neg_max");
      k.Activation(ActivationFn::kExp, v.tv, v.xv, v.scale_bias, "exp");
      k.Vector(VectorOp::kReduceSum, v.s2, v.tv, "row_sum");
      k.Vector(VectorOp::kReciprocal, v.s2, v.s2, "reciprocal");
    } else if (kind == "layernorm") {
      // Sums of x and x^2 in one pass each (the square on the scalar engine), the variance
      // as E[x^2] - mean^2 on [P x 1] values, then (x - mean) * rstd as one scalar pass.
      k.Vector(VectorOp::kReduceSum, v.s1, v.xv, "sum");
      k.Activation(ActivationFn::kSquare, v.tv, v.xv, "square");
      k.Vector(VectorOp::kReduceSum, v.s2, v.tv, "sum_sq");
      k.Vector(VectorOp::kScale, v.bias, v.s1, "mean");
      k.Vector(VectorOp::kSub, v.scale, v.s2, v.bias, "variance");
      k.Activation(ActivationFn::kRsqrt, v.scale, v.scale, "rstd");
      k.Vector(VectorOp::kMul, v.bias, v.bias, v.scale, "shift");
      k.Activation(ActivationFn::kIdentity, v.tv, v.xv, v.scale_bias, "normalise");
    } else {  // rmsnorm
      k.Activation(ActivationFn::kSquare, v.tv, v.xv, "square");
      k.Vector(VectorOp::kReduceSum, v.s1, v.tv, "sum_sq");
      k.Activation(ActivationFn::kRsqrt, v.s1, v.s1, "rstd");
      k.Activation(ActivationFn::kIdentity, v.tv, v.xv, v.s1, "normalise");
    }
  };
  auto stage_b = [&](const Views& v) {
    if (kind == "softmax") {
      k.Activation(ActivationFn::kIdentity, v.ov, v.tv, v.s2, "normalise");
    } else if (kind == "layernorm" || kind == "rmsnorm") {
      k.Vector(VectorOp::kMul, v.ov, v.tv, g.Slice(0, v.p, 0, F), "gain");
    }
    for (std::uint32_t r = 0; r < v.p; r += store_rows) {
      const auto nr = static_cast<std::uint32_t>(std::min<std::uint64_t>(store_rows, v.p - r));
      k.DmaStore(Block(out, v.r0 + r, nr, 0, F), ot[v.phase].Slice(r, nr, 0, F), "store_out",
                 plan.Store());
    }
  };
  int phase = 0;
  std::optional<Views> previous;
  for (std::uint64_t r0 = 0; r0 < o.rows; r0 += P) {
    phase ^= 1;
    const Views v = views(r0, phase);
    stage_a(v);
    if (previous) stage_b(*previous);
    previous = v;
  }
  if (previous) stage_b(*previous);
  return k.Finish();
}

namespace {

// Splits `rows` over the chip's cores: core c gets rows [c*rows/cores, (c+1)*rows/cores).
std::vector<std::uint64_t> SplitRows(std::uint64_t rows, std::uint64_t cores, const char* what) {
  if (rows < cores) {
    throw InputError(
        fmt::format("{}: {} rows cannot be split over chip.cores = {}", what, rows, cores));
  }
  std::vector<std::uint64_t> out;
  for (std::uint64_t c = 0; c < cores; ++c) {
    out.push_back((c + 1) * rows / cores - c * rows / cores);
  }
  return out;
}

std::uint64_t CoreHbmBase(const ArchConfig& arch, std::uint64_t core) {
  return core * (arch.hbm.CapacityBytes() / arch.cores);
}

// One program per core: `build(options with its rows, hbm_base)` on each core's share of
// the rows (`rows_of` selects the split dimension).
template <class Options, class Build>
std::vector<Program> ForChip(const ArchConfig& arch, const Options& options,
                             std::uint64_t Options::*rows_of, const char* what, Build build) {
  std::vector<Program> out;
  const std::vector<std::uint64_t> rows = SplitRows(options.*rows_of, arch.cores, what);
  for (std::uint64_t c = 0; c < arch.cores; ++c) {
    Options o = options;
    o.*rows_of = rows[c];
    out.push_back(build(o, CoreHbmBase(arch, c)));
  }
  return out;
}

}  // namespace

std::vector<Program> BuildMatmulKernelForChip(const ArchConfig& arch,
                                              const MatmulKernelOptions& options) {
  return ForChip(arch, options, &MatmulKernelOptions::m, "matmul kernel M",
                 [&](const MatmulKernelOptions& o, std::uint64_t base) {
                   return BuildMatmulKernel(arch, o, base);
                 });
}

std::vector<Program> BuildElementwiseKernelForChip(const ArchConfig& arch,
                                                   const ElementwiseKernelOptions& options) {
  return ForChip(arch, options, &ElementwiseKernelOptions::rows, "kernel rows",
                 [&](const ElementwiseKernelOptions& o, std::uint64_t base) {
                   return BuildElementwiseKernel(arch, o, base);
                 });
}

}  // namespace systole
