// Speed of `systole run --parallel`: a training step of a model split over many devices.
// Targets (issue 10): GPT-3 175B on 1024 chips (tp 32, pp 8, dp 4) under 10 s and 2 GB;
// on 4096 chips (dp 16) under 30 s. Ranks doing identical work are simulated once, so the
// cost follows the distinct work (pipeline stages, kernels), not the chip count.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <string>

#include "sim/config/arch_config.h"
#include "sim/parallel_run.h"
#include "workloads/zoo/workload_config.h"

namespace {

void BM_ParallelStep(benchmark::State& state, const char* arch_file, const char* nodes,
                     const char* parallel) {
  const systole::ArchConfig arch =
      systole::LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + arch_file,
                              {std::string("system.nodes=") + nodes});
  systole::ParallelOptions o;
  o.layout = systole::ParseParallelLayout(parallel, "1", "1f1b", true);
  for (auto _ : state) {
    const systole::ParallelReport r = systole::RunParallelStep(
        arch, systole::LoadWorkloadConfig(systole::WorkloadPresetPath("gpt3-175b")), o,
        systole::MakeCommTimer(arch));
    benchmark::DoNotOptimize(r.step_ns);
    state.counters["devices"] = static_cast<double>(o.layout.devices());
    state.counters["step_s"] = r.step_ns / 1e9;
    state.counters["mfu"] = r.mfu;
    state.counters["simulated_ranks"] = static_cast<double>(r.simulated_ranks);
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  state.counters["max_rss_mb"] = static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

// 1024 TPU-v5e-class chips (one core each): 4 pods.
BENCHMARK_CAPTURE(BM_ParallelStep, gpt3_175b_1024_chips, "tpu-v5e-pod.toml", "4", "dp=4,tp=32,pp=8")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
// 4096 chips: 16 pods, dp 16.
BENCHMARK_CAPTURE(BM_ParallelStep, gpt3_175b_4096_chips, "tpu-v5e-pod.toml", "16",
                  "dp=16,tp=32,pp=8")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
// 1024 NeuronCore ranks on 32 trn1.32xlarge instances (512 chips).
BENCHMARK_CAPTURE(BM_ParallelStep, gpt3_175b_trn1_1024_cores, "trn1-32xlarge.toml", "32",
                  "dp=4,tp=32,pp=8")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
