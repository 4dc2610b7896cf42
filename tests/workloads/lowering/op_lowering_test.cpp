// Lowering of graph ops to core kernels: convolution GEMM shapes (grouped, depthwise,
// dilated), transposed candidates, element-wise views.
#include "workloads/lowering/op_lowering.h"
#include "sim/config/arch_config.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

TEST(OpLowering, GroupedConvolutionsAreOneGemmPerGroup) {
  const ArchConfig arch = LoadArchConfig("");
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  const TensorId x = gb.Input("x", {2, 32, 28, 28}, Dtype::kBf16);
  gb.Conv2d("dense", x, gb.Parameter("w", {64, 32, 3, 3}), 1, 1);
  gb.Conv2d("g4", x, gb.Parameter("w4", {64, 8, 3, 3}), 1, 1, 4);
  gb.Conv2d("dw", x, gb.Parameter("wd", {32, 1, 3, 3}), 1, 1, 32);
  gb.Conv2d("dil", x, gb.Parameter("wl", {64, 32, 3, 3}), 1, 2, 1, 2);
  struct Want {
    std::uint64_t m, k, n, repeat;
  };
  // m = output pixels 2 x 28 x 28 = 1568; k = input channels per group x 9 taps;
  // n = output channels per group; one GEMM per group. Dilation 2 with pad 2 keeps 28 x 28
  // outputs and the same 9 taps.
  const Want want[] = {{1568, 288, 64, 1}, {1568, 72, 16, 4}, {1568, 9, 1, 32}, {1568, 288, 64, 1}};
  for (OpId i = 0; i < 4; ++i) {
    const std::vector<KernelCall> calls = LowerOp(arch, g, g.op(i), Dtype::kBf16);
    ASSERT_EQ(calls.size(), 1u) << g.op(i).name;
    const KernelCall& c = calls[0];
    EXPECT_TRUE(c.matmul);
    EXPECT_EQ(c.mm.m, want[i].m) << g.op(i).name;
    EXPECT_EQ(c.mm.k, want[i].k) << g.op(i).name;
    EXPECT_EQ(c.mm.n, want[i].n) << g.op(i).name;
    // Groups run up to 8 per kernel (back to back), repeated: depthwise 32 = 4 x 8.
    EXPECT_EQ(c.repeat * c.mm.batch, want[i].repeat) << g.op(i).name;
    EXPECT_EQ(c.mm.batch, std::min<std::uint64_t>(8, want[i].repeat)) << g.op(i).name;
    EXPECT_TRUE(c.try_transposed);
    // The kernels do the op's MACs exactly: repeat x m x k x n = FLOPs / 2.
    EXPECT_EQ(2 * c.repeat * c.mm.batch * c.mm.m * c.mm.k * c.mm.n, g.op(i).matmul_flops)
        << g.op(i).name;
    const KernelCall t = Transposed(c);
    EXPECT_EQ(t.mm.m, c.mm.n);
    EXPECT_EQ(t.mm.n, c.mm.m);
    EXPECT_NE(t.Key(), c.Key());
  }
}

TEST(OpLowering, ElementwiseOpsUseWholeTilesOfWideRows) {
  const ArchConfig arch = LoadArchConfig("");
  Graph g;
  GraphBuilder gb(g, Dtype::kBf16);
  // A ReLU over a [2 x 32 x 28 x 28] tensor: 50,176 elements. Viewed as whole 128-row
  // tiles: 128 rows x ceil(50176 / 128) = 392 columns, one kernel.
  gb.Unary("relu", OpKind::kRelu, gb.Input("x", {2, 32, 28, 28}, Dtype::kBf16));
  const std::vector<KernelCall> calls = LowerOp(arch, g, g.op(0), Dtype::kBf16);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].matmul);
  EXPECT_EQ(calls[0].ew.rows, 128u);
  EXPECT_EQ(calls[0].ew.cols, 392u);
  EXPECT_DOUBLE_EQ(calls[0].scale, 1.0);
}

}  // namespace
TEST(OpLowering, StridedConvolutionInputGradientIsOneGemmPerStridePhase) {
  // 3x3, stride 2, pad 1, 56x56 -> 28x28 (a ResNet down-sampling conv). Input rows split by
  // (y + 1) mod 2: odd y (28 rows) gather taps 0 and 2, even y (28 rows) tap 1. So the
  // phases are 28x28 pixels with 2x2, 2x1, 1x2 and 1x1 taps.
  ConvDims cv;
  cv.n = 2, cv.c_in = 16, cv.h_in = 56, cv.w_in = 56, cv.c_out = 32;
  cv.kh = 3, cv.kw = 3, cv.stride = 2, cv.pad = 1, cv.h_out = 28, cv.w_out = 28;
  std::vector<GradInputGemm> g = GradInputGemms(cv);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].pixels, 784u);  // 28 x 28, taps 2 x 2
  EXPECT_EQ(g[0].taps, 4u);
  EXPECT_EQ(g[0].count, 1u);
  EXPECT_EQ(g[1].taps, 2u);  // 2 x 1 and 1 x 2
  EXPECT_EQ(g[1].count, 2u);
  EXPECT_EQ(g[2].taps, 1u);
  // 1x1 stride 2 (a down-sample shortcut): only the pixels the filter touched, a quarter.
  cv.kh = cv.kw = 1, cv.pad = 0;
  g = GradInputGemms(cv);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].pixels, 784u);
  EXPECT_EQ(g[0].taps, 1u);
  // Stride 1 with dilation: one GEMM of every pixel and every tap.
  cv.kh = cv.kw = 3, cv.stride = 1, cv.pad = 2, cv.dilation = 2, cv.h_out = cv.w_out = 56;
  g = GradInputGemms(cv);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].pixels, 56u * 56u);
  EXPECT_EQ(g[0].taps, 9u);
}

TEST(OpLowering, InputGradientKernelsDoTheForwardMacsOnResNetShapes) {
  // For these shapes every input pixel's phase is covered exactly: the phase GEMMs do the
  // forward convolution's MACs, never the stride^2 more of a zero-dilated gradient.
  const ArchConfig arch = LoadArchConfig("");
  struct Case {
    std::uint64_t c_in, h, c_out, k, stride, pad;
  } cases[] = {{3, 224, 64, 7, 2, 3}, {128, 56, 128, 3, 2, 1},   {256, 56, 512, 1, 2, 0},
               {64, 56, 64, 3, 1, 1}, {1024, 14, 2048, 1, 2, 0}, {512, 28, 512, 3, 2, 1}};
  for (const Case& c : cases) {
    Graph g;
    GraphBuilder gb(g, Dtype::kBf16);
    const TensorId x = gb.Input("x", {2, c.c_in, c.h, c.h}, Dtype::kBf16);
    gb.Conv2d("conv", x, gb.Parameter("w", {c.c_out, c.c_in, c.k, c.k}), c.stride, c.pad);
    GraphOp grad = g.op(0);
    grad.kind = OpKind::kConv2dGradInput;
    std::uint64_t macs = 0;
    for (const KernelCall& k : LowerOp(arch, g, grad, Dtype::kBf16)) {
      EXPECT_TRUE(k.try_transposed);
      EXPECT_EQ(k.mm.n, c.c_in);
      macs += k.repeat * k.mm.batch * k.mm.m * k.mm.k * k.mm.n;
    }
    EXPECT_EQ(2 * macs, g.op(0).matmul_flops) << c.c_in << " " << c.h << " k" << c.k;
  }
}

}  // namespace systole
