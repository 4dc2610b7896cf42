// Speed of the energy and cost models: EnergyOf on a step's activity, and `systole tco`'s
// computation and outputs (table, JSON, SVG) for the two preset options, without the step
// simulation (bench/step_bench.cpp times that).
#include <benchmark/benchmark.h>

#include "models/energy/energy_model.h"
#include "sim/config/arch_config.h"
#include "sim/tco/tco.h"

namespace {

void BM_EnergyOf(benchmark::State& state) {
  const systole::ArchConfig arch = systole::LoadArchConfig("");
  systole::Activity a;
  a.macs[1] = 1e15;
  a.vector_elements = 1e12;
  a.scratchpad_read_bytes = 1e13;
  a.hbm_read_bytes = 1e12;
  for (auto _ : state) {
    const systole::EnergyBreakdown e = systole::EnergyOf(arch.energy, a, 1e9, 1);
    benchmark::DoNotOptimize(e.static_j);
  }
}
BENCHMARK(BM_EnergyOf);

void BM_TcoReport(benchmark::State& state) {
  const std::vector<systole::CostOption> options = {
      systole::LoadCostOption(systole::CostPresetPath("trn1-cloud")),
      systole::LoadCostOption(systole::CostPresetPath("trn1-onprem"))};
  systole::StepFigures step;
  step.workload = "gpt2-small";
  step.arch = "trainium1";
  step.step_ns = 89e6;
  step.tokens_per_step = 4096;
  step.energy_j = 9.9;
  for (auto _ : state) {
    const systole::TcoReport r = systole::ComputeTco(step, 2e12, options);
    const std::string out = systole::FormatTcoTable(r) + systole::TcoJson(r) + systole::TcoSvg(r);
    benchmark::DoNotOptimize(out.size());
  }
}
BENCHMARK(BM_TcoReport)->Unit(benchmark::kMicrosecond);

}  // namespace
