// Times a whole training step on a chip and renders the result (`systole run`).
//
// Every op of the step (forward, backward, optimizer; workloads/training) is lowered to
// core kernels (workloads/lowering/op_lowering.h) and each distinct kernel is simulated
// once on the engine-level core (models/core); identical ops (the layers of a
// transformer, the micro-batches) reuse that result. Ops run one after another, so the
// step time is the sum of its ops' times times their repeats.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/config/arch_config.h"
#include "workloads/training/training_step.h"

namespace systole {

struct OpReport {
  OpId op = 0;
  Phase phase = Phase::kForward;
  double time_ns = 0;         // one execution
  std::uint64_t repeats = 1;  // per step
  std::uint64_t flops = 0;
  std::uint64_t matmul_flops = 0;
  std::uint64_t bytes = 0;  // HBM bytes read + written
  double roofline_ns = 0;   // max(matmul FLOPs / peak, bytes / HBM bandwidth)
  bool compute_bound = false;
  // The kernels that ran it, as chosen (orientation, blocking): "<KernelCall::Key()> x<repeat>"
  // joined by "; " (empty when fused).
  std::string kernels;
};

struct StepReport {
  std::vector<OpReport> ops;
  double phase_ns[3] = {0, 0, 0};  // forward, backward, optimizer, per step
  double step_ns = 0;
  double tokens_per_s = 0;
  double mfu = 0;  // model matmul FLOPs (no recompute) / (step time x peak)
  double hfu = 0;  // executed matmul FLOPs (with recompute) / (step time x peak)
  double peak_flops_per_ns = 0;
  std::uint64_t distinct_kernels = 0;
  // Kernel calls (per op, not per repeat) that ran faster transposed (op_lowering.h).
  std::uint64_t transposed_kernels = 0;
  std::uint64_t tuned_kernels = 0;  // matmul calls whose blocking the tiling search changed
  std::uint64_t simulated_instructions = 0;    // simulated, rejected orientations too
  std::uint64_t represented_instructions = 0;  // instructions the step would execute
  double wall_seconds = 0;
};

// progress(fraction done) is called now and then (for a progress bar). reuse_kernels =
// false simulates every kernel of every op (no replication), to check replication.
StepReport RunTrainingStep(const ArchConfig& arch, const TrainingStep& step,
                           const std::function<void(double)>& progress = {},
                           bool reuse_kernels = true);

std::string FormatStepSummary(const ArchConfig& arch, const TrainingStep& step,
                              const StepReport& report);
std::string StepReportJson(const ArchConfig& arch, const TrainingStep& step,
                           const StepReport& report);
std::string OpsCsv(const TrainingStep& step, const StepReport& report);
// Chrome trace (Perfetto) of the step's timeline at op granularity: micro-batches run
// forward then backward, then the optimizer; tensor-engine ops (matmuls) and the rest
// (vector/scalar/DMA-bound work) on separate tracks, phases on a third.
std::string StepTraceJson(const TrainingStep& step, const StepReport& report);

}  // namespace systole
