#include "workloads/import/onnx_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/common/checked_math.h"
#include "sim/common/error.h"

namespace systole {

namespace {

constexpr Dtype kIdDtype = Dtype::kFp32;  // 4-byte integer ids and labels, as in the zoo

using Shape = std::vector<std::uint64_t>;

std::uint64_t Product(const Shape& s, std::size_t from = 0, std::size_t to = ~std::size_t{0}) {
  std::uint64_t p = 1;
  for (std::size_t i = from; i < s.size() && i < to; ++i) p = CheckedMul(p, s[i], "ONNX shape");
  return p;
}
std::uint64_t ShapeCols(const Shape& s) { return s.empty() ? 1 : s.back(); }
std::uint64_t ShapeRows(const Shape& s) { return s.empty() ? 1 : Product(s, 0, s.size() - 1); }

// An activation or input of the graph as ONNX sees it: the Systole tensor and its view
// shape (layout ops change the view, never the tensor).
struct Value {
  TensorId id = kNoTensor;
  Shape shape;
  bool attention_core = false;  // produced by an activation x activation matmul
};

// An initializer or Constant (possibly through layout ops): its source and view dims.
struct Const {
  std::string source;  // initializer / constant name (the parameter's name)
  Shape dims;
  bool is_float = true;
  std::vector<std::int64_t> ints;  // integer data (shapes, axes)
};

const std::set<std::string>& SupportedOps() {
  static const std::set<std::string> ops = {"MatMul",
                                            "Gemm",
                                            "Conv",
                                            "Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Relu",
                                            "Gelu",
                                            "Softmax",
                                            "LayerNormalization",
                                            "BatchNormalization",
                                            "Gather",
                                            "MaxPool",
                                            "AveragePool",
                                            "GlobalAveragePool",
                                            "SoftmaxCrossEntropyLoss",
                                            "Reshape",
                                            "Transpose",
                                            "Flatten",
                                            "Squeeze",
                                            "Unsqueeze",
                                            "Identity",
                                            "Cast",
                                            "Dropout",
                                            "Constant"};
  return ops;
}

std::vector<std::int64_t> IntData(const onnx::TensorProto& t) {
  std::vector<std::int64_t> out;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.has_raw_data()) {
      const std::string& raw = t.raw_data();
      out.resize(raw.size() / sizeof(std::int64_t));
      std::memcpy(out.data(), raw.data(), out.size() * sizeof(std::int64_t));
    } else {
      out.assign(t.int64_data().begin(), t.int64_data().end());
    }
  } else if (t.data_type() == onnx::TensorProto::INT32) {
    if (t.has_raw_data()) {
      const std::string& raw = t.raw_data();
      std::vector<std::int32_t> v(raw.size() / sizeof(std::int32_t));
      std::memcpy(v.data(), raw.data(), v.size() * sizeof(std::int32_t));
      out.assign(v.begin(), v.end());
    } else {
      out.assign(t.int32_data().begin(), t.int32_data().end());
    }
  }
  return out;
}

bool IsIntType(int type) {
  return type == onnx::TensorProto::INT64 || type == onnx::TensorProto::INT32 ||
         type == onnx::TensorProto::INT16 || type == onnx::TensorProto::INT8 ||
         type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::BOOL;
}

class Importer {
 public:
  Importer(const std::string& path, const onnx::GraphProto& graph, const WorkloadConfig& settings)
      : path_(path), g_(graph), settings_(settings) {
    fg_.compute_dtype =
        settings.training.precision == Precision::kFp32 ? Dtype::kFp32 : Dtype::kBf16;
    dtype_ = fg_.compute_dtype;
  }

  ForwardGraph Run() {
    FindPatterns();
    CheckSupported();
    for (const onnx::TensorProto& t : g_.initializer()) AddConst(t.name(), t);
    ImportInputs();
    for (int i = 0; i < g_.node_size(); ++i) ImportNode(i);
    if (fg_.losses.empty()) AppendLoss();
    fg_.samples = samples_;
    fg_.tokens = CheckedMul(samples_, sequence_, "tokens");
    return std::move(fg_);
  }

 private:
  [[noreturn]] void Fail(const onnx::NodeProto& node, const std::string& what) const {
    throw InputError(
        fmt::format("{}: node '{}' ({}): {}", path_, node.name(), node.op_type(), what));
  }

  // Every op type that is neither supported nor part of a recognised pattern, at once.
  void CheckSupported() const {
    std::map<std::string, int> unsupported;
    for (int i = 0; i < g_.node_size(); ++i) {
      const std::string& type = g_.node(i).op_type();
      if (SupportedOps().count(type) == 0 && skip_.count(i) == 0) ++unsupported[type];
    }
    if (unsupported.empty()) return;
    std::string list;
    for (const auto& [type, count] : unsupported) {
      list += fmt::format("{}{} x{}", list.empty() ? "" : ", ", type, count);
    }
    std::string supported;
    for (const std::string& s : SupportedOps()) supported += (supported.empty() ? "" : " ") + s;
    throw InputError(fmt::format(
        "{}: unsupported ONNX ops: {} (supported: {}; Sigmoid only as x * Sigmoid(x), Erf only "
        "as x * 0.5 * (1 + Erf(x / sqrt(2))))",
        path_, list, supported));
  }

  // Patterns fused into one op (their nodes skipped, the last node emits the op):
  //   silu  Sigmoid(x) read only by Mul(x, sigmoid)
  //   gelu  Div(x, c) or Mul(x, c) -> Erf -> Add(., c) -> Mul by x and by c, in either order
  //         (PyTorch's export of the exact GELU before opset 20)
  void FindPatterns() {
    std::map<std::string, std::vector<int>> consumers;
    std::set<std::string> constants;
    for (const onnx::TensorProto& t : g_.initializer()) constants.insert(t.name());
    std::map<std::string, int> producer;
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto& n = g_.node(i);
      for (const std::string& in : n.input()) consumers[in].push_back(i);
      for (const std::string& out : n.output()) producer[out] = i;
      if (n.op_type() == "Constant" && n.output_size() > 0) constants.insert(n.output(0));
    }
    auto only_user = [&](const std::string& value, const char* type) -> int {
      const std::vector<int>& users = consumers[value];
      if (users.size() != 1) return -1;
      const onnx::NodeProto& m = g_.node(users[0]);
      return m.op_type() == type && m.input_size() == 2 && m.output_size() >= 1 ? users[0] : -1;
    };
    auto other_input = [&](const onnx::NodeProto& m, const std::string& mine) {
      return m.input(0) == mine ? m.input(1) : m.input(0);
    };
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto& n = g_.node(i);
      if (n.input_size() < 1 || n.output_size() < 1) continue;
      if (n.op_type() == "Sigmoid") {
        const int mul = only_user(n.output(0), "Mul");
        if (mul >= 0 && other_input(g_.node(mul), n.output(0)) == n.input(0)) {
          fused_[mul] = {OpKind::kSilu, n.input(0)};
          skip_.insert(i);
        }
      } else if (n.op_type() == "Erf") {
        auto p = producer.find(n.input(0));
        if (p == producer.end()) continue;
        const onnx::NodeProto& d = g_.node(p->second);
        if ((d.op_type() != "Div" && d.op_type() != "Mul") || d.input_size() != 2 ||
            constants.count(d.input(1)) == 0 || consumers[n.input(0)].size() != 1) {
          continue;
        }
        const std::string x = d.input(0);
        const int add = only_user(n.output(0), "Add");
        if (add < 0 || constants.count(other_input(g_.node(add), n.output(0))) == 0) continue;
        // Two Muls: one by x, one by a constant (0.5), in either order.
        const int mul1 = only_user(g_.node(add).output(0), "Mul");
        if (mul1 < 0) continue;
        const std::string o1 = other_input(g_.node(mul1), g_.node(add).output(0));
        const int mul2 = only_user(g_.node(mul1).output(0), "Mul");
        if (mul2 < 0) continue;
        const std::string o2 = other_input(g_.node(mul2), g_.node(mul1).output(0));
        const bool ok = (o1 == x && constants.count(o2)) || (o2 == x && constants.count(o1));
        if (!ok) continue;
        skip_.insert({p->second, i, add, mul1});
        fused_[mul2] = {OpKind::kGelu, x};
      }
    }
  }

  void AddConst(const std::string& name, const onnx::TensorProto& t) {
    Const c;
    c.source = name;
    for (std::int64_t d : t.dims()) c.dims.push_back(d <= 0 ? 1 : static_cast<std::uint64_t>(d));
    c.is_float = !IsIntType(t.data_type());
    if (!c.is_float) c.ints = IntData(t);
    consts_[name] = std::move(c);
  }

  void ImportInputs() {
    bool first = true;
    for (const onnx::ValueInfoProto& in : g_.input()) {
      if (consts_.count(in.name())) continue;  // old IR: initializers listed as inputs
      const onnx::TypeProto_Tensor& tt = in.type().tensor_type();
      Shape shape;
      bool symbolic_sequence = false;
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const onnx::TensorShapeProto_Dimension& dim = tt.shape().dim(d);
        const bool known = dim.has_dim_value() && dim.dim_value() > 0;
        if (known) {
          shape.push_back(static_cast<std::uint64_t>(dim.dim_value()));
        } else if (d == 0) {
          shape.push_back(settings_.training.micro_batch);
        } else if (d == 1) {
          shape.push_back(settings_.training.sequence);
          symbolic_sequence = true;
        } else {
          throw InputError(fmt::format(
              "{}: input '{}': dimension {} is symbolic; only the first (batch) and second "
              "(sequence) may be",
              path_, in.name(), d));
        }
      }
      if (shape.empty()) shape.push_back(1);
      const bool ids = IsIntType(tt.elem_type());
      Value v;
      v.id = fg_.graph.AddTensor(in.name(), shape, ids ? kIdDtype : dtype_, TensorKind::kInput);
      v.shape = shape;
      values_[in.name()] = v;
      if (first) {
        samples_ = shape[0];
        if (symbolic_sequence || (ids && shape.size() == 2)) sequence_ = shape[1];
        first = false;
      }
    }
    if (first) throw InputError(path_ + ": the graph has no inputs");
  }

  // The block component of a node name: (layers|layer|blocks|block|h), an optional '.' or
  // '_', digits, optionally '.' or '_' and digits ("layers.3", "h.3", "layer1.0"), starting
  // the name or after '/', '.' or '_' and ending it or before one of them. (Hand-written:
  // GCC 12's <regex> trips -Wmaybe-uninitialized under the sanitizers.)
  static std::string BlockKey(const std::string& name) {
    auto sep = [&](std::size_t i) {
      return i < name.size() && (name[i] == '/' || name[i] == '.' || name[i] == '_');
    };
    auto digit = [&](std::size_t i) { return i < name.size() && name[i] >= '0' && name[i] <= '9'; };
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (i > 0 && !sep(i - 1)) continue;
      for (const char* word : {"layers", "layer", "blocks", "block", "h"}) {
        const std::size_t len = std::strlen(word);
        if (name.compare(i, len, word) != 0) continue;
        std::size_t j = i + len;
        if (sep(j) && name[j] != '/') ++j;
        if (!digit(j)) continue;
        while (digit(j)) ++j;
        if (sep(j) && name[j] != '/' && digit(j + 1)) {
          ++j;
          while (digit(j)) ++j;
        }
        if (j == name.size() || sep(j)) return name.substr(i, j - i);
      }
    }
    return "";
  }

  int LayerOf(const onnx::NodeProto& node) {
    const std::string key = BlockKey(node.name());
    if (key.empty()) return -1;
    return layers_.emplace(key, static_cast<int>(layers_.size())).first->second;
  }

  bool IsConst(const std::string& name) const {
    return values_.count(name) == 0 && consts_.count(name) != 0;
  }

  // An activation or input (initializers read as data become constant inputs).
  Value Get(const onnx::NodeProto& node, const std::string& name) {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    auto c = consts_.find(name);
    if (c == consts_.end()) Fail(node, "reads '" + name + "', which no earlier node produces");
    Value v;
    const Shape shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
    v.id = fg_.graph.AddTensor(c->second.source, shape, dtype_, TensorKind::kInput);
    v.shape = shape;
    values_[name] = v;
    return v;
  }

  // A weight: an initializer becomes a parameter (once); an activation is returned as is.
  Value Weight(const onnx::NodeProto& node, const std::string& name) {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    auto c = consts_.find(name);
    if (c == consts_.end()) Fail(node, "reads '" + name + "', which no earlier node produces");
    auto p = params_.find(c->second.source);
    Value v;
    if (p != params_.end()) {
      v.id = p->second;
    } else {
      const Shape shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
      v.id = fg_.graph.AddTensor(c->second.source, shape, dtype_, TensorKind::kParameter);
      params_[c->second.source] = v.id;
    }
    v.shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
    values_[name] = v;
    return v;
  }

  std::vector<std::int64_t> IntsAttr(const onnx::NodeProto& node, const std::string& name,
                                     std::vector<std::int64_t> fallback) const {
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == name) return {a.ints().begin(), a.ints().end()};
    }
    return fallback;
  }
  std::int64_t IntAttr(const onnx::NodeProto& node, const std::string& name,
                       std::int64_t fallback) const {
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == name) return a.i();
    }
    return fallback;
  }
  std::string StringAttr(const onnx::NodeProto& node, const std::string& name) const {
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == name) return a.s();
    }
    return "";
  }

  std::string OpName(const onnx::NodeProto& node, int index) const {
    return node.name().empty() ? fmt::format("{}_{}", node.op_type(), index) : node.name();
  }

  // Adds the op with one activation output of `shape` (plus `extra` fp32 outputs).
  Value Emit(const onnx::NodeProto& node, GraphOp op, const Shape& shape, Dtype dtype,
             std::vector<Shape> extra = {}, const char* extra_suffix = ".stats") {
    Value out;
    out.shape = shape;
    out.attention_core = op.attention_core;
    out.id = fg_.graph.AddTensor(op.name + ".out", shape, dtype, TensorKind::kActivation);
    op.outputs = {out.id};
    for (const Shape& s : extra) {
      op.outputs.push_back(
          fg_.graph.AddTensor(op.name + extra_suffix, s, Dtype::kFp32, TensorKind::kActivation));
    }
    op.layer = layer_;
    op.role = OpRole::kForward;
    fg_.graph.AddOp(std::move(op));
    if (node.output_size() > 0) values_[node.output(0)] = out;
    return out;
  }

  GraphOp Elementwise(const std::string& name, OpKind kind, const Shape& shape,
                      std::vector<TensorId> inputs) const {
    GraphOp op;
    op.name = name;
    op.kind = kind;
    op.rows = ShapeRows(shape);
    op.cols = ShapeCols(shape);
    op.inputs = std::move(inputs);
    return op;
  }

  ConvDims Window(const onnx::NodeProto& node, const Shape& x, std::uint64_t c_out,
                  std::uint64_t kh, std::uint64_t kw) const {
    if (x.size() != 4) Fail(node, fmt::format("expected an NCHW input, got rank {}", x.size()));
    const std::vector<std::int64_t> strides = IntsAttr(node, "strides", {1, 1});
    const std::vector<std::int64_t> pads = IntsAttr(node, "pads", {0, 0, 0, 0});
    const std::vector<std::int64_t> dil = IntsAttr(node, "dilations", {1, 1});
    const std::string auto_pad = StringAttr(node, "auto_pad");
    if (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1) {
      Fail(node, "only equal strides in both dimensions are supported");
    }
    for (std::int64_t d : dil) {
      if (d != 1) Fail(node, "dilation is not supported");
    }
    std::uint64_t pad = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      if (kh != kw || kh % 2 == 0) Fail(node, "auto_pad SAME needs an odd square window");
      pad = (kh - 1) / 2;
    } else if (auto_pad.empty() || auto_pad == "NOTSET") {
      for (std::int64_t p : pads) {
        if (p != pads[0]) Fail(node, "only equal pads on every side are supported");
      }
      pad = pads.empty() ? 0 : static_cast<std::uint64_t>(pads[0]);
    }
    ConvDims c;
    c.n = x[0];
    c.c_in = x[1];
    c.h_in = x[2];
    c.w_in = x[3];
    c.c_out = c_out;
    c.kh = kh;
    c.kw = kw;
    c.stride = static_cast<std::uint64_t>(strides[0]);
    c.pad = pad;
    if (c.h_in + 2 * pad < kh || c.w_in + 2 * pad < kw) {
      Fail(node, fmt::format("a {}x{} window does not fit a {}x{} input", kh, kw, c.h_in, c.w_in));
    }
    c.h_out = (c.h_in + 2 * pad - kh) / c.stride + 1;
    c.w_out = (c.w_in + 2 * pad - kw) / c.stride + 1;
    return c;
  }

  // Layout ops: the output is the input under another view shape.
  Shape LayoutShape(const onnx::NodeProto& node, const Shape& in) const {
    const std::string& type = node.op_type();
    if (type == "Identity" || type == "Cast" || type == "Dropout") return in;
    const auto rank = static_cast<std::int64_t>(in.size());
    auto axis = [&](std::int64_t a, std::int64_t r) { return a < 0 ? a + r : a; };
    if (type == "Transpose") {
      std::vector<std::int64_t> perm = IntsAttr(node, "perm", {});
      if (perm.empty()) {
        for (std::int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
      }
      if (static_cast<std::int64_t>(perm.size()) != rank) Fail(node, "perm does not match rank");
      Shape out;
      for (std::int64_t p : perm) {
        if (p < 0 || p >= rank) Fail(node, "perm out of range");
        out.push_back(in[static_cast<std::size_t>(p)]);
      }
      return out;
    }
    if (type == "Flatten") {
      const auto a = static_cast<std::size_t>(axis(IntAttr(node, "axis", 1), rank));
      return {Product(in, 0, a), Product(in, a)};
    }
    std::vector<std::int64_t> ints;  // Reshape shape, Squeeze / Unsqueeze axes
    if (node.input_size() > 1) {
      auto c = consts_.find(node.input(1));
      if (c == consts_.end() || c->second.is_float) {
        Fail(node, "its shape / axes input must be a constant (initializer or Constant)");
      }
      ints = c->second.ints;
    } else {
      ints = IntsAttr(node, "axes", {});
    }
    if (type == "Reshape") {
      Shape out;
      std::int64_t infer = -1;
      for (std::size_t i = 0; i < ints.size(); ++i) {
        if (ints[i] == 0 && i < in.size()) {
          out.push_back(in[i]);
        } else if (ints[i] == -1) {
          infer = static_cast<std::int64_t>(i);
          out.push_back(1);
        } else if (ints[i] > 0) {
          out.push_back(static_cast<std::uint64_t>(ints[i]));
        } else {
          Fail(node, "invalid target shape");
        }
      }
      const std::uint64_t known = Product(out), total = Product(in);
      if (infer >= 0) {
        if (known == 0 || total % known != 0) Fail(node, "cannot infer the -1 dimension");
        out[static_cast<std::size_t>(infer)] = total / known;
      }
      if (Product(out) != total) {
        Fail(node, fmt::format("reshape of {} elements to {} elements", total, Product(out)));
      }
      return out;
    }
    if (type == "Squeeze") {
      std::set<std::int64_t> axes;
      for (std::int64_t a : ints) axes.insert(axis(a, rank));
      Shape out;
      for (std::int64_t i = 0; i < rank; ++i) {
        const bool drop = axes.empty() ? in[static_cast<std::size_t>(i)] == 1 : axes.count(i) != 0;
        if (!drop) out.push_back(in[static_cast<std::size_t>(i)]);
      }
      return out;
    }
    // Unsqueeze.
    const auto out_rank = rank + static_cast<std::int64_t>(ints.size());
    std::set<std::int64_t> axes;
    for (std::int64_t a : ints) axes.insert(axis(a, out_rank));
    Shape out;
    std::size_t j = 0;
    for (std::int64_t i = 0; i < out_rank; ++i) {
      if (axes.count(i)) {
        out.push_back(1);
      } else if (j < in.size()) {
        out.push_back(in[j++]);
      }
    }
    return out;
  }

  bool IsLayout(const std::string& type) const {
    return type == "Reshape" || type == "Transpose" || type == "Flatten" || type == "Squeeze" ||
           type == "Unsqueeze" || type == "Identity" || type == "Cast" || type == "Dropout";
  }

  // Add / Sub / Mul / Div.
  void Binary(const onnx::NodeProto& node, const std::string& name, OpKind kind) {
    if (node.input_size() != 2) Fail(node, "expected two inputs");
    const bool c0 = IsConst(node.input(0)), c1 = IsConst(node.input(1));
    if (c0 && c1) Fail(node, "both inputs are constants");
    if (c0 || c1) {
      const Value x = Get(node, node.input(c0 ? 1 : 0));
      const std::string& cname = node.input(c0 ? 0 : 1);
      const Const& c = consts_.at(cname);
      const std::uint64_t n = Product(c.dims);
      if (node.op_type() == "Div" && c0) Fail(node, "division of a constant by a tensor");
      if (n <= 1 || node.op_type() == "Div") {
        // Scaling / shifting by a constant: one element-wise op, the constant has no gradient;
        // part of the attention core when its input is (the 1/sqrt(d) scale of the scores).
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
    if (node.op_type() == "Div") Fail(node, "division by a tensor is not supported");
    Value a = Get(node, node.input(0)), b = Get(node, node.input(1));
    if (Product(b.shape) > Product(a.shape)) std::swap(a, b);
    Emit(node, Elementwise(name, kind, a.shape, {a.id, b.id}), a.shape, dtype_);
  }

  void ImportNode(int index) {
    if (skip_.count(index)) return;
    const onnx::NodeProto& node = g_.node(index);
    const std::string& type = node.op_type();
    const std::string name = OpName(node, index);
    layer_ = LayerOf(node);
    if (type == "Constant") {
      for (const onnx::AttributeProto& a : node.attribute()) {
        if (a.name() == "value") AddConst(node.output(0), a.t());
      }
      if (!consts_.count(node.output(0))) Fail(node, "only tensor-valued constants are supported");
      consts_[node.output(0)].source = node.output(0);
      return;
    }
    if (IsLayout(type)) {
      if (IsConst(node.input(0))) {
        Const c = consts_.at(node.input(0));
        c.dims = LayoutShape(node, c.dims.empty() ? Shape{1} : c.dims);
        consts_[node.output(0)] = c;
        return;
      }
      Value v = Get(node, node.input(0));
      v.shape = LayoutShape(node, v.shape);
      values_[node.output(0)] = v;
      return;
    }
    if (type == "MatMul") {
      const Value a = Get(node, node.input(0));
      if (a.shape.size() < 2) Fail(node, "the first operand must have rank >= 2");
      GraphOp op;
      op.name = name;
      op.kind = OpKind::kMatmul;
      const bool weight = IsConst(node.input(1));
      const Value b = weight ? Weight(node, node.input(1)) : Get(node, node.input(1));
      op.inputs = {a.id, b.id};
      const std::uint64_t k = ShapeCols(a.shape);
      if (b.shape.size() < 2 || b.shape[b.shape.size() - 2] != k) {
        Fail(node, fmt::format("shapes do not chain: [{}] x [{}]", fmt::join(a.shape, ","),
                               fmt::join(b.shape, ",")));
      }
      const std::uint64_t n = b.shape.back();
      Shape out;
      if (b.shape.size() == 2) {
        op.matmul = {1, ShapeRows(a.shape), k, n, false, false};
        out = a.shape;
        out.back() = n;
      } else {
        const Shape& batch_shape = a.shape.size() >= b.shape.size() ? a.shape : b.shape;
        const std::uint64_t batch = Product(batch_shape, 0, batch_shape.size() - 2);
        const std::uint64_t m = a.shape[a.shape.size() - 2];
        op.matmul = {batch, m, k, n, false, false};
        op.attention_core = !weight;
        out.assign(batch_shape.begin(), batch_shape.end() - 2);
        out.push_back(m);
        out.push_back(n);
      }
      Emit(node, op, out, dtype_);
      return;
    }
    if (type == "Gemm") {
      const Value a = Get(node, node.input(0));
      const Value b =
          IsConst(node.input(1)) ? Weight(node, node.input(1)) : Get(node, node.input(1));
      const bool ta = IntAttr(node, "transA", 0) != 0, tb = IntAttr(node, "transB", 0) != 0;
      if (a.shape.size() != 2 || b.shape.size() != 2) Fail(node, "Gemm operands must be 2-D");
      const std::uint64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
      const std::uint64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
      if (k != kb) Fail(node, fmt::format("shapes do not chain: K {} vs {}", k, kb));
      GraphOp op;
      op.name = name;
      op.kind = OpKind::kMatmul;
      op.matmul = {1, m, k, n, ta, tb};
      op.inputs = {a.id, b.id};
      Value y = Emit(node, op, {m, n}, dtype_);
      if (node.input_size() > 2 && !node.input(2).empty()) {
        const bool cc = IsConst(node.input(2));
        const Value c = cc ? Weight(node, node.input(2)) : Get(node, node.input(2));
        const OpKind kind =
            cc && Product(c.shape) != Product(y.shape) ? OpKind::kBiasAdd : OpKind::kAdd;
        Emit(node, Elementwise(name + ".bias_add", kind, y.shape, {y.id, c.id}), y.shape, dtype_);
      }
      return;
    }
    if (type == "Conv") {
      const Value x = Get(node, node.input(0));
      if (!IsConst(node.input(1))) Fail(node, "the weight must be an initializer");
      const Value w = Weight(node, node.input(1));
      if (IntAttr(node, "group", 1) != 1) Fail(node, "grouped convolution is not supported");
      if (w.shape.size() != 4 || x.shape.size() != 4 || w.shape[1] != x.shape[1]) {
        Fail(node, "expected NCHW input and [C_out, C_in, kh, kw] weight with matching C_in");
      }
      GraphOp op;
      op.name = name;
      op.kind = OpKind::kConv2d;
      op.conv = Window(node, x.shape, w.shape[0], w.shape[2], w.shape[3]);
      op.inputs = {x.id, w.id};
      const ConvDims& c = op.conv;
      Value y = Emit(node, op, {c.n, c.c_out, c.h_out, c.w_out}, dtype_);
      if (node.input_size() > 2 && !node.input(2).empty()) {
        const Value bias = Weight(node, node.input(2));
        Emit(node, Elementwise(name + ".bias_add", OpKind::kBiasAdd, y.shape, {y.id, bias.id}),
             y.shape, dtype_);
      }
      return;
    }
    if (type == "Add" || type == "Sub") return Binary(node, name, OpKind::kAdd);
    if (type == "Div") return Binary(node, name, OpKind::kMul);
    auto fused = fused_.find(index);
    if (fused != fused_.end()) {
      const Value x = Get(node, fused->second.second);
      Emit(node, Elementwise(name, fused->second.first, x.shape, {x.id}), x.shape, dtype_);
      return;
    }
    if (type == "Mul") return Binary(node, name, OpKind::kMul);
    if (type == "Relu" || type == "Gelu") {
      const Value x = Get(node, node.input(0));
      const OpKind kind = type == "Relu" ? OpKind::kRelu : OpKind::kGelu;
      Emit(node, Elementwise(name, kind, x.shape, {x.id}), x.shape, dtype_);
      return;
    }
    if (type == "Softmax") {
      const Value x = Get(node, node.input(0));
      GraphOp op = Elementwise(name, OpKind::kSoftmax, x.shape, {x.id});
      op.attention_core = x.attention_core;
      Emit(node, op, x.shape, dtype_);
      return;
    }
    if (type == "LayerNormalization" || type == "BatchNormalization") {
      const Value x = Get(node, node.input(0));
      if (node.input_size() < 2) Fail(node, "missing scale");
      const Value gain = Weight(node, node.input(1));
      Value bias;
      if (node.input_size() > 2 && !node.input(2).empty()) {
        bias = Weight(node, node.input(2));
      } else {  // no bias: a constant stand-in without gradient
        bias.id = fg_.graph.AddTensor(name + ".no_bias", gain.shape, dtype_, TensorKind::kInput);
      }
      const bool ln = type == "LayerNormalization";
      if (!ln && x.shape.size() < 2) Fail(node, "expected an NC... input");
      GraphOp op = Elementwise(name, ln ? OpKind::kLayerNorm : OpKind::kBatchNorm, x.shape,
                               {x.id, gain.id, bias.id});
      const Shape stats = ln ? Shape{op.rows, 2} : Shape{x.shape[1], 2};
      Emit(node, op, x.shape, dtype_, {stats});
      return;
    }
    if (type == "Gather") {
      if (!IsConst(node.input(0)) || IsConst(node.input(1))) {
        Fail(node, "only a lookup of tensor indices in an initializer table is supported");
      }
      const Value table = Weight(node, node.input(0));
      const Value ids = Get(node, node.input(1));
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
      return;
    }
    if (type == "MaxPool" || type == "AveragePool" || type == "GlobalAveragePool") {
      const Value x = Get(node, node.input(0));
      if (x.shape.size() != 4) Fail(node, "expected an NCHW input");
      GraphOp op;
      op.name = name;
      op.inputs = {x.id};
      if (type == "GlobalAveragePool") {
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
        values_[node.output(0)].shape = {c.n, c.c_out, 1, 1};  // ONNX keeps the H, W dims
        return;
      }
      const std::vector<std::int64_t> k = IntsAttr(node, "kernel_shape", {});
      if (k.size() != 2 || k[0] < 1 || k[1] < 1) Fail(node, "expected a 2-D kernel_shape");
      if (k[0] != k[1]) Fail(node, "only square pooling windows are supported");
      op.kind = type == "MaxPool" ? OpKind::kMaxPool : OpKind::kAvgPool;
      op.conv = Window(node, x.shape, x.shape[1], static_cast<std::uint64_t>(k[0]),
                       static_cast<std::uint64_t>(k[1]));
      const ConvDims& c = op.conv;
      if (op.kind == OpKind::kAvgPool) {
        op.rows = c.n * c.c_in * c.h_out * c.w_out;  // one window sum per output
        op.cols = c.kh * c.kw;
      }
      Emit(node, op, {c.n, c.c_out, c.h_out, c.w_out}, dtype_);
      return;
    }
    if (type == "SoftmaxCrossEntropyLoss") {
      const Value logits = Get(node, node.input(0));
      const Value labels = Get(node, node.input(1));
      // ONNX scores are [N, C, d...]; the class axis is the second.
      GraphOp op;
      op.name = name;
      op.kind = OpKind::kCrossEntropy;
      op.cols = logits.shape.size() >= 2 ? logits.shape[1] : ShapeCols(logits.shape);
      op.rows = Product(logits.shape) / op.cols;
      op.inputs = {logits.id, labels.id};
      const Value loss = Emit(node, op, {1}, Dtype::kFp32, {{op.rows}}, ".lse");
      fg_.losses.push_back(loss.id);
      return;
    }
    Fail(node, "unsupported op");  // CheckSupported lists these first
  }

  void AppendLoss() {
    if (g_.output_size() == 0) throw InputError(path_ + ": the graph has no outputs");
    const std::string& out = g_.output(0).name();
    auto it = values_.find(out);
    if (it == values_.end()) {
      throw InputError(path_ + ": output '" + out + "' is not computed by any node");
    }
    const Value logits = it->second;
    layer_ = -1;
    Shape label_shape(logits.shape.begin(), logits.shape.end() - 1);
    if (label_shape.empty()) label_shape.push_back(1);
    const TensorId labels =
        fg_.graph.AddTensor("labels", label_shape, kIdDtype, TensorKind::kInput);
    GraphOp op;
    op.name = "loss";
    op.kind = OpKind::kCrossEntropy;
    op.rows = ShapeRows(logits.shape);
    op.cols = ShapeCols(logits.shape);
    op.inputs = {logits.id, labels};
    op.outputs = {
        fg_.graph.AddTensor("loss.loss", {1}, Dtype::kFp32, TensorKind::kActivation),
        fg_.graph.AddTensor("loss.lse", {op.rows}, Dtype::kFp32, TensorKind::kActivation)};
    op.layer = -1;
    op.role = OpRole::kForward;
    fg_.losses.push_back(op.outputs[0]);
    fg_.graph.AddOp(std::move(op));
  }

  const std::string& path_;
  const onnx::GraphProto& g_;
  const WorkloadConfig& settings_;
  ForwardGraph fg_;
  Dtype dtype_ = Dtype::kBf16;
  std::map<std::string, Value> values_;
  std::map<std::string, Const> consts_;
  std::map<std::string, TensorId> params_;
  std::map<std::string, int> layers_;
  std::map<int, std::pair<OpKind, std::string>> fused_;  // last node of a pattern -> op, x
  std::set<int> skip_;                                   // the other nodes of patterns
  int layer_ = -1;
  std::uint64_t samples_ = 1, sequence_ = 1;
};

}  // namespace

ForwardGraph ImportOnnx(const std::string& path, const WorkloadConfig& settings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("{}: cannot open ONNX model: {}", path, std::strerror(errno)));
  }
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) {
    throw InputError(path + ": not an ONNX model (the protobuf ModelProto does not parse)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    throw InputError(path + ": not an ONNX model (no graph nodes)");
  }
  return Importer(path, model.graph(), settings).Run();
}

}  // namespace systole
