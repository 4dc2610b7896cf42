// Producer fusion over a training step: what fuses, exact FLOPs, removed HBM traffic.
#include "workloads/training/fusion.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "workloads/training/training_step.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

TrainingStep Step(const std::string& preset, const std::vector<std::string>& overrides,
                  bool fusion) {
  return BuildTrainingStep(LoadWorkloadConfig(WorkloadPresetPath(preset), overrides), fusion);
}

// HBM bytes of a step as executed: every phase's traffic times its repeats.
std::uint64_t StepBytes(const TrainingStep& s) {
  std::uint64_t n = 0;
  for (const PhaseWork& p : s.phases) n += (p.bytes_read + p.bytes_written) * p.repeats;
  return n;
}

const GraphOp& Op(const TrainingStep& s, const std::string& name) {
  for (const GraphOp& op : s.graph.ops()) {
    if (op.name == name) return op;
  }
  throw std::runtime_error("no op " + name);
}

std::string FusedInto(const TrainingStep& s, const std::string& name) {
  const GraphOp& op = Op(s, name);
  return op.fused() ? s.graph.op(op.fused_into).name : "";
}

TEST(Fusion, MlpFusesBiasAndReluForwardAndReluGradBackward) {
  // 64 -> 256 -> 96, batch 32, fp32, micro-batches 2.
  const std::vector<std::string> o = {"model.layer_sizes=[64, 256, 96]", "training.micro_batch=32",
                                      "training.grad_accum_steps=2"};
  const TrainingStep fused = Step("mlp", o, true);
  const TrainingStep plain = Step("mlp", o, false);
  EXPECT_EQ(FusedInto(fused, "fc0.bias_add"), "fc0");
  EXPECT_EQ(FusedInto(fused, "fc0.act"), "fc0");
  EXPECT_EQ(FusedInto(fused, "fc1.bias_add"), "fc1");
  // relu_grad(dy, y): dy is produced by fc1's input-gradient matmul.
  EXPECT_EQ(FusedInto(fused, "fc0.act.grad"), "fc1.grad_a");
  // Reductions never fuse: the loss, the bias gradients.
  EXPECT_EQ(FusedInto(fused, "loss"), "");
  EXPECT_EQ(FusedInto(fused, "fc0.bias_add.grad"), "");
  EXPECT_EQ(FusedInto(fused, "fc1.bias_add.grad"), "");
  EXPECT_EQ(fused.fused_ops, 4u);
  EXPECT_EQ(plain.fused_ops, 0u);
  for (const GraphOp& op : plain.graph.ops()) EXPECT_FALSE(op.fused()) << op.name;
  // FLOPs are exact with and without fusion.
  EXPECT_EQ(fused.flops_per_step, plain.flops_per_step);
  EXPECT_EQ(fused.matmul_flops_per_step, plain.matmul_flops_per_step);
  // Removed traffic, fp32 (4 B), B = 32 rows, d1 = 256, d2 = 96, per micro-batch:
  //   fc0 matmul output (read only by its bias add): written + read, 2 x 4 x B x d1
  //   fc0 bias-add output (read only by the relu):   2 x 4 x B x d1
  //   fc1 matmul output (read only by its bias add): 2 x 4 x B x d2
  //   gradient of the relu output (read only by relu_grad): 2 x 4 x B x d1
  // = 8 x 32 x (3 x 256 + 96) = 221184 bytes, x 2 micro-batches.
  EXPECT_EQ(StepBytes(plain) - StepBytes(fused), 2u * 221184u);
}

TEST(Fusion, GptLayerClosedForm) {
  // Two GPT-2-small layers, 128 tokens: T = 128, h = 768, f = 3072, bf16 (2 B).
  const std::vector<std::string> o = {"model.layers=2", "training.sequence=128",
                                      "training.micro_batch=1"};
  const TrainingStep fused = Step("gpt2-small", o, true);
  const TrainingStep plain = Step("gpt2-small", o, false);
  EXPECT_EQ(FusedInto(fused, "h0.q.bias_add"), "h0.q");
  EXPECT_EQ(FusedInto(fused, "h0.attn_proj.bias_add"), "h0.attn_proj");
  EXPECT_EQ(FusedInto(fused, "h0.residual1"), "h0.attn_proj");
  EXPECT_EQ(FusedInto(fused, "h0.fc.bias_add"), "h0.fc");
  EXPECT_EQ(FusedInto(fused, "h0.gelu"), "h0.fc");
  EXPECT_EQ(FusedInto(fused, "h0.residual2"), "h0.mlp_proj");
  EXPECT_EQ(FusedInto(fused, "h0.gelu.grad"), "h0.mlp_proj.grad_a");
  EXPECT_EQ(FusedInto(fused, "h0.softmax"), "");
  EXPECT_EQ(FusedInto(fused, "h1.ln2"), "");
  // The gelu input is saved for gelu_grad: the epilogue stores it before the gelu.
  EXPECT_TRUE(Op(fused, "h0.gelu").fused_input_stored);
  EXPECT_FALSE(Op(fused, "h0.fc.bias_add").fused_input_stored);
  // Per layer: 3 + 2 + 2 + 2 forward, 1 backward.
  EXPECT_EQ(fused.fused_ops, 2u * 10u);
  EXPECT_EQ(fused.flops_per_step, plain.flops_per_step);
  // Removed traffic per layer (x = written + read of an intermediate, 2 x 2 B):
  //   q, k, v matmul outputs [T x h]:                  3 x 4Th
  //   attn_proj output and its bias-add output:        2 x 4Th
  //   mlp_proj output and its bias-add output:         2 x 4Th
  //   fc output [T x f] (read only by its bias add):   4Tf
  //   fc bias-add output (saved for gelu_grad: still written, no longer read): 2Tf
  //   gradient of the gelu output [T x f] (read only by gelu_grad): 4Tf
  // = 28Th + 10Tf = 28 x 128 x 768 + 10 x 128 x 3072 = 2752512 + 3932160 = 6684672.
  EXPECT_EQ(StepBytes(plain) - StepBytes(fused), 2u * 6684672u);
}

TEST(Fusion, RecomputedOpsFuseLikeTheForwardAndFlopsStayExact) {
  for (const char* r : {"selective", "full"}) {
    const std::vector<std::string> o = {"model.layers=2", "training.sequence=128",
                                        "training.micro_batch=1",
                                        std::string("training.recompute=") + r};
    const TrainingStep fused = Step("gpt2-small", o, true);
    const TrainingStep plain = Step("gpt2-small", o, false);
    EXPECT_EQ(fused.flops_per_step, plain.flops_per_step) << r;
    EXPECT_LT(StepBytes(fused), StepBytes(plain)) << r;
    if (std::string(r) == "full") {
      EXPECT_EQ(FusedInto(fused, "h0.gelu.recompute"), "h0.fc.recompute");
    }
  }
}

TEST(Fusion, LlamaFusesResidualsAndSwigluIntoUp) {
  // Llama has no biases; rms norms need full rows.
  const TrainingStep s = Step(
      "llama3-8b", {"model.layers=1", "training.sequence=128", "training.micro_batch=1"}, true);
  EXPECT_EQ(FusedInto(s, "layers0.residual1"), "layers0.o");
  EXPECT_EQ(FusedInto(s, "layers0.residual2"), "layers0.down");
  // silu(gate) x up in the epilogue of up (gate is computed first and loaded); up is
  // saved for swiglu_grad, so it is stored too. swiglu_grad has two outputs: not fused.
  EXPECT_EQ(FusedInto(s, "layers0.swiglu"), "layers0.up");
  EXPECT_TRUE(Op(s, "layers0.swiglu").fused_input_stored);
  EXPECT_EQ(FusedInto(s, "layers0.swiglu.grad"), "");
  EXPECT_EQ(s.fused_ops, 3u);                     // residual1, swiglu, residual2
  EXPECT_EQ(FusedInto(s, "layers0.rope_q"), "");  // needs its sin/cos tables
}

}  // namespace
TEST(Fusion, ChainIntermediatesLeaveTheFootprint) {
  // MLP 64 -> 65536 -> 96, batch 32, fp32: a hidden tensor is 32 x 65536 x 4 B = 8 MiB.
  // Unfused, the peak is at fc0.act.grad (relu_grad): the saved y, the incoming dy and
  // the outgoing dz are live, 3 hidden tensors. Fused, dy is produced in fc1.grad_a's
  // epilogue and consumed there (on chip only), so the peak holds one hidden tensor less;
  // the forward's pre-bias and pre-relu tensors never reach HBM either.
  const std::vector<std::string> o = {"model.layer_sizes=[64, 65536, 96]",
                                      "training.micro_batch=32"};
  const TrainingStep fused = Step("mlp", o, true);
  const TrainingStep plain = Step("mlp", o, false);
  const std::uint64_t hidden = 32ull * 65536 * 4;
  EXPECT_EQ(plain.footprint.activation_peak_bytes - fused.footprint.activation_peak_bytes, hidden);
  auto on_chip = [&](const TrainingStep& s, const std::string& op) {
    return s.graph.tensor(Op(s, op).outputs[0]).on_chip_only;
  };
  EXPECT_TRUE(on_chip(fused, "fc0"));            // read only by the fused bias add
  EXPECT_TRUE(on_chip(fused, "fc0.bias_add"));   // read only by the fused relu
  EXPECT_FALSE(on_chip(fused, "fc0.act"));       // y: fc1 and relu_grad read it
  EXPECT_TRUE(on_chip(fused, "fc1.grad_a"));     // dy: only relu_grad, fused
  EXPECT_FALSE(on_chip(fused, "fc0.act.grad"));  // dz: the bias and weight gradients
  for (const GraphTensor& t : plain.graph.tensors()) EXPECT_FALSE(t.on_chip_only) << t.name;
}

}  // namespace systole
