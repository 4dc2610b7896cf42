// Kernel building is linear in its instructions (issue 14): an element-wise add over
// ROWS x 1 stores ROWS/128 disjoint blocks of its output tensor. Google Benchmark fits the
// time against the instruction count (BigO should print "N", not "N^2"):
//   systole_bench --benchmark_filter=BuildAddKernelRows
#include <benchmark/benchmark.h>

#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace {

void BM_BuildAddKernelRows(benchmark::State& state) {
  static const systole::ArchConfig arch = systole::LoadArchConfig("");
  systole::ElementwiseKernelOptions o;
  o.kind = "add";
  o.rows = static_cast<std::uint64_t>(state.range(0));
  o.cols = 1;
  std::size_t instructions = 0;
  for (auto _ : state) {
    const systole::Program p = systole::BuildElementwiseKernel(arch, o);
    instructions = p.instructions.size();
    benchmark::DoNotOptimize(instructions);
  }
  state.SetComplexityN(static_cast<std::int64_t>(instructions));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * instructions));
}
BENCHMARK(BM_BuildAddKernelRows)
    ->RangeMultiplier(4)
    ->Range(1 << 16, 1 << 22)
    ->Unit(benchmark::kMillisecond)
    ->Complexity();

}  // namespace
