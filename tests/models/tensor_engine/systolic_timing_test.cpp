#include "models/tensor_engine/systolic_timing.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace systole {
namespace {

TEST(SystolicTiming, OsSingleFullFold) {
  // 4x4 array, M=K=N=4, OS: one fold, stream K=4 + skew (4-1)+(4-1) = 10 cycles.
  GemmTiming t =
      TimeGemm(Dataflow::kOutputStationary, {4, 4, 4}, {4, 4}, EdgePolicy::kPadToFullArray);
  EXPECT_EQ(t.mapping.folds(), 1u);
  EXPECT_EQ(t.compute_cycles, 10u);
}

TEST(SystolicTiming, WsPaddedMatchesScaleSimFoldRows) {
  // 512x768x3072 on 128x128 WS: folds = ceil(768/128)*ceil(3072/128) = 6*24 = 144;
  // per fold 2R + C + T - 2 = 256 + 128 + 512 - 2 = 894.
  GemmTiming t = TimeGemm(Dataflow::kWeightStationary, {512, 768, 3072}, {128, 128},
                          EdgePolicy::kPadToFullArray);
  EXPECT_EQ(t.mapping.folds(), 144u);
  EXPECT_EQ(t.compute_cycles, 144u * 894u);
}

TEST(SystolicTiming, TrimmedEdgeFoldsAreCheaper) {
  // OS, 8x8 array, M=10 (folds of 8 and 2 rows), N=8, K=5.
  // full fold: 5 + 7 + 7 = 19; edge fold: 5 + 1 + 7 = 13; padded: 2 * 19 = 38.
  const GemmShape g{10, 5, 8};
  EXPECT_EQ(
      TimeGemm(Dataflow::kOutputStationary, g, {8, 8}, EdgePolicy::kTrimToUsed).compute_cycles,
      19u + 13u);
  EXPECT_EQ(
      TimeGemm(Dataflow::kOutputStationary, g, {8, 8}, EdgePolicy::kPadToFullArray).compute_cycles,
      38u);
}

TEST(SystolicTiming, IsMapsMOntoColumns) {
  // IS: rows carry K=20 (3 folds of 8), cols carry M=9 (2 folds of 8), T = N = 6.
  // Trimmed: per fold 2*8 + 6 + c_used - 2; c_used = 8 then 1 for each of 3 row folds:
  // 3*(20+8) + 3*(20+1) = 84 + 63 = 147.
  GemmTiming t = TimeGemm(Dataflow::kInputStationary, {9, 20, 6}, {8, 8}, EdgePolicy::kTrimToUsed);
  EXPECT_EQ(t.mapping.row_folds, 3u);
  EXPECT_EQ(t.mapping.col_folds, 2u);
  EXPECT_EQ(t.compute_cycles, 147u);
  // ifmap read once (stationary), filter once per column fold, psums once per row fold.
  EXPECT_EQ(t.accesses.ifmap_reads, 9u * 20u);
  EXPECT_EQ(t.accesses.filter_reads, 20u * 6u * 2u);
  EXPECT_EQ(t.accesses.ofmap_writes, 9u * 6u * 3u);
}

TEST(SystolicTiming, MappingEfficiencyIsMeanOverFolds) {
  // WS, 4x4, K=6 (folds 4,2), N=4: (16 + 8) / 2 / 16 = 0.75.
  GemmTiming t =
      TimeGemm(Dataflow::kWeightStationary, {3, 6, 4}, {4, 4}, EdgePolicy::kPadToFullArray);
  EXPECT_DOUBLE_EQ(t.mapping_efficiency, 0.75);
}

TEST(SystolicTiming, ZeroDimensionIsAnInputError) {
  EXPECT_THROW(TimeGemm(Dataflow::kWeightStationary, {0, 1, 1}, {4, 4}, EdgePolicy::kTrimToUsed),
               InputError);
}

TEST(SystolicTiming, OverflowIsAnInputError) {
  const std::uint64_t big = 1ull << 40;
  EXPECT_THROW(
      TimeGemm(Dataflow::kOutputStationary, {big, big, big}, {1, 1}, EdgePolicy::kTrimToUsed),
      InputError);
}

TEST(SystolicTiming, ParseDataflow) {
  EXPECT_EQ(ParseDataflow("WS"), Dataflow::kWeightStationary);
  EXPECT_THROW(ParseDataflow("rs"), InputError);
}

}  // namespace
}  // namespace systole
