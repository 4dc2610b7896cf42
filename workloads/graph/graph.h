// Workload graph IR: tensors with shapes and dtypes, and the ops of a training step.
//
// What it models: the arithmetic and the unfused memory traffic of every op of a neural
// network, forward, backward and optimizer, in execution order. It knows nothing of
// SystemC, tiles or engines; the lowering turns each op into engine programs.
//
// Counting conventions (every figure is per op, std::uint64_t, overflow-checked):
//   FLOPs: matmul and convolution 2 per multiply-accumulate (batch x M x K x N MACs);
//     element-wise and row-wise ops a fixed cost per element, listed in the op kinds table
//     (op_kinds.cpp: add 1, gelu 8, softmax 5, layernorm 7 ...), kUnary / kUnaryGrad per function
//     (UnaryFlopsPerElement); gathers and copies (concat, split) 0.
//     Attention scores are counted over the full sequence x sequence square (a causal
//     kernel may skip half; that is the lowering's saving to claim, not the graph's).
//   Bytes: each input read once and each output written once, in the tensor's dtype (the
//     unfused minimum; re-reads caused by tiling belong to the lowering). An op with
//     accumulating output (out += result) is also read. An embedding lookup reads only
//     the table rows it gathers; its gradient reads and writes only those rows. A split
//     reads only the parts of its input it writes.
// What it ignores: data values, layouts and strides (reshapes and transposes are free),
//   dropout (the zoo models train without it), communication between chips.
// Units: shapes in elements, sizes in bytes, work in FLOPs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"

namespace systole {

using TensorId = std::uint32_t;
using OpId = std::uint32_t;
inline constexpr TensorId kNoTensor = 0xffffffffu;
inline constexpr OpId kNoOp = 0xffffffffu;

enum class TensorKind : std::uint8_t {
  kInput,           // data fed to the step: token ids, images, labels (no gradient)
  kParameter,       // trainable weight, in the compute dtype
  kActivation,      // produced by a forward op (or its recomputation)
  kGradient,        // gradient of an activation
  kParamGradient,   // gradient of a parameter (lives the whole step)
  kMasterWeight,    // fp32 master copy of a parameter (mixed precision only)
  kOptimizerState,  // moments / momentum
};
const char* TensorKindName(TensorKind kind);

struct GraphTensor {
  std::string name;
  std::vector<std::uint64_t> shape;  // elements per dimension
  Dtype dtype = Dtype::kBf16;
  TensorKind kind = TensorKind::kActivation;
  TensorId grad_of = kNoTensor;  // gradients and optimizer tensors: the tensor they belong to
  // A fused chain's intermediate that only the next op of the chain reads: it stays in the
  // producer's epilogue and is never written to HBM (workloads/training/fusion.h).
  bool on_chip_only = false;
  std::uint64_t elements() const;
  std::uint64_t bytes() const;
};

enum class OpKind : std::uint8_t {
  // Forward ops.
  kMatmul,        // C = op(A) x op(B), `matmul` dims; batched when batch > 1
  kConv2d,        // NCHW convolution, `conv` dims
  kAdd,           // element-wise a + b (residual connections)
  kMul,           // element-wise a * b
  kBiasAdd,       // x + bias broadcast over rows (rows x cols)
  kRelu,          //
  kGelu,          // tanh approximation
  kSilu,          //
  kSwiglu,        // silu(gate) * up, inputs (gate, up)
  kSoftmax,       // along cols, scale and causal mask fused in
  kLayerNorm,     // along cols, with gain and bias; outputs (y, per-row stats)
  kRmsNorm,       // along cols, with gain; outputs (y, per-row stats)
  kBatchNorm,     // training-mode batch norm, statistics per channel over N*H*W; rows x cols
                  // = (N*C*H) x W covers every element; outputs (y, per-channel stats)
  kRotary,        // rotary position embedding applied to rows x cols (cols = heads*dim)
  kEmbedding,     // gather rows of a table: inputs (ids, table)
  kCrossEntropy,  // softmax cross-entropy over cols; inputs (logits, labels); outputs (loss,
                  // per-row log-sum-exp)
  kAttention,     // fused attention: softmax(Q K^T * scale) V; inputs (q, k, v); outputs (o,
                  // per-row log-sum-exp); `matmul` holds the QK^T dims (batch = B*heads)
  kMaxPool,       // `conv` dims (c_out = c_in)
  kAvgPool,       // `conv` dims (global average pool: kernel = input size)
  kUnary,         // y = f(x) element-wise, f = GraphOp::unary (tanh, sigmoid, exp ... see UnaryFn)
  kConcat,        // copy: its inputs placed into one output (along any axis), elements of the
                  // output no input covers written as zeros; rows x cols = the output's
  kSplit,         // copy: parts of its input to its outputs (Split; Slice and Gather with
                  // constant indices as one part); reads only the parts it writes;
                  // rows x cols = the elements written (SetCopyView)
  // Backward ops (one or two per forward op).
  // (Input and weight gradients of a matmul are kMatmul ops with roles kInputGrad and
  // kWeightGrad.)
  kConv2dGradInput,
  kConv2dGradWeight,
  kBiasGrad,  // column sums of the output gradient
  kMulGrad,   // both input gradients of a * b
  kReluGrad,
  kGeluGrad,
  kSiluGrad,
  kSwigluGrad,
  kSoftmaxGrad,
  kLayerNormGrad,  // outputs (dx, dgain, dbias)
  kRmsNormGrad,    // outputs (dx, dgain)
  kBatchNormGrad,  // outputs (dx, dgain, dbias)
  kRotaryGrad,
  kEmbeddingGrad,  // scatter-add of the output gradient into the table gradient
  kCrossEntropyGrad,
  kAttentionGrad,  // fused attention backward (recomputes the scores, FlashAttention-2)
  kMaxPoolGrad,
  kAvgPoolGrad,
  kUnaryGrad,  // dx = dy * f'(.), inputs (dy, the saved x or y: UnaryGradSaves) or (dy)
  // (The gradients of kConcat and kSplit are kSplit and kConcat ops: a copy both ways.)
  // Optimizer ops: one per parameter tensor, element-wise over it.
  kAdamW,
  kLamb,
  kSgdMomentum,
};
const char* OpKindName(OpKind kind);

// The function of a kUnary op (and of its gradient kUnaryGrad). Data values are ignored,
// so Pow's exponent, LeakyRelu's slope or Clip's bounds do not change the cost: Pow is
// counted as a general power (exp(p * log x)) whatever p is.
enum class UnaryFn : std::uint8_t {
  kNone,
  kTanh,
  kSigmoid,
  kErf,
  kExp,
  kLog,
  kSqrt,
  kReciprocal,
  kNeg,
  kAbs,
  kPow,  // x^p, p a constant
  kLeakyRelu,
  kClip,
  kSoftplus,
  kHardSigmoid,
  kHardSwish,
  kElu,
};
const char* UnaryFnName(UnaryFn fn);
// FLOPs per element of f (grad = false) or of dx = dy * f' (grad = true).
std::uint64_t UnaryFlopsPerElement(UnaryFn fn, bool grad);
// Whether f (or its gradient) evaluates a transcendental function (exp, log, tanh, erf,
// pow: the scalar engine's activation unit, timed like gelu) rather than simple vector
// arithmetic (add, multiply, divide, compare, select: timed like add).
bool UnaryTranscendental(UnaryFn fn, bool grad);
// What the gradient reads besides dy.
enum class UnarySaved : std::uint8_t { kNothing, kInput, kOutput };
UnarySaved UnaryGradSaves(UnaryFn fn);

// What an op is for in the training step.
enum class OpRole : std::uint8_t {
  kForward,
  kRecompute,   // a forward op re-executed during backward (activation recomputation)
  kInputGrad,   // gradient with respect to an activation
  kWeightGrad,  // gradient with respect to a parameter
  kOptimizer,
};
const char* OpRoleName(OpRole role);

// C[batch][m x n] = op(A)[m x k] x op(B)[k x n], op(X) = X^T when its transpose flag is
// set (A then stored k x m, B stored n x k). Weight matmuls fold every row of the
// activation (samples x tokens) into m and have batch 1. Heads are a layout matter:
// attention matmuls read q, k, v stored [B, s, heads x d] as batch = B x heads matrices
// (with grouped-query attention, heads / kv_heads query heads share one k and v).
struct MatmulDims {
  std::uint64_t batch = 1, m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = false;
};

// Convolution and pooling windows (NCHW). Output h_out x w_out derived by the builder.
struct ConvDims {
  std::uint64_t n = 0, c_in = 0, h_in = 0, w_in = 0, c_out = 0;
  std::uint64_t kh = 1, kw = 1, stride = 1, pad = 0;
  std::uint64_t h_out = 0, w_out = 0;
  // Grouped convolution: channels split into `groups` independent convolutions of
  // c_in/groups -> c_out/groups (depthwise: groups = c_in). Dilation spaces the window's
  // taps `dilation` apart (a window spans dilation*(k-1)+1 pixels).
  std::uint64_t groups = 1, dilation = 1;
};

struct GraphOp {
  std::string name;
  OpKind kind = OpKind::kAdd;
  OpRole role = OpRole::kForward;
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
  MatmulDims matmul;  // kMatmul, kAttention, kAttentionGrad
  ConvDims conv;      // convolutions and pooling
  // Element-wise and row-wise ops: rows x cols elements, row-wise ops reduce along cols.
  std::uint64_t rows = 0, cols = 0;
  std::uint64_t extra_flops_per_element = 0;  // optimizer: stochastic-rounding cost
  UnaryFn unary = UnaryFn::kNone;             // kUnary, kUnaryGrad: the function
  int layer = -1;               // repeated block index (transformer layer, ResNet block); -1 none
  bool attention_core = false;  // QK^T, softmax, AV: recomputed by "selective" recompute
  // Per output (parallel to `outputs`; missing = false): out += result instead of out =
  // result (gradient accumulation across micro-batches, fan-in of a gradient).
  std::vector<bool> accumulate;
  OpId forward_op = 0xffffffffu;  // backward and recompute ops: the forward op they derive from
  // Producer fusion (set after the step is built, workloads/training/fusion.h). A fused
  // element-wise op runs in the epilogue of the matmul that produces its input: it keeps
  // its FLOPs but has no kernel and no HBM traffic of its own. The producer lists its
  // epilogue ops in order and carries the whole group's HBM traffic.
  OpId fused_into = kNoOp;          // fused op: its producer
  bool fused_input_stored = false;  // fused op: its input is also written to HBM (read
                                    // by an op outside the group, e.g. saved for backward)
  std::vector<OpId> epilogue;       // producer: the ops fused into it, in order
  std::uint64_t fused_bytes_read = 0, fused_bytes_written = 0;  // producer: of the group
  // Filled by Graph::AddOp from the fields above.
  std::uint64_t flops = 0;         // all work, 2 per MAC plus per-element costs
  std::uint64_t matmul_flops = 0;  // the part done as multiply-accumulates (tensor engine)
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  bool is_matmul() const;  // matmul, convolutions and fused attention: tensor-engine work
  bool fused() const { return fused_into != kNoOp; }
  // HBM traffic as executed: the op's own bytes, its group's when it has an epilogue, 0
  // when it is fused into a producer.
  std::uint64_t hbm_bytes_read() const {
    return fused() ? 0 : epilogue.empty() ? bytes_read : fused_bytes_read;
  }
  std::uint64_t hbm_bytes_written() const {
    return fused() ? 0 : epilogue.empty() ? bytes_written : fused_bytes_written;
  }
  bool Accumulates(std::size_t output) const {
    return output < accumulate.size() && accumulate[output];
  }
};

// FLOPs per element of the element-wise / row-wise kinds (0 for matmul-like kinds): the
// op kinds table's (op_kinds.h).
std::uint64_t FlopsPerElement(OpKind kind);

class Graph {
 public:
  TensorId AddTensor(const std::string& name, std::vector<std::uint64_t> shape, Dtype dtype,
                     TensorKind kind, TensorId grad_of = kNoTensor);
  // Checks the op's tensors exist and fills flops / bytes. Returns its id.
  OpId AddOp(GraphOp op);

  const GraphTensor& tensor(TensorId id) const { return tensors_.at(id); }
  GraphTensor& mutable_tensor(TensorId id) { return tensors_.at(id); }
  const GraphOp& op(OpId id) const { return ops_.at(id); }
  // For passes over a built graph (fusion); must not change what AddOp derived.
  GraphOp& mutable_op(OpId id) { return ops_.at(id); }
  const std::vector<GraphTensor>& tensors() const { return tensors_; }
  const std::vector<GraphOp>& ops() const { return ops_; }

  // Elements of all kParameter tensors (a tied weight is one tensor, counted once).
  std::uint64_t ParameterCount() const;
  std::vector<TensorId> Parameters() const;
  // Sums over ops.
  std::uint64_t TotalFlops() const;
  std::uint64_t MatmulFlops() const;
  // The first `tensors` tensors and `ops` ops (a forward graph inside a training step).
  Graph Prefix(std::size_t tensors, std::size_t ops) const;  // without fusion marks

 private:
  std::vector<GraphTensor> tensors_;
  std::vector<GraphOp> ops_;
};

// Helpers that build forward ops with derived shapes; each returns the output tensor.
// Names are prefixes: the output tensor is "<name>.out".
class GraphBuilder {
 public:
  GraphBuilder(Graph& graph, Dtype dtype) : g_(graph), dtype_(dtype) {}
  Graph& graph() { return g_; }
  Dtype dtype() const { return dtype_; }
  void set_layer(int layer) { layer_ = layer; }

  TensorId Parameter(const std::string& name, std::vector<std::uint64_t> shape);
  TensorId Input(const std::string& name, std::vector<std::uint64_t> shape, Dtype dtype);
  // x [rows x k] (any leading dims) times weight [k x n] -> [rows x n].
  TensorId Linear(const std::string& name, TensorId x, TensorId weight);
  TensorId LinearTransposedWeight(const std::string& name, TensorId x, TensorId weight_nk);
  // Batched: a [batch, m, k] x b [batch, k, n] (or b^T given as [batch, n, k]).
  TensorId BatchedMatmul(const std::string& name, TensorId a, TensorId b, MatmulDims dims,
                         std::vector<std::uint64_t> out_shape, bool attention_core);
  TensorId BiasAdd(const std::string& name, TensorId x, TensorId bias);
  TensorId Add(const std::string& name, TensorId a, TensorId b);
  TensorId Mul(const std::string& name, TensorId a, TensorId b);
  TensorId Unary(const std::string& name, OpKind kind, TensorId x);  // relu, gelu, silu, rotary
  TensorId Swiglu(const std::string& name, TensorId gate, TensorId up);
  TensorId Softmax(const std::string& name, TensorId x, bool attention_core);
  TensorId LayerNorm(const std::string& name, TensorId x, TensorId gain, TensorId bias);
  TensorId RmsNorm(const std::string& name, TensorId x, TensorId gain);
  TensorId BatchNorm(const std::string& name, TensorId x, TensorId gain, TensorId bias);
  TensorId Embedding(const std::string& name, TensorId ids, TensorId table);
  // Returns the scalar loss.
  TensorId CrossEntropy(const std::string& name, TensorId logits, TensorId labels);
  // q [B, s, heads*d], k and v [B, s, kv_heads*d] -> [B, s, heads*d].
  TensorId FusedAttention(const std::string& name, TensorId q, TensorId k, TensorId v,
                          std::uint64_t heads);
  // x [N, C_in, H, W], weight [C_out, C_in/groups, kh, kw].
  TensorId Conv2d(const std::string& name, TensorId x, TensorId weight, std::uint64_t stride,
                  std::uint64_t pad, std::uint64_t groups = 1, std::uint64_t dilation = 1);
  TensorId MaxPool(const std::string& name, TensorId x, std::uint64_t kernel, std::uint64_t stride,
                   std::uint64_t pad);
  TensorId GlobalAvgPool(const std::string& name, TensorId x);  // [N,C,H,W] -> [N,C]

 private:
  TensorId NewActivation(const std::string& name, std::vector<std::uint64_t> shape, Dtype dtype);
  OpId Emit(GraphOp op);
  // An op over the rows x cols view of inputs[0] whose one output has inputs[0]'s shape.
  TensorId ElementwiseLike(const std::string& name, OpKind kind, std::vector<TensorId> inputs,
                           bool attention_core = false);

  Graph& g_;
  Dtype dtype_;
  int layer_ = -1;
};

// A forward graph of one micro-batch, ready to be trained (zoo builders, importers).
// Backward starts from each loss; parameters are the kParameter tensors.
struct ForwardGraph {
  Graph graph;
  std::vector<TensorId> losses;  // scalar outputs of kCrossEntropy ops
  Dtype compute_dtype = Dtype::kBf16;
  std::uint64_t samples = 0;  // per micro-batch
  std::uint64_t tokens = 0;   // per micro-batch (= samples when there is no sequence)
};

// rows x cols view of a tensor: cols = last dimension, rows = product of the others.
std::uint64_t Rows(const GraphTensor& t);
std::uint64_t Cols(const GraphTensor& t);
// The rows x cols views of ops whose view is not their tensor's (every graph builder and
// importer sets them here): batch norm of an NCHW x is channels x N*H*W (the statistics
// are row reductions); max pooling is one compare per window element of each output.
void SetBatchNormView(GraphOp& op, const std::vector<std::uint64_t>& x_shape);
void SetMaxPoolView(GraphOp& op);  // from op.conv
// A copy op's view (kConcat: its output; kSplit: the elements it writes, cols the greatest
// common divisor of the parts' last dimensions), from op.outputs.
void SetCopyView(GraphOp& op, const Graph& graph);

}  // namespace systole
