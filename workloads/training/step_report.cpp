#include "workloads/training/step_report.h"

#include <fmt/format.h>

namespace systole {

std::string FormatTrainingStepSummary(const TrainingStep& step) {
  const WorkloadConfig& c = step.config;
  std::string out =
      fmt::format("workload {} ({}): {:.2f} M parameters, {}, {}, recompute {}\n", c.model.name,
                  ModelFamilyName(c.model.family), static_cast<double>(step.parameters) / 1e6,
                  PrecisionName(c.training.precision), OptimizerName(c.training.optimizer),
                  RecomputeName(c.training.recompute));
  if (step.tokens_per_step != step.samples_per_step) {
    out += fmt::format("step: {} samples x {} micro-batches x sequence {} = {} tokens\n",
                       step.forward_samples, step.micro_batches,
                       step.forward_tokens / step.forward_samples, step.tokens_per_step);
  } else {
    out += fmt::format("step: {} samples x {} micro-batches = {} samples\n", step.forward_samples,
                       step.micro_batches, step.samples_per_step);
  }
  out += fmt::format("{:<10} {:>7} {:>6} {:>14} {:>7} {:>10} {:>10}\n", "phase", "repeats", "ops",
                     "GFLOP/repeat", "matmul", "GB read", "GB written");
  for (const PhaseWork& p : step.phases) {
    const double share = p.flops == 0 ? 0.0 : 100.0 * static_cast<double>(p.matmul_flops) / p.flops;
    out += fmt::format("{:<10} {:>7} {:>6} {:>14.1f} {:>6.1f}% {:>10.2f} {:>10.2f}\n",
                       PhaseName(p.phase), p.repeats, p.ops.size(), p.flops / 1e9, share,
                       p.bytes_read / 1e9, p.bytes_written / 1e9);
  }
  out += fmt::format("total: {:.1f} GFLOP per step ({:.1f} matmul)\n", step.flops_per_step / 1e9,
                     step.matmul_flops_per_step / 1e9);
  const Footprint& f = step.footprint;
  out += fmt::format(
      "memory: {} = weights {} + gradients {} + master weights {} + optimizer {} + saved "
      "activations {} + workspace {}\n",
      FormatBytes(f.total_bytes), FormatBytes(f.weights_bytes), FormatBytes(f.gradients_bytes),
      FormatBytes(f.master_weights_bytes), FormatBytes(f.optimizer_state_bytes),
      FormatBytes(f.saved_activation_bytes), FormatBytes(f.workspace_bytes));
  return out;
}

nlohmann::ordered_json FootprintToJson(const Footprint& f) {
  nlohmann::ordered_json j;
  j["weights_bytes"] = f.weights_bytes;
  j["gradients_bytes"] = f.gradients_bytes;
  j["master_weights_bytes"] = f.master_weights_bytes;
  j["optimizer_state_bytes"] = f.optimizer_state_bytes;
  j["saved_activation_bytes"] = f.saved_activation_bytes;
  j["workspace_bytes"] = f.workspace_bytes;
  j["activation_peak_bytes"] = f.activation_peak_bytes;
  j["total_bytes"] = f.total_bytes;
  return j;
}

nlohmann::json TrainingStepToJson(const TrainingStep& step, bool with_ops) {
  const WorkloadConfig& c = step.config;
  nlohmann::json j;
  j["workload"] = c.model.name;
  j["family"] = ModelFamilyName(c.model.family);
  j["precision"] = PrecisionName(c.training.precision);
  j["optimizer"] = OptimizerName(c.training.optimizer);
  j["recompute"] = RecomputeName(c.training.recompute);
  j["micro_batch"] = c.training.micro_batch;
  j["sequence"] = c.training.sequence;
  j["micro_batches"] = step.micro_batches;
  j["parameters"] = step.parameters;
  j["samples_per_step"] = step.samples_per_step;
  j["tokens_per_step"] = step.tokens_per_step;
  j["flops_per_step"] = step.flops_per_step;
  j["matmul_flops_per_step"] = step.matmul_flops_per_step;
  j["fusion"] = step.fusion;
  j["fused_ops"] = step.fused_ops;
  nlohmann::json phases = nlohmann::json::array();
  for (const PhaseWork& p : step.phases) {
    phases.push_back({{"phase", PhaseName(p.phase)},
                      {"repeats", p.repeats},
                      {"ops", p.ops.size()},
                      {"flops", p.flops},
                      {"matmul_flops", p.matmul_flops},
                      {"read_bytes", p.bytes_read},
                      {"written_bytes", p.bytes_written}});
  }
  j["phases"] = phases;
  j["footprint"] = FootprintToJson(step.footprint);
  if (with_ops) {
    nlohmann::json ops = nlohmann::json::array();
    for (const PhaseWork& p : step.phases) {
      for (OpId id : p.ops) {
        const GraphOp& op = step.graph.op(id);
        ops.push_back({{"phase", PhaseName(p.phase)},
                       {"name", op.name},
                       {"kind", OpKindName(op.kind)},
                       {"role", OpRoleName(op.role)},
                       {"layer", op.layer},
                       {"flops", op.flops},
                       {"matmul_flops", op.matmul_flops},
                       {"read_bytes", op.hbm_bytes_read()},
                       {"written_bytes", op.hbm_bytes_written()},
                       {"fused_into", op.fused() ? step.graph.op(op.fused_into).name : ""}});
      }
    }
    j["ops"] = ops;
  }
  return j;
}

}  // namespace systole
