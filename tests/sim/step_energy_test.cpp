// Energy and power of a training step: the step's energy is the sum of its ops', and the
// power limit throttles the clocks (or reports the excess) instead of exceeding it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sim/step_run.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

TrainingStep Mlp() { return BuildTrainingStep(LoadWorkloadConfig(WorkloadPresetPath("mlp"))); }

TEST(StepEnergy, StepEnergyIsTheSumOverOpsAndRepeats) {
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Mlp();
  const StepReport r = RunTrainingStep(arch, step);
  EnergyBreakdown sum;
  double macs = 0;
  for (const OpReport& o : r.ops) {
    const double n = static_cast<double>(o.repeats);
    sum += o.energy.Scaled(n);
    macs += o.activity.TotalMacs() * n;
    // Each op: its activity x the table, static and overheads over its time.
    const EnergyBreakdown e = EnergyOf(arch.energy, o.activity, o.time_ns, arch.cores);
    EXPECT_DOUBLE_EQ(o.energy.TotalJ(), e.TotalJ());
  }
  EXPECT_NEAR(r.energy.TotalJ(), sum.TotalJ(), 1e-12 * sum.TotalJ());
  EXPECT_GT(r.energy.compute_j, 0.0);
  EXPECT_GT(r.energy.hbm_j, 0.0);
  // Static energy: the chip's static power over the whole step.
  EXPECT_NEAR(r.energy.static_j, arch.energy.ChipStaticW(1) * r.step_ns * 1e-9,
              1e-9 * r.energy.static_j);
  // Every executed matmul FLOP is 2 MACs the tensor engine issued (padding included, so >=).
  double flops = 0;
  for (const OpReport& o : r.ops) flops += static_cast<double>(o.matmul_flops * o.repeats);
  EXPECT_GE(2.0 * macs, flops);
  EXPECT_NEAR(r.power.avg_chip_w, r.energy.ChipJ() / (r.step_ns * 1e-9), 1e-9);
  EXPECT_GE(r.power.peak_chip_w, r.power.avg_chip_w);
  EXPECT_FALSE(r.power.throttled);
  EXPECT_EQ(r.power.clock_scale, 1.0);
  const nlohmann::json j = nlohmann::json::parse(StepReportJson(arch, step, r));
  EXPECT_EQ(j["schema"], "systole.step/4");
  EXPECT_DOUBLE_EQ(j["energy_j"].get<double>(), r.energy.TotalJ());
  EXPECT_DOUBLE_EQ(j["energy_breakdown_j"]["static"].get<double>(), r.energy.static_j);
}

TEST(StepEnergy, AboveTdpTheClocksAreLoweredUntilItFits) {
  const ArchConfig free_arch = LoadArchConfig("");
  const TrainingStep step = Mlp();
  const StepReport full = RunTrainingStep(free_arch, step);
  // A TDP halfway between the static power and the step's average power.
  const double static_w = free_arch.energy.ChipStaticW(1);
  const double tdp = static_w + 0.5 * (full.power.avg_chip_w - static_w);
  const ArchConfig arch = LoadArchConfig("", {"chip.tdp_w=" + std::to_string(tdp)});
  const StepReport r = RunTrainingStep(arch, step);
  EXPECT_TRUE(r.power.throttled);
  EXPECT_LT(r.power.clock_scale, 1.0);
  EXPECT_LE(r.power.avg_chip_w, tdp * (1 + 1e-9));
  EXPECT_FALSE(r.power.over_tdp);
  EXPECT_GT(r.step_ns, full.step_ns);
  EXPECT_DOUBLE_EQ(r.power.unthrottled_step_ns, full.step_ns);
  EXPECT_DOUBLE_EQ(r.power.unthrottled_avg_chip_w, full.power.avg_chip_w);
  // The same MACs at the lower clock (no voltage scaling: the same energy per MAC). Other
  // activity may differ: the tiling search can choose another blocking at other clocks.
  EXPECT_EQ(r.activity.TotalMacs(), full.activity.TotalMacs());
  // Same TDP, policy report: the clocks stay and the excess is reported.
  const ArchConfig report_arch =
      LoadArchConfig("", {"chip.tdp_w=" + std::to_string(tdp), "chip.power_policy=report"});
  const StepReport rep = RunTrainingStep(report_arch, step);
  EXPECT_FALSE(rep.power.throttled);
  EXPECT_TRUE(rep.power.over_tdp);
  EXPECT_DOUBLE_EQ(rep.step_ns, full.step_ns);
  EXPECT_NE(FormatStepSummary(report_arch, step, rep).find("EXCEEDED"), std::string::npos);
}

TEST(StepEnergy, TdpBelowStaticPowerIsAnInputError) {
  const ArchConfig arch = LoadArchConfig("", {"chip.tdp_w=1"});
  EXPECT_THROW(RunTrainingStep(arch, Mlp()), InputError);
}

}  // namespace
}  // namespace systole
