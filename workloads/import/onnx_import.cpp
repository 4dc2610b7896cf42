// The ONNX importer's entry point and the parts every op uses: graph inputs, parameters,
// layer names, attributes, emitting ops, the loss (onnx_importer.h lists the other files).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/import/onnx_import.h"
#include "workloads/import/onnx_importer.h"

namespace systole::onnx_importer {

std::uint64_t Product(const Shape& s, std::size_t from, std::size_t to) {
  std::uint64_t p = 1;
  for (std::size_t i = from; i < s.size() && i < to; ++i) p = CheckedMul(p, s[i], "ONNX shape");
  return p;
}
std::uint64_t ShapeCols(const Shape& s) { return s.empty() ? 1 : s.back(); }
std::uint64_t ShapeRows(const Shape& s) { return s.empty() ? 1 : Product(s, 0, s.size() - 1); }

Importer::Importer(const std::string& path, const onnx::GraphProto& graph,
                   const WorkloadConfig& settings, std::int64_t opset, Weights weights)
    : path_(path), g_(graph), settings_(settings), opset_(opset), weights_(std::move(weights)) {
  fg_.compute_dtype = settings.training.precision == Precision::kFp32 ? Dtype::kFp32 : Dtype::kBf16;
  dtype_ = fg_.compute_dtype;
}

// The parameters, in the order the file lists their initializers (a split projection's
// parts each weight then bias, as separate projections).
Importer::Weights Importer::Parameters() const {
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

ForwardGraph Importer::Run() {
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

void Importer::Fail(const onnx::NodeProto& node, const std::string& what) const {
  const std::string label = !node.name().empty()     ? node.name()
                            : node.output_size() > 0 ? "output " + Output(node, 0)
                                                     : std::string("unnamed");
  throw InputError(fmt::format("{}: node '{}' ({}): {}", path_, label, node.op_type(), what));
}

// Every op type that is neither supported nor part of a recognised pattern, at once.
void Importer::CheckSupported() const {
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

void Importer::ImportInputs() {
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
std::string Importer::BlockKey(const std::string& name) {
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

int Importer::LayerOf(const onnx::NodeProto& node) {
  const std::string key = BlockKey(node.name());
  if (key.empty()) return -1;
  return layers_.emplace(key, static_cast<int>(layers_.size())).first->second;
}

// An activation or input (constants read as data become constant inputs: integer ones,
// such as computed position ids, as 4-byte ids).
Value Importer::Get(const onnx::NodeProto& node, const std::string& name) {
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

TensorId Importer::NewParam(const std::string& name, Shape shape) {
  for (std::uint64_t& d : shape) d = std::max<std::uint64_t>(d, 1);
  param_shapes_[name] = shape;
  return params_[name] = fg_.graph.AddTensor(name, shape, dtype_, TensorKind::kParameter);
}

// A weight: a float initializer becomes a parameter (once); other constants are constant
// inputs and activations are returned as they are.
Value Importer::Weight(const onnx::NodeProto& node, const std::string& name) {
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

std::vector<std::int64_t> Importer::IntsAttr(const onnx::NodeProto& node, const std::string& name,
                                             std::vector<std::int64_t> fallback) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  }
  return fallback;
}

std::int64_t Importer::IntAttr(const onnx::NodeProto& node, const std::string& name,
                               std::int64_t fallback) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

double Importer::FloatAttr(const onnx::NodeProto& node, const std::string& name,
                           double fallback) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return fallback;
}

std::string Importer::StringAttr(const onnx::NodeProto& node, const std::string& name) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.s();
  }
  return "";
}

std::string Importer::OpName(const onnx::NodeProto& node, int index) const {
  return node.name().empty() ? fmt::format("{}_{}", node.op_type(), index) : node.name();
}

// Adds the op with one activation output of `shape` (plus `extra` fp32 outputs). An
// activation x activation matmul's output read by this op only through layout ops is
// stored as this op sees it (heads are a layout matter: [B, s, heads x d], as in the zoo).
void Importer::StoreAsRead(const onnx::NodeProto& node) {
  for (const std::string& in : node.input()) {
    auto v = values_.find(in);
    if (v == values_.end() || fresh_.count(v->second.id) == 0) continue;
    GraphTensor& t = fg_.graph.mutable_tensor(v->second.id);
    if (Product(v->second.shape) == t.elements()) t.shape = v->second.shape;
    fresh_.erase(v->second.id);
  }
}

Value Importer::Emit(const onnx::NodeProto& node, GraphOp op, const Shape& shape, Dtype dtype,
                     std::vector<Shape> extra, const char* extra_suffix) {
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
  if (node.output_size() > 0) values_[Output(node, 0)] = out;
  return out;
}

GraphOp Importer::Elementwise(const std::string& name, OpKind kind, const Shape& shape,
                              std::vector<TensorId> inputs) const {
  GraphOp op;
  op.name = name;
  op.kind = kind;
  op.rows = ShapeRows(shape);
  op.cols = ShapeCols(shape);
  op.inputs = std::move(inputs);
  return op;
}

ConvDims Importer::Window(const onnx::NodeProto& node, const Shape& x, std::uint64_t c_out,
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
    Fail(node,
         fmt::format("a {}x{} window does not fit a {}x{} input", span_h, span_w, c.h_in, c.w_in));
  }
  c.h_out = (c.h_in + 2 * pad - span_h) / c.stride + 1;
  c.w_out = (c.w_in + 2 * pad - span_w) / c.stride + 1;
  return c;
}

bool Importer::HasInput(const onnx::NodeProto& node, int i) const {
  return node.input_size() > i && !Input(node, i).empty();
}

// The shape of any tensor: an activation's view or a constant's dims.
Shape Importer::DimsOf(const onnx::NodeProto& node, const std::string& name) const {
  auto v = values_.find(name);
  if (v != values_.end()) return v->second.shape;
  auto c = consts_.find(name);
  if (c == consts_.end()) Fail(node, "reads '" + name + "', which no earlier node produces");
  return c->second.dims;
}

void Importer::AppendLoss() {
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
  const TensorId labels = fg_.graph.AddTensor("labels", label_shape, kIdDtype, TensorKind::kInput);
  GraphOp op;
  op.name = "loss";
  op.kind = OpKind::kCrossEntropy;
  op.rows = ShapeRows(logits.shape);
  op.cols = ShapeCols(logits.shape);
  op.inputs = {logits.id, labels};
  op.outputs = {fg_.graph.AddTensor("loss.loss", {1}, Dtype::kFp32, TensorKind::kActivation),
                fg_.graph.AddTensor("loss.lse", {op.rows}, Dtype::kFp32, TensorKind::kActivation)};
  op.layer = -1;
  op.role = OpRole::kForward;
  fg_.losses.push_back(op.outputs[0]);
  fg_.graph.AddOp(std::move(op));
}

}  // namespace systole::onnx_importer

namespace systole {

using onnx_importer::Importer;

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
