#include "workloads/kernel/nki_matmul_ladder.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/kernel/kernel_builder.h"
#include "workloads/kernel/queue_plan.h"

namespace systole {

bool IsNkiLadderLevel(const std::string& level) {
  return level == "naive" || level == "hoist" || level == "block" || level == "block3";
}

namespace {

// One tutorial kernel being built: the HBM tensors, the tile sizes and the helpers every
// rung shares (edge-tile sizes, one-DMA loads and stores, PSUM rotation).
class Ladder {
 public:
  Ladder(const ArchConfig& arch, const MatmulKernelOptions& o, std::uint64_t hbm_base)
      : o_(o),
        k_("matmul", arch, hbm_base),
        plan_(static_cast<int>(arch.core.dma.queues), o.store_queues),
        tm_(o.tile_m),
        tk_(o.tile_k),
        tn_(o.tile_n),
        mt_(CeilDiv(o.m, tm_)),
        kt_(CeilDiv(o.k, tk_)),
        nt_(CeilDiv(o.n, tn_)),
        sbuf_bytes_(arch.core.scratchpad.partition_bytes) {
    lhst_ = k_.Hbm("AT", o.k, o.m, o.dtype);
    rhs_ = k_.Hbm("B", o.k, o.n, o.dtype);
    out_ = k_.Hbm("C", o.m, o.n, o.dtype, /*initialised=*/false);
    // PSUM tiles [TM x TN] fp32 rotate over as many buffers as the accumulator holds, at
    // most one per bank.
    const std::uint64_t psum_tile_bytes = tn_ * 4;
    const std::uint64_t psum_buffers =
        std::clamp<std::uint64_t>(arch.core.accumulator.partition_bytes / psum_tile_bytes, 1,
                                  std::min<std::uint64_t>(arch.core.accumulator.banks, 8));
    for (std::uint64_t i = 0; i < psum_buffers; ++i) {
      psum_.push_back(k_.Accumulator(fmt::format("psum{}", i), Rows32(tm_), tn_));
    }
  }

  Program Naive();
  Program Hoist(std::uint64_t block_m, std::uint64_t block_n);  // hoist: 1 x 1
  Program FullyOptimized();

 private:
  static std::uint32_t Rows32(std::uint64_t rows) { return static_cast<std::uint32_t>(rows); }
  std::uint64_t Ms(std::uint64_t mi) const { return std::min(tm_, o_.m - mi * tm_); }
  std::uint64_t Ks(std::uint64_t ki) const { return std::min(tk_, o_.k - ki * tk_); }
  std::uint64_t Ns(std::uint64_t ni) const { return std::min(tn_, o_.n - ni * tn_); }
  std::uint64_t DtypeB() const { return DtypeBytes(o_.dtype); }

  // Buffers for `count` loop tiles of `bytes_each` per partition beside `fixed` bytes:
  // two when two copies fit the scratchpad, else one; refused when one does not fit.
  int BuffersFor(std::uint64_t bytes_each, std::uint64_t fixed) const {
    if (fixed + 2 * bytes_each <= sbuf_bytes_) return 2;
    if (fixed + bytes_each <= sbuf_bytes_) return 1;
    throw InputError(fmt::format(
        "matmul kernel --level {} ({}x{}x{}): its tiles need {} bytes per scratchpad "
        "partition, core.scratchpad.partition_bytes is {}: use smaller blocks or --level tuned",
        o_.level, o_.m, o_.k, o_.n, fixed + bytes_each, sbuf_bytes_));
  }
  std::vector<Tile> Tiles(const char* name, int buffers, std::uint64_t partitions,
                          std::uint64_t elems) {
    std::vector<Tile> out;
    for (int i = 0; i < buffers; ++i) {
      out.push_back(
          k_.Scratchpad(fmt::format("{}{}", name, i), Rows32(partitions), elems, o_.dtype));
    }
    return out;
  }
  // One DMA: rows [r0, r0+rows) x cols [c0, c0+cols) of `src` into `dst` at free offset f0.
  void Load(const Tile& dst, std::uint64_t f0, const HbmTensor& src, std::uint64_t r0,
            std::uint64_t rows, std::uint64_t c0, std::uint64_t cols, const char* label) {
    k_.DmaLoad(dst.Slice(0, Rows32(rows), f0, cols), Block(src, r0, rows, c0, cols), label,
               plan_.Load());
  }
  const Tile& NextPsum() {
    psum_phase_ = (psum_phase_ + 1) % psum_.size();
    return psum_[psum_phase_];
  }
  // PSUM -> SBUF copy of an output tile and its store (one DMA).
  void CopyAndStore(const Tile& psum, std::vector<Tile>& res, int& phase, std::uint64_t mi,
                    std::uint64_t ni) {
    const std::uint64_t ms = Ms(mi), ns = Ns(ni);
    phase = (phase + 1) % static_cast<int>(res.size());
    const TileView sb = res[phase].Slice(0, Rows32(ms), 0, ns);
    k_.Vector(VectorOp::kCopy, sb, psum.Slice(0, Rows32(ms), 0, ns), "evacuate_acc");
    k_.DmaStore(Block(out_, mi * tm_, ms, ni * tn_, ns), sb, "store_C", plan_.Store());
  }

  const MatmulKernelOptions& o_;
  KernelBuilder k_;
  QueuePlan plan_;
  std::uint64_t tm_, tk_, tn_, mt_, kt_, nt_;
  std::uint64_t sbuf_bytes_;
  HbmTensor lhst_, rhs_, out_;
  std::vector<Tile> psum_;
  std::size_t psum_phase_ = 0;
};

// nki_matmul_tiled_: both operand tiles loaded for every matmul.
Program Ladder::Naive() {
  k_.ReserveInstructions(3.0 * static_cast<double>(mt_) * static_cast<double>(nt_) *
                             static_cast<double>(kt_) +
                         2.0 * static_cast<double>(mt_) * static_cast<double>(nt_));
  const std::uint64_t out_bytes = tn_ * DtypeB();
  const int buffers = BuffersFor((tm_ + tn_) * DtypeB(), 2 * out_bytes);
  std::vector<Tile> lhst = Tiles("lhsT_tile", buffers, tk_, tm_);
  std::vector<Tile> rhs = Tiles("rhs_tile", buffers, tk_, tn_);
  std::vector<Tile> res = Tiles("res_sb", 2, tm_, tn_);
  int phase = 0, res_phase = 0;
  for (std::uint64_t mi = 0; mi < mt_; ++mi) {
    for (std::uint64_t ni = 0; ni < nt_; ++ni) {
      const Tile& psum = NextPsum();
      const std::uint64_t ms = Ms(mi), ns = Ns(ni);
      for (std::uint64_t ki = 0; ki < kt_; ++ki) {
        const std::uint64_t ks = Ks(ki);
        phase = (phase + 1) % buffers;
        Load(lhst[phase], 0, lhst_, ki * tk_, ks, mi * tm_, ms, "load_lhsT");
        Load(rhs[phase], 0, rhs_, ki * tk_, ks, ni * tn_, ns, "load_rhs");
        k_.Matmul(psum.Slice(0, Rows32(ms), 0, ns), lhst[phase].Slice(0, Rows32(ks), 0, ms),
                  rhs[phase].Slice(0, Rows32(ks), 0, ns), /*accumulate=*/ki > 0, "matmul");
      }
      CopyAndStore(psum, res, res_phase, mi, ni);
    }
  }
  return k_.Finish();
}

// nki_matmul_hoist_load_ (block 1 x 1) and nki_matmul_block_free_dimension_ (2 x 2):
// every K tile of an M block's lhsT columns loaded once per M block, every K tile of an N
// block's rhs columns once per (M block, N block); one DMA per tile.
Program Ladder::Hoist(std::uint64_t bm, std::uint64_t bn) {
  const double mb = static_cast<double>(CeilDiv(mt_, bm)),
               nb = static_cast<double>(CeilDiv(nt_, bn));
  const double mtd = static_cast<double>(mt_), ntd = static_cast<double>(nt_),
               ktd = static_cast<double>(kt_);
  k_.ReserveInstructions(mtd * ntd * ktd + mb * ktd * static_cast<double>(bm) +
                         mb * nb * ktd * static_cast<double>(bn) + 2 * mtd * ntd);
  const std::uint64_t lhst_bytes = bm * kt_ * tm_ * DtypeB();
  const std::uint64_t rhs_bytes = bn * kt_ * tn_ * DtypeB();
  const std::uint64_t out_bytes = 2 * tn_ * DtypeB();
  // The lhsT tiles are allocated in the M loop, the rhs tiles in the N loop.
  const int lhst_buffers = BuffersFor(lhst_bytes, rhs_bytes + out_bytes);
  const int rhs_buffers = BuffersFor(rhs_bytes, lhst_buffers * lhst_bytes + out_bytes);
  std::vector<Tile> lhst = Tiles("lhsT_tiles", lhst_buffers, tk_, bm * kt_ * tm_);
  std::vector<Tile> rhs = Tiles("rhs_tiles", rhs_buffers, tk_, bn * kt_ * tn_);
  std::vector<Tile> res = Tiles("res_sb", 2, tm_, tn_);
  int lphase = 0, rphase = 0, res_phase = 0;
  for (std::uint64_t m0 = 0; m0 < mt_; m0 += bm) {
    const std::uint64_t mcount = std::min(bm, mt_ - m0);
    lphase = (lphase + 1) % lhst_buffers;
    // lhsT_tiles[b, k] at free offset (b * kt + k) * TM.
    for (std::uint64_t b = 0; b < mcount; ++b) {
      for (std::uint64_t ki = 0; ki < kt_; ++ki) {
        Load(lhst[lphase], (b * kt_ + ki) * tm_, lhst_, ki * tk_, Ks(ki), (m0 + b) * tm_,
             Ms(m0 + b), "load_lhsT");
      }
    }
    for (std::uint64_t n0 = 0; n0 < nt_; n0 += bn) {
      const std::uint64_t ncount = std::min(bn, nt_ - n0);
      rphase = (rphase + 1) % rhs_buffers;
      for (std::uint64_t b = 0; b < ncount; ++b) {
        for (std::uint64_t ki = 0; ki < kt_; ++ki) {
          Load(rhs[rphase], (b * kt_ + ki) * tn_, rhs_, ki * tk_, Ks(ki), (n0 + b) * tn_,
               Ns(n0 + b), "load_rhs");
        }
      }
      for (std::uint64_t i = 0; i < mcount; ++i) {
        for (std::uint64_t j = 0; j < ncount; ++j) {
          const Tile& psum = NextPsum();
          const std::uint64_t ms = Ms(m0 + i), ns = Ns(n0 + j);
          for (std::uint64_t ki = 0; ki < kt_; ++ki) {
            const std::uint64_t ks = Ks(ki);
            k_.Matmul(psum.Slice(0, Rows32(ms), 0, ns),
                      lhst[lphase].Slice(0, Rows32(ks), (i * kt_ + ki) * tm_, ms),
                      rhs[rphase].Slice(0, Rows32(ks), (j * kt_ + ki) * tn_, ns),
                      /*accumulate=*/ki > 0, "matmul");
          }
          CopyAndStore(psum, res, res_phase, m0 + i, n0 + j);
        }
      }
    }
  }
  return k_.Finish();
}

// nki_matmul_fully_optimized_: all three dimensions blocked, partial sums of each K block
// added into SBUF result tiles that cover the whole M extent of an N block.
Program Ladder::FullyOptimized() {
  const std::uint64_t bm = o_.block_m, bn = o_.block_n, bk = o_.block_k;
  const std::uint64_t nbm = CeilDiv(mt_, bm), nbn = CeilDiv(nt_, bn), nbk = CeilDiv(kt_, bk);
  const double mtd = static_cast<double>(mt_), ntd = static_cast<double>(nt_),
               ktd = static_cast<double>(kt_);
  k_.ReserveInstructions(mtd * ntd * ktd + mtd * ntd * static_cast<double>(nbk) +
                         static_cast<double>(nbn) * ktd * (1.0 + static_cast<double>(nbm)) +
                         mtd * ntd + mtd * static_cast<double>(nbn));
  const std::uint64_t b = DtypeB();
  // result_tiles [TM x (M tiles x bn x TN)] per N block, result_packed [TM x bn*TN].
  const std::uint64_t result_bytes = mt_ * bn * tn_ * b;
  const std::uint64_t packed_bytes = bn * tn_ * b;
  const std::uint64_t rhs_bytes = bk * bn * tn_ * b;
  const std::uint64_t lhst_bytes = bk * bm * tm_ * b;
  const std::uint64_t fixed = result_bytes + 2 * packed_bytes;
  const int rhs_buffers = BuffersFor(rhs_bytes, fixed + lhst_bytes);
  const int lhst_buffers = BuffersFor(lhst_bytes, fixed + rhs_buffers * rhs_bytes);
  std::vector<Tile> rhs = Tiles("rhs_tiles", rhs_buffers, tk_, bk * bn * tn_);
  std::vector<Tile> lhst = Tiles("lhsT_tiles", lhst_buffers, tk_, bk * bm * tm_);
  const Tile result = k_.Scratchpad("result_tiles", Rows32(tm_), mt_ * bn * tn_, o_.dtype);
  std::vector<Tile> packed = Tiles("result_packed", 2, tm_, bn * tn_);
  int rphase = 0, lphase = 0, pphase = 0;
  for (std::uint64_t nb = 0; nb < nbn; ++nb) {
    const std::uint64_t n0 = nb * bn, ncount = std::min(bn, nt_ - n0);
    const std::uint64_t ncols = std::min(ncount * tn_, o_.n - n0 * tn_);
    for (std::uint64_t kb = 0; kb < nbk; ++kb) {
      const std::uint64_t k0 = kb * bk, kcount = std::min(bk, kt_ - k0);
      rphase = (rphase + 1) % rhs_buffers;
      // rhs_tiles[bk_r] = rhs[K tile k0 + bk_r, the N block's columns]: one DMA each.
      for (std::uint64_t r = 0; r < kcount; ++r) {
        Load(rhs[rphase], r * bn * tn_, rhs_, (k0 + r) * tk_, Ks(k0 + r), n0 * tn_, ncols,
             "load_rhs");
      }
      for (std::uint64_t mb = 0; mb < nbm; ++mb) {
        const std::uint64_t m0 = mb * bm, mcount = std::min(bm, mt_ - m0);
        const std::uint64_t mcols = std::min(mcount * tm_, o_.m - m0 * tm_);
        lphase = (lphase + 1) % lhst_buffers;
        for (std::uint64_t l = 0; l < kcount; ++l) {
          Load(lhst[lphase], l * bm * tm_, lhst_, (k0 + l) * tk_, Ks(k0 + l), m0 * tm_, mcols,
               "load_lhsT");
        }
        for (std::uint64_t j = 0; j < ncount; ++j) {
          for (std::uint64_t i = 0; i < mcount; ++i) {
            const Tile& psum = NextPsum();
            const std::uint64_t ms = Ms(m0 + i), ns = Ns(n0 + j);
            for (std::uint64_t kk = 0; kk < kcount; ++kk) {
              const std::uint64_t ks = Ks(k0 + kk);
              k_.Matmul(psum.Slice(0, Rows32(ms), 0, ns),
                        lhst[lphase].Slice(0, Rows32(ks), kk * bm * tm_ + i * tm_, ms),
                        rhs[rphase].Slice(0, Rows32(ks), kk * bn * tn_ + j * tn_, ns),
                        /*accumulate=*/kk > 0, "matmul");
            }
            // result_tiles[m, bm, bn] += res_tile (the first K block writes it).
            const TileView acc = result.Slice(0, Rows32(ms), ((m0 + i) * bn + j) * tn_, ns);
            const TileView part = psum.Slice(0, Rows32(ms), 0, ns);
            if (kb == 0) {
              k_.Vector(VectorOp::kCopy, acc, part, "accumulate_sbuf");
            } else {
              k_.Vector(VectorOp::kAdd, acc, acc, part, "accumulate_sbuf");
            }
          }
        }
      }
    }
    // Pack each M tile's bn result tiles into one row block and store it with one DMA.
    for (std::uint64_t mi = 0; mi < mt_; ++mi) {
      const std::uint64_t ms = Ms(mi);
      pphase = (pphase + 1) % static_cast<int>(packed.size());
      for (std::uint64_t j = 0; j < ncount; ++j) {
        const std::uint64_t ns = Ns(n0 + j);
        k_.Vector(VectorOp::kCopy, packed[pphase].Slice(0, Rows32(ms), j * tn_, ns),
                  result.Slice(0, Rows32(ms), (mi * bn + j) * tn_, ns), "pack_result");
      }
      k_.DmaStore(Block(out_, mi * tm_, ms, n0 * tn_, ncols),
                  packed[pphase].Slice(0, Rows32(ms), 0, ncols), "store_C", plan_.Store());
    }
  }
  return k_.Finish();
}

}  // namespace

Program BuildNkiMatmulLadder(const ArchConfig& arch, const MatmulKernelOptions& o,
                             std::uint64_t hbm_base) {
  Ladder ladder(arch, o, hbm_base);
  if (o.level == "naive") return ladder.Naive();
  if (o.level == "hoist") return ladder.Hoist(1, 1);
  if (o.level == "block") return ladder.Hoist(o.block_m, o.block_n);
  return ladder.FullyOptimized();
}

}  // namespace systole
