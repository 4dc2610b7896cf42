// ONNX importer: the forward graph of an ONNX model (ModelProto, read with the ONNX /
// protobuf C++ API of Debian's libonnx-dev), ready for BuildTrainingStep.
//
// What it models:
//   tensors    float initializers consumed as weights (MatMul/Gemm B and C, Conv W and B,
//              LayerNormalization / BatchNormalization scale and bias, Gather tables, the
//              broadcast vector of an Add or Mul) become parameters; other initializers and
//              Constant nodes become constant inputs (no gradient); graph inputs become
//              inputs, a symbolic (or <= 0) first dimension taking training.micro_batch and
//              a symbolic second dimension training.sequence. Integer inputs (token ids) are
//              4-byte ids as in the zoo; every float tensor is in the compute dtype
//              (training.precision), whatever the file's element type says.
//   ops        MatMul (initializer B: a linear layer; two activations: a batched matmul,
//              marked as attention core so selective recomputation re-runs it), Gemm
//              (transA / transB, C as bias), Conv (equal strides, symmetric pads, no
//              dilation, group 1; its bias as a bias add), Add / Sub, Mul, Relu, Gelu,
//              Sigmoid followed by Mul with its own input (silu), Softmax, LayerNormalization,
//              BatchNormalization, x * 0.5 * (1 + Erf(x / sqrt 2)) (gelu, as PyTorch exports
//              it before opset 20), Gather on an initializer table (embedding), MaxPool,
//              AveragePool, GlobalAveragePool, SoftmaxCrossEntropyLoss (the loss); Reshape
//              (constant shape), Transpose, Flatten, Squeeze, Unsqueeze, Identity, Cast and
//              Dropout are layout (free, as in the graph IR).
//   loss       a SoftmaxCrossEntropyLoss node is the loss; a model without one (an inference
//              export) gets a cross-entropy loss on its first output, with a labels input of
//              the output's shape without its last dimension.
//   layers     ops whose node name has a block component ("layers.3", "h.3", "blocks.3",
//              "layer1.0") get GraphOp::layer, numbered in order of first appearance, so full
//              recomputation and block replication work; other ops have layer -1.
// What it ignores: data values, alpha / beta of Gemm (scales are free), ceil_mode of
//   pooling, the layout of transposed operands (a MatMul after a Transpose reads it as
//   stored), Softmax's axis (always the last), opset versions and domains (ops are matched
//   by type name).
// Errors (InputError, one line, naming the file): a missing or unreadable file, a file that
//   is not an ONNX ModelProto, a graph without nodes, every unsupported op type at once
//   with its count ("unsupported ONNX ops: NonMaxSuppression x2, TopK x1"), and shapes the
//   importer cannot follow (naming the node).
#pragma once

#include <string>

#include "workloads/graph/graph.h"
#include "workloads/zoo/workload_config.h"

namespace systole {

// `settings.training` gives micro_batch / sequence for symbolic dimensions and the compute
// dtype; train the result with BuildTrainingStep(graph, settings).
ForwardGraph ImportOnnx(const std::string& path, const WorkloadConfig& settings);

}  // namespace systole
