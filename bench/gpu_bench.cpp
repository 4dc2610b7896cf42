// Speed of GPU-class chips (chip.schedule = waves, workloads/kernel/wave_schedule.h) on the H100
// preset. Targets (issue 12): one GEMM well under a second; a GPT-3 layer's training step (hidden
// 12288, 96 heads, FFN 49152, sequence 2048, micro-batch 1, with the LM head) in a few
// seconds.
#include <benchmark/benchmark.h>

#include <string>

#include "sim/config/arch_config.h"
#include "sim/step_run.h"
#include "workloads/kernel/wave_schedule.h"
#include "workloads/zoo/workload_config.h"

namespace {

systole::ArchConfig H100() {
  return systole::LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/h100-sxm.toml");
}

void BM_H100Gemm(benchmark::State& state) {
  const systole::ArchConfig arch = H100();
  systole::MatmulKernelOptions o;
  o.m = o.k = o.n = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    const systole::WaveRun w = systole::SimulateMatmulWaves(arch, o);
    benchmark::DoNotOptimize(w.time_ns);
    state.counters["tflops"] =
        2.0 * static_cast<double>(o.m * o.k) * static_cast<double>(o.n) / w.time_ns / 1000.0;
  }
}
BENCHMARK(BM_H100Gemm)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond);

void BM_H100TrainingStep(benchmark::State& state, const char* preset,
                         std::vector<std::string> overrides) {
  const systole::ArchConfig arch = H100();
  for (auto _ : state) {
    const systole::TrainingStep step = systole::BuildTrainingStep(
        systole::LoadWorkloadConfig(systole::WorkloadPresetPath(preset), overrides), true);
    const systole::StepReport r = systole::RunTrainingStep(arch, step);
    benchmark::DoNotOptimize(r.step_ns);
    state.counters["step_ms"] = r.step_ns / 1e6;
    state.counters["mfu"] = r.mfu;
  }
}
BENCHMARK_CAPTURE(BM_H100TrainingStep, gpt2_small, "gpt2-small",
                  std::vector<std::string>{"model.fused_attention=true"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_H100TrainingStep, gpt3_layer, "gpt2-xl",
                  std::vector<std::string>{"model.hidden=12288", "model.heads=96",
                                           "model.ffn=49152", "model.layers=1",
                                           "model.max_positions=2048", "training.sequence=2048",
                                           "training.micro_batch=1", "model.fused_attention=true"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
