// Parallel training steps: tensor-parallel shards add up to the model, a 1-device layout is
// the single-core step, the symmetry shortcut equals simulating every rank, collectives
// land where Megatron-LM puts them, memory per ZeRO stage, and bad layouts fail cleanly.
#include "sim/parallel_run.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "workloads/zoo/zoo.h"

namespace systole {
namespace {

// Closed-form ring collectives, B = 100 GB/s (bytes/ns), alpha = 1000 ns (an independent
// oracle for the driver; the link model's own tests check these forms).
double Ring(const CommCall& c) {
  const double p = static_cast<double>(c.ranks), s = static_cast<double>(c.bytes);
  const double b = 100.0, a = 1000.0;
  if (c.ranks <= 1) return 0;
  switch (c.kind) {
    case CommKind::kAllReduce:
      return 2 * (p - 1) / p * s / b + 2 * (p - 1) * a;
    case CommKind::kReduceScatter:
    case CommKind::kAllGather:
      return (p - 1) / p * s / b + (p - 1) * a;
    case CommKind::kSendRecv:
      return a + s / b;
  }
  return 0;
}

// GPT-2 small cut down: 4 layers, 128 tokens.
WorkloadConfig Tiny(std::vector<std::string> extra = {}) {
  std::vector<std::string> o = {"model.layers=4", "training.sequence=128", "training.micro_batch=2",
                                "training.recompute='none'"};
  o.insert(o.end(), extra.begin(), extra.end());
  return LoadWorkloadConfig(WorkloadPresetPath("gpt2-small"), o);
}

ParallelOptions Layout(const std::string& spec, const std::string& zero = "0",
                       const std::string& schedule = "1f1b", bool sp = false) {
  ParallelOptions o;
  o.layout = ParseParallelLayout(spec, zero, schedule, sp);
  return o;
}

TEST(TensorParallelZoo, ShardsAddUpToTheModel) {
  // Vocabulary 50260 (a multiple of 4) so the vocab-parallel head splits evenly.
  WorkloadConfig c = Tiny({"model.vocab=50260"});
  const ForwardGraph full = BuildForwardGraph(c);
  const ForwardGraph shard = BuildForwardGraph(c, 4);
  // Every matmul is split four ways (q/k/v/fc by columns, projections by rows, attention
  // by heads, the LM head by vocabulary): 4 shards do the whole model's MACs.
  EXPECT_EQ(4 * shard.graph.MatmulFlops(), full.graph.MatmulFlops());
  // Parameters: the split matrices and column biases divide by 4; norms, position
  // embeddings and row-parallel biases (attn_proj, mlp_proj) stay whole on every rank.
  const std::uint64_t h = 768, layers = 4;
  const std::uint64_t replicated = 1024 * h + layers * (4 * h + 2 * h) + 2 * h;
  EXPECT_EQ(4 * (shard.graph.ParameterCount() - replicated) + replicated,
            full.graph.ParameterCount());
}

TEST(ParallelRun, OneDeviceIsTheSingleCoreStep) {
  const ArchConfig arch = LoadArchConfig("");
  WorkloadConfig c = Tiny({"training.grad_accum_steps=3"});
  const ParallelReport p = RunParallelStep(arch, c, Layout("dp=1"), Ring);
  const StepReport s = RunTrainingStep(arch, BuildTrainingStep(c));
  // 3 x (forward + backward) back to back, then the optimizer: the plain step.
  EXPECT_NEAR(p.step_ns, s.step_ns, 1e-9 * s.step_ns);
  EXPECT_DOUBLE_EQ(p.comm_total_ns, 0.0);
  EXPECT_DOUBLE_EQ(p.pipeline.bubble_fraction, 0.0);
  EXPECT_EQ(p.global_batch, 6u);
  EXPECT_NEAR(p.mfu, s.mfu, 1e-9);
}

TEST(ParallelRun, SymmetryShortcutEqualsEveryRankOnEightDevices) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=8"});
  const WorkloadConfig c = Tiny({"training.grad_accum_steps=4"});
  // ZeRO 2: gradients reduce-scattered after every micro-batch.
  for (const char* zero : {"2"}) {
    ParallelOptions o = Layout("dp=2,tp=2,pp=2", zero);
    const ParallelReport fast = RunParallelStep(arch, c, o, Ring);
    o.every_rank = true;
    const ParallelReport slow = RunParallelStep(arch, c, o, Ring);
    EXPECT_EQ(fast.simulated_ranks, 1u);
    EXPECT_EQ(slow.simulated_ranks, 8u);
    EXPECT_DOUBLE_EQ(fast.step_ns, slow.step_ns) << zero;
    EXPECT_DOUBLE_EQ(fast.comm_exposed_ns, slow.comm_exposed_ns);
    EXPECT_EQ(fast.peak_rank_bytes, slow.peak_rank_bytes);
    EXPECT_GT(slow.compute.simulated_instructions, 0u);
  }
}

TEST(ParallelRun, TensorParallelCollectivesSitInEveryTask) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=2"});
  const ParallelReport r = RunParallelStep(arch, Tiny(), Layout("tp=2"), Ring);
  ASSERT_EQ(r.chunks.size(), 1u);
  // b x s x h bf16 = 2 x 128 x 768 x 2 bytes; ring all-reduce over 2: S/B + 2 alpha.
  const double act = 2.0 * 128 * 768 * 2;
  const double ar = act / 100.0 + 2 * 1000.0;
  // Forward: 2 per layer x 4 + the embedding's + 3 cross-entropy all-reduces of b x s fp32.
  const double ce = 2.0 * 128 * 4 / 100.0 + 2 * 1000.0;
  EXPECT_NEAR(r.chunks[0].tp_forward_ns, 9 * ar + 3 * ce, 1e-6);
  // Backward: 2 per layer x 4 + the LM head's input gradient.
  EXPECT_NEAR(r.chunks[0].tp_backward_ns, 9 * ar, 1e-6);
  // In the critical path: the step is compute + those + nothing hidden.
  const ChunkProfile& p = r.chunks[0];
  EXPECT_NEAR(r.step_ns,
              p.forward_ns + p.backward_ns + p.tp_forward_ns + p.tp_backward_ns + p.optimizer_ns,
              1e-6 * r.step_ns);
  EXPECT_NEAR(r.comm_exposed_ns, p.tp_forward_ns + p.tp_backward_ns, 1e-6);
  // Sequence parallel: each all-reduce becomes a reduce-scatter + an all-gather (the same
  // ring time here), and the norms and residual adds run on half the tokens.
  const ParallelReport sp = RunParallelStep(arch, Tiny(), Layout("tp=2", "0", "1f1b", true), Ring);
  EXPECT_LT(sp.chunks[0].forward_ns, r.chunks[0].forward_ns);
  EXPECT_LT(sp.chunks[0].saved_bytes, r.chunks[0].saved_bytes);
}

TEST(ParallelRun, DataParallelGradientsOverlapTheBackward) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=2"});
  const ParallelReport r = RunParallelStep(arch, Tiny(), Layout("dp=2"), Ring);
  const StageReport& s = r.stages[0];
  // All gradients (bf16) all-reduced once, in buckets; only the tail after the backward
  // is exposed, and it is at most the last bucket's all-reduce.
  EXPECT_GT(s.comm_total_ns, 0.0);
  EXPECT_LT(s.dp_tail_ns, s.comm_total_ns);
  EXPECT_DOUBLE_EQ(s.comm_exposed_ns, s.dp_tail_ns);
  EXPECT_NEAR(r.step_ns, r.pipeline.makespan_ns + s.dp_tail_ns + s.optimizer_ns, 1e-6);
}

TEST(ParallelRun, ZeroStagesShardTheStates) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=4"});
  const Footprint u = RunParallelStep(arch, Tiny(), Layout("dp=4", "0"), Ring).chunks[0].states;
  // Mixed-precision AdamW: 2 + 2 + 12 bytes per parameter.
  EXPECT_EQ(u.master_weights_bytes + u.optimizer_state_bytes, 6 * u.weights_bytes);
  EXPECT_EQ(u.gradients_bytes, u.weights_bytes);
  const std::uint64_t psi2 = u.weights_bytes;  // 2 bytes x Psi
  std::uint64_t states[4];
  for (int z = 0; z < 4; ++z) {
    states[z] = RunParallelStep(arch, Tiny(), Layout("dp=4", std::to_string(z)), Ring)
                    .stages[0]
                    .memory.states_bytes();
  }
  EXPECT_EQ(states[0], 8 * psi2);                                           // 16 Psi
  EXPECT_EQ(states[1], 2 * psi2 + (6 * psi2 + 3) / 4);                      // 4 Psi + 12 Psi / 4
  EXPECT_NEAR(static_cast<double>(states[2]), psi2 + 7.0 * psi2 / 4, 2.0);  // 2 Psi + 14 Psi / 4
  EXPECT_NEAR(static_cast<double>(states[3]), 8.0 * psi2 / 4, 4.0);         // 16 Psi / 4
}

TEST(ParallelRun, PipelineStagesSplitTheLayers) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=4"});
  const ParallelReport r =
      RunParallelStep(arch, Tiny({"training.grad_accum_steps=8"}), Layout("pp=4"), Ring);
  ASSERT_EQ(r.chunks.size(), 4u);
  // Middle stages hold one identical layer each; the first adds the embeddings, the last
  // the final norm, LM head and loss.
  EXPECT_DOUBLE_EQ(r.chunks[1].forward_ns, r.chunks[2].forward_ns);
  EXPECT_GT(r.chunks[0].forward_ns, r.chunks[1].forward_ns);
  EXPECT_GT(r.chunks[3].forward_ns, r.chunks[1].forward_ns);
  // 1F1B: stage s keeps pp - s micro-batches in flight.
  for (std::uint64_t s = 0; s < 4; ++s) EXPECT_EQ(r.stages[s].in_flight, 4 - s);
  // The tied token embedding lives on the first and the last stage.
  EXPECT_GT(r.chunks[0].states.weights_bytes, 50257u * 768 * 2);
  EXPECT_GT(r.chunks[3].states.weights_bytes, 50257u * 768 * 2);
  EXPECT_GT(r.pipeline.bubble_fraction, 0.0);
  // Their gradients (50257 x 768 bf16) are all-reduced between the two after the backward:
  // 2 ranks, ring S/B + 2 alpha, exposed; the middle stages only send activations.
  const std::uint64_t tied = 50257u * 768 * 2;
  EXPECT_EQ(r.chunks[0].tied_grad_bytes, tied);
  EXPECT_EQ(r.chunks[3].tied_grad_bytes, tied);
  EXPECT_EQ(r.chunks[1].tied_grad_bytes, 0u);
  const double ar = static_cast<double>(tied) / 100.0 + 2 * 1000.0;
  EXPECT_NEAR(r.stages[0].comm_total_ns, ar, 1e-6);
  EXPECT_NEAR(r.stages[0].dp_tail_ns, ar, 1e-6);
  EXPECT_DOUBLE_EQ(r.stages[1].comm_total_ns, 0.0);
  EXPECT_GT(r.stages[1].p2p_ns, 0.0);
}

TEST(ParallelRun, InterleavingShrinksTheBubble) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=2"});
  const WorkloadConfig c = Tiny({"training.grad_accum_steps=4"});
  const ParallelReport one = RunParallelStep(arch, c, Layout("pp=2"), Ring);
  const ParallelReport two = RunParallelStep(arch, c, Layout("pp=2", "0", "interleaved:2"), Ring);
  ASSERT_EQ(two.chunks.size(), 4u);
  // Same work, smaller bubble (Narayanan et al. 2021: by about the number of chunks), more
  // activations in flight on the first stage.
  EXPECT_LT(two.pipeline.bubble_fraction, one.pipeline.bubble_fraction);
  EXPECT_GT(two.stages[0].in_flight, one.stages[0].in_flight);
  EXPECT_NEAR(two.stages[0].compute_ns + two.stages[1].compute_ns,
              one.stages[0].compute_ns + one.stages[1].compute_ns, 1e-6 * one.stages[0].compute_ns);
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ParallelRun, BadLayoutsFailWithOneLine) {
  const ArchConfig arch = LoadArchConfig("", {"chip.cores=8"});
  EXPECT_NE(ErrorOf([&] {
              RunParallelStep(arch, Tiny(), Layout("dp=3"), Ring);
            }).find("--parallel dp=3,tp=1,pp=1: 3 devices do not divide the system's 8"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              RunParallelStep(arch, Tiny(), Layout("dp=16"), Ring);
            }).find("16 devices do not divide the system's 8"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              RunParallelStep(arch, Tiny({"training.sequence=100"}),
                              Layout("tp=8", "0", "1f1b", true), Ring);
            }).find("tp=8: does not divide model.heads = 12"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              RunParallelStep(arch, Tiny({"training.sequence=126"}),
                              Layout("tp=4", "0", "1f1b", true), Ring);
            }).find("training.sequence = 126 is not a multiple of tp = 4"),
            std::string::npos);
  // A rank's memory: 512 MiB of HBM (1024 rows per bank) over 8 ranks is 64 MiB each, less
  // than the 16 bytes per parameter of the ~45M parameters a rank holds at dp=8, ZeRO 0.
  const ArchConfig small = LoadArchConfig("", {"chip.cores=8", "hbm.rows_per_bank=1024"});
  const std::string e = ErrorOf([&] { RunParallelStep(small, Tiny(), Layout("dp=8"), Ring); });
  EXPECT_EQ(e.rfind("--parallel dp=8,tp=1,pp=1: pipeline stage 0 needs ", 0), 0u) << e;
  EXPECT_NE(e.find("but a rank has 64.0 MiB of HBM"), std::string::npos) << e;
}

}  // namespace
}  // namespace systole
