#include "workloads/gemm/gemm_run.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/checked_math.h"
#include "models/sysc/sim_context.h"
#include "models/tensor_engine/tensor_engine.h"
#include "workloads/gemm/gemm_lowering.h"

namespace systole {

GemmRunSummary SimulateGemms(const ArchConfig& arch, const std::vector<GemmJob>& jobs) {
  const TensorEngineConfig& te = arch.core.tensor;
  GemmRunSummary summary;
  std::vector<MatmulFoldInstr> program;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const GemmJob& job = jobs[i];
    if (job.count == 0) throw InputError("GEMM '" + job.name + "': count must be >= 1");
    GemmResult r;
    r.job = job;
    const GemmTiming t = TimeGemm(te.dataflow, job.shape, te.array, EdgePolicy::kTrimToUsed);
    r.mapping = t.mapping;
    r.folds = CheckedMul(t.mapping.folds(), job.count, "fold count");
    r.closed_form_cycles = CheckedMul(t.compute_cycles, job.count, "cycle count");
    r.macs = CheckedMul(t.macs, job.count, "MAC count");
    r.mapping_efficiency = t.mapping_efficiency;
    const std::uint64_t b = te.bytes_per_element;
    r.ifmap_read_bytes =
        CheckedMul(CheckedMul(t.accesses.ifmap_reads, job.count, "traffic"), b, "traffic");
    r.filter_read_bytes =
        CheckedMul(CheckedMul(t.accesses.filter_reads, job.count, "traffic"), b, "traffic");
    r.ofmap_write_bytes =
        CheckedMul(CheckedMul(t.accesses.ofmap_writes, job.count, "traffic"), b, "traffic");
    summary.gemms.push_back(r);
    summary.total_cycles = CheckedAdd(summary.total_cycles, r.closed_form_cycles, "cycle count");

    std::vector<MatmulFoldInstr> one;
    LowerGemmToFolds(te.dataflow, job.shape, te.array, static_cast<std::uint32_t>(i), one);
    for (MatmulFoldInstr& f : one) f.repeat = CheckedMul(f.repeat, job.count, "fold count");
    program.insert(program.end(), one.begin(), one.end());
  }
  summary.simulated_events = program.size();

  {
    SimContext context;
    TensorEngine engine("tensor", te.dataflow, te.array, arch.core.clock_ghz,
                        EdgePolicy::kTrimToUsed);
    engine.Load(std::move(program), /*record_spans=*/true);
    sc_core::sc_start();
    for (const InstrSpan& span : engine.spans()) {
      summary.gemms[span.tag].cycles += span.end_cycle - span.start_cycle;
    }
    summary.total_cycles = engine.stats().end_cycle;
    summary.total_macs = engine.stats().macs;
  }

  const double pes = static_cast<double>(te.array.rows) * static_cast<double>(te.array.cols);
  for (GemmResult& r : summary.gemms) {
    r.time_ns = arch.CyclesToNs(r.cycles);
    r.utilization = static_cast<double>(r.macs) / (static_cast<double>(r.cycles) * pes);
  }
  summary.total_time_ns = arch.CyclesToNs(summary.total_cycles);
  summary.utilization = summary.total_cycles == 0
                            ? 0.0
                            : static_cast<double>(summary.total_macs) /
                                  (static_cast<double>(summary.total_cycles) * pes);
  return summary;
}

std::vector<GemmJob> DefaultGemmSet() {
  // GPT-2 small, one layer, forward, micro-batch 1 x sequence 1024 tokens:
  // hidden 768, 12 heads of 64, MLP 3072.
  return {
      {"attn.qkv", {1024, 768, 2304}, 1},     {"attn.scores", {1024, 64, 1024}, 12},
      {"attn.context", {1024, 1024, 64}, 12}, {"attn.proj", {1024, 768, 768}, 1},
      {"mlp.up", {1024, 768, 3072}, 1},       {"mlp.down", {1024, 3072, 768}, 1},
  };
}

std::string FormatGemmSummary(const ArchConfig& arch, const GemmRunSummary& s) {
  const TensorEngineConfig& te = arch.core.tensor;
  std::string out =
      fmt::format("{}: {}x{} {} array, {}, {} GHz\n", arch.name, te.array.rows, te.array.cols,
                  DataflowName(te.dataflow), te.dtype, arch.core.clock_ghz);
  out += fmt::format("{:<14} {:>6} {:>6} {:>6} {:>5} {:>8} {:>12} {:>11} {:>7} {:>14}\n", "gemm",
                     "M", "K", "N", "count", "folds", "cycles", "time_us", "util_%", "sram_rd_MiB");
  for (const GemmResult& r : s.gemms) {
    out += fmt::format(
        "{:<14} {:>6} {:>6} {:>6} {:>5} {:>8} {:>12} {:>11.3f} {:>7.2f} {:>14.3f}\n", r.job.name,
        r.job.shape.m, r.job.shape.k, r.job.shape.n, r.job.count, r.folds, r.cycles,
        r.time_ns / 1000.0, 100.0 * r.utilization,
        static_cast<double>(r.ifmap_read_bytes + r.filter_read_bytes) / (1024.0 * 1024.0));
  }
  if (s.gemms.size() == 1) {
    const GemmResult& r = s.gemms.front();
    out += fmt::format(
        "mapping: {} row folds x {} col folds, temporal {}, mapping efficiency {:.2f}%\n",
        r.mapping.row_folds, r.mapping.col_folds, r.mapping.temporal, 100.0 * r.mapping_efficiency);
    out += fmt::format(
        "operand traffic: ifmap_read_bytes {}, filter_read_bytes {}, "
        "ofmap_write_bytes {}\n",
        r.ifmap_read_bytes, r.filter_read_bytes, r.ofmap_write_bytes);
  }
  const double tflops = 2.0 * static_cast<double>(s.total_macs) / s.total_time_ns / 1000.0;
  out += fmt::format("total: {} cycles = {:.3f} us, {:.2f}% utilization, {:.2f} TFLOP/s\n",
                     s.total_cycles, s.total_time_ns / 1000.0, 100.0 * s.utilization, tflops);
  return out;
}

std::string GemmSummaryJson(const ArchConfig& arch, const GemmRunSummary& s) {
  nlohmann::ordered_json j;
  j["schema"] = "systole.gemm/1";
  j["arch"] = {{"name", arch.name},
               {"rows_pes", arch.core.tensor.array.rows},
               {"cols_pes", arch.core.tensor.array.cols},
               {"dataflow", DataflowName(arch.core.tensor.dataflow)},
               {"dtype", arch.core.tensor.dtype},
               {"clock_ghz", arch.core.clock_ghz}};
  nlohmann::ordered_json gemms = nlohmann::ordered_json::array();
  for (const GemmResult& r : s.gemms) {
    gemms.push_back({{"name", r.job.name},
                     {"m", r.job.shape.m},
                     {"k", r.job.shape.k},
                     {"n", r.job.shape.n},
                     {"count", r.job.count},
                     {"folds", r.folds},
                     {"cycles", r.cycles},
                     {"time_ns", r.time_ns},
                     {"macs", r.macs},
                     {"utilization", r.utilization},
                     {"mapping_efficiency", r.mapping_efficiency},
                     {"ifmap_read_bytes", r.ifmap_read_bytes},
                     {"filter_read_bytes", r.filter_read_bytes},
                     {"ofmap_write_bytes", r.ofmap_write_bytes}});
  }
  j["gemms"] = gemms;
  j["total"] = {{"cycles", s.total_cycles},
                {"time_ns", s.total_time_ns},
                {"macs", s.total_macs},
                {"utilization", s.utilization}};
  return j.dump(2) + "\n";
}

}  // namespace systole
