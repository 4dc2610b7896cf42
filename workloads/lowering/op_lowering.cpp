#include "workloads/lowering/op_lowering.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "base/checked_math.h"
#include "workloads/graph/op_kinds.h"

namespace systole {

std::string KernelCall::Key() const {
  if (matmul) {
    std::string tiling;  // options away from the level's defaults
    if (mm.block_m || mm.block_n || mm.block_k) {
      tiling += fmt::format(" blocks m{} n{} k{}", mm.block_m, mm.block_n, mm.block_k);
    }
    if (mm.out_buffers) tiling += fmt::format(" out_buffers {}", mm.out_buffers);
    if (mm.store_queues) tiling += fmt::format(" store_queues {}", mm.store_queues);
    if (mm.m_blocks_limit) tiling += fmt::format(" m_blocks_limit {}", mm.m_blocks_limit);
    if (mm.k_blocks_limit) tiling += fmt::format(" k_blocks_limit {}", mm.k_blocks_limit);
    return fmt::format("matmul {}x{}x{}x{} {}{}{}{}", mm.batch, mm.m, mm.k, mm.n,
                       DtypeName(mm.dtype), tiling, mm.epilogue.empty() ? "" : " epilogue ",
                       EpilogueString(mm.epilogue));
  }
  return fmt::format("{} {}x{} {}", ew.kind, ew.rows, ew.cols, DtypeName(ew.dtype));
}

KernelCall Transposed(const KernelCall& call) {
  KernelCall t = call;
  std::swap(t.mm.m, t.mm.n);
  std::swap(t.mm.tile_m, t.mm.tile_n);
  std::swap(t.mm.block_m, t.mm.block_n);
  t.try_transposed = false;
  return t;
}

namespace {

// `count` independent m x k x n products (batch items, channel groups): run as kernels of
// up to kMaxBatchItems items back to back (pipelined across items), repeated.
constexpr std::uint64_t kMaxBatchItems = 8;
KernelCall Matmul(const ArchConfig& arch, std::uint64_t m, std::uint64_t k, std::uint64_t n,
                  Dtype dtype, std::uint64_t count) {
  KernelCall c;
  c.matmul = true;
  c.mm.m = std::max<std::uint64_t>(1, m);
  c.mm.k = std::max<std::uint64_t>(1, k);
  c.mm.n = std::max<std::uint64_t>(1, n);
  c.mm.dtype = dtype;
  c.mm.level = "tuned";
  count = std::max<std::uint64_t>(1, count);
  // The largest item count up to kMaxBatchItems that divides `count` (so the repeats cover
  // it exactly).
  // A waves chip (GPU-class) runs every item in one launch, as a batched GEMM does.
  std::uint64_t items =
      arch.schedule == ChipSchedule::kWaves ? count : std::min(count, kMaxBatchItems);
  while (count % items != 0) --items;
  c.mm.batch = items;
  c.repeat = count / items;
  return c;
}

// The kernel class of an element-wise op: transcendental functions run on the scalar
// engine like gelu; simple one-input vector arithmetic like relu (one input, one vector
// op); two-input arithmetic (gradients: dy and a saved tensor), copies (concat, split) and
// the rest like add.
const char* ElementwiseKind(const GraphOp& op) {
  if (op.kind == OpKind::kUnary) return UnaryTranscendental(op.unary, false) ? "gelu" : "relu";
  if (op.kind == OpKind::kUnaryGrad) return UnaryTranscendental(op.unary, true) ? "gelu" : "add";
  return OpInfo(op.kind).kernel;
}

// The element-wise kernel over `elements` laid out as rows x cols, clamped to tile limits:
// cols at most `max_cols` (what the kernel's tiles hold), rows a whole number of 128-row
// tiles up to 8 of them; the rest becomes the repeat count. Kinds that work on each
// element alone ("add", "gelu", "relu") ignore the op's row structure: the elements are viewed
// as wide rows (up to max_cols, as a compiler would tile a contiguous tensor), so a
// narrow view (a conv weight's [c_out*c_in*kh, kw]) does not become 2-byte DMA chunks.
KernelCall Elementwise(const ArchConfig& arch, const char* kind, std::uint64_t rows,
                       std::uint64_t cols, Dtype dtype) {
  rows = std::max<std::uint64_t>(1, rows);
  cols = std::max<std::uint64_t>(1, cols);
  // The kernel keeps about 7 tiles of [partitions x cols] (x, y/out double-buffered, tmp,
  // gain): keep them within half of a scratchpad partition.
  const std::uint64_t max_cols =
      std::max<std::uint64_t>(64, arch.core.scratchpad.partition_bytes / 2 / 7 / DtypeBytes(dtype));
  const std::uint64_t tile_rows = std::min(arch.core.scratchpad.partitions, arch.core.vector.lanes);
  const std::string k(kind);
  if (k == "add" || k == "gelu" || k == "relu") {
    const std::uint64_t elements = CheckedMul(rows, cols, "element-wise op elements");
    // Whole tiles of tile_rows rows, each row as wide as the elements need (<= max_cols).
    rows =
        elements <= tile_rows
            ? elements
            : tile_rows * CeilDiv(elements, CheckedMul(tile_rows, max_cols, "element-wise tile"));
    cols = CeilDiv(elements, rows);
  }
  std::uint64_t chunks_per_row = CeilDiv(cols, max_cols);
  std::uint64_t kcols = CeilDiv(cols, chunks_per_row);
  // A row wider than max_cols is cut into pieces that sit on separate partitions (row
  // reductions then combine a few partial results per row, which is not charged).
  const std::uint64_t pieces = CheckedMul(rows, chunks_per_row, "element-wise pieces");
  // Up to 8 row tiles per core: on a waves chip (GPU-class) the whole op is one kernel
  // launch over every core, so the cap scales with the core count.
  const std::uint64_t cap_cores = arch.schedule == ChipSchedule::kWaves ? arch.cores : 1;
  const std::uint64_t krows = std::min(pieces, 8 * tile_rows * cap_cores);
  KernelCall c;
  c.matmul = false;
  c.ew.kind = kind;
  c.ew.rows = krows;
  c.ew.cols = kcols;
  c.ew.dtype = dtype;
  // Repeats cover rows x cols; the last partial repeat is charged in proportion.
  const double total = static_cast<double>(pieces);
  c.repeat = 1;
  c.scale = total / static_cast<double>(krows);
  return c;
}

// The epilogue steps of a producer's fused ops (fusion.h): a store of the chain tensor
// where it is read elsewhere, then the op's own step.
std::vector<EpilogueStep> Epilogue(const Graph& graph, const GraphOp& op) {
  std::vector<EpilogueStep> steps;
  for (OpId id : op.epilogue) {
    const GraphOp& e = graph.op(id);
    if (e.fused_input_stored) steps.push_back(EpilogueStep::kStore);
    switch (e.kind) {
      case OpKind::kBiasAdd:
        steps.push_back(EpilogueStep::kBias);
        break;
      case OpKind::kRelu:
        steps.push_back(EpilogueStep::kRelu);
        break;
      case OpKind::kGelu:
        steps.push_back(EpilogueStep::kGelu);
        break;
      case OpKind::kSilu:
        steps.push_back(EpilogueStep::kSilu);
        break;
      case OpKind::kAdd:
        steps.push_back(EpilogueStep::kResidual);
        break;
      case OpKind::kReluGrad:
        steps.push_back(EpilogueStep::kReluGrad);
        break;
      case OpKind::kGeluGrad:
        steps.push_back(EpilogueStep::kGeluGrad);
        break;
      case OpKind::kSiluGrad:
        steps.push_back(EpilogueStep::kSiluGrad);
        break;
      case OpKind::kSwiglu:
        steps.push_back(EpilogueStep::kSwiglu);
        break;
      default:
        throw std::logic_error(std::string("no epilogue step for fused op kind ") +
                               OpKindName(e.kind));
    }
  }
  return steps;
}

// The input pixels of one row (or column) of a strided convolution's input fall into
// `stride` phases by (y + pad) mod stride; a pixel of phase r receives the gradient of the
// taps i with (i * dilation) mod stride == r (the others land between output pixels).
// Returns, per phase, {pixels in the phase, taps of the phase}.
std::vector<std::pair<std::uint64_t, std::uint64_t>> StridePhases(std::uint64_t in, std::uint64_t k,
                                                                  const ConvDims& cv) {
  const std::uint64_t s = std::max<std::uint64_t>(1, cv.stride);
  const std::uint64_t d = std::max<std::uint64_t>(1, cv.dilation);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out(s, {0, 0});
  for (std::uint64_t r = 0; r < s; ++r) {
    // y in [0, in) with (y + pad) mod s == r: the first is (r - pad) mod s.
    const std::uint64_t first = (r + s - cv.pad % s) % s;
    out[r].first = first < in ? (in - first + s - 1) / s : 0;
  }
  for (std::uint64_t i = 0; i < k; ++i) ++out[(i * d) % s].second;
  return out;
}

}  // namespace

std::vector<GradInputGemm> GradInputGemms(const ConvDims& cv) {
  const auto rows = StridePhases(cv.h_in, cv.kh, cv);
  const auto cols = StridePhases(cv.w_in, cv.kw, cv);
  std::vector<GradInputGemm> out;
  for (const auto& [ph, th] : rows) {
    for (const auto& [pw, tw] : cols) {
      const std::uint64_t pixels = ph * pw, taps = th * tw;
      if (pixels == 0 || taps == 0) continue;  // no gradient flows to these pixels
      auto same = std::find_if(out.begin(), out.end(), [&](const GradInputGemm& g) {
        return g.pixels == pixels && g.taps == taps;
      });
      if (same != out.end()) {
        ++same->count;
      } else {
        out.push_back({pixels, taps, 1});
      }
    }
  }
  return out;
}

std::vector<KernelCall> LowerOp(const ArchConfig& arch, const Graph& graph, const GraphOp& op,
                                Dtype dtype) {
  std::vector<KernelCall> out;
  if (op.fused()) return out;  // runs in its producer's epilogue
  const MatmulDims& mm = op.matmul;
  const ConvDims& cv = op.conv;
  const std::uint64_t groups = std::max<std::uint64_t>(1, cv.groups);
  if (!op.is_matmul() && (op.rows == 0 || op.cols == 0)) {
    // Element-wise ops are timed over their rows x cols view; a missing view would time a
    // 1x1 kernel scaled by the op's bytes.
    throw std::logic_error("op '" + op.name + "' (" + OpKindName(op.kind) +
                           ") has no rows x cols view to lower");
  }
  switch (op.kind) {
    case OpKind::kMatmul:
      out.push_back(Matmul(arch, mm.m, mm.k, mm.n, dtype, mm.batch));
      out.back().mm.epilogue = Epilogue(graph, op);
      return out;
    // Convolutions may keep activations pixel-major ([pixels x channels]) or channel-major
    // ([channels x pixels]); the product is tried in both orientations.
    // A grouped convolution is `groups` independent GEMMs over c_in/groups and
    // c_out/groups channels (depthwise: 1 x window x 1 per channel).
    case OpKind::kConv2d:
      out.push_back(Matmul(arch, cv.n * cv.h_out * cv.w_out, cv.c_in / groups * cv.kh * cv.kw,
                           cv.c_out / groups, dtype, groups));
      out.back().mm.epilogue = Epilogue(graph, op);
      out.back().try_transposed = true;
      return out;
    case OpKind::kConv2dGradInput:
      // One GEMM per stride phase (see StridePhases): the input pixels of a phase gather
      // only the taps that land on them, so no zeros are multiplied. Stride 1: one GEMM.
      for (const GradInputGemm& p : GradInputGemms(cv)) {
        out.push_back(Matmul(arch, cv.n * p.pixels, cv.c_out / groups * p.taps, cv.c_in / groups,
                             dtype, groups * p.count));
        out.back().mm.epilogue = Epilogue(graph, op);
        out.back().try_transposed = true;
      }
      return out;
    case OpKind::kConv2dGradWeight:
      out.push_back(Matmul(arch, cv.c_in / groups * cv.kh * cv.kw, cv.n * cv.h_out * cv.w_out,
                           cv.c_out / groups, dtype, groups));
      out.back().try_transposed = true;
      return out;
    case OpKind::kAttention:
    case OpKind::kAttentionGrad: {
      // Score-sized matmuls: Q K^T is [m x k] x [k x n]; A V is [m x n] x [n x k].
      const double one = 2.0 * static_cast<double>(mm.batch) * static_cast<double>(mm.m) *
                         static_cast<double>(mm.k) * static_cast<double>(mm.n);
      const std::uint64_t count = std::max<std::uint64_t>(
          2, static_cast<std::uint64_t>(std::llround(static_cast<double>(op.matmul_flops) / one)));
      KernelCall qk = Matmul(arch, mm.m, mm.k, mm.n, dtype, mm.batch * ((count + 1) / 2));
      KernelCall av = Matmul(arch, mm.m, mm.n, mm.k, dtype, mm.batch * (count / 2));
      out.push_back(qk);
      out.push_back(av);
      out.push_back(Elementwise(arch, "softmax", mm.batch * mm.m, mm.n, dtype));
      return out;
    }
    case OpKind::kAdamW:
    case OpKind::kLamb:
    case OpKind::kSgdMomentum: {
      KernelCall c = Elementwise(arch, "add", op.rows, op.cols, Dtype::kFp32);
      // An fp32 add moves 12 bytes per element; the optimizer moves what it states.
      const double elements = static_cast<double>(std::max<std::uint64_t>(1, op.rows)) *
                              static_cast<double>(std::max<std::uint64_t>(1, op.cols));
      const double bytes = static_cast<double>(op.bytes_read + op.bytes_written);
      c.scale *= std::max(1.0, bytes / (12.0 * elements));
      out.push_back(c);
      return out;
    }
    default: {
      const char* kind = ElementwiseKind(op);
      KernelCall c = Elementwise(arch, kind, op.rows, op.cols, dtype);
      const double elements = static_cast<double>(std::max<std::uint64_t>(1, op.rows)) *
                              static_cast<double>(std::max<std::uint64_t>(1, op.cols));
      const double kernel_bytes =
          elements * DtypeBytes(dtype) * (std::string(kind) == "add" ? 3.0 : 2.0);
      const double bytes = static_cast<double>(op.bytes_read + op.bytes_written);
      c.scale *= std::max(1.0, bytes / kernel_bytes);
      out.push_back(c);
      return out;
    }
  }
}

}  // namespace systole
