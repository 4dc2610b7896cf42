// Speed of the GEMM paths: the O(1) closed form and the SystemC tile-level engine
// (lowering + elaboration + simulation of a fresh kernel each iteration).
#include <benchmark/benchmark.h>

#include "models/tensor_engine/systolic_timing.h"
#include "sim/config/arch_config.h"
#include "workloads/gemm/gemm_run.h"

namespace {

using systole::GemmShape;

void BM_TimeGemmClosedForm(benchmark::State& state) {
  const GemmShape g{4096, 4096, 4096};
  for (auto _ : state) {
    auto t = systole::TimeGemm(systole::Dataflow::kWeightStationary, g, {128, 128},
                               systole::EdgePolicy::kTrimToUsed);
    benchmark::DoNotOptimize(t.compute_cycles);
  }
}
BENCHMARK(BM_TimeGemmClosedForm);

void BM_SimulateGemm(benchmark::State& state) {
  const GemmShape g{static_cast<std::uint64_t>(state.range(0)),
                    static_cast<std::uint64_t>(state.range(1)),
                    static_cast<std::uint64_t>(state.range(2))};
  const systole::ArchConfig arch =
      systole::LoadArchConfig("", {"core.tensor.rows=" + std::to_string(state.range(3)),
                                   "core.tensor.cols=" + std::to_string(state.range(3))});
  for (auto _ : state) {
    auto s = systole::SimulateGemms(arch, {{"gemm", g, 1}});
    benchmark::DoNotOptimize(s.total_cycles);
  }
}
// 512x768x3072 and 4096^3 on 128x128; 4096^3 on 8x8 (262,144 folds).
BENCHMARK(BM_SimulateGemm)
    ->Args({512, 768, 3072, 128})
    ->Args({4096, 4096, 4096, 128})
    ->Args({4096, 4096, 4096, 8})
    ->Unit(benchmark::kMicrosecond);

void BM_SimulateDefaultGemmSet(benchmark::State& state) {
  const systole::ArchConfig arch = systole::LoadArchConfig("");
  for (auto _ : state) {
    auto s = systole::SimulateGemms(arch, systole::DefaultGemmSet());
    benchmark::DoNotOptimize(s.total_cycles);
  }
}
BENCHMARK(BM_SimulateDefaultGemmSet)->Unit(benchmark::kMicrosecond);

}  // namespace
