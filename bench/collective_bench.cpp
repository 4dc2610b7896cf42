// Speed of collective timing (workloads/collective/collective.h): one TimeCollective call,
// the fastest algorithm chosen among all that apply, on the cited presets.
#include <benchmark/benchmark.h>

#include <string>

#include "sim/config/arch_config.h"
#include "workloads/collective/collective.h"
#include "workloads/collective/collective_reference.h"

namespace {

systole::ArchConfig Preset(const std::string& name, std::vector<std::string> p = {}) {
  return systole::LoadArchConfig(
      std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + name + ".toml", p);
}

void Run(benchmark::State& state, const systole::ArchConfig& arch, systole::CollectiveKind kind,
         std::uint64_t ranks) {
  systole::CollectiveCall call;
  call.kind = kind;
  call.bytes = 1'000'000'000;
  call.group.ranks = ranks;
  for (auto _ : state) {
    auto r = systole::TimeCollective(arch, call);
    benchmark::DoNotOptimize(r.time_ns);
  }
}

// trn1.32xlarge: 32 NeuronCores, all-reduce of 1 GB.
void BM_AllReduceTrn1(benchmark::State& state) {
  Run(state, Preset("trn1-32xlarge"), systole::CollectiveKind::kAllReduce, 32);
}
BENCHMARK(BM_AllReduceTrn1)->Unit(benchmark::kMicrosecond);

// 128 trn1n.32xlarge nodes: 4096 NeuronCores.
void BM_AllReduceTrn1n128Nodes(benchmark::State& state) {
  Run(state, Preset("trn1n-32xlarge", {"system.nodes=128"}), systole::CollectiveKind::kAllReduce,
      4096);
}
BENCHMARK(BM_AllReduceTrn1n128Nodes)->Unit(benchmark::kMicrosecond);

// TPU v5e pod: 256 chips on a 16 x 16 torus.
void BM_AllReduceTpuV5ePod(benchmark::State& state) {
  Run(state, Preset("tpu-v5e-pod"), systole::CollectiveKind::kAllReduce, 256);
}
BENCHMARK(BM_AllReduceTpuV5ePod)->Unit(benchmark::kMicrosecond);

// All-to-all on the pod: 255 pairwise steps, each routed over the torus.
void BM_AllToAllTpuV5ePod(benchmark::State& state) {
  Run(state, Preset("tpu-v5e-pod"), systole::CollectiveKind::kAllToAll, 256);
}
BENCHMARK(BM_AllToAllTpuV5ePod)->Unit(benchmark::kMillisecond);

// The every-rank reference on the pod (256 ranks x 30 ring steps), for comparison.
void BM_EveryRankReferenceTpuV5ePod(benchmark::State& state) {
  const systole::ArchConfig arch = Preset("tpu-v5e-pod");
  systole::CollectiveCall call;
  call.bytes = 1'000'000'000;
  call.group.ranks = 256;
  call.algo = systole::CollectiveAlgo::kRing;
  for (auto _ : state) benchmark::DoNotOptimize(systole::SimulateEveryRank(arch, call));
}
BENCHMARK(BM_EveryRankReferenceTpuV5ePod)->Unit(benchmark::kMillisecond);

}  // namespace
