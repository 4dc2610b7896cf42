#include "workloads/zoo/zoo.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "base/checked_math.h"

namespace systole {

namespace {

constexpr Dtype kIdDtype = Dtype::kFp32;  // 4-byte integer ids and labels

struct Ctx {
  const ModelConfig& m;
  const TrainingConfig& t;
  GraphBuilder& gb;
  std::uint64_t b, s;
  std::uint64_t heads = 0;  // query heads on this tensor-parallel rank
};

TensorId LinearBias(GraphBuilder& gb, const std::string& name, TensorId x, std::uint64_t in,
                    std::uint64_t out, bool bias) {
  const TensorId w = gb.Parameter(name + ".weight", {in, out});
  TensorId y = gb.Linear(name, x, w);
  if (bias) y = gb.BiasAdd(name + ".bias_add", y, gb.Parameter(name + ".bias", {out}));
  return y;
}

// QK^T, softmax, AV (or one fused op) for q [b, s, a*d] and k, v [b, s, kv*d].
TensorId Attention(Ctx& c, const std::string& p, TensorId q, TensorId k, TensorId v) {
  const std::uint64_t a = c.heads, d = c.m.head_dim();
  if (c.m.fused_attention) return c.gb.FusedAttention(p + ".attn", q, k, v, a);
  const TensorId scores = c.gb.BatchedMatmul(p + ".qk", q, k, {c.b * a, c.s, d, c.s, false, true},
                                             {c.b, a, c.s, c.s}, true);
  const TensorId probs = c.gb.Softmax(p + ".softmax", scores, true);
  return c.gb.BatchedMatmul(p + ".av", probs, v, {c.b * a, c.s, c.s, d, false, false},
                            {c.b, c.s, a * d}, true);
}

TensorId LayerNormP(GraphBuilder& gb, const std::string& name, TensorId x, std::uint64_t h) {
  return gb.LayerNorm(name, x, gb.Parameter(name + ".gain", {h}),
                      gb.Parameter(name + ".bias", {h}));
}

ForwardGraph BuildGpt(const WorkloadConfig& cfg, ForwardGraph fg, std::uint64_t tp) {
  const ModelConfig& m = cfg.model;
  GraphBuilder gb(fg.graph, fg.compute_dtype);
  Ctx c{m, cfg.training, gb, cfg.training.micro_batch, cfg.training.sequence, m.heads / tp};
  const std::uint64_t h = m.hidden, hl = h / tp, ffn = m.ffn / tp, vocab = ShardVocab(m.vocab, tp);
  const TensorId ids = gb.Input("tokens", {c.b, c.s}, kIdDtype);
  const TensorId pos_ids = gb.Input("positions", {c.b, c.s}, kIdDtype);
  const TensorId labels = gb.Input("labels", {c.b, c.s}, kIdDtype);
  const TensorId wte = gb.Parameter("wte", {vocab, h});
  const TensorId wpe = gb.Parameter("wpe", {m.max_positions, h});
  // One statement each: the order of a call's arguments is unspecified in C++.
  const TensorId tokens = gb.Embedding("embed.tokens", ids, wte);
  const TensorId positions = gb.Embedding("embed.positions", pos_ids, wpe);
  TensorId x = gb.Add("embed.add", tokens, positions);
  for (std::uint64_t l = 0; l < m.layers; ++l) {
    gb.set_layer(static_cast<int>(l));
    const std::string p = fmt::format("h{}", l);
    const TensorId ln1 = LayerNormP(gb, p + ".ln1", x, h);
    const TensorId q = LinearBias(gb, p + ".q", ln1, h, hl, true);
    const TensorId k = LinearBias(gb, p + ".k", ln1, h, hl, true);
    const TensorId v = LinearBias(gb, p + ".v", ln1, h, hl, true);
    const TensorId ctx = Attention(c, p, q, k, v);
    x = gb.Add(p + ".residual1", x, LinearBias(gb, p + ".attn_proj", ctx, hl, h, true));
    const TensorId ln2 = LayerNormP(gb, p + ".ln2", x, h);
    const TensorId f = LinearBias(gb, p + ".fc", ln2, h, ffn, true);
    const TensorId a = gb.Unary(p + ".gelu", OpKind::kGelu, f);
    x = gb.Add(p + ".residual2", x, LinearBias(gb, p + ".mlp_proj", a, ffn, h, true));
  }
  gb.set_layer(-1);
  const TensorId lnf = LayerNormP(gb, "ln_f", x, h);
  const TensorId logits =
      m.tie_embeddings ? gb.LinearTransposedWeight("lm_head", lnf, wte)
                       : gb.Linear("lm_head", lnf, gb.Parameter("lm_head.weight", {h, vocab}));
  fg.losses.push_back(gb.CrossEntropy("loss", logits, labels));
  return fg;
}

ForwardGraph BuildLlama(const WorkloadConfig& cfg, ForwardGraph fg, std::uint64_t tp) {
  const ModelConfig& m = cfg.model;
  GraphBuilder gb(fg.graph, fg.compute_dtype);
  Ctx c{m, cfg.training, gb, cfg.training.micro_batch, cfg.training.sequence, m.heads / tp};
  // Key/value heads: split over the ranks, or replicated when there are fewer than ranks
  // (Megatron-LM's grouped-query attention: each rank keeps the one its query heads use).
  const std::uint64_t kv_local = m.kv_heads >= tp ? m.kv_heads / tp : 1;
  const std::uint64_t h = m.hidden, hl = h / tp, kv = kv_local * m.head_dim(), ffn = m.ffn / tp,
                      vocab = ShardVocab(m.vocab, tp);
  const TensorId ids = gb.Input("tokens", {c.b, c.s}, kIdDtype);
  const TensorId labels = gb.Input("labels", {c.b, c.s}, kIdDtype);
  const TensorId embed = gb.Parameter("embed_tokens", {vocab, h});
  TensorId x = gb.Embedding("embed", ids, embed);
  for (std::uint64_t l = 0; l < m.layers; ++l) {
    gb.set_layer(static_cast<int>(l));
    const std::string p = fmt::format("layers{}", l);
    const TensorId n1 = gb.RmsNorm(p + ".attn_norm", x, gb.Parameter(p + ".attn_norm.gain", {h}));
    TensorId q = LinearBias(gb, p + ".q", n1, h, hl, false);
    TensorId k = LinearBias(gb, p + ".k", n1, h, kv, false);
    const TensorId v = LinearBias(gb, p + ".v", n1, h, kv, false);
    q = gb.Unary(p + ".rope_q", OpKind::kRotary, q);
    k = gb.Unary(p + ".rope_k", OpKind::kRotary, k);
    const TensorId ctx = Attention(c, p, q, k, v);
    x = gb.Add(p + ".residual1", x, LinearBias(gb, p + ".o", ctx, hl, h, false));
    const TensorId n2 = gb.RmsNorm(p + ".mlp_norm", x, gb.Parameter(p + ".mlp_norm.gain", {h}));
    const TensorId gate = LinearBias(gb, p + ".gate", n2, h, ffn, false);
    const TensorId up = LinearBias(gb, p + ".up", n2, h, ffn, false);
    const TensorId act = gb.Swiglu(p + ".swiglu", gate, up);
    x = gb.Add(p + ".residual2", x, LinearBias(gb, p + ".down", act, ffn, h, false));
  }
  gb.set_layer(-1);
  const TensorId nf = gb.RmsNorm("norm", x, gb.Parameter("norm.gain", {h}));
  const TensorId logits =
      m.tie_embeddings ? gb.LinearTransposedWeight("lm_head", nf, embed)
                       : gb.Linear("lm_head", nf, gb.Parameter("lm_head.weight", {h, vocab}));
  fg.losses.push_back(gb.CrossEntropy("loss", logits, labels));
  return fg;
}

ForwardGraph BuildBert(const WorkloadConfig& cfg, ForwardGraph fg) {
  const ModelConfig& m = cfg.model;
  GraphBuilder gb(fg.graph, fg.compute_dtype);
  Ctx c{m, cfg.training, gb, cfg.training.micro_batch, cfg.training.sequence, m.heads};
  const std::uint64_t h = m.hidden;
  const TensorId ids = gb.Input("tokens", {c.b, c.s}, kIdDtype);
  const TensorId pos_ids = gb.Input("positions", {c.b, c.s}, kIdDtype);
  const TensorId type_ids = gb.Input("token_types", {c.b, c.s}, kIdDtype);
  const TensorId mlm_labels = gb.Input("mlm_labels", {c.b, c.s}, kIdDtype);
  const TensorId nsp_labels = gb.Input("nsp_labels", {c.b}, kIdDtype);
  const TensorId wte = gb.Parameter("word_embeddings", {m.vocab, h});
  const TensorId wpe = gb.Parameter("position_embeddings", {m.max_positions, h});
  const TensorId wtt = gb.Parameter("token_type_embeddings", {m.type_vocab, h});
  const TensorId words = gb.Embedding("embed.words", ids, wte);
  const TensorId positions = gb.Embedding("embed.positions", pos_ids, wpe);
  TensorId x = gb.Add("embed.add1", words, positions);
  x = gb.Add("embed.add2", x, gb.Embedding("embed.types", type_ids, wtt));
  x = LayerNormP(gb, "embed.ln", x, h);
  for (std::uint64_t l = 0; l < m.layers; ++l) {
    gb.set_layer(static_cast<int>(l));
    const std::string p = fmt::format("layer{}", l);
    const TensorId q = LinearBias(gb, p + ".q", x, h, h, true);
    const TensorId k = LinearBias(gb, p + ".k", x, h, h, true);
    const TensorId v = LinearBias(gb, p + ".v", x, h, h, true);
    const TensorId ctx = Attention(c, p, q, k, v);
    x = gb.Add(p + ".residual1", x, LinearBias(gb, p + ".attn_out", ctx, h, h, true));
    x = LayerNormP(gb, p + ".ln1", x, h);
    const TensorId f = LinearBias(gb, p + ".intermediate", x, h, m.ffn, true);
    const TensorId a = gb.Unary(p + ".gelu", OpKind::kGelu, f);
    x = gb.Add(p + ".residual2", x, LinearBias(gb, p + ".output", a, m.ffn, h, true));
    x = LayerNormP(gb, p + ".ln2", x, h);
  }
  gb.set_layer(-1);
  // Pooler on the [CLS] row of each sample: a [b x h] x [h x h] matmul.
  {
    const TensorId wp = gb.Parameter("pooler.weight", {h, h});
    GraphOp op;
    op.name = "pooler";
    op.kind = OpKind::kMatmul;
    op.matmul = {1, c.b, h, h, false, false};
    op.inputs = {x, wp};
    op.outputs = {
        fg.graph.AddTensor("pooler.out", {c.b, h}, fg.compute_dtype, TensorKind::kActivation)};
    fg.graph.AddOp(op);
    const TensorId pooled =
        gb.BiasAdd("pooler.bias_add", op.outputs[0], gb.Parameter("pooler.bias", {h}));
    const TensorId nsp = LinearBias(gb, "nsp", pooled, h, 2, true);
    fg.losses.push_back(gb.CrossEntropy("nsp_loss", nsp, nsp_labels));
  }
  const TensorId t = LinearBias(gb, "mlm.transform", x, h, h, true);
  const TensorId tl = LayerNormP(gb, "mlm.ln", gb.Unary("mlm.gelu", OpKind::kGelu, t), h);
  TensorId logits = gb.LinearTransposedWeight("mlm.decoder", tl, wte);
  logits = gb.BiasAdd("mlm.decoder.bias_add", logits, gb.Parameter("mlm.decoder.bias", {m.vocab}));
  fg.losses.push_back(gb.CrossEntropy("mlm_loss", logits, mlm_labels));
  return fg;
}

ForwardGraph BuildResnet(const WorkloadConfig& cfg, ForwardGraph fg) {
  const ModelConfig& m = cfg.model;
  GraphBuilder gb(fg.graph, fg.compute_dtype);
  const std::uint64_t n = cfg.training.micro_batch;
  const TensorId images =
      gb.Input("images", {n, m.channels, m.image_size, m.image_size}, fg.compute_dtype);
  const TensorId labels = gb.Input("labels", {n}, kIdDtype);
  auto conv_bn = [&](const std::string& name, TensorId x, std::uint64_t cin, std::uint64_t cout,
                     std::uint64_t k, std::uint64_t stride, bool relu) {
    const TensorId w = gb.Parameter(name + ".weight", {cout, cin, k, k});
    TensorId y = gb.Conv2d(name, x, w, stride, k / 2);
    y = gb.BatchNorm(name + ".bn", y, gb.Parameter(name + ".bn.gain", {cout}),
                     gb.Parameter(name + ".bn.bias", {cout}));
    return relu ? gb.Unary(name + ".relu", OpKind::kRelu, y) : y;
  };
  TensorId x = conv_bn("conv1", images, m.channels, 64, 7, 2, true);
  x = gb.MaxPool("maxpool", x, 3, 2, 1);
  const bool bottleneck = m.depth >= 50;
  std::vector<std::uint64_t> blocks;
  switch (m.depth) {
    case 18:
      blocks = {2, 2, 2, 2};
      break;
    case 34:
    case 50:
      blocks = {3, 4, 6, 3};
      break;
    case 101:
      blocks = {3, 4, 23, 3};
      break;
    default:
      blocks = {3, 8, 36, 3};
      break;
  }
  const std::uint64_t expansion = bottleneck ? 4 : 1;
  std::uint64_t cin = 64;
  int block_index = 0;
  for (std::size_t stage = 0; stage < blocks.size(); ++stage) {
    const std::uint64_t width = 64u << stage;
    for (std::uint64_t i = 0; i < blocks[stage]; ++i) {
      gb.set_layer(block_index++);
      const std::string p = fmt::format("layer{}.{}", stage + 1, i);
      const std::uint64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      const std::uint64_t cout = width * expansion;
      TensorId y;
      if (bottleneck) {
        y = conv_bn(p + ".conv1", x, cin, width, 1, 1, true);
        y = conv_bn(p + ".conv2", y, width, width, 3, stride, true);
        y = conv_bn(p + ".conv3", y, width, cout, 1, 1, false);
      } else {
        y = conv_bn(p + ".conv1", x, cin, width, 3, stride, true);
        y = conv_bn(p + ".conv2", y, width, cout, 3, 1, false);
      }
      TensorId shortcut = x;
      if (stride != 1 || cin != cout) {
        shortcut = conv_bn(p + ".downsample", x, cin, cout, 1, stride, false);
      }
      x = gb.Unary(p + ".relu", OpKind::kRelu, gb.Add(p + ".residual", y, shortcut));
      cin = cout;
    }
  }
  gb.set_layer(-1);
  x = gb.GlobalAvgPool("avgpool", x);
  const TensorId logits = LinearBias(gb, "fc", x, cin, m.classes, true);
  fg.losses.push_back(gb.CrossEntropy("loss", logits, labels));
  return fg;
}

ForwardGraph BuildMlp(const WorkloadConfig& cfg, ForwardGraph fg) {
  const ModelConfig& m = cfg.model;
  GraphBuilder gb(fg.graph, fg.compute_dtype);
  const std::uint64_t n = cfg.training.micro_batch;
  TensorId x = gb.Input("x", {n, m.layer_sizes[0]}, fg.compute_dtype);
  const TensorId labels = gb.Input("labels", {n}, kIdDtype);
  const OpKind act = m.activation == "gelu" ? OpKind::kGelu : OpKind::kRelu;
  for (std::size_t i = 0; i + 1 < m.layer_sizes.size(); ++i) {
    gb.set_layer(static_cast<int>(i));
    const std::string p = fmt::format("fc{}", i);
    x = LinearBias(gb, p, x, m.layer_sizes[i], m.layer_sizes[i + 1], m.bias);
    if (i + 2 < m.layer_sizes.size()) x = gb.Unary(p + ".act", act, x);
  }
  gb.set_layer(-1);
  fg.losses.push_back(gb.CrossEntropy("loss", x, labels));
  return fg;
}

}  // namespace

std::uint64_t ShardVocab(std::uint64_t vocab, std::uint64_t tp) { return CeilDiv(vocab, tp); }

ForwardGraph BuildForwardGraph(const WorkloadConfig& config, std::uint64_t tp) {
  const ModelConfig& m = config.model;
  if (tp == 0 || (tp > 1 && (m.family != ModelFamily::kGpt && m.family != ModelFamily::kLlama))) {
    throw std::logic_error("BuildForwardGraph: tensor parallelism is built for gpt and llama");
  }
  if (m.heads % tp != 0 || m.ffn % tp != 0 ||
      (m.family == ModelFamily::kLlama &&
       (m.kv_heads >= tp ? m.kv_heads % tp : tp % m.kv_heads) != 0)) {
    throw std::logic_error("BuildForwardGraph: tp must divide heads and ffn");
  }
  ForwardGraph fg;
  fg.compute_dtype = config.training.precision == Precision::kFp32 ? Dtype::kFp32 : Dtype::kBf16;
  fg.samples = config.training.micro_batch;
  fg.tokens = CheckedMul(config.training.micro_batch, config.training.sequence, "tokens");
  switch (config.model.family) {
    case ModelFamily::kGpt:
      return BuildGpt(config, std::move(fg), tp);
    case ModelFamily::kLlama:
      return BuildLlama(config, std::move(fg), tp);
    case ModelFamily::kBert:
      return BuildBert(config, std::move(fg));
    case ModelFamily::kResnet:
      return BuildResnet(config, std::move(fg));
    case ModelFamily::kMlp:
      return BuildMlp(config, std::move(fg));
  }
  throw std::logic_error("BuildForwardGraph: unknown family");
}

}  // namespace systole
