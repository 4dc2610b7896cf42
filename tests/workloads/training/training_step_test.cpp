// Training steps: FLOPs against the closed forms of Narayanan et al. 2021
// ("Efficient Large-Scale Language Model Training on GPU Clusters", arXiv 2104.04473),
// backward = 2 x forward for matmuls, recomputation, accumulation and the optimizer.
#include "workloads/training/training_step.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "base/error.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

WorkloadConfig Preset(const std::string& name) {
  return LoadWorkloadConfig(WorkloadPresetPath(name));
}

double RelDiff(double a, double b) { return std::abs(a - b) / b; }

// Weights that take part in matmuls, per transformer layer, from the architecture alone:
//   GPT-2: q, k, v, attention projection (4 x h^2) + MLP fc and proj (2 x h x ffn).
//   Llama: q and o (2 x h^2) + k and v (2 x h x kv_heads x head_dim) + gate, up, down
//   (3 x h x ffn).
double LayerMatmulParams(const ModelConfig& m) {
  const double h = m.hidden, f = m.ffn;
  if (m.family == ModelFamily::kLlama) {
    const double kv = static_cast<double>(m.kv_heads * m.head_dim());
    return 2 * h * h + 2 * h * kv + 3 * h * f;
  }
  return 4 * h * h + 2 * h * f;
}

// FLOPs per step, Narayanan et al. 2021 (matrix multiplications only):
//   6 x P x T + 12 x L x h x s x T (forward 2PT + 4LhsT, backward twice that), where P
//   counts the weights used in matmuls: the layers and the LM head (V x h). The input
//   embedding lookup does no matmul (for GPT-2 the LM head *is* the embedding, tied); for
//   Llama-3-8B the untied input table is 6.5% of the parameters, so 6 x all parameters
//   would overshoot by that much. Recomputation adds one forward of what it re-runs:
//   selective the attention scores and AV (4LhsT), full every layer (2 P_layers T +
//   4LhsT); the LM head is not re-run.
double ClosedFormFlops(const WorkloadConfig& c) {
  const ModelConfig& m = c.model;
  const double t = static_cast<double>(c.training.micro_batch * c.training.sequence *
                                       c.training.grad_accum_steps);
  const double layers = m.layers, h = m.hidden, s = c.training.sequence;
  const double p_layers = layers * LayerMatmulParams(m);
  const double p_head = static_cast<double>(m.vocab) * h;
  double flops = 6 * (p_layers + p_head) * t + 12 * layers * h * s * t;
  if (c.training.recompute == Recompute::kSelective) flops += 4 * layers * h * s * t;
  if (c.training.recompute == Recompute::kFull) flops += 2 * p_layers * t + 4 * layers * h * s * t;
  return flops;
}

class TrainingClosedForm : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainingClosedForm, FlopsPerStepMatchWithEveryRecomputation) {
  for (Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
    WorkloadConfig c = Preset(GetParam());
    c.training.recompute = r;
    c.training.micro_batch = 1;  // smaller graphs; the formula is linear in tokens
    c.training.grad_accum_steps = 2;
    const TrainingStep step = BuildTrainingStep(c);
    const double closed = ClosedFormFlops(c);
    // The matmul part is exactly the closed form (same terms, counted op by op) ...
    EXPECT_LT(RelDiff(static_cast<double>(step.matmul_flops_per_step), closed), 1e-9)
        << RecomputeName(r);
    // ... and all FLOPs, with the element-wise ops (softmax, norms, activations, loss,
    // optimizer), stay within 1% of it.
    EXPECT_LT(RelDiff(static_cast<double>(step.flops_per_step), closed), 0.01)
        << RecomputeName(r) << " " << step.flops_per_step << " vs " << closed;
    EXPECT_GT(step.flops_per_step, step.matmul_flops_per_step);
  }
}

INSTANTIATE_TEST_SUITE_P(TrainingGptAndLlama, TrainingClosedForm,
                         ::testing::Values("gpt2-small", "gpt2-medium", "gpt2-xl", "llama3-8b",
                                           "llama3-70b"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(ch) ? ch : '_';
                           return n;
                         });

TEST(TrainingStep, SixTimesAllParametersIsWithinOnePercentForGpt2) {
  // With tied embeddings only the position table (0.6%) and norms and biases (0.1%) of
  // GPT-2 small do no matmul, so the usual 6 x parameters x tokens form holds to 1%.
  WorkloadConfig c = Preset("gpt2-small");
  const TrainingStep step = BuildTrainingStep(c);
  const double t = static_cast<double>(step.tokens_per_step);
  const double closed =
      6.0 * static_cast<double>(step.parameters) * t + 12.0 * 12 * 768 * 1024 * t;  // 12 L h s T
  EXPECT_LT(RelDiff(static_cast<double>(step.flops_per_step), closed), 0.01);
}

TEST(TrainingStep, BackwardMatmulsAreTwiceTheForward) {
  for (const char* name : {"gpt2-small", "llama3-8b", "bert-large"}) {
    WorkloadConfig c = Preset(name);
    c.training.micro_batch = 1;
    c.training.recompute = Recompute::kNone;
    const TrainingStep step = BuildTrainingStep(c);
    // dA = dC x B^T and dB = A^T x dC each cost a forward's MACs.
    EXPECT_EQ(step.phase(Phase::kBackward).matmul_flops,
              2 * step.phase(Phase::kForward).matmul_flops)
        << name;
    // Op by op: the gradient ops derived from each forward matmul cost twice it.
    std::map<OpId, std::uint64_t> backward_of;
    for (OpId id : step.phase(Phase::kBackward).ops) {
      const GraphOp& op = step.graph.op(id);
      if (op.is_matmul()) backward_of[op.forward_op] += op.matmul_flops;
    }
    for (OpId id : step.phase(Phase::kForward).ops) {
      const GraphOp& op = step.graph.op(id);
      if (op.is_matmul()) {
        EXPECT_EQ(backward_of[id], 2 * op.matmul_flops) << op.name;
      }
    }
  }
}

TEST(TrainingStep, InputsWithoutGradientSkipTheirInputGradient) {
  // ResNet's first convolution reads the images and the MLP's first layer its input:
  // neither needs an input gradient, so backward is 2 x forward minus those ops once.
  for (const char* name : {"resnet50", "mlp"}) {
    WorkloadConfig c = Preset(name);
    c.training.micro_batch = 2;
    const TrainingStep step = BuildTrainingStep(c);
    const GraphOp& first = step.graph.op(0).is_matmul() ? step.graph.op(0) : step.graph.op(1);
    EXPECT_EQ(step.phase(Phase::kBackward).matmul_flops,
              2 * step.phase(Phase::kForward).matmul_flops - first.matmul_flops)
        << name;
  }
}

TEST(TrainingStep, FusedAttentionBackwardRecomputesTheScores) {
  WorkloadConfig c = Preset("gpt2-small");
  c.training.micro_batch = 1;
  const TrainingStep unfused = BuildTrainingStep(c);
  c.model.fused_attention = true;
  const TrainingStep fused = BuildTrainingStep(c);
  EXPECT_EQ(fused.phase(Phase::kForward).matmul_flops, unfused.phase(Phase::kForward).matmul_flops);
  // FlashAttention-2 backward: 5 score-sized matmuls instead of 4, i.e. one more QK^T per
  // layer: 2 x s x s x h = 2 x 1024^2 x 768, 12 layers.
  EXPECT_EQ(fused.phase(Phase::kBackward).matmul_flops,
            unfused.phase(Phase::kBackward).matmul_flops + 12ull * 2 * 1024 * 1024 * 768);
  // It keeps no s x s tensor: saved activations shrink by the probabilities, 12 layers x
  // 12 heads x 1024^2 x 2 B, less the per-row log-sum-exp kept instead (12 x 12 x 1024 x
  // 4 B).
  EXPECT_EQ(unfused.footprint.saved_activation_bytes - fused.footprint.saved_activation_bytes,
            12ull * 12 * 1024 * 1024 * 2 - 12ull * 12 * 1024 * 4);
}

TEST(TrainingStep, GradientAccumulationRepeatsForwardAndBackwardOnly) {
  WorkloadConfig c = Preset("gpt2-small");
  c.training.micro_batch = 1;
  c.training.grad_accum_steps = 1;
  const TrainingStep one = BuildTrainingStep(c);
  c.training.grad_accum_steps = 8;
  const TrainingStep eight = BuildTrainingStep(c);
  EXPECT_EQ(eight.tokens_per_step, 8u * 1024);  // micro-batch 1 x sequence 1024 x 8
  EXPECT_EQ(eight.micro_batches, 8u);
  EXPECT_EQ(eight.phase(Phase::kForward).repeats, 8u);
  EXPECT_EQ(eight.phase(Phase::kOptimizer).repeats, 1u);
  const std::uint64_t fb = one.phase(Phase::kForward).flops + one.phase(Phase::kBackward).flops;
  EXPECT_EQ(eight.flops_per_step, 8 * fb + one.phase(Phase::kOptimizer).flops);
  // Micro-batches run one after another: the activation footprint does not grow.
  EXPECT_EQ(eight.footprint.activation_peak_bytes, one.footprint.activation_peak_bytes);
  // Every weight gradient accumulates into its buffer across micro-batches.
  for (OpId id : eight.phase(Phase::kBackward).ops) {
    const GraphOp& op = eight.graph.op(id);
    for (std::size_t i = 0; i < op.outputs.size(); ++i) {
      if (eight.graph.tensor(op.outputs[i]).kind == TensorKind::kParamGradient) {
        EXPECT_TRUE(op.Accumulates(i)) << op.name;
      }
    }
  }
}

TEST(TrainingStep, TiedEmbeddingGetsBothGradientContributions) {
  WorkloadConfig c = Preset("gpt2-small");
  c.training.micro_batch = 1;
  const TrainingStep step = BuildTrainingStep(c);
  int writes = 0, accumulates = 0;
  for (OpId id : step.phase(Phase::kBackward).ops) {
    const GraphOp& op = step.graph.op(id);
    for (std::size_t i = 0; i < op.outputs.size(); ++i) {
      if (step.graph.tensor(op.outputs[i]).name != "grad:wte") continue;
      ++writes;
      accumulates += op.Accumulates(i);
    }
  }
  // The LM head's dB writes it first (backward runs in reverse), the token embedding's
  // scatter-add accumulates into it.
  EXPECT_EQ(writes, 2);
  EXPECT_EQ(accumulates, 1);
}

TEST(TrainingStep, OptimizerIsOneElementwiseOpPerParameterTensor) {
  struct Case {
    OptimizerKind kind;
    std::uint64_t flops_per_param;
  };
  for (const Case k : {Case{OptimizerKind::kAdamW, 14}, Case{OptimizerKind::kLamb, 18},
                       Case{OptimizerKind::kSgdMomentum, 6}}) {
    WorkloadConfig c = Preset("gpt2-small");
    c.training.micro_batch = 1;
    c.training.optimizer = k.kind;
    const TrainingStep step = BuildTrainingStep(c);
    const PhaseWork& opt = step.phase(Phase::kOptimizer);
    EXPECT_EQ(opt.ops.size(), step.graph.Parameters().size());
    EXPECT_EQ(opt.flops, k.flops_per_param * step.parameters) << OptimizerName(k.kind);
    EXPECT_EQ(opt.matmul_flops, 0u);
  }
  // Mixed-precision AdamW reads bf16 gradient 2 + fp32 master 4 + m 4 + v 4 = 14 B and
  // writes master, m, v and the bf16 weight: 14 B per parameter.
  WorkloadConfig c = Preset("gpt2-small");
  c.training.micro_batch = 1;
  TrainingStep step = BuildTrainingStep(c);
  EXPECT_EQ(step.phase(Phase::kOptimizer).bytes_read, 14 * step.parameters);
  EXPECT_EQ(step.phase(Phase::kOptimizer).bytes_written, 14 * step.parameters);
  // Stochastic rounding adds 3 FLOPs per parameter (random bits, add, truncate).
  c.training.stochastic_rounding = true;
  step = BuildTrainingStep(c);
  EXPECT_EQ(step.phase(Phase::kOptimizer).flops, (14 + 3) * step.parameters);
}

TEST(TrainingStep, PhasesHoldTheirRolesInOrder) {
  WorkloadConfig c = Preset("llama3-8b");
  c.model.layers = 2;  // a small model of the same shape
  c.training.recompute = Recompute::kFull;
  const TrainingStep step = BuildTrainingStep(c);
  ASSERT_EQ(step.phases.size(), 3u);
  for (OpId id : step.phase(Phase::kForward).ops) {
    EXPECT_EQ(step.graph.op(id).role, OpRole::kForward);
  }
  int last_layer = 1000, recomputes = 0;
  for (OpId id : step.phase(Phase::kBackward).ops) {
    const GraphOp& op = step.graph.op(id);
    EXPECT_NE(op.role, OpRole::kForward);
    EXPECT_NE(op.role, OpRole::kOptimizer);
    recomputes += op.role == OpRole::kRecompute;
    // Layers come in reverse order, each re-run just before its gradients.
    if (op.layer >= 0) {
      EXPECT_LE(op.layer, last_layer);
      last_layer = op.layer;
    }
  }
  // Every op of both layers is re-run: 2 x (2 norms, 7 projections, 2 rotary, QK^T,
  // softmax, AV, 2 residual adds, SwiGLU) = 2 x 17.
  EXPECT_EQ(recomputes, 34);
  for (OpId id : step.phase(Phase::kOptimizer).ops) {
    EXPECT_EQ(step.graph.op(id).role, OpRole::kOptimizer);
  }
}

}  // namespace
}  // namespace systole

namespace systole {
namespace {

TEST(TrainingStep, IdenticalLayersShareARepresentative) {
  WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath("gpt2-small"));
  c.training.micro_batch = 1;
  const TrainingStep gpt = BuildTrainingStep(c);
  // All 12 GPT-2 layers have the same ops in forward, backward and optimizer.
  EXPECT_EQ(gpt.representative_layer, std::vector<int>(12, 0));
  c = LoadWorkloadConfig(WorkloadPresetPath("resnet50"));
  c.training.micro_batch = 1;
  // ResNet-50 stages of 3, 4, 6, 3 bottlenecks: each stage's first block (downsample
  // shortcut, stride or width change) is unique, the rest repeat its second block.
  EXPECT_EQ(BuildTrainingStep(c).representative_layer,
            (std::vector<int>{0, 1, 1, 3, 4, 4, 4, 7, 8, 8, 8, 8, 8, 13, 14, 14}));
}

}  // namespace
}  // namespace systole

namespace systole {
namespace {

// The op order is executable: every tensor an op reads was written by an earlier op of
// the step (forward, then backward), or is a step input, parameter or optimizer tensor;
// every parameter receives a gradient before the optimizer reads it.
TEST(TrainingStep, OpOrderIsExecutableAndEveryParameterGetsAGradient) {
  for (const std::string& name : WorkloadPresetNames()) {
    for (Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
      WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath(name));
      if (r == Recompute::kSelective && !c.model.is_transformer()) continue;
      c.training.recompute = r;
      c.training.micro_batch = 1;
      if (c.model.is_transformer()) c.model.layers = 2;
      const TrainingStep step = BuildTrainingStep(c);
      std::vector<bool> written(step.graph.tensors().size(), false);
      for (TensorId t = 0; t < written.size(); ++t) {
        const TensorKind k = step.graph.tensor(t).kind;
        written[t] = k == TensorKind::kInput || k == TensorKind::kParameter ||
                     k == TensorKind::kMasterWeight || k == TensorKind::kOptimizerState;
      }
      for (const PhaseWork& p : step.phases) {
        for (OpId id : p.ops) {
          const GraphOp& op = step.graph.op(id);
          for (TensorId t : op.inputs) {
            EXPECT_TRUE(written[t]) << name << " " << RecomputeName(r) << ": " << op.name
                                    << " reads " << step.graph.tensor(t).name << " unwritten";
          }
          for (std::size_t i = 0; i < op.outputs.size(); ++i) {
            const TensorId t = op.outputs[i];
            // Only parameter gradients may accumulate at their first write in a
            // micro-batch (they carry the previous micro-batches' sum).
            if (op.Accumulates(i) && step.graph.tensor(t).kind != TensorKind::kParamGradient) {
              EXPECT_TRUE(written[t])
                  << name << ": " << op.name << " accumulates into an unwritten tensor";
            }
          }
          for (TensorId t : op.outputs) written[t] = true;
        }
      }
      for (TensorId t = 0; t < written.size(); ++t) {
        if (step.graph.tensor(t).kind == TensorKind::kParamGradient) {
          EXPECT_TRUE(written[t]) << name << ": no gradient for " << step.graph.tensor(t).name;
        }
      }
    }
  }
}

}  // namespace
}  // namespace systole

namespace systole {
namespace {

// A hand-built forward graph (as an importer would make one) trains through the same
// path: y = silu(x W1) * (x W2), logits = y W3, cross-entropy; block 0 around the MLP.
ForwardGraph HandBuilt(std::uint64_t rows) {
  ForwardGraph fg;
  GraphBuilder gb(fg.graph, Dtype::kBf16);
  const TensorId x = gb.Input("x", {rows, 256}, Dtype::kBf16);
  const TensorId labels = gb.Input("labels", {rows}, Dtype::kFp32);
  gb.set_layer(0);
  const TensorId a =
      gb.Unary("silu", OpKind::kSilu, gb.Linear("w1", x, gb.Parameter("w1", {256, 512})));
  const TensorId b = gb.Linear("w2", x, gb.Parameter("w2", {256, 512}));
  const TensorId y = gb.Mul("gate", a, b);
  gb.set_layer(-1);
  const TensorId logits = gb.Linear("w3", y, gb.Parameter("w3", {512, 1000}));
  fg.losses.push_back(gb.CrossEntropy("loss", logits, labels));
  fg.samples = fg.tokens = rows;
  return fg;
}

TEST(TrainingStep, AnyForwardGraphTrains) {
  WorkloadConfig settings;
  settings.source = "hand-built";
  settings.model.name = "hand-built";
  settings.training.grad_accum_steps = 2;
  const TrainingStep step = BuildTrainingStep(HandBuilt(64), settings);
  EXPECT_FALSE(step.from_zoo);
  EXPECT_EQ(step.parameters, 256u * 512 * 2 + 512 * 1000);
  EXPECT_EQ(step.tokens_per_step, 128u);  // 64 rows x 2 micro-batches
  // x needs no gradient: backward = 2 x forward minus dX of w1 and w2 (2 x 64x256x512 each).
  EXPECT_EQ(step.phase(Phase::kBackward).matmul_flops,
            2 * step.phase(Phase::kForward).matmul_flops - 2 * (2ull * 64 * 256 * 512));
  int mul_grads = 0, silu_grads = 0;
  for (OpId id : step.phase(Phase::kBackward).ops) {
    mul_grads += step.graph.op(id).kind == OpKind::kMulGrad;
    silu_grads += step.graph.op(id).kind == OpKind::kSiluGrad;
  }
  EXPECT_EQ(mul_grads, 1);
  EXPECT_EQ(silu_grads, 1);
  // Too small a memory: recomputation of block 0 is suggested, not a micro-batch (the
  // batch is in the graph's shapes).
  WorkloadConfig tight = settings;
  const TrainingStep full = [&] {
    tight.training.recompute = Recompute::kFull;
    return BuildTrainingStep(HandBuilt(64), tight);
  }();
  EXPECT_LT(full.footprint.total_bytes, step.footprint.total_bytes);
  try {
    CheckFootprintFits(step, full.footprint.total_bytes);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("it would fit with training.recompute = 'full'"), std::string::npos) << m;
    EXPECT_EQ(m.find("micro_batch"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace systole
