// Internals of the ONNX importer (onnx_import.h), shared by its source files:
//   onnx_import.cpp    entry point, graph inputs, parameters, layer names, emitting ops, the loss
//   onnx_fold.cpp      constant folding: shape computations on constants and tensor shapes,
//                      and the view shapes of layout ops
//   onnx_patterns.cpp  pattern matching: subgraphs of several nodes imported as one op
//                      (silu, PyTorch's GELU expansions, LayerNorm before opset 17, split
//                      projections)
//   onnx_ops.cpp       the per-op handler table: one registration per ONNX op type
// Nothing outside workloads/import/ includes this header.
#pragma once

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "workloads/import/onnx_import.h"

namespace systole::onnx_importer {

// A node's i-th input or output name; a node with fewer than the op needs (a malformed or
// truncated model) is an input error instead of an out-of-range read.
inline const std::string& Input(const onnx::NodeProto& node, int i) {
  if (i < 0 || i >= node.input_size()) {
    throw InputError(fmt::format("node '{}' ({}): expected at least {} input(s), it has {}",
                                 node.name(), node.op_type(), i + 1, node.input_size()));
  }
  return node.input(i);
}
inline const std::string& Output(const onnx::NodeProto& node, int i) {
  if (i < 0 || i >= node.output_size()) {
    throw InputError(fmt::format("node '{}' ({}): expected at least {} output(s), it has {}",
                                 node.name(), node.op_type(), i + 1, node.output_size()));
  }
  return node.output(i);
}

constexpr Dtype kIdDtype = Dtype::kFp32;  // 4-byte integer ids and labels, as in the zoo
// Constants with more elements keep their dims only (their values are never shapes).
constexpr std::uint64_t kMaxFoldedElements = 1u << 16;

using Shape = std::vector<std::uint64_t>;

std::uint64_t Product(const Shape& s, std::size_t from = 0, std::size_t to = ~std::size_t{0});
std::uint64_t ShapeCols(const Shape& s);
std::uint64_t ShapeRows(const Shape& s);

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

// Constant values (onnx_fold.cpp).
std::uint64_t Elements(const Shape& dims);
// Multi-index of `flat` in `dims` (row-major), and back.
std::vector<std::uint64_t> Unravel(std::uint64_t flat, const Shape& dims);
std::uint64_t Ravel(const std::vector<std::uint64_t>& idx, const Shape& dims);
bool IsIntType(int type);
// The integer / bool values of `t` (empty when it holds none).
std::vector<std::int64_t> IntData(const onnx::TensorProto& t);
Const ConstFromTensor(const std::string& name, const onnx::TensorProto& t);
// `c`'s values broadcast (numpy rules) to `out` (which must be a broadcast of its dims).
std::vector<std::int64_t> BroadcastTo(const Const& c, const Shape& out);

// Op types by how they are imported.
const std::set<std::string>& LayoutOps();  // views of their input (onnx_fold.cpp)
// Ops evaluated on constants (shape computations); Shape and Size read any tensor's shape
// (onnx_fold.cpp).
const std::set<std::string>& FoldedOps();
// Element-wise functions of one activation (kUnary) (onnx_ops.cpp).
const std::map<std::string, UnaryFn>& UnaryOps();

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
           std::int64_t opset, Weights weights = {});
  // The parameters, in the order the file lists their initializers (a split projection's
  // parts each weight then bias, as separate projections).
  Weights Parameters() const;
  ForwardGraph Run();

 private:
  // A handler of one ONNX op type on activations (onnx_ops.cpp); `name` is the op's name.
  using Handler = void (Importer::*)(const onnx::NodeProto& node, const std::string& name,
                                     int index);
  static const std::map<std::string, Handler>& Handlers();
  // Every op type the importer reads: the handlers' and the folded ones.
  static const std::set<std::string>& SupportedOps();

  // onnx_import.cpp
  [[noreturn]] void Fail(const onnx::NodeProto& node, const std::string& what) const;
  void CheckSupported() const;
  void ImportInputs();
  static std::string BlockKey(const std::string& name);
  int LayerOf(const onnx::NodeProto& node);
  // A constant (an initializer, Constant or folded value), even once read as a tensor.
  bool IsConst(const std::string& name) const { return consts_.count(name) != 0; }
  Value Get(const onnx::NodeProto& node, const std::string& name);
  TensorId NewParam(const std::string& name, Shape shape);
  Value Weight(const onnx::NodeProto& node, const std::string& name);
  std::vector<std::int64_t> IntsAttr(const onnx::NodeProto& node, const std::string& name,
                                     std::vector<std::int64_t> fallback) const;
  std::int64_t IntAttr(const onnx::NodeProto& node, const std::string& name,
                       std::int64_t fallback) const;
  double FloatAttr(const onnx::NodeProto& node, const std::string& name, double fallback) const;
  std::string StringAttr(const onnx::NodeProto& node, const std::string& name) const;
  std::string OpName(const onnx::NodeProto& node, int index) const;
  void StoreAsRead(const onnx::NodeProto& node);
  Value Emit(const onnx::NodeProto& node, GraphOp op, const Shape& shape, Dtype dtype,
             std::vector<Shape> extra = {}, const char* extra_suffix = ".stats");
  GraphOp Elementwise(const std::string& name, OpKind kind, const Shape& shape,
                      std::vector<TensorId> inputs) const;
  ConvDims Window(const onnx::NodeProto& node, const Shape& x, std::uint64_t c_out,
                  std::uint64_t kh, std::uint64_t kw) const;
  bool HasInput(const onnx::NodeProto& node, int i) const;
  Shape DimsOf(const onnx::NodeProto& node, const std::string& name) const;
  void AppendLoss();

  // onnx_fold.cpp
  // A strided box of `in`: per dim its first index, step and count.
  struct Box {
    std::vector<std::int64_t> first, step;
    Shape count;
  };
  const std::vector<std::int64_t>& ConstInts(const onnx::NodeProto& node, int i,
                                             const char* what) const;
  static std::int64_t Axis(const onnx::NodeProto& node, std::int64_t a, std::size_t rank,
                           const Importer& self);
  std::vector<std::int64_t> Perm(const onnx::NodeProto& node, std::size_t rank) const;
  Shape LayoutShape(const onnx::NodeProto& node, const Shape& in) const;
  Shape Broadcast(const onnx::NodeProto& node, const Shape& a, const Shape& b) const;
  Box FullBox(const Shape& in) const;
  Box SliceBox(const onnx::NodeProto& node, const Shape& in) const;
  Const Cut(const Const& c, const Box& box) const;
  bool Folds(const onnx::NodeProto& node) const;
  void Fold(const onnx::NodeProto& node);

  // onnx_patterns.cpp
  void FindPatterns();

  // onnx_ops.cpp
  void ImportNode(int index);
  void MatMul(const onnx::NodeProto& node, const std::string& name, int index);
  void Gemm(const onnx::NodeProto& node, const std::string& name, int index);
  void Conv(const onnx::NodeProto& node, const std::string& name, int index);
  void AddOrSub(const onnx::NodeProto& node, const std::string& name, int index);
  void Div(const onnx::NodeProto& node, const std::string& name, int index);
  void Mul(const onnx::NodeProto& node, const std::string& name, int index);
  void ReluOrGelu(const onnx::NodeProto& node, const std::string& name, int index);
  void Softmax(const onnx::NodeProto& node, const std::string& name, int index);
  void Normalization(const onnx::NodeProto& node, const std::string& name, int index);
  void Gather(const onnx::NodeProto& node, const std::string& name, int index);
  void Pool(const onnx::NodeProto& node, const std::string& name, int index);
  void GlobalAveragePool(const onnx::NodeProto& node, const std::string& name, int index);
  void SoftmaxCrossEntropyLoss(const onnx::NodeProto& node, const std::string& name, int index);
  void Unary(const onnx::NodeProto& node, const std::string& name, int index);
  void Concat(const onnx::NodeProto& node, const std::string& name, int index);
  void Split(const onnx::NodeProto& node, const std::string& name, int index);
  void Layout(const onnx::NodeProto& node, const std::string& name, int index);
  void ActivationView(const onnx::NodeProto& node, const std::string& name, int index);
  void Mask(const onnx::NodeProto& node, const std::string& name, int index);
  void Binary(const onnx::NodeProto& node, const std::string& name, OpKind kind);
  void EmitSplit(const onnx::NodeProto& node, const std::string& name, const Value& x,
                 const std::vector<Shape>& parts);
  void GatherActivation(const onnx::NodeProto& node, const std::string& name);
  void Norm(const onnx::NodeProto& node, const std::string& name, bool ln, const std::string& xn,
            const std::string& gain_name, const std::string& bias_name, std::int64_t axis);
  void SplitProjection(const onnx::NodeProto& node, const SplitPattern& p);

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
  std::map<int, std::pair<OpKind, std::string>> fused_;  // last node of a pattern -> op, x
  struct NormPattern {
    std::string x, gain, bias;
    std::int64_t axis = -1;
  };
  std::map<int, NormPattern> norms_;  // last node of a decomposed LayerNorm
  std::set<int> skip_;                // the other nodes of patterns
  int layer_ = -1;
  std::uint64_t samples_ = 1, sequence_ = 1;
};

}  // namespace systole::onnx_importer
