// Speed of `systole run`: building a training step and timing it on the engine-level core.
// Targets (issue 4): GPT-2-small step on the baseline under 2 s; Llama-3-8B (sequence
// 2048, micro-batch 1, one core, HBM capacity raised) under 30 s and 2 GB.
#include <benchmark/benchmark.h>

#include "sim/config/arch_config.h"
#include "sim/step_run.h"
#include "workloads/zoo/workload_config.h"

namespace {

void BM_TrainingStep(benchmark::State& state, const char* preset, const char* hbm_rows,
                     bool fusion) {
  const systole::ArchConfig arch =
      systole::LoadArchConfig("", {std::string("hbm.rows_per_bank=") + hbm_rows});
  for (auto _ : state) {
    const systole::TrainingStep step = systole::BuildTrainingStep(
        systole::LoadWorkloadConfig(systole::WorkloadPresetPath(preset)), fusion);
    const systole::StepReport r = systole::RunTrainingStep(arch, step);
    benchmark::DoNotOptimize(r.step_ns);
    state.counters["step_ms"] = r.step_ns / 1e6;
    state.counters["mfu"] = r.mfu;
    state.counters["simulated_fraction"] = static_cast<double>(r.simulated_instructions) /
                                           static_cast<double>(r.represented_instructions);
  }
}

BENCHMARK_CAPTURE(BM_TrainingStep, gpt2_small, "gpt2-small", "32768", true)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_TrainingStep, llama3_8b, "llama3-8b", "524288", true)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
// Without producer fusion (every op its own kernel), for comparison.
BENCHMARK_CAPTURE(BM_TrainingStep, llama3_8b_unfused, "llama3-8b", "524288", false)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
