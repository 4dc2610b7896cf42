// Step summaries and JSON carry the step's own figures.
#include "workloads/training/step_report.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

TEST(TrainingStepReport, SummaryAndJsonCarryTheStepFigures) {
  WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath("gpt2-small"));
  c.training.micro_batch = 1;
  const TrainingStep step = BuildTrainingStep(c);
  const std::string text = FormatTrainingStepSummary(step);
  EXPECT_NE(text.find("workload gpt2-small (gpt): 124.44 M parameters, bf16_mixed, adamw"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("step: 1 samples x 1 micro-batches x sequence 1024 = 1024 tokens"),
            std::string::npos)
      << text;  // 1 x 1024 x 1
  for (const char* phase : {"forward", "backward", "optimizer", "memory:"}) {
    EXPECT_NE(text.find(phase), std::string::npos) << phase;
  }
  const nlohmann::json j = TrainingStepToJson(step, true);
  EXPECT_EQ(j["parameters"].get<std::uint64_t>(), step.parameters);
  EXPECT_EQ(j["flops_per_step"].get<std::uint64_t>(), step.flops_per_step);
  EXPECT_EQ(j["phases"].size(), 3u);
  EXPECT_EQ(j["footprint"]["total_bytes"].get<std::uint64_t>(), step.footprint.total_bytes);
  std::size_t ops = 0;
  std::uint64_t flops = 0;
  for (const PhaseWork& p : step.phases) ops += p.ops.size();
  for (const auto& op : j["ops"]) flops += op["flops"].get<std::uint64_t>();
  EXPECT_EQ(j["ops"].size(), ops);
  EXPECT_EQ(flops, step.flops_per_step);  // one micro-batch: repeats are all 1
}

}  // namespace
}  // namespace systole
