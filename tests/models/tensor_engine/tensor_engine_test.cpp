#include "models/tensor_engine/tensor_engine.h"

#include <gtest/gtest.h>

#include <random>

#include "models/sysc/sim_context.h"
#include "workloads/gemm/gemm_lowering.h"

namespace systole {
namespace {

TensorEngineStats RunProgram(Dataflow df, ArrayShape array, std::vector<MatmulFoldInstr> prog,
                             double clock_ghz = 1.0, sc_core::sc_time* end_time = nullptr) {
  SimContext context;
  TensorEngine engine("te", df, array, clock_ghz, EdgePolicy::kTrimToUsed);
  engine.Load(std::move(prog));
  sc_core::sc_start();
  if (end_time) *end_time = sc_core::sc_time_stamp();
  return engine.stats();
}

TEST(TensorEngine, SingleFoldTakesItsClosedFormCycles) {
  // WS 4x4, T=5, all PEs: load 4 + stream 5 + fill (4-1)+(4-1) = 15 cycles.
  sc_core::sc_time end;
  TensorEngineStats s =
      RunProgram(Dataflow::kWeightStationary, {4, 4}, {{5, 4, 4, 0, 1}}, 2.0, &end);
  EXPECT_EQ(s.end_cycle, 15u);
  EXPECT_EQ(s.busy_cycles, 15u);
  EXPECT_EQ(s.macs, 4u * 4u * 5u);
  EXPECT_EQ(end, sc_core::sc_time(7.5, sc_core::SC_NS));  // 15 cycles at 2 GHz
}

TEST(TensorEngine, RepeatedFoldIsOneEventOfRepeatTimesCycles) {
  // OS 8x8, T=10, 3 identical full folds: 3 x (10 + 7 + 7) = 72.
  TensorEngineStats s = RunProgram(Dataflow::kOutputStationary, {8, 8}, {{10, 8, 8, 0, 3}});
  EXPECT_EQ(s.end_cycle, 72u);
  EXPECT_EQ(s.instructions, 3u);
}

TEST(TensorEngine, SeveralSimulationsInOneProcess) {
  // Each RunProgram builds its own SystemC kernel context.
  for (int i = 1; i <= 3; ++i) {
    TensorEngineStats s = RunProgram(Dataflow::kOutputStationary, {2, 2},
                                     {{static_cast<std::uint64_t>(i), 2, 2, 0, 1}});
    EXPECT_EQ(s.end_cycle, static_cast<std::uint64_t>(i) + 2u);  // stream i + fill 1 + 1
  }
}

TEST(TensorEngine, LoweredGemmsMatchTheClosedFormOracle) {
  // Oracle: TimeGemm's O(1) closed form. Fast model: lowering + SystemC engine.
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const Dataflow df = static_cast<Dataflow>(trial % 3);
    const ArrayShape array{1 + rng() % 64, 1 + rng() % 64};
    const GemmShape g{1 + rng() % 700, 1 + rng() % 700, 1 + rng() % 700};
    std::vector<MatmulFoldInstr> prog;
    LowerGemmToFolds(df, g, array, 0, prog);
    std::uint64_t folds = 0;
    for (const auto& f : prog) folds += f.repeat;
    const GemmTiming t = TimeGemm(df, g, array, EdgePolicy::kTrimToUsed);
    EXPECT_EQ(folds, t.mapping.folds());
    TensorEngineStats s = RunProgram(df, array, std::move(prog));
    EXPECT_EQ(s.end_cycle, t.compute_cycles) << DataflowName(df) << " " << g.m << "x" << g.k << "x"
                                             << g.n << " on " << array.rows << "x" << array.cols;
    EXPECT_EQ(s.macs, t.macs);
  }
}

TEST(GemmLowering, MergesIdenticalFolds) {
  // WS 128x128, K=300 (row folds 128,128,44), N=256 (two full column folds):
  // per column fold one run of 2 full folds and one edge fold; the two column folds are
  // separated by the edge fold, so 4 instructions.
  std::vector<MatmulFoldInstr> prog;
  LowerGemmToFolds(Dataflow::kWeightStationary, {64, 300, 256}, {128, 128}, 0, prog);
  ASSERT_EQ(prog.size(), 4u);
  EXPECT_EQ(prog[0].repeat, 2u);
  EXPECT_EQ(prog[1].rows_used, 44u);
  EXPECT_EQ(prog[1].repeat, 1u);
}

}  // namespace
}  // namespace systole
