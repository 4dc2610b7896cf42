// SCALE-Sim drop-in mode speed (fast engine, default). Configurations follow SCALE-Sim's
// configs/scale.cfg: 64 kB ifmap/filter/ofmap SRAMs, offsets 0/10M/20M, Bandwidth 10 (USER
// mode), only the array size and dataflow changed. Peak RSS of the process is reported as
// the counter peak_rss_MB.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "workloads/scalesim/scalesim_input.h"
#include "workloads/scalesim/scalesim_sim.h"

namespace {

using systole::Dataflow;
using namespace systole::scalesim;

Config ScaleCfg(std::uint64_t array, Dataflow df, BandwidthMode mode) {
  Config c;
  c.run_name = "bench";
  c.array_rows = c.array_cols = array;
  c.ifmap_sram_kb = c.filter_sram_kb = c.ofmap_sram_kb = 64;
  c.ifmap_offset = 0;
  c.filter_offset = 10000000;
  c.ofmap_offset = 20000000;
  c.dataflow = df;
  c.mode = mode;
  c.bandwidths = {10};
  return c;
}

Layer Gemm(std::uint64_t m, std::uint64_t n, std::uint64_t k) {
  return ParseTopologyText("Layer,M,N,K,\ng," + std::to_string(m) + "," + std::to_string(n) + "," +
                               std::to_string(k) + ",\n",
                           true, "bench")
      .at(0);
}

void ReportRss(benchmark::State& state) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["peak_rss_MB"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void RunGemm(benchmark::State& state, std::uint64_t m, std::uint64_t n, std::uint64_t k) {
  const Dataflow df = static_cast<Dataflow>(state.range(0));
  const BandwidthMode mode = state.range(1) ? BandwidthMode::kUser : BandwidthMode::kCalc;
  const Config cfg = ScaleCfg(128, df, mode);
  const Layer layer = Gemm(m, n, k);
  std::int64_t cycles = 0;
  for (auto _ : state) {
    const LayerResult r = SimulateLayer(cfg, layer, Engine::kFast);
    cycles = r.total_cycles;
    benchmark::DoNotOptimize(cycles);
  }
  state.counters["total_cycles"] = static_cast<double>(cycles);
  ReportRss(state);
}

// args: dataflow (0 os, 1 ws, 2 is), mode (0 CALC, 1 USER)
void BM_Gemm512x768x3072_128x128(benchmark::State& state) { RunGemm(state, 512, 768, 3072); }
BENCHMARK(BM_Gemm512x768x3072_128x128)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

void BM_Gemm4096Cubed_128x128(benchmark::State& state) { RunGemm(state, 4096, 4096, 4096); }
BENCHMARK(BM_Gemm4096Cubed_128x128)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

void BM_Resnet50_32x32_os(benchmark::State& state) {
  const BandwidthMode mode = state.range(0) ? BandwidthMode::kUser : BandwidthMode::kCalc;
  const Config cfg = ScaleCfg(32, Dataflow::kOutputStationary, mode);
  const std::vector<Layer> layers =
      ParseTopologyFile(std::string(SYSTOLE_SOURCE_DIR) + "/configs/scalesim/Resnet50.csv", false);
  std::int64_t cycles = 0;
  for (auto _ : state) {
    cycles = 0;
    for (const Layer& l : layers) cycles += SimulateLayer(cfg, l, Engine::kFast).total_cycles;
    benchmark::DoNotOptimize(cycles);
  }
  state.counters["total_cycles"] = static_cast<double>(cycles);
  ReportRss(state);
}
BENCHMARK(BM_Resnet50_32x32_os)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
