#include "workloads/graph/op_kinds.h"

#include <array>
#include <cstddef>

namespace systole {

namespace {

// Rows in OpKind order (checked below). Columns: kind, name, FLOPs per element, tensor
// engine, element-wise kernel class, backward rule, fusion rule (op_kinds.h). Element-wise kinds
// not listed with another kernel class run as "add": two inputs, one vector op (add, mul, relu_grad
// = dy x (y > 0)). Transcendental functions (gelu, silu, swiglu, rotary and their gradients) run on
// the scalar engine like gelu.
constexpr std::array<OpKindInfo, 44> kOpKinds = {{
    {OpKind::kMatmul, "matmul", 0, true, "add", {}},
    {OpKind::kConv2d, "conv2d", 0, true, "add", {}},
    // one arithmetic operation per element
    {OpKind::kAdd, "add", 1, false, "add", {}, Fusion::kResidual},
    {OpKind::kMul, "mul", 1, false, "add", Grad(OpKind::kMulGrad, {Dy(), In(0), In(1)}, {0, 1})},
    {OpKind::kBiasAdd, "bias_add", 1, false, "add", {}, Fusion::kBias},
    // max(x, 0): one vector op
    {OpKind::kRelu, "relu", 1, false, "relu", Grad(OpKind::kReluGrad, {Dy(), Out(0)}, {0}),
     Fusion::kActivation},
    // tanh approximation: x^3 2, fma 2, tanh 1, add 1, mul 2
    {OpKind::kGelu, "gelu", 8, false, "gelu", Grad(OpKind::kGeluGrad, {Dy(), In(0)}, {0}),
     Fusion::kActivation},
    // exp, add, divide, multiply
    {OpKind::kSilu, "silu", 4, false, "gelu", Grad(OpKind::kSiluGrad, {Dy(), In(0)}, {0}),
     Fusion::kActivation},
    // silu 4 + product 1
    {OpKind::kSwiglu, "swiglu", 5, false, "gelu",
     Grad(OpKind::kSwigluGrad, {Dy(), In(0), In(1)}, {0, 1}), Fusion::kGatedProduct},
    // scale+mask, max, subtract-exp, sum, divide
    {OpKind::kSoftmax, "softmax", 5, false, "softmax",
     Grad(OpKind::kSoftmaxGrad, {Dy(), Out(0)}, {0})},
    // mean 1, subtract 1, square 1, sum 1, scale 1, gain 1, bias 1
    {OpKind::kLayerNorm, "layernorm", 7, false, "layernorm",
     Grad(OpKind::kLayerNormGrad, {Dy(), In(0), Out(1), Param(1)}, {0, 1, 2})},
    // square, sum, scale by rsqrt, gain
    {OpKind::kRmsNorm, "rmsnorm", 4, false, "rmsnorm",
     Grad(OpKind::kRmsNormGrad, {Dy(), In(0), Out(1), Param(1)}, {0, 1})},
    // as layernorm, per channel
    {OpKind::kBatchNorm, "batchnorm", 7, false, "layernorm",
     Grad(OpKind::kBatchNormGrad, {Dy(), In(0), Out(1), Param(1)}, {0, 1, 2})},
    // x*cos + rotate(x)*sin
    {OpKind::kRotary, "rotary", 3, false, "gelu", Grad(OpKind::kRotaryGrad, {Dy()}, {0})},
    {OpKind::kEmbedding, "embedding", 0, false, "add",
     Grad(OpKind::kEmbeddingGrad, {In(0), Dy()}, {1})},
    // max, subtract-exp, sum, (log, pick per row)
    {OpKind::kCrossEntropy, "cross_entropy", 5, false, "softmax",
     Grad(OpKind::kCrossEntropyGrad, {In(0), In(1), Out(1)}, {0})},
    {OpKind::kAttention, "attention", 0, true, "add",
     Grad(OpKind::kAttentionGrad, {Dy(), In(0), In(1), In(2), Out(0), Out(1)}, {0, 1, 2})},
    // one compare per window element per output
    {OpKind::kMaxPool, "maxpool", 0, false, "add", {}},
    // sum per input element (the division is per output)
    {OpKind::kAvgPool, "avgpool", 1, false, "add", Grad(OpKind::kAvgPoolGrad, {Dy()}, {0})},
    // per function: UnaryFlopsPerElement
    {OpKind::kUnary, "unary", 0, false, nullptr, {}},
    // copies
    {OpKind::kConcat, "concat", 0, false, "add", {}},
    {OpKind::kSplit, "split", 0, false, "add", {}},
    {OpKind::kConv2dGradInput, "conv2d_grad_input", 0, true, "add", {}},
    {OpKind::kConv2dGradWeight, "conv2d_grad_weight", 0, true, "add", {}},
    // one add per element of dy into the column sum
    {OpKind::kBiasGrad, "bias_grad", 1, false, "add", {}},
    // dy*b and dy*a
    {OpKind::kMulGrad, "mul_grad", 2, false, "add", {}},
    // select
    {OpKind::kReluGrad, "relu_grad", 1, false, "add", {}, Fusion::kActivationGrad},
    // recompute tanh 6 + derivative 3 + product 1
    {OpKind::kGeluGrad, "gelu_grad", 10, false, "gelu", {}, Fusion::kActivationGrad},
    // sigmoid 3 + s*(1 + x*(1-s)) 3
    {OpKind::kSiluGrad, "silu_grad", 6, false, "gelu", {}, Fusion::kActivationGrad},
    // silu' 6 + two products 2 + 1
    {OpKind::kSwigluGrad, "swiglu_grad", 9, false, "gelu", {}},
    // dy*y, row sum, subtract, multiply by y
    {OpKind::kSoftmaxGrad, "softmax_grad", 4, false, "softmax", {}},
    // dx 7, dgain 2, dbias 1
    {OpKind::kLayerNormGrad, "layernorm_grad", 10, false, "layernorm", {}},
    // dx 5 (dy*g, dot with x, scale, subtract, scale), dgain 2
    {OpKind::kRmsNormGrad, "rmsnorm_grad", 7, false, "rmsnorm", {}},
    // as layernorm_grad
    {OpKind::kBatchNormGrad, "batchnorm_grad", 10, false, "layernorm", {}},
    // the same with -sin
    {OpKind::kRotaryGrad, "rotary_grad", 3, false, "gelu", {}},
    // scatter-add
    {OpKind::kEmbeddingGrad, "embedding_grad", 1, false, "add", {}},
    // exp(x - lse), subtract one-hot, scale
    {OpKind::kCrossEntropyGrad, "cross_entropy_grad", 3, false, "softmax", {}},
    {OpKind::kAttentionGrad, "attention_grad", 0, true, "add", {}},
    // scatter per input element
    {OpKind::kMaxPoolGrad, "maxpool_grad", 1, false, "add", {}},
    // scale per input element
    {OpKind::kAvgPoolGrad, "avgpool_grad", 1, false, "add", {}},
    // per function
    {OpKind::kUnaryGrad, "unary_grad", 0, false, nullptr, {}},
    // m 3, v 4, bias corrections 2, sqrt 1, eps 1, divide 1, decay+step 2
    {OpKind::kAdamW, "adamw", 14, false, "add", {}},
    // Adam direction 12, norms of w and r 4, trust ratio scale 2
    {OpKind::kLamb, "lamb", 18, false, "add", {}},
    // decay 2, momentum 2, step 2
    {OpKind::kSgdMomentum, "sgd_momentum", 6, false, "add", {}},
}};

constexpr bool InOrder() {
  for (std::size_t i = 0; i < kOpKinds.size(); ++i) {
    if (static_cast<std::size_t>(kOpKinds[i].kind) != i) return false;
  }
  return true;
}
static_assert(InOrder(), "kOpKinds rows must follow the order of enum OpKind");
static_assert(static_cast<std::size_t>(OpKind::kSgdMomentum) + 1 == kOpKinds.size(),
              "every OpKind has a row in kOpKinds");

}  // namespace

const OpKindInfo& OpInfo(OpKind kind) { return kOpKinds[static_cast<std::size_t>(kind)]; }

}  // namespace systole
