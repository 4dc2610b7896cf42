// Parallel layouts: parsing, checks against the model (one-line errors naming the key and
// the value), the global-batch rule, and ZeRO's memory formulas.
#include "workloads/parallel/parallel_layout.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "workloads/parallel/rank_memory.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ParallelLayout, Parses) {
  const ParallelLayout l = ParseParallelLayout("tp=32,dp=4,pp=8", "1", "interleaved:2", true);
  EXPECT_EQ(l.dp, 4u);
  EXPECT_EQ(l.tp, 32u);
  EXPECT_EQ(l.pp, 8u);
  EXPECT_EQ(l.devices(), 1024u);
  EXPECT_EQ(l.zero, 1);
  EXPECT_EQ(l.schedule, PipelineSchedule::kInterleaved);
  EXPECT_EQ(l.virtual_stages, 2u);
  EXPECT_EQ(l.chunks(), 16u);
  EXPECT_TRUE(l.sequence_parallel);
  EXPECT_EQ(ParseParallelLayout("dp=2", "0", "1f1b", false).devices(), 2u);
}

TEST(ParallelLayout, BadOptionsNameTheOptionAndValue) {
  EXPECT_NE(ErrorOf([] { ParseParallelLayout("dp=0", "0", "1f1b", false); }).find("'dp=0'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ParseParallelLayout("dp=2,dp=2", "0", "1f1b", false);
            }).find("--parallel 'dp=2,dp=2'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ParseParallelLayout("xp=2", "0", "1f1b", false); }).find("'xp=2'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { ParseParallelLayout("dp=2", "4", "1f1b", false); }).find("--zero '4'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ParseParallelLayout("dp=2", "0", "interleaved:1", false);
            }).find("--schedule 'interleaved:1'"),
            std::string::npos);
}

WorkloadConfig Gpt2() { return LoadWorkloadConfig(WorkloadPresetPath("gpt2-small")); }

TEST(ParallelLayout, ChecksAgainstTheModel) {
  // GPT-2 small: 12 heads, 12 layers, ffn 3072.
  EXPECT_NE(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("tp=16", "0", "1f1b", false), Gpt2());
            }).find("tp=16: larger than model.heads = 12"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("tp=8", "0", "1f1b", false), Gpt2());
            }).find("tp=8: does not divide model.heads = 12"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("pp=24", "0", "1f1b", false), Gpt2());
            }).find("pp=24: 24 pipeline stages are more than model.layers = 12"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              CheckScheduleFitsBatch(ParseParallelLayout("pp=2", "0", "interleaved:2", false),
                                     Gpt2());
            }).find("grad_accum_steps = 1 micro-batches is not a multiple of pp = 2"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("tp=2", "0", "1f1b", false),
                                   LoadWorkloadConfig(WorkloadPresetPath("resnet50")));
            }).find("tp=2: tensor parallelism is built for model.family 'gpt' and 'llama'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("pp=8", "0", "1f1b", false), Gpt2());
            }).find("pp=8: 8 pipeline stages do not divide model.layers = 12"),
            std::string::npos);
  EXPECT_EQ(ErrorOf([] {
              CheckLayoutFitsModel(ParseParallelLayout("tp=4,pp=3,dp=2", "0", "1f1b", false),
                                   Gpt2());
            }),
            "");
}

TEST(ParallelLayout, GlobalBatchIsMicroBatchTimesAccumulationTimesDp) {
  // Only global_batch given (--set): accumulation steps derived, 1024 / (2 x 4) = 128.
  WorkloadConfig c =
      ParseWorkloadConfig("[model]\nfamily='mlp'\nlayer_sizes=[4,4]\n[training]\nmicro_batch=2\n",
                          "w.toml", {"training.global_batch=1024"});
  EXPECT_NE(ResolveGlobalBatch(c.training, 4).find("accumulation steps derived"),
            std::string::npos);
  EXPECT_EQ(c.training.grad_accum_steps, 128u);
  // The file's grad_accum_steps yields to a --set global_batch.
  c = ParseWorkloadConfig(
      "[model]\nfamily='mlp'\nlayer_sizes=[4,4]\n[training]\nmicro_batch=2\ngrad_accum_steps=3\n",
      "w.toml", {"training.global_batch=16"});
  ResolveGlobalBatch(c.training, 4);
  EXPECT_EQ(c.training.grad_accum_steps, 2u);
  // Neither: global batch derived = 2 x 3 x 4.
  c = ParseWorkloadConfig(
      "[model]\nfamily='mlp'\nlayer_sizes=[4,4]\n[training]\nmicro_batch=2\ngrad_accum_steps=3\n",
      "w.toml");
  EXPECT_NE(ResolveGlobalBatch(c.training, 4).find("global batch derived"), std::string::npos);
  EXPECT_EQ(c.training.global_batch, 24u);
  // Not a multiple of micro_batch x dp.
  c = ParseWorkloadConfig("[model]\nfamily='mlp'\nlayer_sizes=[4,4]\n[training]\nmicro_batch=2\n",
                          "w.toml", {"training.global_batch=12"});
  EXPECT_NE(ErrorOf([&] {
              ResolveGlobalBatch(c.training, 4);
            }).find("training.global_batch = 12: not a multiple of micro_batch 2 x dp 4 = 8"),
            std::string::npos);
  // Both given by --set and disagreeing.
  c = ParseWorkloadConfig("[model]\nfamily='mlp'\nlayer_sizes=[4,4]\n[training]\nmicro_batch=2\n",
                          "w.toml", {"training.global_batch=16", "training.grad_accum_steps=4"});
  EXPECT_NE(ErrorOf([&] {
              ResolveGlobalBatch(c.training, 4);
            }).find("training.global_batch = 16: micro_batch 2 x grad_accum_steps 4 x dp 4 = 32"),
            std::string::npos);
}

TEST(RankMemory, ZeroPaperFigureOne) {
  // Rajbhandari et al. 2020, Figure 1: Psi = 7.5B parameters, Nd = 64, K = 12.
  const std::uint64_t psi = 7'500'000'000;
  Footprint s;
  s.weights_bytes = 2 * psi;
  s.gradients_bytes = 2 * psi;
  s.master_weights_bytes = 4 * psi;
  s.optimizer_state_bytes = 8 * psi;
  EXPECT_EQ(ShardModelStates(s, 0, 64).total_bytes, 120'000'000'000u);  // (2+2+K) Psi
  // P_os: (2+2) Psi + K Psi / Nd = 30 GB + 1.40625 GB.
  EXPECT_EQ(ShardModelStates(s, 1, 64).total_bytes, 31'406'250'000u);
  // P_os+g: 2 Psi + (2+K) Psi / Nd = 15 GB + 1.640625 GB.
  EXPECT_EQ(ShardModelStates(s, 2, 64).total_bytes, 16'640'625'000u);
  // P_os+g+p: (2+2+K) Psi / Nd = 1.875 GB.
  EXPECT_EQ(ShardModelStates(s, 3, 64).total_bytes, 1'875'000'000u);
}

}  // namespace
}  // namespace systole
