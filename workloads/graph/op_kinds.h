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
#pragma once

#include <cstdint>

#include "workloads/graph/graph.h"

namespace systole {

struct OpKindInfo {
  OpKind kind;
  const char* name;
  std::uint64_t flops_per_element;
  bool tensor_engine;
  const char* kernel;
};

// The row of `kind`.
const OpKindInfo& OpInfo(OpKind kind);

}  // namespace systole
