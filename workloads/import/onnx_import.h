// ONNX importer: the forward graph of an ONNX model (ModelProto, read with the ONNX /
// protobuf C++ API of Debian's libonnx-dev), ready for BuildTrainingStep.
//
// What it models:
//   tensors    float initializers consumed as weights (MatMul/Gemm B and C, Conv W and B,
//              LayerNormalization / BatchNormalization scale and bias, Gather tables, the
//              broadcast vector of an Add or Mul) become parameters, created in the file's
//              initializer order; other constants become constant inputs (no gradient);
//              graph inputs become inputs, a symbolic (or <= 0) first dimension taking
//              training.micro_batch and a symbolic second dimension training.sequence.
//              Integer inputs (token ids) are 4-byte ids as in the zoo; every float tensor is
//              in the compute dtype (training.precision), whatever the file's element type.
//   constants  shape computations are folded: Constant, ConstantOfShape, Shape, Size, and
//              Gather, Concat, Slice, Split, Range, Expand, Where, Equal / Less / Greater,
//              Not / And / Or, Add / Sub / Mul / Div / Mod / Pow / Max / Min, Neg / Abs /
//              Sqrt / Floor / Ceil and the layout ops on constants, with integer values kept
//              (up to 65536 elements), so Reshape targets computed at runtime (PyTorch's
//              Shape -> Gather -> Unsqueeze -> Concat chains) resolve to static shapes.
//   ops        MatMul (initializer B: a linear layer, a transposed initializer such as a tied
//              LM head read as stored with transpose_b; two activations: a batched matmul,
//              marked as attention core so selective recomputation re-runs it, an operand
//              read through a transposing view (K^T) being a transposed operand, its output
//              stored in the layout its reader sees: heads merged, as in the zoo), Gemm
//              (transA / transB, C as bias unless beta = 0, alpha a free scale), Conv (equal
//              strides, symmetric pads; its bias as a bias add), Add / Sub, Mul, Div (by a
//              constant: one op; by an activation: a Reciprocal of the divisor, then a Mul),
//              Relu, Gelu, Sigmoid followed by Mul with its own input (silu),
//              Softmax (any axis: rows x cols = the other dims x the axis; before opset 13
//              the dims from axis on), LayerNormalization (over the dims from axis on),
//              BatchNormalization, (x - ReduceMean(x)) / Sqrt(ReduceMean(Pow(x - mean, 2)) +
//              eps) * gain + bias (LayerNorm as exported before opset 17), x * 0.5 * (1 +
//              Erf(x / sqrt 2)) and 0.5 * x * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 *
//              x^3))) (gelu, as PyTorch exports them before opset 20), Gather on a float
//              initializer table (embedding; ids may be computed constants), MaxPool, AveragePool,
//              GlobalAveragePool, SoftmaxCrossEntropyLoss (the loss), a MatMul by an
//              initializer (+ Add of an initializer bias) read only by a Split along the
//              features (GPT-2's c_attn into q, k, v): one projection per part, its weight and
//              bias slices the parameters "<weight>#<part>"; Reshape, Transpose, Flatten,
//              Squeeze, Unsqueeze, Identity, Cast and Dropout are layout (free, as in the graph
//              IR), and so are Expand and Slice that keep every element (and a Gather that
//              picks every index in order).
//              Element-wise functions of an activation anywhere in the graph (outside the silu
//              and gelu patterns, which keep their dedicated ops): Tanh, Sigmoid, Erf, Exp,
//              Log, Sqrt, Reciprocal, Neg, Abs, Pow with a constant exponent, LeakyRelu, Clip
//              with constant (or no) bounds, Softplus, HardSigmoid, HardSwish, Elu: one
//              kUnary op each (its FLOPs per element and kernel class per function, see
//              UnaryFn in graph.h; the exponent, slope and bounds are data values, ignored),
//              whose gradient reads dy and the saved input or output.
//              Copies of activations (along any axis; memory-bound, no FLOPs): Concat (its
//              float initializer inputs are parameters, e.g. a learned token; other constants
//              constant inputs) as kConcat, whose gradient splits dy; Split (sizes from the
//              input, the attribute or equal parts) as kSplit, Slice that drops elements (any
//              steps) and Gather with constant indices along any axis (PyTorch's x[:, 0]) as a
//              one-part kSplit, whose gradient is a kConcat writing dx (what no part covers
//              as zeros; a Gather's repeated indices would sum their gradients, adds not
//              counted). Attention scores (QK^T of
//              two activations) scaled by a constant (Div / Mul), masked by Add of a constant or
//              Where(constant condition, scores, constant) are the softmax's input: kSoftmax
//              fuses scale and causal mask, as in the zoo.
//   loss       a SoftmaxCrossEntropyLoss node is the loss; a model without one (an inference
//              export) gets a cross-entropy loss on its first output, with a labels input of
//              the output's shape without its last dimension.
//   layers     ops whose node name has a block component ("layers.3", "h.3", "blocks.3",
//              "layer1.0") get GraphOp::layer, numbered in order of first appearance, so full
//              recomputation and block replication work; other ops have layer -1.
// What it ignores: data values (float constants keep only their dims), ceil_mode of pooling,
//   opset versions (but Softmax's default axis) and domains (ops are matched by type name).
// Conv and pooling windows: grouped / depthwise Conv (group) and dilations are imported
//   (ConvDims::groups, ::dilation); strides and dilations that differ between the two
//   dimensions, unequal pads and non-square pooling windows are rejected naming the node
//   and attribute.
// Errors (InputError, one line, naming the file): a missing or unreadable file, a file that
//   is not an ONNX ModelProto, a graph without nodes, every unsupported op type at once
//   with its count ("unsupported ONNX ops: NonMaxSuppression x2, TopK x1"), shapes the
//   importer cannot follow and Reshape targets (or axes, starts ...) that do not resolve
//   statically (naming the node), shape-only ops applied to activations (naming the node),
//   Pow by an activation exponent, Clip with activation bounds, Gather with indices that
//   do not resolve statically, Split sizes that do not cover the axis, Concat inputs whose
//   shapes differ outside the axis (naming the node). ReduceMean is only recognised inside
//   the decomposed LayerNorm.
#pragma once

#include <string>

#include "workloads/graph/graph.h"
#include "workloads/zoo/workload_config.h"

namespace systole {

// `settings.training` gives micro_batch / sequence for symbolic dimensions and the compute
// dtype; train the result with BuildTrainingStep(graph, settings).
ForwardGraph ImportOnnx(const std::string& path, const WorkloadConfig& settings);

}  // namespace systole
