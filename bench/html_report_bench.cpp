// Speed and size of report.html (sim/report/html_report.h) for a GPT-2-small step: what
// `systole run --out` adds to a run. bytes_per_second = page bytes written per second;
// page_kib = the page's size (Chart.js, about 205 KiB, included).
#include <benchmark/benchmark.h>

#include "sim/config/arch_config.h"
#include "sim/report/html_report.h"
#include "sim/step_run.h"
#include "workloads/zoo/workload_config.h"

namespace {

void BM_StepReportHtml(benchmark::State& state, const char* preset) {
  const systole::ArchConfig arch = systole::LoadArchConfig("");
  const systole::TrainingStep step =
      systole::BuildTrainingStep(systole::LoadWorkloadConfig(systole::WorkloadPresetPath(preset)));
  const systole::StepReport report = systole::RunTrainingStep(arch, step);
  const std::string json = systole::StepReportJson(arch, step, report);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string html = systole::StepReportHtml(arch, step, report, json);
    bytes = html.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["page_kib"] = static_cast<double>(bytes) / 1024.0;
  state.counters["ops"] = static_cast<double>(report.ops.size());
}

BENCHMARK_CAPTURE(BM_StepReportHtml, gpt2_small, "gpt2-small")->Unit(benchmark::kMillisecond);

}  // namespace
