#include "workloads/import/onnx_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"

namespace systole {

namespace {

constexpr Dtype kIdDtype = Dtype::kFp32;  // 4-byte integer ids and labels, as in the zoo
// Constants with more elements keep their dims only (their values are never shapes).
constexpr std::uint64_t kMaxFoldedElements = 1u << 16;

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
  bool scores = false;          // attention scores (QK^T) before their softmax: a scale or mask
                                // applied to them is part of the softmax
  bool transposed = false;      // the last two view dims are swapped against the stored order
  bool constant = false;        // a parameter or constant input (read from a constant)
};

// A constant: an initializer or Constant, or computed from constants and shapes (constant
// folding), possibly through layout ops. Integer and bool values are kept when known.
struct Const {
  std::string source;        // initializer name (the parameter's name); "" when computed
  bool initializer = false;  // a float initializer (through layout ops): a weight
  Shape dims;                // exact dims (0 allowed)
  bool is_float = true;
  bool known = false;              // `ints` holds every value (row-major)
  std::vector<std::int64_t> ints;  // integer / bool values
  bool transposed = false;         // a 2-D view of the transposed initializer
};

std::uint64_t Elements(const Shape& dims) {
  std::uint64_t p = 1;
  for (std::uint64_t d : dims) p = CheckedMul(p, d, "ONNX constant");
  return p;
}

// Multi-index of `flat` in `dims` (row-major).
std::vector<std::uint64_t> Unravel(std::uint64_t flat, const Shape& dims) {
  std::vector<std::uint64_t> idx(dims.size());
  for (std::size_t i = dims.size(); i-- > 0;) {
    idx[i] = dims[i] == 0 ? 0 : flat % dims[i];
    flat = dims[i] == 0 ? 0 : flat / dims[i];
  }
  return idx;
}
std::uint64_t Ravel(const std::vector<std::uint64_t>& idx, const Shape& dims) {
  std::uint64_t flat = 0;
  for (std::size_t i = 0; i < dims.size(); ++i) flat = flat * dims[i] + idx[i];
  return flat;
}

const std::set<std::string>& LayoutOps() {
  static const std::set<std::string> ops = {"Reshape",   "Transpose", "Flatten", "Squeeze",
                                            "Unsqueeze", "Identity",  "Cast",    "Dropout"};
  return ops;
}

// Ops evaluated on constants (shape computations); Shape and Size read any tensor's shape.
const std::set<std::string>& FoldedOps() {
  static const std::set<std::string> ops = {"Constant",  "ConstantOfShape",
                                            "Shape",     "Size",
                                            "Gather",    "Concat",
                                            "Slice",     "Split",
                                            "Range",     "Expand",
                                            "Where",     "Equal",
                                            "Less",      "Greater",
                                            "Not",       "And",
                                            "Or",        "Add",
                                            "Sub",       "Mul",
                                            "Div",       "Mod",
                                            "Pow",       "Neg",
                                            "Abs",       "Sqrt",
                                            "Floor",     "Ceil",
                                            "Max",       "Min",
                                            "Reshape",   "Transpose",
                                            "Flatten",   "Squeeze",
                                            "Unsqueeze", "Identity",
                                            "Cast",      "Dropout"};
  return ops;
}

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

const std::set<std::string>& SupportedOps() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> s = {"MatMul",
                               "Gemm",
                               "Conv",
                               "Relu",
                               "Gelu",
                               "Softmax",
                               "LayerNormalization",
                               "BatchNormalization",
                               "MaxPool",
                               "AveragePool",
                               "GlobalAveragePool",
                               "SoftmaxCrossEntropyLoss"};
    s.insert(FoldedOps().begin(), FoldedOps().end());
    for (const auto& u : UnaryOps()) s.insert(u.first);
    return s;
  }();
  return ops;
}

bool IsIntType(int type) {
  return type == onnx::TensorProto::INT64 || type == onnx::TensorProto::INT32 ||
         type == onnx::TensorProto::INT16 || type == onnx::TensorProto::INT8 ||
         type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::BOOL;
}

// The integer / bool values of `t` (empty when it holds none).
std::vector<std::int64_t> IntData(const onnx::TensorProto& t) {
  std::vector<std::int64_t> out;
  const std::string& raw = t.raw_data();
  auto from_raw = [&](auto sample) {
    using T = decltype(sample);
    std::vector<T> v(raw.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
    out.assign(v.begin(), v.end());
  };
  switch (t.data_type()) {
    case onnx::TensorProto::INT64:
      if (t.has_raw_data()) {
        from_raw(std::int64_t{});
      } else {
        out.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      if (!t.has_raw_data()) {
        out.assign(t.int32_data().begin(), t.int32_data().end());
      } else if (t.data_type() == onnx::TensorProto::INT32) {
        from_raw(std::int32_t{});
      } else if (t.data_type() == onnx::TensorProto::INT16) {
        from_raw(std::int16_t{});
      } else if (t.data_type() == onnx::TensorProto::INT8) {
        from_raw(std::int8_t{});
      } else {
        from_raw(std::uint8_t{});
      }
      break;
    default:
      break;
  }
  return out;
}

Const ConstFromTensor(const std::string& name, const onnx::TensorProto& t) {
  Const c;
  c.source = name;
  for (std::int64_t d : t.dims()) {
    if (d < 0) {
      throw InputError(
          fmt::format("tensor '{}': dimension {} is negative: expected sizes >= 0", name, d));
    }
    c.dims.push_back(static_cast<std::uint64_t>(d));
  }
  c.is_float = !IsIntType(t.data_type());
  c.initializer = c.is_float;
  if (!c.is_float) {
    c.ints = IntData(t);
    c.known = c.ints.size() == Elements(c.dims);
    if (!c.known) c.ints.clear();
  }
  return c;
}

// `c`'s values broadcast (numpy rules) to `out` (which must be a broadcast of its dims).
std::vector<std::int64_t> BroadcastTo(const Const& c, const Shape& out) {
  std::vector<std::int64_t> v(Elements(out));
  const std::size_t lead = out.size() - c.dims.size();
  for (std::uint64_t f = 0; f < v.size(); ++f) {
    const std::vector<std::uint64_t> idx = Unravel(f, out);
    std::vector<std::uint64_t> src(c.dims.size());
    for (std::size_t i = 0; i < c.dims.size(); ++i) src[i] = c.dims[i] == 1 ? 0 : idx[lead + i];
    v[f] = c.ints[Ravel(src, c.dims)];
  }
  return v;
}

// A fused projection split into parts: its MatMul node and initializers.
struct SplitPattern {
  int matmul = -1;
  std::string weight, bias;  // bias "" when none
};

class Importer {
 public:
  // `weights`: parameters to create up front, in this order.
  using Weights = std::vector<std::pair<std::string, Shape>>;
  Importer(const std::string& path, const onnx::GraphProto& graph, const WorkloadConfig& settings,
           std::int64_t opset, Weights weights = {})
      : path_(path), g_(graph), settings_(settings), opset_(opset), weights_(std::move(weights)) {
    fg_.compute_dtype =
        settings.training.precision == Precision::kFp32 ? Dtype::kFp32 : Dtype::kBf16;
    dtype_ = fg_.compute_dtype;
  }

  // The parameters, in the order the file lists their initializers (a split projection's
  // parts each weight then bias, as separate projections).
  Weights Parameters() const {
    Weights out;
    for (const onnx::TensorProto& t : g_.initializer()) {
      const std::string& w = t.name();
      if (params_.count(w)) out.emplace_back(w, param_shapes_.at(w));
      auto bias = split_bias_.find(w);
      if (bias == split_bias_.end()) continue;
      for (int i = 0; params_.count(fmt::format("{}#{}", w, i)); ++i) {
        const std::string part = fmt::format("{}#{}", w, i);
        out.emplace_back(part, param_shapes_.at(part));
        if (bias->second.empty()) continue;
        const std::string bpart = fmt::format("{}#{}", bias->second, i);
        out.emplace_back(bpart, param_shapes_.at(bpart));
      }
    }
    return out;
  }

  ForwardGraph Run() {
    FindPatterns();
    CheckSupported();
    for (const onnx::TensorProto& t : g_.initializer())
      consts_[t.name()] = ConstFromTensor(t.name(), t);
    ImportInputs();
    for (const auto& [w, shape] : weights_) NewParam(w, shape);
    for (int i = 0; i < g_.node_size(); ++i) ImportNode(i);
    if (fg_.losses.empty()) AppendLoss();
    fg_.samples = samples_;
    fg_.tokens = CheckedMul(samples_, sequence_, "tokens");
    return std::move(fg_);
  }

 private:
  [[noreturn]] void Fail(const onnx::NodeProto& node, const std::string& what) const {
    const std::string label = !node.name().empty()     ? node.name()
                              : node.output_size() > 0 ? "output " + node.output(0)
                                                       : std::string("unnamed");
    throw InputError(fmt::format("{}: node '{}' ({}): {}", path_, label, node.op_type(), what));
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
    throw InputError(
        fmt::format("{}: unsupported ONNX ops: {} (supported: {}; ReduceMean only in (x - mean) "
                    "/ Sqrt(var + eps) * gain + bias (LayerNorm))",
                    path_, list, supported));
  }

  // Patterns fused into one op (their nodes skipped, the last node emits the op):
  //   silu  Sigmoid(x) read only by Mul(x, sigmoid)
  //   gelu  Div(x, c) or Mul(x, c) -> Erf -> Add(., c), or Pow(x, c) -> Mul(., c) ->
  //         Add(x, .) -> Mul(., c) -> Tanh -> Add(., c) (PyTorch's exact and tanh GELU
  //         before opset 20), then a Mul by x and a Mul by c in either order, or one Mul by
  //         Mul(x, c)
  void FindPatterns() {
    std::map<std::string, std::vector<int>> consumers;
    std::set<std::string> constants;
    for (const onnx::TensorProto& t : g_.initializer()) constants.insert(t.name());
    const std::set<std::string> initializers = constants;
    std::map<std::string, int> producer;
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto& n = g_.node(i);
      for (const std::string& in : n.input()) consumers[in].push_back(i);
      for (const std::string& out : n.output()) producer[out] = i;
      if (n.op_type() == "Constant" && n.output_size() > 0) constants.insert(n.output(0));
    }
    auto is_const = [&](const std::string& v) { return constants.count(v) != 0; };
    auto only_user = [&](const std::string& value, const char* type) -> int {
      const std::vector<int>& users = consumers[value];
      if (users.size() != 1) return -1;
      const onnx::NodeProto& m = g_.node(users[0]);
      return m.op_type() == type && m.input_size() == 2 && m.output_size() >= 1 ? users[0] : -1;
    };
    auto other_input = [&](const onnx::NodeProto& m, const std::string& mine) {
      return m.input(0) == mine ? m.input(1) : m.input(0);
    };
    // The binary node of `type` producing `value`, read only once, with one input `a` (or
    // any constant when a is empty) and returning its other input; -1 when it does not.
    auto produced_by = [&](const std::string& value, const char* type, const std::string& a,
                           std::string* other) -> int {
      auto p = producer.find(value);
      if (p == producer.end() || consumers[value].size() != 1) return -1;
      const onnx::NodeProto& m = g_.node(p->second);
      if (m.op_type() != type || m.input_size() != 2) return -1;
      for (int side = 0; side < 2; ++side) {
        const std::string& mine = m.input(side);
        if (a.empty() ? is_const(mine) : mine == a) {
          *other = m.input(1 - side);
          return p->second;
        }
      }
      return -1;
    };
    // The end of a GELU after Add(core, 1) = `add`: the node emitting the gelu, or -1.
    auto gelu_tail = [&](const std::string& x, int add, std::vector<int>* nodes) -> int {
      const std::string& a = g_.node(add).output(0);
      const int mul1 = only_user(a, "Mul");
      if (mul1 < 0) return -1;
      const std::string o1 = other_input(g_.node(mul1), a);
      if (o1 == x || is_const(o1)) {
        const int mul2 = only_user(g_.node(mul1).output(0), "Mul");
        if (mul2 < 0) return -1;
        const std::string o2 = other_input(g_.node(mul2), g_.node(mul1).output(0));
        if (!((o1 == x && is_const(o2)) || (o2 == x && is_const(o1)))) return -1;
        nodes->push_back(mul1);
        return mul2;
      }
      std::string c;  // o1 = Mul(x, c), read only here
      const int half = produced_by(o1, "Mul", x, &c);
      if (half < 0 || !is_const(c)) return -1;
      nodes->push_back(half);
      return mul1;
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
      } else if (n.op_type() == "Erf" || n.op_type() == "Tanh") {
        std::vector<int> nodes = {i};
        std::string x;
        if (n.op_type() == "Erf") {
          auto p = producer.find(n.input(0));
          if (p == producer.end() || consumers[n.input(0)].size() != 1) continue;
          const onnx::NodeProto& d = g_.node(p->second);
          if ((d.op_type() != "Div" && d.op_type() != "Mul") || d.input_size() != 2 ||
              !is_const(d.input(1))) {
            continue;
          }
          x = d.input(0);
          nodes.push_back(p->second);
        } else {
          // Tanh(Mul(Add(x, Mul(Pow(x, 3), c)), c)).
          std::string u, v, pw, three;
          const int scale = produced_by(n.input(0), "Mul", "", &u);
          if (scale < 0) continue;
          auto pu = producer.find(u);
          if (pu == producer.end() || consumers[u].size() != 1) continue;
          const onnx::NodeProto& add = g_.node(pu->second);
          if (add.op_type() != "Add" || add.input_size() != 2) continue;
          int cube = -1, mul = -1;
          for (int side = 0; side < 2 && cube < 0; ++side) {
            mul = produced_by(add.input(side), "Mul", "", &pw);
            if (mul < 0) continue;
            auto pp = producer.find(pw);
            if (pp == producer.end() || consumers[pw].size() != 1) continue;
            const onnx::NodeProto& pow = g_.node(pp->second);
            if (pow.op_type() != "Pow" || pow.input_size() != 2 || !is_const(pow.input(1)) ||
                pow.input(0) != add.input(1 - side)) {
              continue;
            }
            cube = pp->second;
            x = pow.input(0);
          }
          if (cube < 0) continue;
          nodes.insert(nodes.end(), {scale, pu->second, mul, cube});
        }
        const int add = only_user(n.output(0), "Add");
        if (add < 0 || !is_const(other_input(g_.node(add), n.output(0)))) continue;
        nodes.push_back(add);
        const int last = gelu_tail(x, add, &nodes);
        if (last < 0) continue;
        skip_.insert(nodes.begin(), nodes.end());
        fused_[last] = {OpKind::kGelu, x};
      } else if (n.op_type() == "Split") {
        // A fused projection split into parts (GPT-2's c_attn into q, k, v): MatMul by a 2-D
        // initializer, optionally Add of an initializer bias, read only by the Split.
        std::string value = n.input(0), bias;
        auto p = producer.find(value);
        if (p == producer.end() || consumers[value].size() != 1) continue;
        int add = -1;
        if (g_.node(p->second).op_type() == "Add" && g_.node(p->second).input_size() == 2) {
          add = p->second;
          const onnx::NodeProto& a = g_.node(add);
          const int side = initializers.count(a.input(1))   ? 1
                           : initializers.count(a.input(0)) ? 0
                                                            : -1;
          if (side < 0) continue;
          bias = a.input(side);
          value = a.input(1 - side);
          p = producer.find(value);
          if (p == producer.end() || consumers[value].size() != 1) continue;
        }
        const onnx::NodeProto& mm = g_.node(p->second);
        if (mm.op_type() != "MatMul" || mm.input_size() != 2 ||
            initializers.count(mm.input(1)) == 0 || consumers[mm.input(1)].size() != 1 ||
            (!bias.empty() && consumers[bias].size() != 1)) {
          continue;
        }
        splits_[i] = {p->second, mm.input(1), bias};
        split_bias_[mm.input(1)] = bias;
        skip_.insert(p->second);
        if (add >= 0) skip_.insert(add);
      } else if (n.op_type() == "ReduceMean") {
        // LayerNorm as exported before opset 17: mean = ReduceMean(x), d = x - mean,
        // d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * gain + bias.
        const std::vector<std::int64_t> axes = IntsAttr(n, "axes", {});
        if (axes.size() != 1 || n.input_size() != 1) continue;
        const std::string& x = n.input(0);
        auto single = [&](const std::string& value, const char* type) -> int {
          const std::vector<int>& users = consumers[value];
          return users.size() == 1 && g_.node(users[0]).op_type() == type &&
                         g_.node(users[0]).output_size() >= 1
                     ? users[0]
                     : -1;
        };
        const int sub = single(n.output(0), "Sub");
        if (sub < 0 || g_.node(sub).input_size() != 2 || g_.node(sub).input(0) != x) continue;
        const std::string& d = g_.node(sub).output(0);
        int pow = -1, div = -1;
        for (int u : consumers[d]) {
          const onnx::NodeProto& m = g_.node(u);
          if (m.input_size() != 2 || m.input(0) != d || m.output_size() < 1) continue;
          if (m.op_type() == "Pow" && is_const(m.input(1))) pow = u;
          if (m.op_type() == "Div") div = u;
        }
        if (pow < 0 || div < 0 || consumers[d].size() != 2) continue;
        const int var = single(g_.node(pow).output(0), "ReduceMean");
        if (var < 0) continue;
        const int eps = only_user(g_.node(var).output(0), "Add");
        if (eps < 0 || !is_const(other_input(g_.node(eps), g_.node(var).output(0)))) continue;
        const int sqrt = single(g_.node(eps).output(0), "Sqrt");
        if (sqrt < 0 || single(g_.node(sqrt).output(0), "Div") != div ||
            g_.node(div).input(1) != g_.node(sqrt).output(0)) {
          continue;
        }
        const int mul = only_user(g_.node(div).output(0), "Mul");
        if (mul < 0) continue;
        const std::string gain = other_input(g_.node(mul), g_.node(div).output(0));
        const int add = only_user(g_.node(mul).output(0), "Add");
        if (add < 0) continue;
        const std::string bias = other_input(g_.node(add), g_.node(mul).output(0));
        if (initializers.count(gain) == 0 || initializers.count(bias) == 0) continue;
        skip_.insert({i, sub, pow, var, eps, sqrt, div, mul});
        norms_[add] = {x, gain, bias, axes[0]};
      }
    }
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
        if (dim.has_dim_value() && dim.dim_value() < 0) {
          throw InputError(
              fmt::format("{}: input '{}': dimension {} is {}: expected a positive "
                          "size or a symbolic name",
                          path_, in.name(), d, dim.dim_value()));
        }
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

  // A constant (an initializer, Constant or folded value), even once read as a tensor.
  bool IsConst(const std::string& name) const { return consts_.count(name) != 0; }

  // An activation or input (constants read as data become constant inputs: integer ones,
  // such as computed position ids, as 4-byte ids).
  Value Get(const onnx::NodeProto& node, const std::string& name) {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    auto c = consts_.find(name);
    if (c == consts_.end()) Fail(node, "reads '" + name + "', which no earlier node produces");
    Value v;
    Shape shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
    for (std::uint64_t& d : shape) d = std::max<std::uint64_t>(d, 1);
    v.id = fg_.graph.AddTensor(c->second.source.empty() ? name : c->second.source, shape,
                               c->second.is_float ? dtype_ : kIdDtype, TensorKind::kInput);
    v.shape = shape;
    v.constant = true;
    values_[name] = v;
    return v;
  }

  TensorId NewParam(const std::string& name, Shape shape) {
    for (std::uint64_t& d : shape) d = std::max<std::uint64_t>(d, 1);
    param_shapes_[name] = shape;
    return params_[name] = fg_.graph.AddTensor(name, shape, dtype_, TensorKind::kParameter);
  }

  // A weight: a float initializer becomes a parameter (once); other constants are constant
  // inputs and activations are returned as they are.
  Value Weight(const onnx::NodeProto& node, const std::string& name) {
    auto c = consts_.find(name);
    if (values_.count(name) || c == consts_.end() || !c->second.initializer) {
      return Get(node, name);
    }
    auto p = params_.find(c->second.source);
    Value v;
    if (p != params_.end()) {
      v.id = p->second;
    } else {
      Shape shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
      if (c->second.transposed && shape.size() == 2) std::swap(shape[0], shape[1]);
      v.id = NewParam(c->second.source, shape);
    }
    v.shape = c->second.dims.empty() ? Shape{1} : c->second.dims;
    v.transposed = c->second.transposed;
    v.constant = true;
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
  double FloatAttr(const onnx::NodeProto& node, const std::string& name, double fallback) const {
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == name) return a.f();
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

  // Adds the op with one activation output of `shape` (plus `extra` fp32 outputs). An
  // activation x activation matmul's output read by this op only through layout ops is
  // stored as this op sees it (heads are a layout matter: [B, s, heads x d], as in the zoo).
  void StoreAsRead(const onnx::NodeProto& node) {
    for (const std::string& in : node.input()) {
      auto v = values_.find(in);
      if (v == values_.end() || fresh_.count(v->second.id) == 0) continue;
      GraphTensor& t = fg_.graph.mutable_tensor(v->second.id);
      if (Product(v->second.shape) == t.elements()) t.shape = v->second.shape;
      fresh_.erase(v->second.id);
    }
  }

  Value Emit(const onnx::NodeProto& node, GraphOp op, const Shape& shape, Dtype dtype,
             std::vector<Shape> extra = {}, const char* extra_suffix = ".stats") {
    StoreAsRead(node);
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
    for (std::int64_t st : strides) {
      if (st < 1) {
        Fail(node, fmt::format("attribute strides=[{}]: expected positive strides",
                               fmt::join(strides, ",")));
      }
    }
    for (std::int64_t p : pads) {
      if (p < 0) {
        Fail(node, fmt::format("attribute pads=[{}]: expected pads >= 0", fmt::join(pads, ",")));
      }
    }
    if (strides.size() != 2 || strides[0] != strides[1]) {
      Fail(node, "only equal strides in both dimensions are supported");
    }
    if (dil.size() != 2 || dil[0] != dil[1] || dil[0] < 1) {
      Fail(node, fmt::format("attribute dilations=[{}]: expected equal positive dilations in both "
                             "dimensions",
                             fmt::join(dil, ",")));
    }
    const auto dilation = static_cast<std::uint64_t>(dil[0]);
    const std::uint64_t span_h = dilation * (kh - 1) + 1, span_w = dilation * (kw - 1) + 1;
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
    c.dilation = dilation;
    if (c.h_in + 2 * pad < span_h || c.w_in + 2 * pad < span_w) {
      Fail(node, fmt::format("a {}x{} window does not fit a {}x{} input", span_h, span_w, c.h_in,
                             c.w_in));
    }
    c.h_out = (c.h_in + 2 * pad - span_h) / c.stride + 1;
    c.w_out = (c.w_in + 2 * pad - span_w) / c.stride + 1;
    return c;
  }

  bool HasInput(const onnx::NodeProto& node, int i) const {
    return node.input_size() > i && !node.input(i).empty();
  }

  // The values of input `i` (a shape, axes, starts ...), which must be computed from
  // constants and shapes only; `what` names it in the error.
  const std::vector<std::int64_t>& ConstInts(const onnx::NodeProto& node, int i,
                                             const char* what) const {
    auto c = consts_.find(node.input(i));
    if (values_.count(node.input(i)) || c == consts_.end() || !c->second.known) {
      Fail(node, fmt::format("its {} '{}' cannot be resolved statically (it is not computed "
                             "from constants and tensor shapes only)",
                             what, node.input(i)));
    }
    return c->second.ints;
  }

  // The shape of any tensor: an activation's view or a constant's dims.
  Shape DimsOf(const onnx::NodeProto& node, const std::string& name) const {
    auto v = values_.find(name);
    if (v != values_.end()) return v->second.shape;
    auto c = consts_.find(name);
    if (c == consts_.end()) Fail(node, "reads '" + name + "', which no earlier node produces");
    return c->second.dims;
  }

  static std::int64_t Axis(const onnx::NodeProto& node, std::int64_t a, std::size_t rank,
                           const Importer& self) {
    const auto r = static_cast<std::int64_t>(rank);
    if (a < -r || a >= r) self.Fail(node, fmt::format("axis {} out of range for rank {}", a, r));
    return a < 0 ? a + r : a;
  }

  std::vector<std::int64_t> Perm(const onnx::NodeProto& node, std::size_t rank) const {
    std::vector<std::int64_t> perm = IntsAttr(node, "perm", {});
    if (perm.empty()) {
      for (auto i = static_cast<std::int64_t>(rank) - 1; i >= 0; --i) perm.push_back(i);
    }
    if (perm.size() != rank) Fail(node, "perm does not match rank");
    for (std::int64_t p : perm) {
      if (p < 0 || p >= static_cast<std::int64_t>(rank)) Fail(node, "perm out of range");
    }
    return perm;
  }

  // Layout ops: the output is the input under another view shape.
  Shape LayoutShape(const onnx::NodeProto& node, const Shape& in) const {
    const std::string& type = node.op_type();
    if (type == "Identity" || type == "Cast" || type == "Dropout") return in;
    const auto rank = static_cast<std::int64_t>(in.size());
    if (type == "Transpose") {
      Shape out;
      for (std::int64_t p : Perm(node, in.size())) out.push_back(in[static_cast<std::size_t>(p)]);
      return out;
    }
    if (type == "Flatten") {
      const std::int64_t a = IntAttr(node, "axis", 1);
      const auto at = static_cast<std::size_t>(a == rank ? rank : Axis(node, a, in.size(), *this));
      return {Product(in, 0, at), Product(in, at)};
    }
    std::vector<std::int64_t> ints;  // Reshape shape, Squeeze / Unsqueeze axes
    if (HasInput(node, 1)) {
      ints = ConstInts(node, 1, type == "Reshape" ? "target shape" : "axes");
    } else if (type == "Reshape") {
      Fail(node, "missing target shape");
    } else {
      ints = IntsAttr(node, "axes", {});
    }
    if (type == "Reshape") {
      Shape out;
      std::int64_t infer = -1;
      for (std::size_t i = 0; i < ints.size(); ++i) {
        if (ints[i] == 0 && i < in.size()) {
          out.push_back(in[i]);
        } else if (ints[i] == -1 && infer < 0) {
          infer = static_cast<std::int64_t>(i);
          out.push_back(1);
        } else if (ints[i] > 0) {
          out.push_back(static_cast<std::uint64_t>(ints[i]));
        } else {
          Fail(node, fmt::format("invalid target shape [{}]", fmt::join(ints, ",")));
        }
      }
      const std::uint64_t known = Product(out), total = Product(in);
      if (infer >= 0) {
        if (known == 0 || total % known != 0) Fail(node, "cannot infer the -1 dimension");
        out[static_cast<std::size_t>(infer)] = total / known;
      }
      if (Product(out) != total) {
        Fail(node, fmt::format("reshape of {} elements [{}] to {} elements [{}]", total,
                               fmt::join(in, ","), Product(out), fmt::join(ints, ",")));
      }
      return out;
    }
    if (type == "Squeeze") {
      std::set<std::int64_t> axes;
      for (std::int64_t a : ints) axes.insert(Axis(node, a, in.size(), *this));
      Shape out;
      for (std::int64_t i = 0; i < rank; ++i) {
        const bool drop = axes.empty() ? in[static_cast<std::size_t>(i)] == 1 : axes.count(i) != 0;
        if (!drop) out.push_back(in[static_cast<std::size_t>(i)]);
      }
      return out;
    }
    // Unsqueeze.
    const std::size_t out_rank = in.size() + ints.size();
    std::set<std::int64_t> axes;
    for (std::int64_t a : ints) axes.insert(Axis(node, a, out_rank, *this));
    Shape out;
    std::size_t j = 0;
    for (std::size_t i = 0; i < out_rank; ++i) {
      if (axes.count(static_cast<std::int64_t>(i))) {
        out.push_back(1);
      } else if (j < in.size()) {
        out.push_back(in[j++]);
      }
    }
    return out;
  }

  // Numpy broadcast of two shapes.
  Shape Broadcast(const onnx::NodeProto& node, const Shape& a, const Shape& b) const {
    Shape out(std::max(a.size(), b.size()));
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
      const std::uint64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
      if (x != y && x != 1 && y != 1) {
        Fail(node, fmt::format("shapes [{}] and [{}] do not broadcast", fmt::join(a, ","),
                               fmt::join(b, ",")));
      }
      out[i] = x == 1 ? y : x;
    }
    return out;
  }

  // A strided box of `in`: per dim its first index, step and count.
  struct Box {
    std::vector<std::int64_t> first, step;
    Shape count;
  };
  Box FullBox(const Shape& in) const {
    Box box;
    box.first.assign(in.size(), 0);
    box.step.assign(in.size(), 1);
    box.count = in;
    return box;
  }
  // Slice (opset 10+: starts, ends, axes, steps inputs; before: attributes).
  Box SliceBox(const onnx::NodeProto& node, const Shape& in) const {
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (HasInput(node, 1)) {
      starts = ConstInts(node, 1, "starts");
      if (!HasInput(node, 2)) Fail(node, "missing ends");
      ends = ConstInts(node, 2, "ends");
      if (HasInput(node, 3)) axes = ConstInts(node, 3, "axes");
      if (HasInput(node, 4)) steps = ConstInts(node, 4, "steps");
    } else {
      starts = IntsAttr(node, "starts", {});
      ends = IntsAttr(node, "ends", {});
      axes = IntsAttr(node, "axes", {});
    }
    if (axes.empty()) {
      for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size()) {
      Fail(node, "starts, ends, axes and steps differ in length");
    }
    Box box = FullBox(in);
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto ax = static_cast<std::size_t>(Axis(node, axes[i], in.size(), *this));
      const auto dim = static_cast<std::int64_t>(in[ax]);
      const std::int64_t step = steps[i];
      if (step == 0) Fail(node, "step 0");
      auto clamp = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
        if (v < 0) v += dim;
        return std::min(std::max(v, lo), hi);
      };
      const std::int64_t s = step > 0 ? clamp(starts[i], 0, dim) : clamp(starts[i], 0, dim - 1);
      const std::int64_t e = step > 0 ? clamp(ends[i], 0, dim) : clamp(ends[i], -1, dim - 1);
      const std::int64_t n = step > 0 ? (e > s ? (e - s + step - 1) / step : 0)
                                      : (s > e ? (s - e + (-step) - 1) / (-step) : 0);
      box.first[ax] = s;
      box.step[ax] = step;
      box.count[ax] = static_cast<std::uint64_t>(n);
    }
    return box;
  }
  // The values of `c` in `box` (dims only when c's values are unknown).
  Const Cut(const Const& c, const Box& box) const {
    Const out;
    out.is_float = c.is_float;
    out.dims = box.count;
    if (!c.known || Elements(out.dims) > kMaxFoldedElements) return out;
    out.known = true;
    out.ints.resize(Elements(out.dims));
    std::vector<std::uint64_t> src(c.dims.size());
    for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
      const std::vector<std::uint64_t> idx = Unravel(f, out.dims);
      for (std::size_t i = 0; i < idx.size(); ++i) {
        src[i] = static_cast<std::uint64_t>(box.first[i] +
                                            static_cast<std::int64_t>(idx[i]) * box.step[i]);
      }
      out.ints[f] = c.ints[Ravel(src, c.dims)];
    }
    return out;
  }

  // Whether `node` is evaluated as a constant: a Constant, the Shape / Size of any tensor,
  // or a foldable op whose inputs are all constants (a Gather from a float initializer is
  // an embedding lookup, even with constant ids).
  bool Folds(const onnx::NodeProto& node) const {
    const std::string& type = node.op_type();
    if (FoldedOps().count(type) == 0) return false;
    if (type == "Constant" || type == "Shape" || type == "Size") return true;
    if (node.input_size() == 0) return false;
    for (const std::string& in : node.input()) {
      if (!in.empty() && !IsConst(in)) return false;
    }
    return !(type == "Gather" && consts_.at(node.input(0)).initializer);
  }

  void Fold(const onnx::NodeProto& node) {
    const std::string& type = node.op_type();
    if (node.output_size() < 1) Fail(node, "no outputs");
    auto in = [&](int i) -> const Const& {
      if (!HasInput(node, i)) Fail(node, fmt::format("missing input {}", i));
      return consts_.at(node.input(i));
    };
    auto with_values = [](Const& c) {
      c.known = Elements(c.dims) <= kMaxFoldedElements;
      if (c.known) c.ints.assign(Elements(c.dims), 0);
    };
    Const out;
    out.is_float = false;
    if (type == "Constant") {
      bool found = false;
      for (const onnx::AttributeProto& a : node.attribute()) {
        if (a.name() == "value") {
          out = ConstFromTensor("", a.t());
          out.initializer = false;
        } else if (a.name() == "value_int" || a.name() == "value_ints") {
          out.is_float = false;
          out.known = true;
          if (a.name() == "value_int") {
            out.ints = {a.i()};
          } else {
            out.ints.assign(a.ints().begin(), a.ints().end());
            out.dims = {out.ints.size()};
          }
        } else if (a.name() == "value_float" || a.name() == "value_floats") {
          out.is_float = true;
          if (a.name() == "value_floats") out.dims = {static_cast<std::uint64_t>(a.floats_size())};
        } else {
          continue;
        }
        found = true;
      }
      if (!found) Fail(node, "only tensor, int and float constants are supported");
    } else if (type == "ConstantOfShape") {
      for (std::int64_t d : ConstInts(node, 0, "shape")) {
        if (d < 0) Fail(node, "negative dimension");
        out.dims.push_back(static_cast<std::uint64_t>(d));
      }
      std::int64_t fill = 0;
      out.is_float = true;
      for (const onnx::AttributeProto& a : node.attribute()) {
        if (a.name() != "value") continue;
        out.is_float = !IsIntType(a.t().data_type());
        const std::vector<std::int64_t> v = IntData(a.t());
        if (!v.empty()) fill = v[0];
      }
      if (!out.is_float) {
        with_values(out);
        std::fill(out.ints.begin(), out.ints.end(), fill);
      }
    } else if (type == "Shape" || type == "Size") {
      const Shape dims = DimsOf(node, node.input(0));
      out.known = true;
      if (type == "Size") {
        out.ints = {static_cast<std::int64_t>(Elements(dims))};
      } else {
        const auto rank = static_cast<std::int64_t>(dims.size());
        auto at = [&](std::int64_t v) {
          return std::clamp(v < 0 ? v + rank : v, std::int64_t{0}, rank);
        };
        const std::int64_t start = at(IntAttr(node, "start", 0));
        const std::int64_t end = at(IntAttr(node, "end", rank));
        for (std::int64_t i = start; i < end; ++i) {
          out.ints.push_back(static_cast<std::int64_t>(dims[static_cast<std::size_t>(i)]));
        }
        out.dims = {out.ints.size()};
      }
    } else if (LayoutOps().count(type)) {
      const Const& x = in(0);
      out = x;
      out.dims = LayoutShape(node, x.dims);
      if (type == "Transpose") {
        const std::vector<std::int64_t> perm = Perm(node, x.dims.size());
        if (perm.size() == 2 && perm[0] == 1) out.transposed = !x.transposed;
        if (x.known) {
          for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
            const std::vector<std::uint64_t> idx = Unravel(f, out.dims);
            std::vector<std::uint64_t> src(idx.size());
            for (std::size_t i = 0; i < idx.size(); ++i) {
              src[static_cast<std::size_t>(perm[i])] = idx[i];
            }
            out.ints[f] = x.ints[Ravel(src, x.dims)];
          }
        }
      } else if (type == "Cast") {
        const bool to_float = !IsIntType(static_cast<int>(IntAttr(node, "to", 1)));
        if (!to_float) out.initializer = false;
        out.is_float = to_float;
      }
    } else if (type == "Gather") {
      const Const& data = in(0);
      const Const& idx = in(1);
      if (data.dims.empty()) Fail(node, "gather from a scalar");
      const auto axis =
          static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), data.dims.size(), *this));
      out.is_float = data.is_float;
      out.dims.assign(data.dims.begin(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis));
      out.dims.insert(out.dims.end(), idx.dims.begin(), idx.dims.end());
      out.dims.insert(out.dims.end(), data.dims.begin() + static_cast<std::ptrdiff_t>(axis) + 1,
                      data.dims.end());
      if (data.known && idx.known) {
        with_values(out);
        for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
          const std::vector<std::uint64_t> o = Unravel(f, out.dims);
          std::vector<std::uint64_t> src(o.begin(), o.begin() + static_cast<std::ptrdiff_t>(axis));
          const std::vector<std::uint64_t> ii(
              o.begin() + static_cast<std::ptrdiff_t>(axis),
              o.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()));
          std::int64_t k = idx.ints[Ravel(ii, idx.dims)];
          const auto dim = static_cast<std::int64_t>(data.dims[axis]);
          if (k < 0) k += dim;
          if (k < 0 || k >= dim) Fail(node, fmt::format("index {} out of range", k));
          src.push_back(static_cast<std::uint64_t>(k));
          src.insert(src.end(), o.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()),
                     o.end());
          out.ints[f] = data.ints[Ravel(src, data.dims)];
        }
      }
    } else if (type == "Concat") {
      const Const& first = in(0);
      if (first.dims.empty()) Fail(node, "concatenation of scalars");
      const auto axis =
          static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), first.dims.size(), *this));
      out.is_float = first.is_float;
      out.dims = first.dims;
      out.dims[axis] = 0;
      bool known = true;
      for (int i = 0; i < node.input_size(); ++i) {
        const Const& c = in(i);
        if (c.dims.size() != first.dims.size()) Fail(node, "inputs differ in rank");
        out.dims[axis] += c.dims[axis];
        known = known && c.known;
      }
      if (known) {
        with_values(out);
        for (std::uint64_t f = 0; f < out.ints.size(); ++f) {
          std::vector<std::uint64_t> o = Unravel(f, out.dims);
          for (int i = 0; i < node.input_size(); ++i) {
            const Const& c = in(i);
            if (o[axis] < c.dims[axis]) {
              out.ints[f] = c.ints[Ravel(o, c.dims)];
              break;
            }
            o[axis] -= c.dims[axis];
          }
        }
      }
    } else if (type == "Slice") {
      out = Cut(in(0), SliceBox(node, in(0).dims));
    } else if (type == "Split") {
      const Const& x = in(0);
      const auto axis =
          static_cast<std::size_t>(Axis(node, IntAttr(node, "axis", 0), x.dims.size(), *this));
      std::vector<std::int64_t> sizes =
          HasInput(node, 1) ? ConstInts(node, 1, "split") : IntsAttr(node, "split", {});
      if (sizes.empty()) {
        const auto parts = static_cast<std::uint64_t>(node.output_size());
        const std::uint64_t each = (x.dims[axis] + parts - 1) / parts;
        for (std::uint64_t left = x.dims[axis]; left > 0; left -= std::min(left, each)) {
          sizes.push_back(static_cast<std::int64_t>(std::min(left, each)));
        }
      }
      if (sizes.size() != static_cast<std::size_t>(node.output_size())) {
        Fail(node, "split sizes do not match the outputs");
      }
      std::int64_t offset = 0;
      for (int o = 0; o < node.output_size(); ++o) {
        Box box = FullBox(x.dims);
        box.first[axis] = offset;
        box.count[axis] = static_cast<std::uint64_t>(sizes[static_cast<std::size_t>(o)]);
        offset += sizes[static_cast<std::size_t>(o)];
        consts_[node.output(o)] = Cut(x, box);
      }
      if (static_cast<std::uint64_t>(offset) != x.dims[axis])
        Fail(node, "split sizes do not add up");
      return;
    } else if (type == "Range") {
      const Const &start = in(0), &limit = in(1), &delta = in(2);
      if (!start.known || !limit.known || !delta.known || start.ints.size() != 1 ||
          limit.ints.size() != 1 || delta.ints.size() != 1) {
        Fail(node, "its start, limit and delta cannot be resolved statically");
      }
      const std::int64_t s = start.ints[0], l = limit.ints[0], d = delta.ints[0];
      if (d == 0) Fail(node, "delta 0");
      const std::int64_t n =
          std::max<std::int64_t>(0, d > 0 ? (l - s + d - 1) / d : (s - l - d - 1) / -d);
      out.is_float = start.is_float;
      out.dims = {static_cast<std::uint64_t>(n)};
      with_values(out);
      for (std::int64_t i = 0; out.known && i < n; ++i)
        out.ints[static_cast<std::size_t>(i)] = s + i * d;
    } else if (type == "Expand") {
      const Const& x = in(0);
      Shape target;
      for (std::int64_t d : ConstInts(node, 1, "shape")) {
        if (d < 0) Fail(node, "negative dimension");
        target.push_back(static_cast<std::uint64_t>(d));
      }
      out.is_float = x.is_float;
      out.dims = Broadcast(node, x.dims, target);
      if (x.known && Elements(out.dims) <= kMaxFoldedElements) {
        out.known = true;
        out.ints = BroadcastTo(x, out.dims);
      }
    } else if (type == "Where") {
      const Const &cond = in(0), &x = in(1), &y = in(2);
      out.is_float = x.is_float;
      out.dims = Broadcast(node, Broadcast(node, cond.dims, x.dims), y.dims);
      if (cond.known && x.known && y.known && Elements(out.dims) <= kMaxFoldedElements) {
        const std::vector<std::int64_t> c = BroadcastTo(cond, out.dims),
                                        a = BroadcastTo(x, out.dims), b = BroadcastTo(y, out.dims);
        out.known = true;
        out.ints.resize(c.size());
        for (std::size_t i = 0; i < c.size(); ++i) out.ints[i] = c[i] ? a[i] : b[i];
      }
    } else if (node.input_size() == 1) {  // Not, Neg, Abs, Sqrt, Floor, Ceil
      out = in(0);
      out.source.clear();
      out.initializer = false;
      out.transposed = false;
      for (std::size_t i = 0; out.known && i < out.ints.size(); ++i) {
        std::int64_t& v = out.ints[i];
        if (v == std::numeric_limits<std::int64_t>::min()) {
          out.known = false;
        } else if (type == "Not") {
          v = v == 0;
        } else if (type == "Neg") {
          v = -v;
        } else if (type == "Abs") {
          v = v < 0 ? -v : v;
        } else if (type == "Sqrt") {
          const auto r = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(v))));
          if (v < 0 || r * r != v) out.known = false;  // not an integer: value unknown
          v = r;
        }
      }
      if (!out.known) out.ints.clear();
      if (type == "Sqrt") out.is_float = true;
    } else {  // binary: Equal, Less, Greater, And, Or, Add, Sub, Mul, Div, Mod, Pow, Max, Min
      Const acc = in(0);
      for (int k = 1; k < node.input_size(); ++k) {
        const Const& b = in(k);
        Const r;
        const bool compare =
            type == "Equal" || type == "Less" || type == "Greater" || type == "And" || type == "Or";
        r.is_float = compare ? false : acc.is_float;
        r.dims = Broadcast(node, acc.dims, b.dims);
        if (acc.known && b.known && Elements(r.dims) <= kMaxFoldedElements) {
          const std::vector<std::int64_t> x = BroadcastTo(acc, r.dims), y = BroadcastTo(b, r.dims);
          r.known = true;
          r.ints.resize(x.size());
          for (std::size_t i = 0; i < x.size(); ++i) {
            const std::int64_t p = x[i], q = y[i];
            std::int64_t& v = r.ints[i];
            if (type == "Equal") v = p == q;
            if (type == "Less") v = p < q;
            if (type == "Greater") v = p > q;
            if (type == "And") v = p && q;
            if (type == "Or") v = p || q;
            bool overflow = false;
            if (type == "Add") overflow = __builtin_add_overflow(p, q, &v);
            if (type == "Sub") overflow = __builtin_sub_overflow(p, q, &v);
            if (type == "Mul") overflow = __builtin_mul_overflow(p, q, &v);
            if (overflow) r.known = false;
            if (type == "Max") v = std::max(p, q);
            if (type == "Min") v = std::min(p, q);
            if (type == "Div" || type == "Mod") {
              if (q == 0) Fail(node, "division by zero");
              if (type == "Div" && r.is_float && p % q != 0) r.known = false;
              v = type == "Div" ? p / q : p % q;
            }
            if (type == "Pow") {
              v = 1;
              if (q < 0 || q > 62) r.known = false;
              for (std::int64_t e = 0; r.known && e < q; ++e) {
                if (__builtin_mul_overflow(v, p, &v)) r.known = false;
              }
            }
          }
          if (!r.known) r.ints.clear();
        }
        acc = std::move(r);
      }
      out = std::move(acc);
    }
    if (out.known && out.ints.size() != Elements(out.dims)) {
      out.known = false;
      out.ints.clear();
    }
    consts_[node.output(0)] = std::move(out);
  }

  // Add / Sub / Mul / Div with at least one activation input.
  void Binary(const onnx::NodeProto& node, const std::string& name, OpKind kind) {
    if (node.input_size() != 2) Fail(node, "expected two inputs");
    const bool c0 = IsConst(node.input(0)), c1 = IsConst(node.input(1));
    if (c0 || c1) {
      const Value x = Get(node, node.input(c0 ? 1 : 0));
      const std::string& cname = node.input(c0 ? 0 : 1);
      const Const& c = consts_.at(cname);
      const std::uint64_t n = Elements(c.dims);
      if (node.op_type() == "Div" && c0) Fail(node, "division of a constant by a tensor");
      if (x.scores && (c1 || node.op_type() == "Add" || node.op_type() == "Mul")) {
        // The 1/sqrt(d) scale or an additive mask of attention scores: part of the softmax
        // (kSoftmax fuses scale and causal mask, as in the zoo).
        values_[node.output(0)] = x;
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
    Value a = Get(node, node.input(0)), b = Get(node, node.input(1));
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
  void Layout(const onnx::NodeProto& node) {
    Value v = Get(node, node.input(0));
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
    values_[node.output(0)] = v;
  }

  // Expand or Slice of an activation: supported when it keeps every element (a view).
  void ActivationView(const onnx::NodeProto& node, int index) {
    Value v = Get(node, node.input(0));
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
      return EmitSplit(node, OpName(node, index), v, {out});
    }
    if (Product(out) != Product(v.shape)) {
      Fail(node, fmt::format("{} of an activation from [{}] to [{}] is not supported (only as "
                             "a view that keeps every element)",
                             node.op_type(), fmt::join(v.shape, ","), fmt::join(out, ",")));
    }
    v.shape = out;
    values_[node.output(0)] = v;
  }

  // A kSplit copying parts of x to the node's outputs (`parts`: their shapes, in order).
  void EmitSplit(const onnx::NodeProto& node, const std::string& name, const Value& x,
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
      values_[node.output(static_cast<int>(i))] = v;
    }
  }

  // Split of an activation along any axis: a copy into the parts.
  void SplitActivation(const onnx::NodeProto& node, const std::string& name) {
    const Value x = Get(node, node.input(0));
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
  void ConcatActivations(const onnx::NodeProto& node, const std::string& name) {
    std::vector<Value> parts;
    for (const std::string& in : node.input()) {
      if (in.empty()) continue;
      const bool c = IsConst(in) && values_.count(in) == 0;
      if (c && Elements(consts_.at(in).dims) == 0) continue;  // an empty input adds nothing
      parts.push_back(c ? Weight(node, in) : Get(node, in));
    }
    if (parts.empty()) Fail(node, "no non-empty inputs");
    bool has_axis = false;
    for (const onnx::AttributeProto& a : node.attribute())
      has_axis = has_axis || a.name() == "axis";
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
      for (std::size_t d = 0; same && d < first.size(); ++d)
        same = d == ax || v.shape[d] == first[d];
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
  void GatherActivation(const onnx::NodeProto& node, const std::string& name) {
    Value x = Get(node, node.input(0));
    if (node.input_size() != 2) Fail(node, "expected two inputs");
    const std::vector<std::int64_t>& idx = ConstInts(node, 1, "indices");
    const Shape idx_dims = consts_.at(node.input(1)).dims;
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
      values_[node.output(0)] = x;
      return;
    }
    EmitSplit(node, name, x, {out});
  }

  // An element-wise function of one activation (UnaryOps).
  void UnaryActivation(const onnx::NodeProto& node, const std::string& name, UnaryFn fn) {
    if (!HasInput(node, 0)) Fail(node, "missing input");
    const Value x = Get(node, node.input(0));
    if (fn == UnaryFn::kPow) {
      if (node.input_size() != 2 || !IsConst(node.input(1))) {
        Fail(node, "only a constant exponent is supported (not a power of two activations)");
      }
      const Shape e = DimsOf(node, node.input(1));
      if (Broadcast(node, x.shape, e) != x.shape) {
        Fail(node, fmt::format("exponent [{}] broadcasts the base [{}] to a larger shape",
                               fmt::join(e, ","), fmt::join(x.shape, ",")));
      }
    } else if (fn == UnaryFn::kClip) {
      for (int i = 1; i < node.input_size(); ++i) {
        if (HasInput(node, i) && !IsConst(node.input(i))) {
          Fail(node, fmt::format("bound '{}' is an activation; only constant bounds are supported",
                                 node.input(i)));
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
  void Mask(const onnx::NodeProto& node) {
    if (node.input_size() != 3) Fail(node, "expected three inputs");
    const bool c1 = IsConst(node.input(1)), c2 = IsConst(node.input(2));
    if (!IsConst(node.input(0)) || c1 == c2) {
      Fail(node,
           "Where on activations is supported only as the mask of attention scores (a "
           "constant condition, the scores and a constant fill)");
    }
    const Value x = Get(node, node.input(c1 ? 2 : 1));
    if (!x.scores) {
      Fail(node,
           "Where on activations is supported only as the mask of attention scores "
           "(QK^T) before their Softmax");
    }
    values_[node.output(0)] = x;
  }

  // LayerNorm (over the dims from `axis` on) or BatchNorm of x with gain and bias (none: a
  // constant stand-in without gradient).
  void Norm(const onnx::NodeProto& node, const std::string& name, bool ln, const std::string& xn,
            const std::string& gain_name, const std::string& bias_name, std::int64_t axis) {
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
  void SplitProjection(const onnx::NodeProto& node, const SplitPattern& p) {
    const onnx::NodeProto& mm = g_.node(p.matmul);
    const Value x = Get(mm, mm.input(0));
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
      values_[node.output(static_cast<int>(i))] = outs[i];
  }

  void ImportNode(int index) {
    if (skip_.count(index)) return;
    const onnx::NodeProto& node = g_.node(index);
    const std::string& type = node.op_type();
    const std::string name = OpName(node, index);
    layer_ = LayerOf(node);
    auto norm = norms_.find(index);
    if (norm != norms_.end()) {
      const NormPattern& p = norm->second;
      return Norm(node, name, true, p.x, p.gain, p.bias, p.axis);
    }
    auto split = splits_.find(index);
    if (split != splits_.end()) return SplitProjection(node, split->second);
    if (Folds(node)) return Fold(node);
    if (LayoutOps().count(type)) return Layout(node);
    if (type == "Expand" || type == "Slice") return ActivationView(node, index);
    if (type == "Where") return Mask(node);
    if (type == "MatMul") {
      const Value a = Get(node, node.input(0));
      if (a.shape.size() < 2) Fail(node, "the first operand must have rank >= 2");
      GraphOp op;
      op.name = name;
      op.kind = OpKind::kMatmul;
      const Value b =
          IsConst(node.input(1)) ? Weight(node, node.input(1)) : Get(node, node.input(1));
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
        values_[node.output(0)].scores = !a.attention_core && !b.attention_core;
      }
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
      // alpha scales the product in the epilogue (free, like every constant scale); beta = 0
      // drops C. A transposed view (a Transpose before the Gemm) flips the flag.
      op.matmul = {1, m, k, n, ta != a.transposed, tb != b.transposed};
      op.inputs = {a.id, b.id};
      Value y = Emit(node, op, {m, n}, dtype_);
      if (HasInput(node, 2) && FloatAttr(node, "beta", 1.0) != 0.0) {
        const bool cc = IsConst(node.input(2));
        const Value c = cc ? Weight(node, node.input(2)) : Get(node, node.input(2));
        const OpKind kind =
            cc && Product(c.shape) != Product(y.shape) ? OpKind::kBiasAdd : OpKind::kAdd;
        Emit(node, Elementwise(name + ".bias_add", kind, y.shape, {y.id, c.id}), y.shape, dtype_);
      }
      return;
    }
    if (type == "Conv") {
      const std::int64_t group = IntAttr(node, "group", 1);
      const Value x = Get(node, node.input(0));
      if (!IsConst(node.input(1))) Fail(node, "the weight must be an initializer");
      const Value w = Weight(node, node.input(1));
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
      return;
    }
    if (type == "LayerNormalization" || type == "BatchNormalization") {
      if (node.input_size() < 2) Fail(node, "missing scale");
      return Norm(node, name, type == "LayerNormalization", node.input(0), node.input(1),
                  HasInput(node, 2) ? node.input(2) : "", IntAttr(node, "axis", -1));
    }
    if (type == "Gather") {
      if (!IsConst(node.input(0))) return GatherActivation(node, name);
      // Ids may be an input, an activation or a constant (computed position ids).
      if (!IsConst(node.input(0)) || !consts_.at(node.input(0)).initializer) {
        Fail(node, "only a lookup in a float initializer table (an embedding) is supported");
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
      } else {
        SetMaxPoolView(op);
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
    auto unary = UnaryOps().find(type);
    if (unary != UnaryOps().end()) return UnaryActivation(node, name, unary->second);
    if (type == "Concat") return ConcatActivations(node, name);
    if (type == "Split") return SplitActivation(node, name);
    if (FoldedOps().count(type)) {
      Fail(node,
           "supported only in shape computations (on constants and tensor shapes), not on "
           "activations");
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
  std::int64_t opset_ = 17;  // of the default domain
  Weights weights_;
  std::map<std::string, Shape> param_shapes_;
  std::map<int, SplitPattern> splits_;             // Split node -> its projection
  std::map<std::string, std::string> split_bias_;  // split weight -> its bias ("" none)
  ForwardGraph fg_;
  Dtype dtype_ = Dtype::kBf16;
  std::map<std::string, Value> values_;
  std::map<std::string, Const> consts_;
  std::map<std::string, TensorId> params_;
  std::map<std::string, int> layers_;
  std::set<TensorId> fresh_;  // activation x activation matmul outputs not yet read by an op
  std::map<int, std::pair<OpKind, std::string>> fused_;
  struct NormPattern {
    std::string x, gain, bias;
    std::int64_t axis = -1;
  };
  std::map<int, NormPattern>
      norms_;           // last node of a decomposed LayerNorm  // last node of a pattern -> op, x
  std::set<int> skip_;  // the other nodes of patterns
  int layer_ = -1;
  std::uint64_t samples_ = 1, sequence_ = 1;
};

}  // namespace

ForwardGraph ImportOnnx(const std::string& path, const WorkloadConfig& settings) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(fmt::format("{}: is a directory: expected an ONNX model file", path));
  }
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
  std::int64_t opset = 17;
  for (const onnx::OperatorSetIdProto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  // Parameters in the file's initializer order (the exporter lists them in the model's
  // parameter order), not in order of first use: a first pass finds which they are.
  try {
    Importer first(path, model.graph(), settings, opset);
    first.Run();
    return Importer(path, model.graph(), settings, opset, first.Parameters()).Run();
  } catch (const InputError& e) {
    const std::string message = e.what();
    if (message.rfind(path, 0) == 0) throw;
    throw InputError(path + ": " + message);  // every error names the file
  }
}

}  // namespace systole
