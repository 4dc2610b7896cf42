#include "workloads/graph/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include <stdexcept>

#include "base/checked_math.h"
#include "workloads/graph/op_kinds.h"

namespace systole {

const char* TensorKindName(TensorKind kind) {
  switch (kind) {
    case TensorKind::kInput:
      return "input";
    case TensorKind::kParameter:
      return "parameter";
    case TensorKind::kActivation:
      return "activation";
    case TensorKind::kGradient:
      return "gradient";
    case TensorKind::kParamGradient:
      return "param_gradient";
    case TensorKind::kMasterWeight:
      return "master_weight";
    case TensorKind::kOptimizerState:
      return "optimizer_state";
  }
  return "?";
}

const char* OpKindName(OpKind kind) { return OpInfo(kind).name; }

const char* OpRoleName(OpRole role) {
  switch (role) {
    case OpRole::kForward:
      return "forward";
    case OpRole::kRecompute:
      return "recompute";
    case OpRole::kInputGrad:
      return "input_grad";
    case OpRole::kWeightGrad:
      return "weight_grad";
    case OpRole::kOptimizer:
      return "optimizer";
  }
  return "?";
}

std::uint64_t FlopsPerElement(OpKind kind) { return OpInfo(kind).flops_per_element; }

const char* UnaryFnName(UnaryFn fn) {
  switch (fn) {
    case UnaryFn::kNone:
      return "none";
    case UnaryFn::kTanh:
      return "tanh";
    case UnaryFn::kSigmoid:
      return "sigmoid";
    case UnaryFn::kErf:
      return "erf";
    case UnaryFn::kExp:
      return "exp";
    case UnaryFn::kLog:
      return "log";
    case UnaryFn::kSqrt:
      return "sqrt";
    case UnaryFn::kReciprocal:
      return "reciprocal";
    case UnaryFn::kNeg:
      return "neg";
    case UnaryFn::kAbs:
      return "abs";
    case UnaryFn::kPow:
      return "pow";
    case UnaryFn::kLeakyRelu:
      return "leaky_relu";
    case UnaryFn::kClip:
      return "clip";
    case UnaryFn::kSoftplus:
      return "softplus";
    case UnaryFn::kHardSigmoid:
      return "hard_sigmoid";
    case UnaryFn::kHardSwish:
      return "hard_swish";
    case UnaryFn::kElu:
      return "elu";
  }
  return "?";
}

namespace {

struct UnaryCost {
  std::uint64_t flops, grad_flops;
  bool transcendental, grad_transcendental;
  UnarySaved saved;
};

UnaryCost Cost(UnaryFn fn) {
  switch (fn) {
    case UnaryFn::kNone:
      break;
    case UnaryFn::kTanh:  // tanh 1; dy * (1 - y^2): square, subtract, multiply
      return {1, 3, true, false, UnarySaved::kOutput};
    case UnaryFn::kSigmoid:  // exp, add, divide; dy * y * (1 - y): subtract, 2 multiplies
      return {3, 3, true, false, UnarySaved::kOutput};
    case UnaryFn::kErf:  // erf 1; dy * 2/sqrt(pi) * exp(-x^2): square, exp, scale, multiply
      return {1, 4, true, true, UnarySaved::kInput};
    case UnaryFn::kExp:  // exp 1; dy * y
      return {1, 1, true, false, UnarySaved::kOutput};
    case UnaryFn::kLog:  // log 1; dy / x
      return {1, 1, true, false, UnarySaved::kInput};
    case UnaryFn::kSqrt:  // sqrt 1; dy * 0.5 / y: divide, scale
      return {1, 2, true, false, UnarySaved::kOutput};
    case UnaryFn::kReciprocal:  // divide 1; -dy * y^2: square, multiply
      return {1, 2, false, false, UnarySaved::kOutput};
    case UnaryFn::kNeg:  // negate 1; -dy 1
      return {1, 1, false, false, UnarySaved::kNothing};
    case UnaryFn::kAbs:  // abs 1; dy * sign(x): sign, multiply
      return {1, 2, false, false, UnarySaved::kInput};
    case UnaryFn::kPow:  // exp(p * log x) 3; dy * p * x^(p-1): log, multiply, exp, 2 multiplies
      return {3, 5, true, true, UnarySaved::kInput};
    case UnaryFn::kLeakyRelu:  // multiply, select; dy or a * dy: multiply, select
      return {2, 2, false, false, UnarySaved::kInput};
    case UnaryFn::kClip:  // max, min; dy where lo < x < hi: 2 compares, select
      return {2, 3, false, false, UnarySaved::kInput};
    case UnaryFn::kSoftplus:  // log(1 + exp(x)): exp, add, log; dy * sigmoid(x): 3 + 1
      return {3, 4, true, true, UnarySaved::kInput};
    case UnaryFn::kHardSigmoid:  // a*x + b, max, min; recompute a*x + b 2, 2 compares, select a*dy
      return {4, 5, false, false, UnarySaved::kInput};
    case UnaryFn::kHardSwish:  // x * hard_sigmoid(x) 4 + 1; 2 compares, (2x + 3) / 6 2, select,
                               // multiply
      return {5, 6, false, false, UnarySaved::kInput};
    case UnaryFn::kElu:  // x > 0 ? x : a * (exp(x) - 1): exp, subtract, multiply, select;
                         // dy or dy * (y + a): add, multiply, select
      return {4, 3, true, false, UnarySaved::kOutput};
  }
  throw std::logic_error("unary op without a function");
}

}  // namespace

std::uint64_t UnaryFlopsPerElement(UnaryFn fn, bool grad) {
  const UnaryCost c = Cost(fn);
  return grad ? c.grad_flops : c.flops;
}

bool UnaryTranscendental(UnaryFn fn, bool grad) {
  const UnaryCost c = Cost(fn);
  return grad ? c.grad_transcendental : c.transcendental;
}

UnarySaved UnaryGradSaves(UnaryFn fn) { return Cost(fn).saved; }

bool GraphOp::is_matmul() const { return OpInfo(kind).tensor_engine; }

std::uint64_t GraphTensor::elements() const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n = CheckedMul(n, d, "tensor elements");
  return n;
}

std::uint64_t GraphTensor::bytes() const {
  return CheckedMul(elements(), DtypeBytes(dtype), "tensor bytes");
}

std::uint64_t Rows(const GraphTensor& t) {
  std::uint64_t n = 1;
  for (std::size_t i = 0; i + 1 < t.shape.size(); ++i) n = CheckedMul(n, t.shape[i], "rows");
  return n;
}

std::uint64_t Cols(const GraphTensor& t) { return t.shape.empty() ? 1 : t.shape.back(); }

void SetBatchNormView(GraphOp& op, const std::vector<std::uint64_t>& x_shape) {
  GraphTensor x;
  x.shape = x_shape;
  if (x_shape.size() == 4) {
    op.rows = x_shape[1];
    op.cols = CheckedMul(x_shape[0], x_shape[2] * x_shape[3], "batch norm cols");
  } else {
    op.rows = Rows(x);
    op.cols = Cols(x);
  }
}

void SetMaxPoolView(GraphOp& op) {
  const ConvDims& c = op.conv;
  op.rows = CheckedMul(c.n * c.c_out, c.h_out, "pooling rows");
  op.cols = CheckedMul(c.w_out, c.kh * c.kw, "pooling cols");
}

void SetCopyView(GraphOp& op, const Graph& graph) {
  if (op.kind == OpKind::kConcat) {
    op.rows = Rows(graph.tensor(op.outputs.at(0)));
    op.cols = Cols(graph.tensor(op.outputs.at(0)));
    return;
  }
  std::uint64_t cols = 0, elements = 0;
  for (TensorId t : op.outputs) {
    cols = std::gcd(cols, Cols(graph.tensor(t)));
    elements = CheckedAdd(elements, graph.tensor(t).elements(), "copy elements");
  }
  op.cols = std::max<std::uint64_t>(1, cols);
  op.rows = elements / op.cols;
}

TensorId Graph::AddTensor(const std::string& name, std::vector<std::uint64_t> shape, Dtype dtype,
                          TensorKind kind, TensorId grad_of) {
  for (std::uint64_t d : shape) {
    if (d == 0) throw InputError(fmt::format("tensor '{}' has a zero dimension", name));
  }
  GraphTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.kind = kind;
  t.grad_of = grad_of;
  t.bytes();  // overflow check now, not at first use
  tensors_.push_back(std::move(t));
  return static_cast<TensorId>(tensors_.size() - 1);
}

namespace {

std::uint64_t Mul3(std::uint64_t a, std::uint64_t b, std::uint64_t c, const char* what) {
  return CheckedMul(CheckedMul(a, b, what), c, what);
}

// MACs of a convolution window sweep: N x Ho x Wo x Co x (Ci / groups) x kh x kw.
std::uint64_t ConvMacs(const ConvDims& c) {
  const std::uint64_t out = Mul3(c.n, c.h_out, c.w_out, "convolution MACs");
  return CheckedMul(
      Mul3(out, c.c_out, c.c_in / std::max<std::uint64_t>(1, c.groups), "convolution MACs"),
      c.kh * c.kw, "convolution MACs");
}

}  // namespace

OpId Graph::AddOp(GraphOp op) {
  for (TensorId id : op.inputs) {
    if (id >= tensors_.size()) throw std::logic_error("op '" + op.name + "': bad input tensor");
  }
  for (TensorId id : op.outputs) {
    if (id >= tensors_.size()) throw std::logic_error("op '" + op.name + "': bad output tensor");
  }
  const char* what = "op FLOPs";
  const std::uint64_t elements = CheckedMul(op.rows, op.cols, what);
  switch (op.kind) {
    case OpKind::kMatmul: {
      const MatmulDims& d = op.matmul;
      op.matmul_flops = CheckedMul(2, CheckedMul(Mul3(d.batch, d.m, d.k, what), d.n, what), what);
      op.flops = op.matmul_flops;
      break;
    }
    case OpKind::kConv2d:
    case OpKind::kConv2dGradInput:
    case OpKind::kConv2dGradWeight:
      op.matmul_flops = CheckedMul(2, ConvMacs(op.conv), what);
      op.flops = op.matmul_flops;
      break;
    case OpKind::kAttention: {
      // QK^T and PV: 2 x (2 x batch x s x d x s); softmax 5 per score.
      const MatmulDims& d = op.matmul;
      const std::uint64_t scores = Mul3(d.batch, d.m, d.n, what);
      op.matmul_flops = CheckedMul(4, CheckedMul(scores, d.k, what), what);
      op.flops = CheckedAdd(op.matmul_flops,
                            CheckedMul(FlopsPerElement(OpKind::kSoftmax), scores, what), what);
      break;
    }
    case OpKind::kAttentionGrad: {
      // FlashAttention-2 backward: recompute S = QK^T, then dV, dP, dQ, dK: 5 matmuls of
      // 2 x batch x s x d x s; recomputed softmax 5 + its gradient 4 per score.
      const MatmulDims& d = op.matmul;
      const std::uint64_t scores = Mul3(d.batch, d.m, d.n, what);
      op.matmul_flops = CheckedMul(10, CheckedMul(scores, d.k, what), what);
      op.flops = CheckedAdd(op.matmul_flops, CheckedMul(9, scores, what), what);
      break;
    }
    case OpKind::kUnary:
    case OpKind::kUnaryGrad:
      op.flops =
          CheckedMul(elements, UnaryFlopsPerElement(op.unary, op.kind == OpKind::kUnaryGrad), what);
      break;
    case OpKind::kMaxPool:
      // One compare per window element per output.
      op.flops = CheckedMul(Mul3(op.conv.n, op.conv.c_out, op.conv.h_out * op.conv.w_out, what),
                            op.conv.kh * op.conv.kw, what);
      break;
    default:
      op.flops = CheckedMul(elements, FlopsPerElement(op.kind) + op.extra_flops_per_element, what);
      break;
  }
  // Bytes: inputs read once, outputs written once (accumulating outputs also read).
  std::uint64_t read = 0, written = 0;
  for (TensorId id : op.inputs) read = CheckedAdd(read, tensors_[id].bytes(), "op bytes");
  for (TensorId id : op.outputs) written = CheckedAdd(written, tensors_[id].bytes(), "op bytes");
  if (op.kind == OpKind::kEmbedding) {
    // Gather: ids + the gathered rows, not the whole table.
    const GraphTensor& table = tensors_[op.inputs[1]];
    read = CheckedAdd(tensors_[op.inputs[0]].bytes(),
                      CheckedMul(elements, DtypeBytes(table.dtype), "op bytes"), "op bytes");
  } else if (op.kind == OpKind::kEmbeddingGrad) {
    // Scatter-add: ids + dy read, the touched rows of the table gradient read and written.
    const GraphTensor& dtable = tensors_[op.outputs[0]];
    const std::uint64_t rows_bytes = CheckedMul(elements, DtypeBytes(dtable.dtype), "op bytes");
    read = CheckedAdd(read, rows_bytes, "op bytes");
    written = rows_bytes;
  } else {
    // A split reads only the parts of its input it writes.
    if (op.kind == OpKind::kSplit) read = written;
    for (std::size_t i = 0; i < op.outputs.size(); ++i) {
      if (op.Accumulates(i)) read = CheckedAdd(read, tensors_[op.outputs[i]].bytes(), "op bytes");
    }
  }
  op.bytes_read = read;
  op.bytes_written = written;
  ops_.push_back(std::move(op));
  return static_cast<OpId>(ops_.size() - 1);
}

std::uint64_t Graph::ParameterCount() const {
  std::uint64_t n = 0;
  for (const GraphTensor& t : tensors_) {
    if (t.kind == TensorKind::kParameter) n = CheckedAdd(n, t.elements(), "parameter count");
  }
  return n;
}

std::vector<TensorId> Graph::Parameters() const {
  std::vector<TensorId> out;
  for (TensorId i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].kind == TensorKind::kParameter) out.push_back(i);
  }
  return out;
}

std::uint64_t Graph::TotalFlops() const {
  std::uint64_t n = 0;
  for (const GraphOp& op : ops_) n = CheckedAdd(n, op.flops, "graph FLOPs");
  return n;
}

std::uint64_t Graph::MatmulFlops() const {
  std::uint64_t n = 0;
  for (const GraphOp& op : ops_) n = CheckedAdd(n, op.matmul_flops, "graph FLOPs");
  return n;
}

Graph Graph::Prefix(std::size_t tensors, std::size_t ops) const {
  Graph g;
  g.tensors_.assign(tensors_.begin(), tensors_.begin() + static_cast<std::ptrdiff_t>(tensors));
  g.ops_.assign(ops_.begin(), ops_.begin() + static_cast<std::ptrdiff_t>(ops));
  for (GraphOp& op : g.ops_) {  // fusion belongs to a step, not to its forward graph
    op.fused_into = kNoOp;
    op.fused_input_stored = false;
    op.epilogue.clear();
    op.fused_bytes_read = op.fused_bytes_written = 0;
  }
  return g;
}

// ---------------------------------------------------------------------------------------
// GraphBuilder

TensorId GraphBuilder::NewActivation(const std::string& name, std::vector<std::uint64_t> shape,
                                     Dtype dtype) {
  return g_.AddTensor(name, std::move(shape), dtype, TensorKind::kActivation);
}

OpId GraphBuilder::Emit(GraphOp op) {
  op.layer = layer_;
  op.role = OpRole::kForward;
  return g_.AddOp(std::move(op));
}

TensorId GraphBuilder::Parameter(const std::string& name, std::vector<std::uint64_t> shape) {
  return g_.AddTensor(name, std::move(shape), dtype_, TensorKind::kParameter);
}

TensorId GraphBuilder::Input(const std::string& name, std::vector<std::uint64_t> shape,
                             Dtype dtype) {
  return g_.AddTensor(name, std::move(shape), dtype, TensorKind::kInput);
}

TensorId GraphBuilder::Linear(const std::string& name, TensorId x, TensorId weight) {
  const GraphTensor& xt = g_.tensor(x);
  const GraphTensor& wt = g_.tensor(weight);
  if (wt.shape.size() != 2 || Cols(xt) != wt.shape[0]) {
    throw std::logic_error("Linear '" + name + "': shapes do not chain");
  }
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMatmul;
  op.matmul = {1, Rows(xt), wt.shape[0], wt.shape[1], false, false};
  std::vector<std::uint64_t> shape = xt.shape;
  shape.back() = wt.shape[1];
  op.inputs = {x, weight};
  op.outputs = {NewActivation(name + ".out", shape, dtype_)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::LinearTransposedWeight(const std::string& name, TensorId x,
                                              TensorId weight_nk) {
  const GraphTensor& xt = g_.tensor(x);
  const GraphTensor& wt = g_.tensor(weight_nk);
  if (wt.shape.size() != 2 || Cols(xt) != wt.shape[1]) {
    throw std::logic_error("LinearTransposedWeight '" + name + "': shapes do not chain");
  }
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMatmul;
  op.matmul = {1, Rows(xt), wt.shape[1], wt.shape[0], false, true};
  std::vector<std::uint64_t> shape = xt.shape;
  shape.back() = wt.shape[0];
  op.inputs = {x, weight_nk};
  op.outputs = {NewActivation(name + ".out", shape, dtype_)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::BatchedMatmul(const std::string& name, TensorId a, TensorId b,
                                     MatmulDims dims, std::vector<std::uint64_t> out_shape,
                                     bool attention_core) {
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMatmul;
  op.matmul = dims;
  op.attention_core = attention_core;
  op.inputs = {a, b};
  op.outputs = {NewActivation(name + ".out", std::move(out_shape), dtype_)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::ElementwiseLike(const std::string& name, OpKind kind,
                                       std::vector<TensorId> inputs, bool attention_core) {
  const GraphTensor xt = g_.tensor(inputs.at(0));
  GraphOp op;
  op.name = name;
  op.kind = kind;
  op.attention_core = attention_core;
  op.rows = Rows(xt);
  op.cols = Cols(xt);
  op.inputs = std::move(inputs);
  op.outputs = {NewActivation(name + ".out", xt.shape, xt.dtype)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::BiasAdd(const std::string& name, TensorId x, TensorId bias) {
  return ElementwiseLike(name, OpKind::kBiasAdd, {x, bias});
}

TensorId GraphBuilder::Add(const std::string& name, TensorId a, TensorId b) {
  return ElementwiseLike(name, OpKind::kAdd, {a, b});
}

TensorId GraphBuilder::Mul(const std::string& name, TensorId a, TensorId b) {
  return ElementwiseLike(name, OpKind::kMul, {a, b});
}

TensorId GraphBuilder::Unary(const std::string& name, OpKind kind, TensorId x) {
  return ElementwiseLike(name, kind, {x});
}

TensorId GraphBuilder::Swiglu(const std::string& name, TensorId gate, TensorId up) {
  return ElementwiseLike(name, OpKind::kSwiglu, {gate, up});
}

TensorId GraphBuilder::Softmax(const std::string& name, TensorId x, bool attention_core) {
  return ElementwiseLike(name, OpKind::kSoftmax, {x}, attention_core);
}

TensorId GraphBuilder::LayerNorm(const std::string& name, TensorId x, TensorId gain,
                                 TensorId bias) {
  const GraphTensor xt = g_.tensor(x);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kLayerNorm;
  op.rows = Rows(xt);
  op.cols = Cols(xt);
  op.inputs = {x, gain, bias};
  // Stats: mean and 1/stddev per row, fp32.
  op.outputs = {NewActivation(name + ".out", xt.shape, xt.dtype),
                NewActivation(name + ".stats", {op.rows, 2}, Dtype::kFp32)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::RmsNorm(const std::string& name, TensorId x, TensorId gain) {
  const GraphTensor xt = g_.tensor(x);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kRmsNorm;
  op.rows = Rows(xt);
  op.cols = Cols(xt);
  op.inputs = {x, gain};
  // Stats: 1/rms per row, fp32.
  op.outputs = {NewActivation(name + ".out", xt.shape, xt.dtype),
                NewActivation(name + ".stats", {op.rows}, Dtype::kFp32)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::BatchNorm(const std::string& name, TensorId x, TensorId gain,
                                 TensorId bias) {
  const GraphTensor xt = g_.tensor(x);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kBatchNorm;
  SetBatchNormView(op, xt.shape);
  op.inputs = {x, gain, bias};
  // Stats: mean and 1/stddev per channel, fp32.
  op.outputs = {NewActivation(name + ".out", xt.shape, xt.dtype),
                NewActivation(name + ".stats", {xt.shape.at(1), 2}, Dtype::kFp32)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::Embedding(const std::string& name, TensorId ids, TensorId table) {
  const GraphTensor it = g_.tensor(ids);
  const GraphTensor tt = g_.tensor(table);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kEmbedding;
  op.rows = it.elements();
  op.cols = Cols(tt);
  std::vector<std::uint64_t> shape = it.shape;
  shape.push_back(op.cols);
  op.inputs = {ids, table};
  op.outputs = {NewActivation(name + ".out", shape, tt.dtype)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::CrossEntropy(const std::string& name, TensorId logits, TensorId labels) {
  const GraphTensor lt = g_.tensor(logits);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kCrossEntropy;
  op.rows = Rows(lt);
  op.cols = Cols(lt);
  op.inputs = {logits, labels};
  op.outputs = {NewActivation(name + ".loss", {1}, Dtype::kFp32),
                NewActivation(name + ".lse", {op.rows}, Dtype::kFp32)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::FusedAttention(const std::string& name, TensorId q, TensorId k, TensorId v,
                                      std::uint64_t heads) {
  const GraphTensor qt = g_.tensor(q);
  if (qt.shape.size() != 3 || Cols(qt) % heads != 0) {
    throw std::logic_error("FusedAttention: q must be [B, s, heads * d]");
  }
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kAttention;
  op.attention_core = true;
  const std::uint64_t b = qt.shape[0], s = qt.shape[1], d = Cols(qt) / heads;
  op.matmul = {b * heads, s, d, s, false, true};
  op.inputs = {q, k, v};
  op.outputs = {NewActivation(name + ".out", qt.shape, qt.dtype),
                NewActivation(name + ".lse", {b, heads, s}, Dtype::kFp32)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::Conv2d(const std::string& name, TensorId x, TensorId weight,
                              std::uint64_t stride, std::uint64_t pad, std::uint64_t groups,
                              std::uint64_t dilation) {
  const GraphTensor xt = g_.tensor(x);
  const GraphTensor wt = g_.tensor(weight);
  ConvDims c;
  c.n = xt.shape.at(0);
  c.c_in = xt.shape.at(1);
  c.h_in = xt.shape.at(2);
  c.w_in = xt.shape.at(3);
  c.c_out = wt.shape.at(0);
  c.kh = wt.shape.at(2);
  c.kw = wt.shape.at(3);
  c.stride = stride;
  c.pad = pad;
  c.groups = groups;
  c.dilation = dilation;
  if (groups < 1 || dilation < 1 || stride < 1) {
    throw InputError(
        fmt::format("convolution '{}': stride {}, groups {} and dilation {} must all be at least 1",
                    name, stride, groups, dilation));
  }
  if (c.c_in % groups != 0 || c.c_out % groups != 0) {
    throw InputError(
        fmt::format("convolution '{}': groups={} must divide {} input and {} output "
                    "channels",
                    name, groups, c.c_in, c.c_out));
  }
  if (wt.shape.at(1) * groups != c.c_in) {
    throw InputError(
        fmt::format("convolution '{}': weight has {} input channels per group, "
                    "expected {} / {} groups",
                    name, wt.shape.at(1), c.c_in, groups));
  }
  const std::uint64_t span_h = dilation * (c.kh - 1) + 1, span_w = dilation * (c.kw - 1) + 1;
  if (c.h_in + 2 * pad < span_h || c.w_in + 2 * pad < span_w) {
    throw InputError(fmt::format("convolution '{}': a {}x{} window does not fit a {}x{} input",
                                 name, span_h, span_w, c.h_in, c.w_in));
  }
  c.h_out = (c.h_in + 2 * pad - span_h) / stride + 1;
  c.w_out = (c.w_in + 2 * pad - span_w) / stride + 1;
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kConv2d;
  op.conv = c;
  op.inputs = {x, weight};
  op.outputs = {NewActivation(name + ".out", {c.n, c.c_out, c.h_out, c.w_out}, xt.dtype)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::MaxPool(const std::string& name, TensorId x, std::uint64_t kernel,
                               std::uint64_t stride, std::uint64_t pad) {
  const GraphTensor xt = g_.tensor(x);
  ConvDims c;
  c.n = xt.shape.at(0);
  c.c_in = c.c_out = xt.shape.at(1);
  c.h_in = xt.shape.at(2);
  c.w_in = xt.shape.at(3);
  c.kh = c.kw = kernel;
  c.stride = stride;
  c.pad = pad;
  if (c.h_in + 2 * pad < kernel || c.w_in + 2 * pad < kernel) {
    throw InputError(fmt::format("pooling '{}': a {}x{} window does not fit a {}x{} input", name,
                                 kernel, kernel, c.h_in, c.w_in));
  }
  c.h_out = (c.h_in + 2 * pad - kernel) / stride + 1;
  c.w_out = (c.w_in + 2 * pad - kernel) / stride + 1;
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMaxPool;
  op.conv = c;
  SetMaxPoolView(op);
  op.inputs = {x};
  op.outputs = {NewActivation(name + ".out", {c.n, c.c_out, c.h_out, c.w_out}, xt.dtype)};
  Emit(op);
  return op.outputs[0];
}

TensorId GraphBuilder::GlobalAvgPool(const std::string& name, TensorId x) {
  const GraphTensor xt = g_.tensor(x);
  ConvDims c;
  c.n = xt.shape.at(0);
  c.c_in = c.c_out = xt.shape.at(1);
  c.h_in = c.kh = xt.shape.at(2);
  c.w_in = c.kw = xt.shape.at(3);
  c.h_out = c.w_out = 1;
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kAvgPool;
  op.conv = c;
  op.rows = c.n * c.c_in;  // one sum over H*W per (n, c)
  op.cols = c.h_in * c.w_in;
  op.inputs = {x};
  op.outputs = {NewActivation(name + ".out", {c.n, c.c_out}, xt.dtype)};
  Emit(op);
  return op.outputs[0];
}

}  // namespace systole
