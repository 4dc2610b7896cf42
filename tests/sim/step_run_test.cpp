// A whole training step on the engine-level core: rooflines, backward/forward ratio,
// replication, determinism.
#include "sim/step_run.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

TrainingStep Step(const std::string& preset, std::vector<std::string> overrides = {}) {
  return BuildTrainingStep(LoadWorkloadConfig(WorkloadPresetPath(preset), overrides));
}

const OpReport& Find(const TrainingStep& step, const StepReport& r, const std::string& name) {
  for (const OpReport& o : r.ops) {
    if (step.graph.op(o.op).name == name) return o;
  }
  throw std::runtime_error("no op " + name);
}

TEST(StepRun, Gpt2SmallRespectsRooflinesAndAddsUp) {
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Step("gpt2-small");
  const StepReport r = RunTrainingStep(arch, step);
  double sum = 0, roofline = 0;
  for (const OpReport& o : r.ops) {
    // No op is faster than its roofline (matmul FLOPs at peak, HBM bytes at peak bandwidth).
    EXPECT_GE(o.time_ns, o.roofline_ns * (1 - 1e-9)) << step.graph.op(o.op).name;
    sum += o.time_ns * static_cast<double>(o.repeats);
    roofline += o.roofline_ns * static_cast<double>(o.repeats);
  }
  EXPECT_NEAR(r.step_ns, sum, 1e-6 * sum);  // ops run back to back
  EXPECT_GE(r.step_ns, roofline);
  EXPECT_NEAR(r.phase_ns[0] + r.phase_ns[1] + r.phase_ns[2], r.step_ns, 1e-6 * r.step_ns);
  EXPECT_GT(r.mfu, 0.0);
  EXPECT_LE(r.mfu, 1.0);
  // 4 x 1024 tokens per step.
  EXPECT_NEAR(r.tokens_per_s, 4096.0 / (r.step_ns * 1e-9), 1e-6 * r.tokens_per_s);
}

TEST(StepRun, Resnet50ElementwiseOpsStayNearTheirRooflines) {
  // ResNet-50's element-wise ops have awkward views: a 1x1 conv weight is [c_out*c_in, 1]
  // for its optimizer update, batch norm reduces per channel, max pooling compares a
  // window per output. Each is lowered to a kernel whose tiles fill the partitions with
  // wide rows, so every such op that moves over 1 MB stays within 16x its roofline (the
  // worst today, about 13.7x, is max pooling: one vector pass per window element; batch
  // norm gradients reach 8.4x, their vector passes over a bandwidth the HBM outruns). A
  // missing rows x cols view once timed max pooling at 380,000x its roofline (30 s of a
  // 31 s step); narrow views cost 100-3,000x.
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Step("resnet50");
  const StepReport r = RunTrainingStep(arch, step);
  for (const OpReport& o : r.ops) {
    const GraphOp& op = step.graph.op(o.op);
    if (op.is_matmul() || op.fused() || op.bytes_read + op.bytes_written < 1000000) continue;
    EXPECT_GE(o.time_ns, o.roofline_ns * (1 - 1e-9)) << op.name;
    EXPECT_LE(o.time_ns, 16 * o.roofline_ns) << op.name;
  }
  const OpReport& pool = Find(step, r, "maxpool");
  EXPECT_LT(pool.time_ns, 0.05 * r.step_ns);

  // Convolutions run in the faster orientation: conv1 is the im2col GEMM [32*112*112 x
  // 3*7*7] x [147 x 64] or its transpose [64 x 147] x [147 x 401408] (channel-major).
  auto time_ns = [&](std::uint64_t m, std::uint64_t n) {
    MatmulKernelOptions o;
    o.m = m;
    o.k = 147;
    o.n = n;
    o.level = "tuned";
    return RunCores(arch, BuildMatmulKernelForChip(arch, o), {}).front().time_ns;
  };
  const double pixel_major = time_ns(401408, 64), channel_major = time_ns(64, 401408);
  // A 64-column output stores 128-byte rows (charged as 2 KiB chunks); transposed, the
  // output rows are 401408 pixels long.
  EXPECT_LT(channel_major, 0.5 * pixel_major);
  // The tiling search (workloads/lowering/tiling_search.h) starts from the faster orientation and
  // keeps a re-blocked kernel only when it is faster in full.
  EXPECT_LE(Find(step, r, "conv1").time_ns, std::min(pixel_major, channel_major));
  EXPECT_GT(r.transposed_kernels, 0u);
}

TEST(StepRun, BackwardMatmulsTakeAboutTwiceTheForward) {
  // A compute-bound forward matmul (the MLP up-projection, 4096 x 768 x 3072) has two
  // backward matmuls of the same FLOPs (input and weight gradient): about 2x its time.
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Step("gpt2-small");
  const StepReport r = RunTrainingStep(arch, step);
  std::string up;
  for (const OpReport& o : r.ops) {
    const GraphOp& op = step.graph.op(o.op);
    if (op.kind == OpKind::kMatmul && op.role == OpRole::kForward && o.compute_bound &&
        op.matmul.n == 3072) {
      up = op.name;
      break;
    }
  }
  ASSERT_FALSE(up.empty());
  const double fwd = Find(step, r, up).time_ns;
  double bwd = 0;
  for (const OpReport& o : r.ops) {
    const GraphOp& op = step.graph.op(o.op);
    if (op.kind == OpKind::kMatmul && op.forward_op != 0xffffffffu &&
        step.graph.op(op.forward_op).name == up && op.role != OpRole::kRecompute) {
      bwd += o.time_ns;
    }
  }
  EXPECT_NEAR(bwd / fwd, 2.0, 0.4) << up;
}

TEST(StepRun, ReplicationEqualsFullSimulationOnASmallModel) {
  // Two layers, short sequence, two micro-batches: every kernel of every op simulated
  // gives exactly the replicated result.
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step =
      Step("gpt2-small", {"model.layers=2", "training.sequence=128", "training.micro_batch=1",
                          "training.grad_accum_steps=2"});
  ASSERT_GT(step.fused_ops, 0u);  // fusion is on by default
  const StepReport fast = RunTrainingStep(arch, step, {}, true);
  const StepReport full = RunTrainingStep(arch, step, {}, false);
  EXPECT_EQ(fast.step_ns, full.step_ns);
  EXPECT_LT(fast.simulated_instructions, full.simulated_instructions);
}

TEST(StepRun, FusionIsFasterNeverBeatsTheRooflineAndKeepsFlops) {
  const ArchConfig arch = LoadArchConfig("");
  const WorkloadConfig c =
      LoadWorkloadConfig(WorkloadPresetPath("gpt2-small"),
                         {"model.layers=2", "training.sequence=256", "training.micro_batch=2"});
  const TrainingStep fused_step = BuildTrainingStep(c, true);
  const TrainingStep plain_step = BuildTrainingStep(c, false);
  const StepReport fused = RunTrainingStep(arch, fused_step);
  const StepReport plain = RunTrainingStep(arch, plain_step);
  EXPECT_LT(fused.step_ns, plain.step_ns);
  double roofline = 0;
  std::uint64_t flops = 0, plain_flops = 0, bytes = 0, plain_bytes = 0;
  for (const OpReport& o : fused.ops) {
    const GraphOp& op = fused_step.graph.op(o.op);
    EXPECT_GE(o.time_ns, o.roofline_ns * (1 - 1e-9)) << op.name;
    if (op.fused()) {
      EXPECT_EQ(o.time_ns, 0.0) << op.name;
      EXPECT_EQ(o.bytes, 0u) << op.name;
    }
    roofline += o.roofline_ns * static_cast<double>(o.repeats);
    flops += o.flops * o.repeats;
    bytes += o.bytes * o.repeats;
  }
  for (const OpReport& o : plain.ops) {
    plain_flops += o.flops * o.repeats;
    plain_bytes += o.bytes * o.repeats;
  }
  EXPECT_GE(fused.step_ns, roofline);
  EXPECT_EQ(flops, plain_flops);
  EXPECT_EQ(flops, fused_step.flops_per_step);
  EXPECT_LT(bytes, plain_bytes);
  // MFU counts the same model FLOPs in less time.
  EXPECT_NEAR(fused.mfu / plain.mfu, plain.step_ns / fused.step_ns, 1e-9);
  // ops.csv names the producer of every fused op; report.json carries the switch.
  const std::string csv = OpsCsv(fused_step, fused);
  EXPECT_NE(csv.find(",fused,h0.fc,\"\"\n"), std::string::npos);
  // ... and the kernels each op ran, as chosen: the up-projection 512 x 768 x 3072 once,
  // carrying its fused bias and gelu (and the store of the pre-gelu tensor for backward).
  const std::size_t fc = csv.find("\nh0.fc,");
  ASSERT_NE(fc, std::string::npos);
  const std::string fc_row = csv.substr(fc + 1, csv.find('\n', fc + 1) - fc - 1);
  EXPECT_NE(fc_row.find(",\"matmul 1x512x768x3072 bf16"), std::string::npos) << fc_row;
  EXPECT_NE(fc_row.find(" epilogue bias,store,gelu x1\""), std::string::npos) << fc_row;
  const nlohmann::json j = nlohmann::json::parse(StepReportJson(arch, fused_step, fused));
  EXPECT_EQ(j["schema"], "systole.step/4");
  EXPECT_EQ(j["fusion"], true);
  EXPECT_EQ(j["fused_ops"], fused_step.fused_ops);
  EXPECT_EQ(j["hbm_bytes_per_step"].get<std::uint64_t>(), bytes);
  EXPECT_EQ(nlohmann::json::parse(StepReportJson(arch, plain_step, plain))["fusion"], false);
}

TEST(StepRun, ReportsAreByteIdentical) {
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Step("mlp");
  EXPECT_EQ(StepReportJson(arch, step, RunTrainingStep(arch, step)),
            StepReportJson(arch, step, RunTrainingStep(arch, step)));
  EXPECT_EQ(OpsCsv(step, RunTrainingStep(arch, step)), OpsCsv(step, RunTrainingStep(arch, step)));
  const TrainingStep plain = BuildTrainingStep(step.config, false);
  EXPECT_EQ(OpsCsv(plain, RunTrainingStep(arch, plain)),
            OpsCsv(plain, RunTrainingStep(arch, plain)));
}

TEST(StepRun, TraceLaysOpsEndToEnd) {
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep step = Step("mlp", {"training.grad_accum_steps=2"});
  const StepReport r = RunTrainingStep(arch, step);
  const nlohmann::json j = nlohmann::json::parse(StepTraceJson(step, r));
  double end = 0;
  std::size_t op_slices = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    end = std::max(end, e["ts"].get<double>() + e["dur"].get<double>());
    if (e["tid"] != 0) ++op_slices;
  }
  // Two micro-batches of forward and backward ops, then the optimizer ops.
  std::size_t expected = 0;
  for (const PhaseWork& ph : step.phases) expected += ph.ops.size() * ph.repeats;
  EXPECT_EQ(op_slices, expected);
  EXPECT_NEAR(end * 1000.0, r.step_ns, 1e-3 * r.step_ns + 1.0);  // ts in us, rounded to ns
}

}  // namespace
}  // namespace systole
