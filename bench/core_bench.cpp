// Speed of the engine-level core: building a tile kernel (KernelBuilder) and simulating it
// (SystemC engines, memories, DMA, HBM). items_per_second = instructions per second.
#include <benchmark/benchmark.h>

#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace {

using systole::ArchConfig;

const ArchConfig& NeuronCore() {
  static const ArchConfig arch =
      systole::LoadArchConfig(std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/neuroncore-v2.toml");
  return arch;
}

systole::MatmulKernelOptions BigMatmul(const char* level) {
  systole::MatmulKernelOptions o;
  o.m = 4096;
  o.k = 8192;
  o.n = 8192;
  o.level = level;
  return o;
}

void BM_BuildMatmulKernel(benchmark::State& state, const char* level) {
  std::size_t instructions = 0;
  for (auto _ : state) {
    const systole::Program p = systole::BuildMatmulKernel(NeuronCore(), BigMatmul(level));
    instructions = p.instructions.size();
    benchmark::DoNotOptimize(instructions);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * instructions));
}

void BM_SimulateMatmulKernel(benchmark::State& state, const char* level, bool banked) {
  const systole::Program p = systole::BuildMatmulKernel(NeuronCore(), BigMatmul(level));
  systole::CoreRunOptions opt;
  opt.hbm = banked ? systole::HbmFidelity::kBanked : systole::HbmFidelity::kBandwidth;
  for (auto _ : state) {
    const systole::CoreRunResult r = systole::RunCore(NeuronCore(), p, opt);
    benchmark::DoNotOptimize(r.time_ns);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.instructions.size()));
}

// The target: 4096x8192x8192 bf16 on the NeuronCore-v2-class preset, naive form
// (99,328 instructions), built and simulated in under 1 s.
void BM_BuildAndSimulateNaiveMatmul(benchmark::State& state) {
  std::size_t instructions = 0;
  for (auto _ : state) {
    const systole::Program p = systole::BuildMatmulKernel(NeuronCore(), BigMatmul("naive"));
    const systole::CoreRunResult r = systole::RunCore(NeuronCore(), p, {});
    instructions = p.instructions.size();
    benchmark::DoNotOptimize(r.time_ns);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * instructions));
}

BENCHMARK_CAPTURE(BM_BuildMatmulKernel, naive, "naive")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BuildMatmulKernel, block3, "block3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SimulateMatmulKernel, naive_bandwidth_hbm, "naive", false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SimulateMatmulKernel, block3_bandwidth_hbm, "block3", false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SimulateMatmulKernel, tuned_bandwidth_hbm, "tuned", false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SimulateMatmulKernel, naive_banked_hbm, "naive", true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BuildAndSimulateNaiveMatmul)->Unit(benchmark::kMillisecond);

}  // namespace
