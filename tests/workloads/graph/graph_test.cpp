// Graph IR: FLOPs and bytes of each op kind follow the counting convention of graph.h.
#include "workloads/graph/graph.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace systole {
namespace {

TEST(Graph, MatmulFlopsAreTwoPerMacAndBytesAreOperandsOnce) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId x = gb.Input("x", {4, 8, 16}, Dtype::kBf16);
  const TensorId w = gb.Parameter("w", {16, 32});
  const TensorId y = gb.Linear("fc", x, w);
  const GraphOp& op = g.op(0);
  EXPECT_EQ(op.kind, OpKind::kMatmul);
  EXPECT_EQ(op.matmul.m, 32u);             // rows = 4 x 8
  EXPECT_EQ(op.flops, 2u * 32 * 16 * 32);  // 2 per MAC, M=32 K=16 N=32
  EXPECT_EQ(op.matmul_flops, op.flops);
  EXPECT_EQ(op.bytes_read, (32u * 16 + 16 * 32) * 2);  // x and w in bf16
  EXPECT_EQ(op.bytes_written, 32u * 32 * 2);           // y in bf16
  EXPECT_EQ(g.tensor(y).shape, (std::vector<std::uint64_t>{4, 8, 32}));
  EXPECT_EQ(g.ParameterCount(), 16u * 32);
}

TEST(Graph, BatchedMatmulCountsEveryBatch) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId q = gb.Input("q", {2, 64, 96}, Dtype::kBf16);
  const TensorId k = gb.Input("k", {2, 64, 96}, Dtype::kBf16);
  // 2 samples x 3 heads of d = 32: scores [2, 3, 64, 64].
  gb.BatchedMatmul("qk", q, k, {6, 64, 32, 64, false, true}, {2, 3, 64, 64}, true);
  EXPECT_EQ(g.op(0).flops, 2u * 6 * 64 * 32 * 64);  // 2 x batch x M x K x N
  EXPECT_TRUE(g.op(0).attention_core);
}

TEST(Graph, ElementwiseOpsCostTheirPerElementFlops) {
  Graph g;
  GraphBuilder gb(g, Dtype::kFp32);
  const TensorId x = gb.Input("x", {10, 100}, Dtype::kFp32);
  gb.Unary("gelu", OpKind::kGelu, x);
  gb.Softmax("softmax", x, false);
  gb.LayerNorm("ln", x, gb.Parameter("g", {100}), gb.Parameter("b", {100}));
  gb.RmsNorm("rms", x, gb.Parameter("g2", {100}));
  gb.Unary("relu", OpKind::kRelu, x);
  gb.Unary("rope", OpKind::kRotary, x);
  EXPECT_EQ(g.op(0).flops, 8u * 1000);  // gelu: 8 per element (tanh approximation)
  EXPECT_EQ(g.op(1).flops, 5u * 1000);  // softmax: 5 per element
  EXPECT_EQ(g.op(2).flops, 7u * 1000);  // layernorm: 7 per element
  EXPECT_EQ(g.op(3).flops, 4u * 1000);  // rmsnorm: 4 per element
  EXPECT_EQ(g.op(4).flops, 1u * 1000);  // relu: 1 per element
  EXPECT_EQ(g.op(5).flops, 3u * 1000);  // rotary: x*cos + rot(x)*sin
  for (const GraphOp& op : g.ops()) EXPECT_EQ(op.matmul_flops, 0u) << op.name;
  // LayerNorm reads x (4000 B) + gain and bias (2 x 400 B); writes y (4000 B) and the
  // per-row mean and 1/stddev (10 rows x 2 x 4 B).
  EXPECT_EQ(g.op(2).bytes_read, 4000u + 800);
  EXPECT_EQ(g.op(2).bytes_written, 4000u + 80);
}

TEST(Graph, ConvolutionFlopsAndOutputShape) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  // ResNet-50 conv1: 3 -> 64 channels, 7x7, stride 2, pad 3 on 224x224: 112x112 out.
  const TensorId x = gb.Input("img", {2, 3, 224, 224}, Dtype::kBf16);
  const TensorId y = gb.Conv2d("conv1", x, gb.Parameter("w", {64, 3, 7, 7}), 2, 3);
  EXPECT_EQ(g.tensor(y).shape, (std::vector<std::uint64_t>{2, 64, 112, 112}));
  // 2 x N x Ho x Wo x Co x Ci x kh x kw.
  EXPECT_EQ(g.op(0).flops, 2ull * 2 * 112 * 112 * 64 * 3 * 7 * 7);
  const TensorId p = gb.MaxPool("pool", y, 3, 2, 1);
  EXPECT_EQ(g.tensor(p).shape, (std::vector<std::uint64_t>{2, 64, 56, 56}));
  EXPECT_EQ(g.op(1).flops, 2ull * 64 * 56 * 56 * 9);  // 9 compares per output
  EXPECT_THROW(gb.Conv2d("big", p, gb.Parameter("w2", {8, 64, 99, 99}), 1, 0), InputError);
}

TEST(Graph, GroupedAndDilatedConvolutions) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId x = gb.Input("x", {2, 32, 28, 28}, Dtype::kBf16);
  // Depthwise 3x3, pad 1: 2 x 28 x 28 outputs x 32 channels x 1 input channel x 9 taps.
  gb.Conv2d("dw", x, gb.Parameter("w_dw", {32, 1, 3, 3}), 1, 1, /*groups=*/32);
  EXPECT_EQ(g.op(0).matmul_flops, 2u * 2 * 28 * 28 * 32 * 1 * 9);
  // 4 groups of 8 -> 16 channels: 8 input channels per group.
  gb.Conv2d("g4", x, gb.Parameter("w_g4", {64, 8, 3, 3}), 1, 1, /*groups=*/4);
  EXPECT_EQ(g.op(1).matmul_flops, 2u * 2 * 28 * 28 * 64 * 8 * 9);
  // Dilation 2 spans 5 pixels: (28 - 5) / 1 + 1 = 24 outputs per side.
  const TensorId y = gb.Conv2d("dil", x, gb.Parameter("w_dil", {16, 32, 3, 3}), 1, 0, 1, 2);
  EXPECT_EQ(g.tensor(y).shape, (std::vector<std::uint64_t>{2, 16, 24, 24}));
  EXPECT_THROW(gb.Conv2d("bad_groups", x, gb.Parameter("w_b", {30, 1, 3, 3}), 1, 1, 32),
               InputError);  // 30 output channels in 32 groups
  EXPECT_THROW(gb.Conv2d("bad_weight", x, gb.Parameter("w_c", {32, 2, 3, 3}), 1, 1, 32),
               InputError);  // 2 input channels per group, expected 1
}

TEST(Graph, EmbeddingReadsOnlyTheGatheredRows) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId ids = gb.Input("ids", {2, 5}, Dtype::kFp32);
  const TensorId table = gb.Parameter("table", {50000, 64});
  gb.Embedding("embed", ids, table);
  EXPECT_EQ(g.op(0).flops, 0u);
  EXPECT_EQ(g.op(0).bytes_read, 10u * 4 + 10 * 64 * 2);  // ids + 10 rows of 64 bf16
  EXPECT_EQ(g.op(0).bytes_written, 10u * 64 * 2);
}

TEST(Graph, FusedAttentionCountsBothMatmulsAndTheSoftmax) {
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId q = gb.Input("q", {2, 128, 256}, Dtype::kBf16);
  gb.FusedAttention("attn", q, q, q, 4);  // 4 heads of 64
  const std::uint64_t scores = 2ull * 4 * 128 * 128;
  EXPECT_EQ(g.op(0).matmul_flops, 4 * scores * 64);  // QK^T and PV: 2 x 2 x scores x d
  EXPECT_EQ(g.op(0).flops, 4 * scores * 64 + 5 * scores);
}

TEST(Graph, AccumulatingOpsAlsoReadTheirOutputs) {
  Graph g;
  const TensorId a = g.AddTensor("a", {100}, Dtype::kFp32, TensorKind::kActivation);
  const TensorId b = g.AddTensor("b", {100}, Dtype::kFp32, TensorKind::kGradient);
  GraphOp op;
  op.kind = OpKind::kAdd;
  op.rows = 1;
  op.cols = 100;
  op.inputs = {a};
  op.outputs = {b};
  op.accumulate = {true};
  g.AddOp(op);
  EXPECT_EQ(g.op(0).bytes_read, 800u);  // a and the old b
  EXPECT_EQ(g.op(0).bytes_written, 400u);
}

TEST(Graph, ZeroDimensionsAndOverflowAreInputErrors) {
  Graph g;
  EXPECT_THROW(g.AddTensor("z", {4, 0}, Dtype::kBf16, TensorKind::kActivation), InputError);
  EXPECT_THROW(g.AddTensor("huge", {1ull << 40, 1ull << 40}, Dtype::kBf16, TensorKind::kActivation),
               InputError);
}

TEST(Graph, EveryKindHasAName) {
  for (int k = 0; k <= static_cast<int>(OpKind::kSgdMomentum); ++k) {
    EXPECT_STRNE(OpKindName(static_cast<OpKind>(k)), "?") << k;
  }
}

}  // namespace
}  // namespace systole
