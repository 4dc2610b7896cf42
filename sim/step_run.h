// Times a whole training step on a chip and renders the result (`systole run`).
//
// Every op of the step (forward, backward, optimizer; workloads/training) is lowered to
// core kernels (workloads/lowering/op_lowering.h) and each distinct kernel is simulated
// once on the engine-level core (models/core); identical ops (the layers of a
// transformer, the micro-batches) reuse that result. Ops run one after another, so the
// step time is the sum of its ops' times times their repeats.
//
// Energy and power: each op's energy is its kernels' activity (models/energy/activity.h)
// times the energy table plus static power and server overheads over its time
// (models/energy/energy_model.h); the step's is the sum over ops and repeats. Average power
// = step energy / step time; peak power = the highest op-average (op granularity: power
// within an op is not resolved). When the chip's average power exceeds chip.tdp_w and
// chip.power_policy is throttle, every engine clock (core, vector, scalar) is scaled by a
// factor and the step simulated again, until the average fits; the report says so.
// The factor: f' = f x (TDP - static) / dynamic power, which is exact when the step's time
// scales with the clock; a step partly bound by HBM or DMA (whose clocks stay) needs
// another round (at most kMaxThrottleRounds).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/energy/energy_model.h"
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
  Activity activity;       // one execution, every core's
  EnergyBreakdown energy;  // one execution (dynamic + static and overheads over time_ns)
};

// Power of the step on one chip and what the power limit did.
struct PowerReport {
  double avg_chip_w = 0;   // chip energy (dynamic + static) / step time
  double avg_wall_w = 0;   // with the chip's server share and the PSU loss
  double peak_chip_w = 0;  // the highest op-average chip power (op granularity)
  double tdp_w = 0;
  PowerPolicy policy = PowerPolicy::kThrottle;
  bool throttled = false;          // the clocks were lowered to meet the TDP
  double clock_scale = 1;          // factor applied to every engine clock
  int throttle_rounds = 0;         // simulations of the step after the first
  double unthrottled_step_ns = 0;  // at the configured clocks
  double unthrottled_avg_chip_w = 0;
  bool over_tdp = false;  // the reported average still exceeds the TDP
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
  Activity activity;       // per step
  EnergyBreakdown energy;  // per step, one chip
  PowerReport power;
};

inline constexpr int kMaxThrottleRounds = 6;

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
