// ONNX ops on activations: the handler table (one registration per ONNX op type) and the
// handlers.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/import/onnx_importer.h"

namespace systole::onnx_importer {

// Element-wise functions of one activation (kUnary); Pow needs a constant exponent, Clip
// constant bounds. (Sigmoid read only by Mul with its input is silu, Erf and Tanh inside
// PyTorch's GELU expansions are gelu: see FindPatterns.)
const std::map<std::string, UnaryFn>& UnaryOps() {
  static const std::map<std::string, UnaryFn> ops = {
      {"Tanh", UnaryFn::kTanh},
      {"Sigmoid", UnaryFn::kSigmoid},
      {"Erf", UnaryFn::kErf},
      {"Exp", UnaryFn::kExp},
      {"Log", UnaryFn::kLog},
      {"Sqrt", UnaryFn::kSqrt},
      {"Reciprocal", UnaryFn::kReciprocal},
      {"Neg", UnaryFn::kNeg},
      {"Abs", UnaryFn::kAbs},
      {"Pow", UnaryFn::kPow},
      {"LeakyRelu", UnaryFn::kLeakyRelu},
      {"Clip", UnaryFn::kClip},
      {"Softplus", UnaryFn::kSoftplus},
      {"HardSigmoid", UnaryFn::kHardSigmoid},
      {"HardSwish", UnaryFn::kHardSwish},
      {"Elu", UnaryFn::kElu},
  };
  return ops;
}

// Every op type: those with a handler on activations and those folded on constants.
const std::set<std::string>& Importer::SupportedOps() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> s = FoldedOps();
    for (const auto& h : Handlers()) s.insert(h.first);
    return s;
  }();
  return ops;
}

// The handler of each ONNX op type on activations: one registration per op type (layout and
// element-wise unary ops through their lists). Patterns and constant folding come first
// (ImportNode).
const std::map<std::string, Importer::Handler>& Importer::Handlers() {
  static const std::map<std::string, Handler> table = [] {
    std::map<std::string, Handler> t = {
        {"MatMul", &Importer::MatMul},
        {"Gemm", &Importer::Gemm},
        {"Conv", &Importer::Conv},
        {"Add", &Importer::AddOrSub},
        {"Sub", &Importer::AddOrSub},
        {"Mul", &Importer::Mul},
        {"Div", &Importer::Div},
        {"Relu", &Importer::ReluOrGelu},
        {"Gelu", &Importer::ReluOrGelu},
        {"Softmax", &Importer::Softmax},
        {"LayerNormalization", &Importer::Normalization},
        {"BatchNormalization", &Importer::Normalization},
        {"Gather", &Importer::Gather},
        {"MaxPool", &Importer::Pool},
        {"AveragePool", &Importer::Pool},
        {"GlobalAveragePool", &Importer::GlobalAveragePool},
        {"SoftmaxCrossEntropyLoss", &Importer::SoftmaxCrossEntropyLoss},
        {"Concat", &Importer::Concat},
        {"Split", &Importer::Split},
        {"Expand", &Importer::ActivationView},
        {"Slice", &Importer::ActivationView},
        {"Where", &Importer::Mask},
    };
    for (const std::string& op : LayoutOps()) t.emplace(op, &Importer::Layout);
    for (const auto& u : UnaryOps()) t.emplace(u.first, &Importer::Unary);
    return t;
  }();
  return table;
}

void Importer::ImportNode(int index) {
  if (skip_.count(index)) return;
  const onnx::NodeProto& node = g_.node(index);
  const std::string& type = node.op_type();
  const std::string name = OpName(node, index);
  layer_ = LayerOf(node);
  // The last node of a pattern (onnx_patterns.cpp) imports the whole pattern.
  auto norm = norms_.find(index);
  if (norm != norms_.end()) {
    const NormPattern& p = norm->second;
    return Norm(node, name, true, p.x, p.gain, p.bias, p.axis);
  }
  auto split = splits_.find(index);
  if (split != splits_.end()) return SplitProjection(node, split->second);
  auto fused = fused_.find(index);
  if (fused != fused_.end()) {
    const Value x = Get(node, fused->second.second);
    Emit(node, Elementwise(name, fused->second.first, x.shape, {x.id}), x.shape, dtype_);
    return;
  }
  if (Folds(node)) return Fold(node);
  auto handler = Handlers().find(type);
  if (handler != Handlers().end()) return (this->*handler->second)(node, name, index);
  if (FoldedOps().count(type)) {
    Fail(node,
         "supported only in shape computations (on constants and tensor shapes), not on "
         "activations");
  }
  Fail(node, "unsupported op");  // CheckSupported lists these first
}

// Add / Sub / Mul / Div with at least one activation input.
void Importer::Binary(const onnx::NodeProto& node, const std::string& name, OpKind kind) {
  if (node.input_size() != 2) Fail(node, "expected two inputs");
  const bool c0 = IsConst(Input(node, 0)), c1 = IsConst(Input(node, 1));
  if (c0 || c1) {
    const Value x = Get(node, Input(node, c0 ? 1 : 0));
    const std::string& cname = Input(node, c0 ? 0 : 1);
    const Const& c = consts_.at(cname);
    const std::uint64_t n = Elements(c.dims);
    if (node.op_type() == "Div" && c0) Fail(node, "division of a constant by a tensor");
    if (x.scores && (c1 || node.op_type() == "Add" || node.op_type() == "Mul")) {
      // The 1/sqrt(d) scale or an additive mask of attention scores: part of the softmax
      // (kSoftmax fuses scale and causal mask, as in the zoo).
      values_[Output(node, 0)] = x;
      return;
    }
    if (n <= 1 || node.op_type() == "Div") {
      // Scaling / shifting by a constant: one element-wise op, the constant has no gradient;
      // part of the attention core when its input is.
      const Value k = Get(node, cname);
      GraphOp op = Elementwise(name, kind, x.shape, {x.id, k.id});
      op.attention_core = x.attention_core;
      Emit(node, op, x.shape, dtype_);
      return;
    }
    const Value w = Weight(node, cname);
    if (kind == OpKind::kAdd && n != Product(x.shape)) {
      Emit(node, Elementwise(name, OpKind::kBiasAdd, x.shape, {x.id, w.id}), x.shape, dtype_);
    } else {
      Emit(node, Elementwise(name, kind, x.shape, {x.id, w.id}), x.shape, dtype_);
    }
    return;
  }
  Value a = Get(node, Input(node, 0)), b = Get(node, Input(node, 1));
  if (node.op_type() == "Div") {
    // a / b = a x (1 / b): the reciprocal of the divisor (one scalar-engine op over b,
    // usually the smaller, broadcast operand, e.g. a row norm), then the product; the
    // gradients of a and b follow from those two ops.
    GraphOp r = Elementwise(name + ".reciprocal", OpKind::kUnary, b.shape, {b.id});
    r.unary = UnaryFn::kReciprocal;
    r.attention_core = b.attention_core;
    b = Emit(node, r, b.shape, dtype_);
  }
  if (Product(b.shape) > Product(a.shape)) std::swap(a, b);
  Emit(node, Elementwise(name, kind, a.shape, {a.id, b.id}), a.shape, dtype_);
}

// Layout ops on an activation: a new view of the same tensor.
void Importer::Layout(const onnx::NodeProto& node, const std::string&, int) {
  Value v = Get(node, Input(node, 0));
  const Shape out = LayoutShape(node, v.shape);
  const std::size_t r = out.size();
  if (node.op_type() == "Transpose") {
    const std::vector<std::int64_t> perm = Perm(node, v.shape.size());
    if (r >= 2 && perm[r - 1] < perm[r - 2]) v.transposed = !v.transposed;
  } else if (r < 2 || v.shape.size() < 2 || out[r - 1] != v.shape.back() ||
             out[r - 2] != v.shape[v.shape.size() - 2]) {
    v.transposed = false;
  }
  v.shape = out;
  values_[Output(node, 0)] = v;
}

// Expand or Slice of an activation: supported when it keeps every element (a view).
void Importer::ActivationView(const onnx::NodeProto& node, const std::string& name, int) {
  Value v = Get(node, Input(node, 0));
  Shape out;
  if (node.op_type() == "Expand") {
    Shape target;
    for (std::int64_t d : ConstInts(node, 1, "shape")) {
      target.push_back(d < 0 ? 0 : static_cast<std::uint64_t>(d));
    }
    out = Broadcast(node, v.shape, target);
  } else {
    out = SliceBox(node, v.shape).count;
  }
  if (Product(out) != Product(v.shape) && node.op_type() == "Slice") {
    // Drops elements: a copy of the kept ones.
    for (std::uint64_t d : out) {
      if (d == 0) Fail(node, fmt::format("the slice of [{}] is empty", fmt::join(v.shape, ",")));
    }
    return EmitSplit(node, name, v, {out});
  }
  if (Product(out) != Product(v.shape)) {
    Fail(node, fmt::format("{} of an activation from [{}] to [{}] is not supported (only as "
                           "a view that keeps every element)",
                           node.op_type(), fmt::join(v.shape, ","), fmt::join(out, ",")));
  }
  v.shape = out;
  values_[Output(node, 0)] = v;
}

// A kSplit copying parts of x to the node's outputs (`parts`: their shapes, in order).
void Importer::EmitSplit(const onnx::NodeProto& node, const std::string& name, const Value& x,
                         const std::vector<Shape>& parts) {
  StoreAsRead(node);
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kSplit;
  op.inputs = {x.id};
  const Dtype dtype = fg_.graph.tensor(x.id).dtype;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string out = parts.size() == 1 ? name + ".out" : fmt::format("{}.out{}", name, i);
    op.outputs.push_back(fg_.graph.AddTensor(out, parts[i], dtype, TensorKind::kActivation));
  }
  SetCopyView(op, fg_.graph);
  op.layer = layer_;
  op.role = OpRole::kForward;
  const std::vector<TensorId> outs = op.outputs;
  fg_.graph.AddOp(std::move(op));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    Value v;
    v.id = outs[i];
    v.shape = parts[i];
    values_[Output(node, static_cast<int>(i))] = v;
  }
}

// Split of an activation along any axis: a copy into the parts.
void Importer::Split(const onnx::NodeProto& node, const std::string& name, int) {
  const Value x = Get(node, Input(node, 0));
  if (node.output_size() < 1) Fail(node, "no outputs");
  const auto ax =
      static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), x.shape.size(), *this));
  std::vector<std::int64_t> sizes =
      HasInput(node, 1) ? ConstInts(node, 1, "split") : IntsAttr(node, "split", {});
  const auto parts = static_cast<std::uint64_t>(node.output_size());
  if (sizes.empty()) {  // equal parts, the last smaller when they do not divide (opset 18)
    const std::uint64_t each = (x.shape[ax] + parts - 1) / parts;
    for (std::uint64_t left = x.shape[ax]; left > 0; left -= std::min(left, each)) {
      sizes.push_back(static_cast<std::int64_t>(std::min(left, each)));
    }
  }
  std::int64_t total = 0;
  bool positive = true;
  for (std::int64_t n : sizes) {
    positive = positive && n > 0;
    total += n;
  }
  if (sizes.size() != parts || !positive || total != static_cast<std::int64_t>(x.shape[ax])) {
    Fail(node, fmt::format("split sizes [{}] do not cut axis {} of [{}] into {} non-empty parts",
                           fmt::join(sizes, ","), ax, fmt::join(x.shape, ","), parts));
  }
  std::vector<Shape> shapes;
  for (std::int64_t n : sizes) {
    Shape s = x.shape;
    s[ax] = static_cast<std::uint64_t>(n);
    shapes.push_back(s);
  }
  EmitSplit(node, name, x, shapes);
}

// Concat of activations (and constants) along any axis: a copy into one output. A float
// initializer input is a parameter (e.g. a learned token), other constants constant inputs.
void Importer::Concat(const onnx::NodeProto& node, const std::string& name, int) {
  std::vector<Value> parts;
  for (const std::string& in : node.input()) {
    if (in.empty()) continue;
    const bool c = IsConst(in) && values_.count(in) == 0;
    if (c && Elements(consts_.at(in).dims) == 0) continue;  // an empty input adds nothing
    parts.push_back(c ? Weight(node, in) : Get(node, in));
  }
  if (parts.empty()) Fail(node, "no non-empty inputs");
  bool has_axis = false;
  for (const onnx::AttributeProto& a : node.attribute()) has_axis = has_axis || a.name() == "axis";
  if (!has_axis) Fail(node, "missing attribute axis");
  const Shape& first = parts[0].shape;
  const auto ax =
      static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), first.size(), *this));
  Shape out = first;
  out[ax] = 0;
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kConcat;
  for (const Value& v : parts) {
    bool same = v.shape.size() == first.size();
    for (std::size_t d = 0; same && d < first.size(); ++d) same = d == ax || v.shape[d] == first[d];
    if (!same) {
      Fail(node, fmt::format("inputs [{}] and [{}] differ outside axis {}", fmt::join(first, ","),
                             fmt::join(v.shape, ","), ax));
    }
    out[ax] += v.shape[ax];
    op.inputs.push_back(v.id);
  }
  op.rows = ShapeRows(out);
  op.cols = ShapeCols(out);
  Emit(node, op, out, fg_.graph.tensor(parts[0].id).dtype);
}

// Gather of an activation with constant indices along any axis (PyTorch's x[:, 0]): a
// view when it keeps every element in order, else a copy of the picked elements.
void Importer::GatherActivation(const onnx::NodeProto& node, const std::string& name) {
  Value x = Get(node, Input(node, 0));
  if (node.input_size() != 2) Fail(node, "expected two inputs");
  const std::vector<std::int64_t>& idx = ConstInts(node, 1, "indices");
  const Shape idx_dims = consts_.at(Input(node, 1)).dims;
  const auto ax =
      static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), x.shape.size(), *this));
  const auto dim = static_cast<std::int64_t>(x.shape[ax]);
  bool in_order = static_cast<std::int64_t>(idx.size()) == dim;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    const std::int64_t k = idx[i] < 0 ? idx[i] + dim : idx[i];
    if (k < 0 || k >= dim) {
      Fail(node, fmt::format("index {} out of range for axis {} of [{}]", idx[i], ax,
                             fmt::join(x.shape, ",")));
    }
    in_order = in_order && k == static_cast<std::int64_t>(i);
  }
  if (idx.empty()) Fail(node, "no indices");
  Shape out(x.shape.begin(), x.shape.begin() + static_cast<std::ptrdiff_t>(ax));
  out.insert(out.end(), idx_dims.begin(), idx_dims.end());
  out.insert(out.end(), x.shape.begin() + static_cast<std::ptrdiff_t>(ax) + 1, x.shape.end());
  if (out.empty()) out.push_back(1);
  if (in_order) {  // every element, in order: a view
    x.shape = out;
    x.transposed = false;
    values_[Output(node, 0)] = x;
    return;
  }
  EmitSplit(node, name, x, {out});
}

// An element-wise function of one activation (UnaryOps).
void Importer::Unary(const onnx::NodeProto& node, const std::string& name, int) {
  const UnaryFn fn = UnaryOps().at(node.op_type());
  if (!HasInput(node, 0)) Fail(node, "missing input");
  const Value x = Get(node, Input(node, 0));
  if (fn == UnaryFn::kPow) {
    if (node.input_size() != 2 || !IsConst(Input(node, 1))) {
      Fail(node, "only a constant exponent is supported (not a power of two activations)");
    }
    const Shape e = DimsOf(node, Input(node, 1));
    if (Broadcast(node, x.shape, e) != x.shape) {
      Fail(node, fmt::format("exponent [{}] broadcasts the base [{}] to a larger shape",
                             fmt::join(e, ","), fmt::join(x.shape, ",")));
    }
  } else if (fn == UnaryFn::kClip) {
    for (int i = 1; i < node.input_size(); ++i) {
      if (HasInput(node, i) && !IsConst(Input(node, i))) {
        Fail(node, fmt::format("bound '{}' is an activation; only constant bounds are supported",
                               Input(node, i)));
      }
    }
  } else if (node.input_size() != 1) {
    Fail(node, fmt::format("expected one input, got {}", node.input_size()));
  }
  GraphOp op = Elementwise(name, OpKind::kUnary, x.shape, {x.id});
  op.unary = fn;
  op.attention_core = x.attention_core;
  Emit(node, op, x.shape, dtype_);
}

// Where(constant condition, scores, constant) in either order: the causal mask of attention
// scores, part of their softmax (kSoftmax fuses the mask, as in the zoo).
void Importer::Mask(const onnx::NodeProto& node, const std::string&, int) {
  if (node.input_size() != 3) Fail(node, "expected three inputs");
  const bool c1 = IsConst(Input(node, 1)), c2 = IsConst(Input(node, 2));
  if (!IsConst(Input(node, 0)) || c1 == c2) {
    Fail(node,
         "Where on activations is supported only as the mask of attention scores (a "
         "constant condition, the scores and a constant fill)");
  }
  const Value x = Get(node, Input(node, c1 ? 2 : 1));
  if (!x.scores) {
    Fail(node,
         "Where on activations is supported only as the mask of attention scores "
         "(QK^T) before their Softmax");
  }
  values_[Output(node, 0)] = x;
}

// LayerNorm (over the dims from `axis` on) or BatchNorm of x with gain and bias (none: a
// constant stand-in without gradient).
void Importer::Norm(const onnx::NodeProto& node, const std::string& name, bool ln,
                    const std::string& xn, const std::string& gain_name,
                    const std::string& bias_name, std::int64_t axis) {
  const Value x = Get(node, xn);
  const Value gain = Weight(node, gain_name);
  Value bias;
  if (!bias_name.empty()) {
    bias = Weight(node, bias_name);
  } else {
    bias.id = fg_.graph.AddTensor(name + ".no_bias", gain.shape, dtype_, TensorKind::kInput);
  }
  if (!ln && x.shape.size() < 2) Fail(node, "expected an NC... input");
  GraphOp op = Elementwise(name, ln ? OpKind::kLayerNorm : OpKind::kBatchNorm, x.shape,
                           {x.id, gain.id, bias.id});
  if (ln) {
    const auto ax = static_cast<std::size_t>(Axis(node, axis, x.shape.size(), *this));
    op.cols = Product(x.shape, ax);
    op.rows = Product(x.shape, 0, ax);
  } else {
    SetBatchNormView(op, x.shape);
  }
  const Shape stats = ln ? Shape{op.rows, 2} : Shape{x.shape[1], 2};
  Emit(node, op, x.shape, dtype_, {stats});
}

// A projection split into parts along its output features: one projection per part, each
// with its slice of the weight (and bias) as a parameter "<weight>#<part>".
void Importer::SplitProjection(const onnx::NodeProto& node, const SplitPattern& p) {
  const onnx::NodeProto& mm = g_.node(p.matmul);
  const Value x = Get(mm, Input(mm, 0));
  const Const& w = consts_.at(p.weight);
  if (w.dims.size() != 2 || w.transposed || x.shape.empty() || ShapeCols(x.shape) != w.dims[0]) {
    Fail(mm, "expected an activation times a 2-D [K, N] weight");
  }
  const std::int64_t axis = Axis(node, IntAttr(node, "axis", 0), x.shape.size(), *this);
  if (static_cast<std::size_t>(axis) + 1 != x.shape.size()) {
    Fail(node, "a projection can be split only along its output features (the last axis)");
  }
  std::vector<std::int64_t> sizes =
      HasInput(node, 1) ? ConstInts(node, 1, "split") : IntsAttr(node, "split", {});
  const auto parts = static_cast<std::uint64_t>(node.output_size());
  if (sizes.empty()) {
    if (parts == 0 || w.dims[1] % parts != 0) Fail(node, "the features do not split evenly");
    sizes.assign(parts, static_cast<std::int64_t>(w.dims[1] / parts));
  }
  std::uint64_t total = 0;
  for (std::int64_t n : sizes) total += n > 0 ? static_cast<std::uint64_t>(n) : 0;
  if (sizes.size() != parts || total != w.dims[1]) {
    Fail(node, fmt::format("split sizes [{}] do not cover the {} features", fmt::join(sizes, ","),
                           w.dims[1]));
  }
  std::vector<Value> outs;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto n = static_cast<std::uint64_t>(sizes[i]);
    const std::string part = fmt::format("{}#{}", p.weight, i);
    auto have = params_.find(part);
    const TensorId wid = have != params_.end() ? have->second : NewParam(part, {w.dims[0], n});
    GraphOp op;
    op.name = fmt::format("{}#{}", OpName(mm, p.matmul), i);
    op.kind = OpKind::kMatmul;
    op.matmul = {1, ShapeRows(x.shape), w.dims[0], n, false, false};
    op.inputs = {x.id, wid};
    Shape shape = x.shape;
    shape.back() = n;
    Value y = Emit(node, op, shape, dtype_);
    if (!p.bias.empty()) {
      const std::string bpart = fmt::format("{}#{}", p.bias, i);
      auto hb = params_.find(bpart);
      const TensorId bid = hb != params_.end() ? hb->second : NewParam(bpart, {n});
      y = Emit(node, Elementwise(op.name + ".bias_add", OpKind::kBiasAdd, shape, {y.id, bid}),
               shape, dtype_);
    }
    outs.push_back(y);
  }
  for (std::size_t i = 0; i < outs.size(); ++i)
    values_[Output(node, static_cast<int>(i))] = outs[i];
}

// MatMul: a linear layer (a 2-D constant B) or a batched matmul of activations.
void Importer::MatMul(const onnx::NodeProto& node, const std::string& name, int) {
  const Value a = Get(node, Input(node, 0));
  if (a.shape.size() < 2) Fail(node, "the first operand must have rank >= 2");
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMatmul;
  const Value b =
      IsConst(Input(node, 1)) ? Weight(node, Input(node, 1)) : Get(node, Input(node, 1));
  const bool weight = b.constant;
  op.inputs = {a.id, b.id};
  const std::uint64_t k = ShapeCols(a.shape);
  if (b.shape.size() < 2 || b.shape[b.shape.size() - 2] != k) {
    Fail(node, fmt::format("shapes do not chain: [{}] x [{}]", fmt::join(a.shape, ","),
                           fmt::join(b.shape, ",")));
  }
  const std::uint64_t n = b.shape.back();
  Shape out;
  if (b.shape.size() == 2) {
    // A linear layer; a weight used transposed (a tied LM head) is read as stored.
    op.matmul = {1, ShapeRows(a.shape), k, n, false, b.transposed};
    out = a.shape;
    out.back() = n;
    Emit(node, op, out, dtype_);
    return;
  }
  const Shape& batch_shape = a.shape.size() >= b.shape.size() ? a.shape : b.shape;
  const std::uint64_t batch = Product(batch_shape, 0, batch_shape.size() - 2);
  const std::uint64_t m = a.shape[a.shape.size() - 2];
  // Operands read through a transposing view (K^T) are transposed operands.
  op.matmul = {batch, m, k, n, a.transposed, b.transposed};
  op.attention_core = !weight;
  out.assign(batch_shape.begin(), batch_shape.end() - 2);
  out.push_back(m);
  out.push_back(n);
  const Value y = Emit(node, op, out, dtype_);
  if (!weight) {
    fresh_.insert(y.id);
    values_[Output(node, 0)].scores = !a.attention_core && !b.attention_core;
  }
}

void Importer::Gemm(const onnx::NodeProto& node, const std::string& name, int) {
  const Value a = Get(node, Input(node, 0));
  const Value b =
      IsConst(Input(node, 1)) ? Weight(node, Input(node, 1)) : Get(node, Input(node, 1));
  const bool ta = IntAttr(node, "transA", 0) != 0, tb = IntAttr(node, "transB", 0) != 0;
  if (a.shape.size() != 2 || b.shape.size() != 2) Fail(node, "Gemm operands must be 2-D");
  const std::uint64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  const std::uint64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (k != kb) Fail(node, fmt::format("shapes do not chain: K {} vs {}", k, kb));
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kMatmul;
  // alpha scales the product in the epilogue (free, like every constant scale); beta = 0
  // drops C. A transposed view (a Transpose before the Gemm) flips the flag.
  op.matmul = {1, m, k, n, ta != a.transposed, tb != b.transposed};
  op.inputs = {a.id, b.id};
  Value y = Emit(node, op, {m, n}, dtype_);
  if (HasInput(node, 2) && FloatAttr(node, "beta", 1.0) != 0.0) {
    const bool cc = IsConst(Input(node, 2));
    const Value c = cc ? Weight(node, Input(node, 2)) : Get(node, Input(node, 2));
    const OpKind kind =
        cc && Product(c.shape) != Product(y.shape) ? OpKind::kBiasAdd : OpKind::kAdd;
    Emit(node, Elementwise(name + ".bias_add", kind, y.shape, {y.id, c.id}), y.shape, dtype_);
  }
}

void Importer::Conv(const onnx::NodeProto& node, const std::string& name, int) {
  const std::int64_t group = IntAttr(node, "group", 1);
  const Value x = Get(node, Input(node, 0));
  if (!IsConst(Input(node, 1))) Fail(node, "the weight must be an initializer");
  const Value w = Weight(node, Input(node, 1));
  if (w.shape.size() != 4 || x.shape.size() != 4) {
    Fail(node, "expected NCHW input and [C_out, C_in/group, kh, kw] weight");
  }
  const auto groups = static_cast<std::uint64_t>(group);
  if (group < 1 || x.shape[1] % groups != 0 || w.shape[0] % groups != 0 ||
      w.shape[1] * groups != x.shape[1]) {
    Fail(node, fmt::format("attribute group={}: expected a group count dividing {} input and "
                           "{} output channels, with {} weight input channels per group",
                           group, x.shape[1], w.shape[0], w.shape[1]));
  }
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kConv2d;
  op.conv = Window(node, x.shape, w.shape[0], w.shape[2], w.shape[3]);
  op.conv.groups = groups;
  op.inputs = {x.id, w.id};
  const ConvDims& c = op.conv;
  Value y = Emit(node, op, {c.n, c.c_out, c.h_out, c.w_out}, dtype_);
  if (node.input_size() > 2 && !Input(node, 2).empty()) {
    const Value bias = Weight(node, Input(node, 2));
    Emit(node, Elementwise(name + ".bias_add", OpKind::kBiasAdd, y.shape, {y.id, bias.id}), y.shape,
         dtype_);
  }
}

void Importer::AddOrSub(const onnx::NodeProto& node, const std::string& name, int) {
  Binary(node, name, OpKind::kAdd);
}

void Importer::Div(const onnx::NodeProto& node, const std::string& name, int) {
  Binary(node, name, OpKind::kMul);
}

void Importer::Mul(const onnx::NodeProto& node, const std::string& name, int) {
  Binary(node, name, OpKind::kMul);
}

void Importer::ReluOrGelu(const onnx::NodeProto& node, const std::string& name, int) {
  const Value x = Get(node, Input(node, 0));
  const OpKind kind = node.op_type() == "Relu" ? OpKind::kRelu : OpKind::kGelu;
  Emit(node, Elementwise(name, kind, x.shape, {x.id}), x.shape, dtype_);
}

void Importer::Softmax(const onnx::NodeProto& node, const std::string& name, int) {
  const Value x = Get(node, Input(node, 0));
  GraphOp op = Elementwise(name, OpKind::kSoftmax, x.shape, {x.id});
  // Opset 13+: along `axis` (default last); before: over the dims from `axis` (default 1)
  // on, flattened. A row-wise op along any axis is rows x cols elements (the graph IR
  // ignores strides), cols being the reduced extent.
  const std::int64_t axis =
      Axis(node, IntAttr(node, "axis", opset_ < 13 ? 1 : -1), x.shape.size(), *this);
  const auto ax = static_cast<std::size_t>(axis);
  op.cols = opset_ < 13 ? Product(x.shape, ax) : x.shape[ax];
  op.rows = Product(x.shape) / op.cols;
  op.attention_core = x.attention_core;
  Emit(node, op, x.shape, dtype_);
}

void Importer::Normalization(const onnx::NodeProto& node, const std::string& name, int) {
  if (node.input_size() < 2) Fail(node, "missing scale");
  Norm(node, name, node.op_type() == "LayerNormalization", Input(node, 0), Input(node, 1),
       HasInput(node, 2) ? Input(node, 2) : "", IntAttr(node, "axis", -1));
}

// Gather: an embedding lookup in a float initializer table, or of an activation.
void Importer::Gather(const onnx::NodeProto& node, const std::string& name, int) {
  if (!IsConst(Input(node, 0))) return GatherActivation(node, name);
  // Ids may be an input, an activation or a constant (computed position ids).
  if (!IsConst(Input(node, 0)) || !consts_.at(Input(node, 0)).initializer) {
    Fail(node, "only a lookup in a float initializer table (an embedding) is supported");
  }
  const Value table = Weight(node, Input(node, 0));
  const Value ids = Get(node, Input(node, 1));
  if (table.shape.size() != 2 || IntAttr(node, "axis", 0) != 0) {
    Fail(node, "only a row lookup in a 2-D table is supported");
  }
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kEmbedding;
  op.rows = Product(ids.shape);
  op.cols = table.shape[1];
  op.inputs = {ids.id, table.id};
  Shape out = ids.shape;
  out.push_back(op.cols);
  Emit(node, op, out, dtype_);
}

void Importer::GlobalAveragePool(const onnx::NodeProto& node, const std::string& name, int) {
  const Value x = Get(node, Input(node, 0));
  if (x.shape.size() != 4) Fail(node, "expected an NCHW input");
  GraphOp op;
  op.name = name;
  op.inputs = {x.id};
  op.kind = OpKind::kAvgPool;
  ConvDims& c = op.conv;
  c.n = x.shape[0];
  c.c_in = c.c_out = x.shape[1];
  c.h_in = c.kh = x.shape[2];
  c.w_in = c.kw = x.shape[3];
  c.h_out = c.w_out = 1;
  op.rows = c.n * c.c_in;
  op.cols = c.h_in * c.w_in;
  Emit(node, op, {c.n, c.c_out}, dtype_);
  values_[Output(node, 0)].shape = {c.n, c.c_out, 1, 1};  // ONNX keeps the H, W dims
}

// MaxPool / AveragePool over square windows.
void Importer::Pool(const onnx::NodeProto& node, const std::string& name, int) {
  const Value x = Get(node, Input(node, 0));
  if (x.shape.size() != 4) Fail(node, "expected an NCHW input");
  GraphOp op;
  op.name = name;
  op.inputs = {x.id};
  const std::vector<std::int64_t> k = IntsAttr(node, "kernel_shape", {});
  if (k.size() != 2 || k[0] < 1 || k[1] < 1) Fail(node, "expected a 2-D kernel_shape");
  if (k[0] != k[1]) Fail(node, "only square pooling windows are supported");
  op.kind = node.op_type() == "MaxPool" ? OpKind::kMaxPool : OpKind::kAvgPool;
  op.conv = Window(node, x.shape, x.shape[1], static_cast<std::uint64_t>(k[0]),
                   static_cast<std::uint64_t>(k[1]));
  const ConvDims& c = op.conv;
  if (op.kind == OpKind::kAvgPool) {
    op.rows = c.n * c.c_in * c.h_out * c.w_out;  // one window sum per output
    op.cols = c.kh * c.kw;
  } else {
    SetMaxPoolView(op);
  }
  Emit(node, op, {c.n, c.c_out, c.h_out, c.w_out}, dtype_);
}

void Importer::SoftmaxCrossEntropyLoss(const onnx::NodeProto& node, const std::string& name, int) {
  const Value logits = Get(node, Input(node, 0));
  const Value labels = Get(node, Input(node, 1));
  // ONNX scores are [N, C, d...]; the class axis is the second.
  GraphOp op;
  op.name = name;
  op.kind = OpKind::kCrossEntropy;
  op.cols = logits.shape.size() >= 2 ? logits.shape[1] : ShapeCols(logits.shape);
  op.rows = Product(logits.shape) / op.cols;
  op.inputs = {logits.id, labels.id};
  const Value loss = Emit(node, op, {1}, Dtype::kFp32, {{op.rows}}, ".lse");
  fg_.losses.push_back(loss.id);
}
}  // namespace systole::onnx_importer
