#include "workloads/parallel/parallel_layout.h"

#include <fmt/format.h>

#include "base/error.h"

namespace systole {

namespace {

// A decimal integer in [1, max], or nullopt-like 0 when malformed.
std::uint64_t ParseCount(const std::string& text, std::uint64_t max) {
  if (text.empty() || text.size() > 12 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  const std::uint64_t v = std::stoull(text);
  return v <= max ? v : 0;
}

constexpr std::uint64_t kMaxDegree = 1u << 20;  // a million devices per dimension

}  // namespace

const char* PipelineScheduleName(PipelineSchedule schedule) {
  switch (schedule) {
    case PipelineSchedule::kGpipe:
      return "gpipe";
    case PipelineSchedule::kOneFOneB:
      return "1f1b";
    case PipelineSchedule::kInterleaved:
      return "interleaved";
  }
  return "?";
}

std::string ParallelLayout::Spec() const { return fmt::format("dp={},tp={},pp={}", dp, tp, pp); }

std::string ParallelLayout::Describe() const {
  std::string s =
      fmt::format("dp {} x tp {} x pp {} = {} devices, ZeRO {}, ", dp, tp, pp, devices(), zero);
  s += schedule == PipelineSchedule::kInterleaved
           ? fmt::format("interleaved schedule ({} chunks per device)", virtual_stages)
           : fmt::format("{} schedule", schedule == PipelineSchedule::kGpipe ? "GPipe" : "1F1B");
  if (sequence_parallel) s += ", sequence parallel";
  return s;
}

ParallelLayout ParseParallelLayout(const std::string& parallel, const std::string& zero,
                                   const std::string& schedule, bool sequence_parallel) {
  ParallelLayout l;
  bool seen[3] = {false, false, false};
  std::size_t pos = 0;
  while (!parallel.empty() && pos <= parallel.size()) {
    const std::size_t comma = parallel.find(',', pos);
    const std::string item =
        parallel.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const std::size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const int index = key == "dp" ? 0 : key == "tp" ? 1 : key == "pp" ? 2 : -1;
    const std::uint64_t v =
        eq == std::string::npos ? 0 : ParseCount(item.substr(eq + 1), kMaxDegree);
    if (index < 0 || v == 0 || seen[index]) {
      throw InputError(fmt::format(
          "--parallel '{}': item '{}' is invalid: expected dp=N,tp=N,pp=N (each at most once, N "
          "a whole number from 1 to {})",
          parallel, item, kMaxDegree));
    }
    seen[index] = true;
    (index == 0 ? l.dp : index == 1 ? l.tp : l.pp) = v;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (zero.size() != 1 || zero[0] < '0' || zero[0] > '3') {
    throw InputError("--zero '" + zero + "': expected a ZeRO stage 0, 1, 2 or 3");
  }
  l.zero = zero[0] - '0';
  if (schedule == "gpipe") {
    l.schedule = PipelineSchedule::kGpipe;
  } else if (schedule == "1f1b") {
    l.schedule = PipelineSchedule::kOneFOneB;
  } else if (schedule.rfind("interleaved:", 0) == 0) {
    l.schedule = PipelineSchedule::kInterleaved;
    l.virtual_stages = ParseCount(schedule.substr(12), 1024);
    if (l.virtual_stages < 2) {
      throw InputError("--schedule '" + schedule +
                       "': expected interleaved:V with V (model chunks per device) from 2 to "
                       "1024");
    }
  } else {
    throw InputError("--schedule '" + schedule + "': expected gpipe, 1f1b or interleaved:V");
  }
  l.sequence_parallel = sequence_parallel;
  return l;
}

void CheckLayoutFitsModel(const ParallelLayout& l, const WorkloadConfig& config) {
  const ModelConfig& m = config.model;
  if (l.tp > 1 || l.sequence_parallel) {
    if (m.family != ModelFamily::kGpt && m.family != ModelFamily::kLlama) {
      throw InputError(fmt::format(
          "--parallel tp={}: tensor parallelism{} is built for model.family 'gpt' and 'llama', "
          "not '{}' ({}): expected tp=1",
          l.tp, l.sequence_parallel ? " (and --sequence-parallel)" : "", ModelFamilyName(m.family),
          config.source));
    }
    if (l.tp > m.heads) {
      throw InputError(fmt::format(
          "--parallel tp={}: larger than model.heads = {} ({}): each tensor-parallel rank needs "
          "whole attention heads, expected tp <= {}",
          l.tp, m.heads, config.source, m.heads));
    }
    if (m.heads % l.tp != 0 || m.ffn % l.tp != 0) {
      throw InputError(fmt::format(
          "--parallel tp={}: does not divide model.heads = {} and model.ffn = {} ({}): expected "
          "a common divisor of both",
          l.tp, m.heads, m.ffn, config.source));
    }
    if (m.family == ModelFamily::kLlama &&
        (m.kv_heads >= l.tp ? m.kv_heads % l.tp : l.tp % m.kv_heads) != 0) {
      throw InputError(fmt::format(
          "--parallel tp={}: model.kv_heads = {} ({}): expected tp to divide kv_heads or be a "
          "multiple of it (key/value heads are split or replicated whole)",
          l.tp, m.kv_heads, config.source));
    }
  }
  if (l.pp > 1 || l.virtual_stages > 1) {
    if (!m.is_transformer() || m.family == ModelFamily::kBert) {
      throw InputError(fmt::format(
          "--parallel pp={}: pipeline stages are built for model.family 'gpt' and 'llama', not "
          "'{}' ({}): expected pp=1",
          l.pp, ModelFamilyName(m.family), config.source));
    }
    if (l.chunks() > m.layers) {
      throw InputError(fmt::format(
          "--parallel pp={}: {} pipeline stages{} are more than model.layers = {} ({}): "
          "expected at most one stage per layer",
          l.pp, l.chunks(),
          l.virtual_stages > 1 ? fmt::format(" (pp x {} chunks)", l.virtual_stages) : "", m.layers,
          config.source));
    }
    if (m.layers % l.chunks() != 0) {
      throw InputError(fmt::format(
          "--parallel pp={}: {} pipeline stages do not divide model.layers = {} ({}): expected "
          "equal stages",
          l.pp, l.chunks(), m.layers, config.source));
    }
  }
}

void CheckScheduleFitsBatch(const ParallelLayout& l, const WorkloadConfig& config) {
  if (l.schedule == PipelineSchedule::kInterleaved) {
    if (l.pp < 2) {
      throw InputError("--schedule interleaved:" + std::to_string(l.virtual_stages) +
                       ": needs pp >= 2 (--parallel pp=" + std::to_string(l.pp) + ")");
    }
    if (config.training.grad_accum_steps % l.pp != 0) {
      throw InputError(fmt::format(
          "--schedule interleaved:{}: training.grad_accum_steps = {} micro-batches is not a "
          "multiple of pp = {} (Megatron-LM's interleaved schedule needs that)",
          l.virtual_stages, config.training.grad_accum_steps, l.pp));
    }
  }
}

std::string ResolveGlobalBatch(TrainingConfig& t, std::uint64_t dp) {
  const std::uint64_t per_accum = t.micro_batch * dp;  // both < 2^24 x 2^20
  const int accum = t.grad_accum_source, global = t.global_batch_source;
  const bool derive_accum = global > 0 && global >= accum;
  if (global > 0 && global == accum) {
    if (t.global_batch != per_accum * t.grad_accum_steps) {
      throw InputError(fmt::format(
          "training.global_batch = {}: micro_batch {} x grad_accum_steps {} x dp {} = {}, given "
          "at the same level ({}): expected them to agree, or give only one of global_batch and "
          "grad_accum_steps",
          t.global_batch, t.micro_batch, t.grad_accum_steps, dp, per_accum * t.grad_accum_steps,
          global == 2 ? "both --set" : "both in the workload file"));
    }
    return fmt::format("global batch {} = micro-batch {} x {} accumulation steps x dp {}",
                       t.global_batch, t.micro_batch, t.grad_accum_steps, dp);
  }
  if (derive_accum) {
    if (t.global_batch % per_accum != 0) {
      throw InputError(fmt::format(
          "training.global_batch = {}: not a multiple of micro_batch {} x dp {} = {}: expected "
          "global_batch = micro_batch x grad_accum_steps x dp",
          t.global_batch, t.micro_batch, dp, per_accum));
    }
    t.grad_accum_steps = t.global_batch / per_accum;
    if (t.grad_accum_steps > (1u << 24)) {
      throw InputError(fmt::format(
          "training.global_batch = {}: {} accumulation steps of micro_batch {} x dp {}: "
          "expected at most 2^24",
          t.global_batch, t.grad_accum_steps, t.micro_batch, dp));
    }
    return fmt::format(
        "global batch {} = micro-batch {} x {} accumulation steps x dp {} (accumulation steps "
        "derived)",
        t.global_batch, t.micro_batch, t.grad_accum_steps, dp);
  }
  t.global_batch = per_accum * t.grad_accum_steps;
  return fmt::format(
      "global batch {} = micro-batch {} x {} accumulation steps x dp {} (global "
      "batch derived)",
      t.global_batch, t.micro_batch, t.grad_accum_steps, dp);
}

}  // namespace systole
