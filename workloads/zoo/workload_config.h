// Workload configuration: a model from the zoo and its training settings, from TOML.
//
// A workload file (configs/workloads/*.toml) has two tables:
//   [model]     family = "gpt" | "llama" | "bert" | "resnet" | "mlp" and its shape keys
//   [training]  micro_batch, sequence, grad_accum_steps, global_batch, precision, optimizer,
//               recompute, stochastic_rounding
// Keys per family (all integers >= 1 unless said otherwise):
//   gpt    vocab, hidden, layers, heads, ffn, max_positions, tie_embeddings (bool)
//          (GPT-2: learned positions, LayerNorm, GELU, biases everywhere)
//   llama  vocab, hidden, layers, heads, kv_heads, ffn, tie_embeddings (bool)
//          (Llama-3: RoPE, RMSNorm, SwiGLU, grouped-query attention, no biases)
//   bert   vocab, hidden, layers, heads, ffn, max_positions, type_vocab
//          (BERT: post-LayerNorm encoder, pooler, masked-LM head with tied decoder)
//   resnet depth (18, 34, 50, 101, 152), image_size, channels, classes
//   mlp    layer_sizes (array of >= 2 integers), activation ("relu" | "gelu"), bias (bool)
// Any family: fused_attention (bool, transformers only; default false = QK^T, softmax, AV
// as separate ops).
// training.sequence applies to transformers only (default: max_positions, or 2048 for
// llama); precision "bf16_mixed" (bf16 compute, fp32 master weights and moments) or
// "fp32"; optimizer "adamw" | "lamb" | "sgd_momentum"; recompute "none" | "selective"
// (attention core) | "full" (every transformer layer / ResNet block).
//
// Errors are InputError "file:line: key ... expected ...": unknown keys (tables too),
// wrong types, values out of range, missing required keys, and impossible shapes (heads
// not dividing hidden, kv_heads not dividing heads, sequence longer than max_positions,
// images too small for the network).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace systole {

enum class ModelFamily : std::uint8_t { kGpt, kLlama, kBert, kResnet, kMlp };
enum class Precision : std::uint8_t { kBf16Mixed, kFp32 };
enum class OptimizerKind : std::uint8_t { kAdamW, kLamb, kSgdMomentum };
enum class Recompute : std::uint8_t { kNone, kSelective, kFull };

const char* ModelFamilyName(ModelFamily family);
const char* PrecisionName(Precision precision);
const char* OptimizerName(OptimizerKind optimizer);
const char* RecomputeName(Recompute recompute);

struct ModelConfig {
  std::string name;  // file stem unless [model] name is given
  ModelFamily family = ModelFamily::kGpt;
  // Transformers.
  std::uint64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0;
  std::uint64_t max_positions = 0, type_vocab = 0;
  bool tie_embeddings = false;
  bool fused_attention = false;
  // ResNet.
  std::uint64_t depth = 0, image_size = 0, channels = 3, classes = 0;
  // MLP.
  std::vector<std::uint64_t> layer_sizes;
  std::string activation = "relu";
  bool bias = true;

  bool is_transformer() const {
    return family == ModelFamily::kGpt || family == ModelFamily::kLlama ||
           family == ModelFamily::kBert;
  }
  std::uint64_t head_dim() const { return heads == 0 ? 0 : hidden / heads; }
};

struct TrainingConfig {
  std::uint64_t micro_batch = 1;       // samples per micro-batch
  std::uint64_t sequence = 1;          // tokens per sample (1 for ResNet and MLP)
  std::uint64_t grad_accum_steps = 1;  // micro-batches per optimizer step
  Precision precision = Precision::kBf16Mixed;
  OptimizerKind optimizer = OptimizerKind::kAdamW;
  Recompute recompute = Recompute::kNone;
  bool stochastic_rounding = false;  // bf16 weight update rounding cost in the optimizer
  // Samples per optimizer step over all data-parallel replicas (= micro_batch x
  // grad_accum_steps x dp); 0 = not given (derived from the other two).
  std::uint64_t global_batch = 0;
  // Where grad_accum_steps and global_batch were given: 0 nowhere, 1 the file, 2 an
  // override (--set); workloads/parallel/parallel_layout.h resolves them against dp.
  int grad_accum_source = 0, global_batch_source = 0;
};

struct WorkloadConfig {
  std::string source;  // file path (or label) for error messages
  ModelConfig model;
  TrainingConfig training;
};

// `overrides` are "model.KEY=value" / "training.KEY=value" strings applied over the file
// (value as in TOML; a bare word is a string: training.recompute=full), validated like
// the file; errors name them as "override 'training.micro_batch=0'".
WorkloadConfig LoadWorkloadConfig(const std::string& toml_path,
                                  const std::vector<std::string>& overrides = {});
// Same, from text; `source` names it in errors (and gives the default model name).
WorkloadConfig ParseWorkloadConfig(const std::string& toml_text, const std::string& source,
                                   const std::vector<std::string>& overrides = {});
// configs/workloads/<name>.toml of this source tree.
std::string WorkloadPresetPath(const std::string& name);
// The preset names in configs/workloads/, sorted.
std::vector<std::string> WorkloadPresetNames();

}  // namespace systole
