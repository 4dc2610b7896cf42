// Lowering of graph ops to core kernels: convolution GEMM shapes (grouped, depthwise,
// dilated), transposed candidates, element-wise views.
#include "workloads/lowering/op_lowering.h"

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
    EXPECT_EQ(c.repeat, want[i].repeat) << g.op(i).name;
    EXPECT_TRUE(c.try_transposed);
    // The kernels do the op's MACs exactly: repeat x m x k x n = FLOPs / 2.
    EXPECT_EQ(2 * c.repeat * c.mm.m * c.mm.k * c.mm.n, g.op(i).matmul_flops) << g.op(i).name;
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
}  // namespace systole
