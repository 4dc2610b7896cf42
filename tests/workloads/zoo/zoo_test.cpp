// Model zoo: the presets load, their parameter counts equal the published ones, and bad
// workload files give one-line errors naming file, line, key and what is expected.
#include "workloads/zoo/zoo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/error.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

std::uint64_t Params(const std::string& preset) {
  return BuildForwardGraph(LoadWorkloadConfig(WorkloadPresetPath(preset))).graph.ParameterCount();
}

// Relative difference |a - b| / b.
double RelDiff(double a, double b) { return std::abs(a - b) / b; }

TEST(ZooPresets, AllLoadAndBuild) {
  const std::vector<std::string> names = WorkloadPresetNames();
  for (const char* required :
       {"bert-large", "gpt2-medium", "gpt2-small",   "gpt2-xl",      "llama3-70b", "llama3-8b",
        "mlp",        "resnet50",    "gpt3-125m",    "gpt3-350m",    "gpt3-760m",  "gpt3-1.3b",
        "gpt3-2.7b",  "gpt3-6.7b",   "gpt3-13b",     "gpt3-175b",    "llama2-7b",  "llama2-13b",
        "llama2-70b", "llama3.1-8b", "llama3.1-70b", "llama3.1-405b"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }
  for (const std::string& n : names) {
    const WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath(n));
    EXPECT_EQ(c.model.name, n);
    EXPECT_FALSE(BuildForwardGraph(c).losses.empty()) << n;
  }
}

// What is counted: every trainable tensor once. GPT-2's LM head is the token embedding
// (tied), so it is counted once; Llama-3's LM head is separate; BatchNorm running
// statistics are buffers, not parameters. Exact figures are those of the Hugging Face /
// torchvision checkpoints; the published rounded figures are within 1%.
TEST(ZooParameterCounts, Gpt2) {
  // wte 50257x768 + wpe 1024x768 + 12 x (12 x 768^2 + 13 x 768) + final LN 2 x 768.
  EXPECT_EQ(Params("gpt2-small"), 124439808u);
  EXPECT_LT(RelDiff(Params("gpt2-small"), 124e6), 0.01);
  // 50257x1024 + 1024x1024 + 24 x (12 x 1024^2 + 13 x 1024) + 2 x 1024.
  EXPECT_EQ(Params("gpt2-medium"), 354823168u);
  EXPECT_LT(RelDiff(Params("gpt2-medium"), 355e6), 0.01);
  // 50257x1600 + 1024x1600 + 48 x (12 x 1600^2 + 13 x 1600) + 2 x 1600.
  EXPECT_EQ(Params("gpt2-xl"), 1557611200u);
  EXPECT_LT(RelDiff(Params("gpt2-xl"), 1.56e9), 0.01);
}

TEST(ZooParameterCounts, UntiedGpt2HeadAddsItsOwnMatrix) {
  WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath("gpt2-small"));
  c.model.tie_embeddings = false;
  // A separate 768 x 50257 LM head.
  EXPECT_EQ(BuildForwardGraph(c).graph.ParameterCount(), 124439808u + 768u * 50257);
}

TEST(ZooParameterCounts, Llama3) {
  // embed 128256x4096 + lm_head 4096x128256 + norm 4096 + 32 x (q 4096^2 + k, v 2 x
  // 4096x1024 + o 4096^2 + gate, up, down 3 x 4096x14336 + 2 norms x 4096).
  EXPECT_EQ(Params("llama3-8b"), 8030261248u);
  EXPECT_LT(RelDiff(Params("llama3-8b"), 8.03e9), 0.01);
  // 2 x 128256x8192 + 8192 + 80 x (2 x 8192^2 + 2 x 8192x1024 + 3 x 8192x28672 + 2 x 8192).
  EXPECT_EQ(Params("llama3-70b"), 70553706496u);
  EXPECT_LT(RelDiff(Params("llama3-70b"), 70.6e9), 0.01);
}

TEST(ZooParameterCounts, Gpt3Llama2AndLlama31) {
  // GPT-3 175B (Brown et al. 2020, Table 2.1): wte 50257 x 12288 + wpe 2048 x 12288 + 96 x
  // (12 x 12288^2 + 13 x 12288) + final LN 2 x 12288; the paper's "175.0B" rounds it.
  EXPECT_EQ(Params("gpt3-175b"), 174604259328u);
  EXPECT_LT(RelDiff(Params("gpt3-175b"), 175.0e9), 0.003);
  // GPT-3 13B with d_model 5120 (see the preset): 12.85B, the paper's "13.0B" within 1.2%.
  EXPECT_EQ(Params("gpt3-13b"), 12853386240u);
  // Llama-2 7B: 2 x 32000 x 4096 + 4096 + 32 x (4 x 4096^2 + 3 x 4096 x 11008 + 2 x 4096),
  // Hugging Face's 6,738,415,616.
  EXPECT_EQ(Params("llama2-7b"), 6738415616u);
  // Llama-2 70B (8 key/value heads): 2 x 32000 x 8192 + 8192 + 80 x (2 x 8192^2 +
  // 2 x 8192 x 1024 + 3 x 8192 x 28672 + 2 x 8192) = 68.98B ("70B").
  EXPECT_EQ(Params("llama2-70b"), 68976648192u);
  // Llama-3.1 405B: 2 x 128256 x 16384 + 16384 + 126 x (2 x 16384^2 + 2 x 16384 x 1024 +
  // 3 x 16384 x 53248 + 2 x 16384) = 405.85B.
  EXPECT_EQ(Params("llama3.1-405b"), 405853388800u);
  EXPECT_LT(RelDiff(Params("llama3.1-405b"), 405e9), 0.003);
}

TEST(ZooParameterCounts, BertLarge) {
  // Embeddings (30522 + 512 + 2) x 1024 + LN 2048 = 31,782,912; 24 layers x (12 x 1024^2 +
  // 13 x 1024) = 302,309,376; pooler 1024^2 + 1024 = 1,049,600 (= 335,141,888, Hugging
  // Face's bert-large-uncased BertModel); masked-LM head: transform 1,049,600 + LN 2048 +
  // decoder bias 30522 (decoder weight tied); next-sentence head 1024 x 2 + 2.
  EXPECT_EQ(Params("bert-large"), 336226108u);
  // The paper's "340M" is a rounded figure: the exact model is 1.1% below it.
  EXPECT_LT(RelDiff(Params("bert-large"), 340e6), 0.012);
}

TEST(ZooParameterCounts, Resnet50AndMlp) {
  // torchvision resnet50: convolutions 23,454,912 + BatchNorm gains and biases 53,120 +
  // fc 2048 x 1000 + 1000.
  EXPECT_EQ(Params("resnet50"), 25557032u);
  EXPECT_LT(RelDiff(Params("resnet50"), 25.6e6), 0.01);
  // 1024x4096 + 4096 + 4096x4096 + 4096 + 4096x1024 + 1024.
  EXPECT_EQ(Params("mlp"), 25175040u);
}

TEST(ZooGraphs, ResnetForwardIsFourGigaMacsPerImage) {
  WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath("resnet50"));
  c.training.micro_batch = 1;
  // torchvision lists ResNet-50 at 4.09 GMACs per 224x224 image; 2 FLOPs per MAC.
  const double flops = static_cast<double>(BuildForwardGraph(c).graph.MatmulFlops());
  EXPECT_LT(RelDiff(flops, 2 * 4.09e9), 0.005);
}

TEST(ZooGraphs, LlamaUsesGqaRopeRmsNormAndSwiglu) {
  const ForwardGraph fg = BuildForwardGraph(LoadWorkloadConfig(WorkloadPresetPath("llama3-8b")));
  int rotary = 0, rms = 0, swiglu = 0, layernorm = 0;
  for (const GraphOp& op : fg.graph.ops()) {
    rotary += op.kind == OpKind::kRotary;
    rms += op.kind == OpKind::kRmsNorm;
    swiglu += op.kind == OpKind::kSwiglu;
    layernorm += op.kind == OpKind::kLayerNorm;
    if (op.name == "layers0.k") {
      EXPECT_EQ(op.matmul.n, 1024u);  // 8 kv heads x 128
    }
  }
  EXPECT_EQ(rotary, 64);  // q and k in 32 layers
  EXPECT_EQ(rms, 65);     // 2 per layer + final
  EXPECT_EQ(swiglu, 32);
  EXPECT_EQ(layernorm, 0);
}

// --- bad input ------------------------------------------------------------------------

const char* kGood = R"(
[model]
family = "gpt"
vocab = 1000
hidden = 64
layers = 2
heads = 4
ffn = 256
max_positions = 128

[training]
micro_batch = 2
sequence = 128
)";

std::string ErrorOf(const std::string& text) {
  try {
    ParseWorkloadConfig(text, "bad.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  if (pos == std::string::npos) throw std::logic_error("test: no " + from);
  return text.replace(pos, from.size(), to);
}

TEST(ZooConfigErrors, GoodFileParses) {
  const WorkloadConfig c = ParseWorkloadConfig(kGood, "good.toml");
  EXPECT_EQ(c.model.name, "good");
  EXPECT_EQ(c.model.head_dim(), 16u);
  EXPECT_EQ(c.training.optimizer, OptimizerKind::kAdamW);  // defaults
  EXPECT_EQ(c.training.precision, Precision::kBf16Mixed);
  EXPECT_EQ(c.training.recompute, Recompute::kNone);
  EXPECT_EQ(c.training.grad_accum_steps, 1u);
}

TEST(ZooConfigErrors, UnknownKeysAreRejectedWithTheirLine) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "heads = 4", "heads = 4\nkv_heads = 2"))
                .rfind("bad.toml:8: unknown key 'model.kv_heads' for model.family = 'gpt'", 0),
            0u)
      << ErrorOf(Replace(kGood, "heads = 4", "heads = 4\nkv_heads = 2"));
  EXPECT_NE(ErrorOf(std::string(kGood) + "seq_len = 4\n")
                .find("bad.toml:14: unknown key 'training.seq_len' in [training]: expected one of "
                      "global_batch, grad_accum_steps, micro_batch,"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kGood) + "[optimizer]\nlr = 1\n").find("unknown key 'optimizer'"),
            std::string::npos);
}

TEST(ZooConfigErrors, ImpossibleShapesAreRejected) {
  // 64 / 5 is not an integer head dimension.
  EXPECT_NE(ErrorOf(Replace(kGood, "heads = 4", "heads = 5"))
                .find("bad.toml:7: model.heads = 5 does not divide model.hidden = 64"),
            std::string::npos);
  const std::string llama =
      Replace(Replace(kGood, "\"gpt\"", "\"llama\""), "max_positions = 128", "kv_heads = 3");
  EXPECT_NE(ErrorOf(llama).find("bad.toml:9: model.kv_heads = 3 does not divide model.heads = 4"),
            std::string::npos)
      << ErrorOf(llama);
  EXPECT_NE(ErrorOf(Replace(kGood, "sequence = 128", "sequence = 129"))
                .find("bad.toml:13: training.sequence = 129 is longer than model.max_positions"),
            std::string::npos);
}

TEST(ZooConfigErrors, TypesRangesChoicesAndMissingKeys) {
  EXPECT_NE(ErrorOf(Replace(kGood, "hidden = 64", "hidden = \"64\""))
                .find("bad.toml:5: model.hidden has the wrong type: expected an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "layers = 2", "layers = 0"))
                .find("bad.toml:6: model.layers = 0 is invalid: expected an integer in [1,"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "sequence = 128", "sequence = 128\noptimizer = \"adam\""))
                .find("training.optimizer = 'adam' is invalid: expected one of 'adamw', 'lamb', "
                      "'sgd_momentum'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "ffn = 256\n", ""))
                .find("bad.toml:2: [model] is missing the key 'ffn'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "family = \"gpt\"", "family = \"rnn\""))
                .find("model.family = 'rnn' is invalid"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[model]\nfamily = \"gpt\"\n").find("missing table [training]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[model\n").find("bad.toml:1: TOML syntax error"), std::string::npos);
}

TEST(ZooConfigErrors, SettingsThatDoNotApplyToTheFamily) {
  const std::string resnet =
      "[model]\nfamily = \"resnet\"\ndepth = 50\nimage_size = 224\nclasses = 10\n"
      "[training]\nmicro_batch = 2\n";
  EXPECT_EQ(ErrorOf(resnet), "(no error)");
  EXPECT_NE(ErrorOf(resnet + "sequence = 5\n")
                .find("bad.toml:8: training.sequence does not apply to model.family = 'resnet'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(resnet + "recompute = \"selective\"\n").find("recomputes attention"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(resnet, "depth = 50", "depth = 51")).find("expected 18, 34, 50"),
            std::string::npos);
  EXPECT_NE(ErrorOf(resnet + "precision = \"fp32\"\nstochastic_rounding = true\n")
                .find("needs training.precision = 'bf16_mixed'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[model]\nfamily = \"mlp\"\nlayer_sizes = [4]\n[training]\nmicro_batch = 1\n")
                .find("model.layer_sizes is invalid: expected an array of 2 to 1025 integers"),
            std::string::npos);
}

TEST(ZooConfigErrors, MissingAndEmptyFiles) {
  EXPECT_THROW(LoadWorkloadConfig("/nonexistent/w.toml"), InputError);
  try {
    LoadWorkloadConfig("/dev/null");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("workload file is empty"), std::string::npos);
  }
}

}  // namespace
}  // namespace systole

namespace systole {
namespace {

TEST(ZooConfigOverrides, ReplaceOrAddKeysAndAreValidatedLikeTheFile) {
  const std::string path = WorkloadPresetPath("gpt2-small");
  const WorkloadConfig c = LoadWorkloadConfig(
      path, {"training.micro_batch=16", "training.recompute=full", "model.layers=2"});
  EXPECT_EQ(c.training.micro_batch, 16u);
  EXPECT_EQ(c.training.recompute, Recompute::kFull);  // bare word read as a string
  EXPECT_EQ(c.model.layers, 2u);
  EXPECT_EQ(c.model.hidden, 768u);  // the rest from the file
  auto error = [&](const std::string& o) -> std::string {
    try {
      LoadWorkloadConfig(path, {o});
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error("training.micro_batch=0")
                .rfind("override 'training.micro_batch=0': training.micro_batch = 0 is invalid", 0),
            0u);
  EXPECT_EQ(
      error("model.heads=7")
          .rfind("override 'model.heads=7': model.heads = 7 does not divide model.hidden = 768", 0),
      0u);
  EXPECT_EQ(error("model.kv_heads=2")
                .rfind("override 'model.kv_heads=2': unknown key 'model.kv_heads'", 0),
            0u);
  EXPECT_EQ(error("micro_batch=2").rfind("override 'micro_batch=2': expected model.KEY=value", 0),
            0u);
}

}  // namespace
}  // namespace systole
