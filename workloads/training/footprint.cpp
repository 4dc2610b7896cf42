#include "workloads/training/footprint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/training/training_step.h"

namespace systole {

namespace {

bool Transient(TensorKind kind) {
  return kind == TensorKind::kActivation || kind == TensorKind::kGradient ||
         kind == TensorKind::kInput;
}

struct Liveness {
  std::vector<std::int64_t> first, last;  // -1 = never touched
};

Liveness Live(const Graph& graph, const std::vector<OpId>& order) {
  Liveness l;
  l.first.assign(graph.tensors().size(), -1);
  l.last.assign(graph.tensors().size(), -1);
  for (std::size_t idx = 0; idx < order.size(); ++idx) {
    const GraphOp& op = graph.op(order[idx]);
    auto touch = [&](TensorId t) {
      // A fused chain intermediate never reaches HBM (fusion.h).
      if (!Transient(graph.tensor(t).kind) || graph.tensor(t).on_chip_only) return;
      // Step inputs (token ids, images) are in memory from the start.
      if (l.first[t] < 0) {
        l.first[t] = graph.tensor(t).kind == TensorKind::kInput ? 0 : std::int64_t(idx);
      }
      l.last[t] = std::int64_t(idx);
    };
    for (TensorId t : op.inputs) touch(t);
    for (TensorId t : op.outputs) touch(t);
  }
  return l;
}

}  // namespace

std::vector<TensorId> SavedForBackward(const Graph& graph, const std::vector<OpId>& order,
                                       std::size_t forward_ops) {
  const Liveness l = Live(graph, order);
  std::vector<TensorId> out;
  const auto boundary = static_cast<std::int64_t>(forward_ops);
  for (TensorId t = 0; t < graph.tensors().size(); ++t) {
    if (l.first[t] >= 0 && l.first[t] < boundary && l.last[t] >= boundary) out.push_back(t);
  }
  return out;
}

Footprint ComputeFootprint(const Graph& graph, const std::vector<OpId>& order,
                           std::size_t forward_ops) {
  Footprint f;
  const char* what = "footprint bytes";
  for (const GraphTensor& t : graph.tensors()) {
    switch (t.kind) {
      case TensorKind::kParameter:
        f.weights_bytes = CheckedAdd(f.weights_bytes, t.bytes(), what);
        break;
      case TensorKind::kParamGradient:
        f.gradients_bytes = CheckedAdd(f.gradients_bytes, t.bytes(), what);
        break;
      case TensorKind::kMasterWeight:
        f.master_weights_bytes = CheckedAdd(f.master_weights_bytes, t.bytes(), what);
        break;
      case TensorKind::kOptimizerState:
        f.optimizer_state_bytes = CheckedAdd(f.optimizer_state_bytes, t.bytes(), what);
        break;
      default:
        break;
    }
  }
  const Liveness l = Live(graph, order);
  std::vector<std::int64_t> delta(order.size() + 1, 0);
  for (TensorId t = 0; t < graph.tensors().size(); ++t) {
    if (l.first[t] < 0) continue;
    const auto bytes = static_cast<std::int64_t>(graph.tensor(t).bytes());
    delta[l.first[t]] += bytes;
    delta[l.last[t] + 1] -= bytes;
  }
  std::int64_t live = 0, peak = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    live += delta[i];
    peak = std::max(peak, live);
  }
  for (TensorId t : SavedForBackward(graph, order, forward_ops)) {
    f.saved_activation_bytes = CheckedAdd(f.saved_activation_bytes, graph.tensor(t).bytes(), what);
  }
  f.activation_peak_bytes = static_cast<std::uint64_t>(peak);
  f.workspace_bytes =
      f.activation_peak_bytes - std::min(f.activation_peak_bytes, f.saved_activation_bytes);
  f.total_bytes = CheckedAdd(f.states_bytes(), f.activation_peak_bytes, what);
  return f;
}

std::string FormatBytes(std::uint64_t bytes) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  constexpr double kMiB = 1024.0 * 1024.0;
  if (bytes >= (std::uint64_t{1} << 30)) return fmt::format("{:.2f} GiB", bytes / kGiB);
  return fmt::format("{:.1f} MiB", bytes / kMiB);
}

void CheckFootprintFits(const TrainingStep& step, std::uint64_t capacity_bytes) {
  const WorkloadConfig& config = step.config;
  const Footprint& fp = step.footprint;
  if (fp.total_bytes <= capacity_bytes) return;
  const TrainingConfig& t = config.training;
  std::string message = fmt::format(
      "{}: the training step needs {} but the device memory holds {} ({} over): weights {} + "
      "gradients {} + master weights {} + optimizer state {} + saved activations {} + "
      "workspace {}",
      config.source, FormatBytes(fp.total_bytes), FormatBytes(capacity_bytes),
      FormatBytes(fp.total_bytes - capacity_bytes), FormatBytes(fp.weights_bytes),
      FormatBytes(fp.gradients_bytes), FormatBytes(fp.master_weights_bytes),
      FormatBytes(fp.optimizer_state_bytes), FormatBytes(fp.saved_activation_bytes),
      FormatBytes(fp.workspace_bytes));
  if (fp.states_bytes() >= capacity_bytes) {
    const std::uint64_t chips = CeilDiv(fp.states_bytes(), capacity_bytes) + 1;
    throw InputError(message +
                     fmt::format("; the parameter states alone ({}) do not fit: shard them "
                                 "over at least {} devices (ZeRO-style sharding, not yet "
                                 "available) or raise the capacity",
                                 FormatBytes(fp.states_bytes()), chips));
  }
  // The footprint of the same step with another micro-batch (zoo models) or recomputation.
  auto needs = [&](std::uint64_t micro_batch, Recompute recompute) {
    WorkloadConfig c = config;
    c.training.micro_batch = micro_batch;
    c.training.recompute = recompute;
    if (step.from_zoo) return BuildTrainingStep(c).footprint.total_bytes;
    ForwardGraph fg;
    fg.graph = step.graph.Prefix(step.forward_tensors, step.phase(Phase::kForward).ops.size());
    fg.losses = step.losses;
    fg.compute_dtype = step.compute_dtype;
    fg.samples = step.forward_samples;
    fg.tokens = step.forward_tokens;
    return BuildTrainingStep(std::move(fg), c).footprint.total_bytes;
  };
  std::vector<std::string> options;
  std::vector<Recompute> recomputes;
  if (t.recompute == Recompute::kNone && config.model.is_transformer()) {
    recomputes.push_back(Recompute::kSelective);
  }
  if (t.recompute != Recompute::kFull) recomputes.push_back(Recompute::kFull);
  bool fits_with_recompute = false;
  for (Recompute r : recomputes) {
    const std::uint64_t need = needs(t.micro_batch, r);
    if (need <= capacity_bytes) {
      options.push_back(
          fmt::format("training.recompute = '{}' ({})", RecomputeName(r), FormatBytes(need)));
      fits_with_recompute = true;
      break;
    }
  }
  // The largest smaller micro-batch that fits, keeping the samples per step.
  const std::uint64_t batch = CheckedMul(t.micro_batch, t.grad_accum_steps, "batch");
  for (Recompute r : {t.recompute, Recompute::kFull}) {
    if (!step.from_zoo) break;
    bool found = false;
    for (std::uint64_t mb = t.micro_batch / 2; mb >= 1; mb /= 2) {
      const std::uint64_t need = needs(mb, r);
      if (need > capacity_bytes) continue;
      std::string option = fmt::format(
          "training.micro_batch = {} with grad_accum_steps = {}{} ({})", mb, CeilDiv(batch, mb),
          r == t.recompute ? "" : fmt::format(" and recompute = '{}'", RecomputeName(r)),
          FormatBytes(need));
      options.push_back(option);
      found = true;
      break;
    }
    if (found || fits_with_recompute || r == Recompute::kFull) break;
  }
  if (options.empty() && !step.from_zoo) {
    throw InputError(message + fmt::format("; even recompute = 'full' needs {}: use a smaller "
                                           "batch in the graph, shard over several devices (not "
                                           "yet available) or raise the capacity",
                                           FormatBytes(needs(t.micro_batch, Recompute::kFull))));
  }
  if (options.empty()) {
    throw InputError(message +
                     fmt::format("; even micro_batch = 1 with recompute = 'full' needs {}: "
                                 "shard the states or the sequence over several devices "
                                 "(not yet available) or raise the capacity",
                                 FormatBytes(needs(1, Recompute::kFull))));
  }
  message += "; it would fit with ";
  for (std::size_t i = 0; i < options.size(); ++i) {
    message += (i ? ", or " : "") + options[i];
  }
  throw InputError(message);
}

}  // namespace systole
