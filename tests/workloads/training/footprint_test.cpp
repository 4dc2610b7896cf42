// Memory footprint: parameter states and saved activations against their closed forms,
// and the error when a step does not fit.
#include "workloads/training/footprint.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "base/error.h"
#include "workloads/training/training_step.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

WorkloadConfig Preset(const std::string& name) {
  WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath(name));
  return c;
}

TEST(Footprint, ParameterStatesPerParameter) {
  struct Case {
    Precision precision;
    OptimizerKind optimizer;
    std::uint64_t bytes_per_param;
  };
  for (const Case k : {
           // ZeRO's 16 B: bf16 weight 2 + bf16 gradient 2 + fp32 master 4 + m 4 + v 4.
           Case{Precision::kBf16Mixed, OptimizerKind::kAdamW, 16},
           // LAMB keeps the same two moments.
           Case{Precision::kBf16Mixed, OptimizerKind::kLamb, 16},
           // SGD: one fp32 momentum: 2 + 2 + 4 + 4.
           Case{Precision::kBf16Mixed, OptimizerKind::kSgdMomentum, 12},
           // fp32: weight 4 + gradient 4 + m 4 + v 4, no master copy.
           Case{Precision::kFp32, OptimizerKind::kAdamW, 16},
           Case{Precision::kFp32, OptimizerKind::kSgdMomentum, 12},
       }) {
    WorkloadConfig c = Preset("gpt2-small");
    c.training.micro_batch = 1;
    c.training.precision = k.precision;
    c.training.optimizer = k.optimizer;
    const TrainingStep step = BuildTrainingStep(c);
    const Footprint& f = step.footprint;
    const std::uint64_t p = step.parameters;
    EXPECT_EQ(f.states_bytes(), k.bytes_per_param * p)
        << PrecisionName(k.precision) << " " << OptimizerName(k.optimizer);
    const std::uint64_t w = k.precision == Precision::kFp32 ? 4 : 2;
    EXPECT_EQ(f.weights_bytes, w * p);
    EXPECT_EQ(f.gradients_bytes, w * p);
    EXPECT_EQ(f.master_weights_bytes, k.precision == Precision::kFp32 ? 0 : 4 * p);
    EXPECT_EQ(f.total_bytes, f.states_bytes() + f.activation_peak_bytes);
    EXPECT_EQ(f.activation_peak_bytes, f.saved_activation_bytes + f.workspace_bytes);
  }
  // Llama-3-8B in mixed-precision AdamW: 16 B x 8,030,261,248 = 128.5 GB of states.
  const TrainingStep llama = BuildTrainingStep(Preset("llama3-8b"));
  EXPECT_EQ(llama.footprint.states_bytes(), 16ull * 8030261248ull);
}

// Bytes kept for backward that the ops of transformer layer 0 produced.
std::uint64_t SavedByLayer0(const TrainingStep& step) {
  std::map<TensorId, int> producer_layer;
  for (OpId id : step.phase(Phase::kForward).ops) {
    for (TensorId t : step.graph.op(id).outputs) producer_layer[t] = step.graph.op(id).layer;
  }
  std::vector<OpId> order = step.phase(Phase::kForward).ops;
  const std::size_t forward = order.size();
  for (OpId id : step.phase(Phase::kBackward).ops) order.push_back(id);
  std::uint64_t bytes = 0;
  for (TensorId t : SavedForBackward(step.graph, order, forward)) {
    auto it = producer_layer.find(t);
    if (it != producer_layer.end() && it->second == 0) bytes += step.graph.tensor(t).bytes();
  }
  return bytes;
}

TEST(Footprint, SavedActivationsPerLayerMatchKorthikanti) {
  // Korthikanti et al. 2022 give 34sbh + 5as^2b bytes per GPT layer with 16-bit
  // activations and dropout; without dropout (the zoo trains without it) that is 32sbh +
  // 2as^2b: layernorm inputs 4, q k v 6, AV output 2, residual 2, fc input 2, GELU input
  // 8 and output 8 (x sbh), and the softmax output 2as^2b. Our layernorms also keep their
  // fp32 mean and 1/stddev per row: 2 norms x 2 x 4 B x sb = 16sb.
  WorkloadConfig c = Preset("gpt2-small");
  c.training.micro_batch = 2;
  const std::uint64_t s = 1024, b = 2, h = 768, a = 12;
  c.training.recompute = Recompute::kNone;
  EXPECT_EQ(SavedByLayer0(BuildTrainingStep(c)), 32 * s * b * h + 2 * a * s * s * b + 16 * s * b);
  // Selective recomputation drops the s x s softmax output.
  c.training.recompute = Recompute::kSelective;
  EXPECT_EQ(SavedByLayer0(BuildTrainingStep(c)), 32 * s * b * h + 16 * s * b);
  // Full recomputation keeps only each layer's output (the next layer's input): 2sbh.
  c.training.recompute = Recompute::kFull;
  EXPECT_EQ(SavedByLayer0(BuildTrainingStep(c)), 2 * s * b * h);
}

TEST(Footprint, SavedActivationsPerLlamaLayer) {
  // Per Llama layer, bf16 (2 B) activations, b = 1, s = 2048, h = 4096, a = 32 heads,
  // kv = 8 x 128 = 1024, f = 14336: norm outputs 2 x 2sbh (+ fp32 1/rms per row 2 x 4sb),
  // q after RoPE 2sbh, k after RoPE and v 2 x 2sb*kv, softmax output 2as^2b, AV output
  // 2sbh, residual (input of the MLP norm) 2sbh, gate, up and SwiGLU output 3 x 2sbf, and
  // the layer output (input of the next layer) 2sbh. Projections before RoPE and before
  // the residual adds need not be kept (their consumers' gradients do not read them).
  WorkloadConfig c = Preset("llama3-8b");
  c.model.layers = 2;
  c.training.micro_batch = 1;
  c.training.sequence = 2048;
  c.training.recompute = Recompute::kNone;
  const std::uint64_t s = 2048, b = 1, h = 4096, a = 32, kv = 1024, f = 14336;
  EXPECT_EQ(SavedByLayer0(BuildTrainingStep(c)),
            12 * s * b * h + 4 * s * b * kv + 2 * a * s * s * b + 6 * s * b * f + 8 * s * b);
}

TEST(Footprint, RecomputationShrinksThePeak) {
  WorkloadConfig c = Preset("gpt2-medium");
  std::uint64_t previous = ~0ull;
  for (Recompute r : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
    c.training.recompute = r;
    const Footprint f = BuildTrainingStep(c).footprint;
    EXPECT_LT(f.activation_peak_bytes, previous) << RecomputeName(r);
    EXPECT_GE(f.activation_peak_bytes, f.saved_activation_bytes);
    previous = f.activation_peak_bytes;
  }
}

TEST(Footprint, FitsOrSaysByHowMuchAndWhatWouldFit) {
  const WorkloadConfig c = Preset("gpt2-medium");  // micro-batch 4, no recomputation
  const TrainingStep step = BuildTrainingStep(c);
  const Footprint& f = step.footprint;
  EXPECT_NO_THROW(CheckFootprintFits(step, f.total_bytes));
  // 8 GiB: the 5.3 GiB of states fit, the activations do not; recomputation would fit.
  try {
    CheckFootprintFits(step, 8ull << 30);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("gpt2-medium.toml: the training step needs "), std::string::npos) << m;
    EXPECT_NE(m.find("but the device memory holds 8.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find(" over)"), std::string::npos) << m;
    EXPECT_NE(m.find("it would fit with training.recompute = "), std::string::npos) << m;
    EXPECT_NE(m.find("training.micro_batch = "), std::string::npos) << m;
  }
  // 4 GiB: not even the 5.3 GiB of states fit: sharding is the way.
  try {
    CheckFootprintFits(step, 4ull << 30);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the parameter states alone"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("shard them over at least"), std::string::npos);
  }
}

}  // namespace
}  // namespace systole
