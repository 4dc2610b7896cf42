// One table of what Systole knows about each op kind (OpKind, graph.h): adding an op kind
// means adding its row here (op_kinds.cpp) instead of a case to switches across the graph,
// the lowering and the training step.
//
// A row holds
//   name                the op's name in reports and traces
//   flops_per_element   FLOPs per element (rows x cols) of an element-wise or row-wise op;
//                       0 for kinds counted another way: matmuls, convolutions and attention
//                       from their dims, kUnary / kUnaryGrad per function
//                       (UnaryFlopsPerElement), max pooling per window, gathers and copies
//                       (none)
//   tensor_engine       matmul-class work (matmul, convolutions, fused attention) that runs
//                       on the tensor engine (GraphOp::is_matmul)
//   kernel              the element-wise kernel class the lowering times the op with
//                       ("add", "relu", "gelu", "softmax", "layernorm", "rmsnorm"; kUnary and
//                       kUnaryGrad choose per function, see ElementwiseKind in
//                       workloads/lowering/op_lowering.cpp)
//   backward            for a forward kind whose gradient is one op: that op's kind, what
//                       it reads (dy, and forward inputs and outputs saved for the backward
//                       pass, or read where they are) and which inputs it produces gradients
//                       for; empty for gradient and optimizer kinds and for the forward kinds
//                       with their own rule in workloads/training/training_step.cpp (matmul,
//                       convolution, add, bias add, max pooling, unary, concat, split)
//   fusion              how the op joins the epilogue of the matmul producing its input
//                       (workloads/training/fusion.cpp); kNone: never fused
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

#include "workloads/graph/graph.h"

namespace systole {

// One tensor a gradient op reads.
struct GradRead {
  enum Source : std::uint8_t { kNone, kDy, kInput, kOutput };
  Source source = kNone;
  std::uint8_t index = 0;  // kInput, kOutput: which input / output of the forward op
  bool saved = true;       // kInput, kOutput: kept from the forward pass (or recomputed)
};
constexpr GradRead Dy() { return {GradRead::kDy, 0, false}; }
constexpr GradRead In(std::uint8_t i) { return {GradRead::kInput, i, true}; }
constexpr GradRead Out(std::uint8_t i) { return {GradRead::kOutput, i, true}; }
// An input read where it is (a parameter, which lives the whole step).
constexpr GradRead Param(std::uint8_t i) { return {GradRead::kInput, i, false}; }

struct BackwardRule {
  OpKind grad = OpKind::kAdd;
  std::array<GradRead, 6> reads{};             // in order; source kNone ends the list
  std::array<std::int8_t, 3> wrt{-1, -1, -1};  // input indices, in order; -1 ends the list
  bool empty() const { return reads[0].source == GradRead::kNone; }
};
constexpr BackwardRule Grad(OpKind grad, std::initializer_list<GradRead> reads,
                            std::initializer_list<std::int8_t> wrt) {
  BackwardRule r;
  r.grad = grad;
  std::size_t i = 0;
  for (const GradRead& x : reads) r.reads[i++] = x;
  i = 0;
  for (std::int8_t w : wrt) r.wrt[i++] = w;
  return r;
}

enum class Fusion : std::uint8_t {
  kNone,
  kBias,            // x + bias: x from a (non-batched) matmul, bias one value per column
  kActivation,      // f(x) of one input
  kResidual,        // x + y: the chain on either side, the other a same-size tensor, loaded
  kActivationGrad,  // dy x f'(saved): the chain is dy (input 0), the saved tensor loaded
  kGatedProduct,    // silu(gate) x up: continues the chain of up (input 1), gate loaded
};

struct OpKindInfo {
  OpKind kind;
  const char* name;
  std::uint64_t flops_per_element;
  bool tensor_engine;
  const char* kernel;
  BackwardRule backward;
  Fusion fusion = Fusion::kNone;
};

// The row of `kind`.
const OpKindInfo& OpInfo(OpKind kind);

}  // namespace systole
