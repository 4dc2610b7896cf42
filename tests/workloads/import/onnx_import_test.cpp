// ONNX import: models built here with the ONNX protobuf API (written to testing::TempDir()),
// imported and trained; the MLP preset imported from ONNX gives the same step as the zoo.
// Initializers carry their dims only (no values): the importer never reads weight values.
#include "workloads/import/onnx_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "sim/config/arch_config.h"
#include "sim/step_run.h"
#include "workloads/lowering/op_lowering.h"
#include "workloads/training/training_step.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

using ::testing::HasSubstr;

// A model with opset 17 and one graph; dims < 0 are symbolic ("batch").
struct ModelBuilder {
  onnx::ModelProto model;
  onnx::GraphProto* g;

  ModelBuilder() {
    model.set_ir_version(8);
    model.add_opset_import()->set_version(17);
    g = model.mutable_graph();
    g->set_name("test");
  }
  void Input(const std::string& name, std::vector<std::int64_t> dims,
             int type = onnx::TensorProto::FLOAT) {
    onnx::ValueInfoProto* v = g->add_input();
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    for (std::int64_t d : dims) {
      onnx::TensorShapeProto_Dimension* dim = t->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  }
  void Output(const std::string& name) { g->add_output()->set_name(name); }
  void Init(const std::string& name, std::vector<std::int64_t> dims,
            std::vector<std::int64_t> ints = {}) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(ints.empty() ? onnx::TensorProto::FLOAT : onnx::TensorProto::INT64);
    for (std::int64_t d : dims) t->add_dims(d);
    for (std::int64_t v : ints) t->add_int64_data(v);
  }
  // A tensor initializer of `type` without values (a bool buffer such as a causal mask).
  void InitTyped(const std::string& name, std::vector<std::int64_t> dims, int type) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (std::int64_t d : dims) t->add_dims(d);
  }
  // A Constant node of int64 `values` (a scalar when `dims` is empty); returns its output.
  std::string ConstInts(const std::string& name, std::vector<std::int64_t> dims,
                        std::vector<std::int64_t> values) {
    onnx::NodeProto* n = Node("Constant", {}, {name + "_output_0"}, name);
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = a->mutable_t();
    t->set_data_type(onnx::TensorProto::INT64);
    for (std::int64_t d : dims) t->add_dims(d);
    for (std::int64_t v : values) t->add_int64_data(v);
    return name + "_output_0";
  }
  // A scalar float Constant node; returns its output.
  std::string ConstFloat(const std::string& name, float value) {
    onnx::NodeProto* n = Node("Constant", {}, {name + "_output_0"}, name);
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a->mutable_t()->add_float_data(value);
    return name + "_output_0";
  }
  onnx::NodeProto* Node(const std::string& op, std::vector<std::string> in,
                        std::vector<std::string> out, const std::string& name = "") {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& s : in) n->add_input(s);
    for (const std::string& s : out) n->add_output(s);
    return n;
  }
  static void Ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a->add_ints(x);
  }
  static void Int(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  std::string Write(const std::string& file) const {
    // Per-process names: ctest runs tests in parallel processes.
    const std::string path = testing::TempDir() + "onnx_" + std::to_string(getpid()) + "_" + file;
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path;
  }
};

// configs/workloads/mlp.toml as ONNX: 1024 -> 4096 -> 4096 -> 1024, biases, ReLU between,
// as Gemm (weight [in, out], bias [out]) or as MatMul + Add.
std::string MlpOnnx(bool gemm, const std::string& file) {
  ModelBuilder m;
  const std::vector<std::int64_t> sizes = {1024, 4096, 4096, 1024};
  m.Input("x", {-1, 1024});
  std::string x = "x";
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const std::string p = "/layers." + std::to_string(i);
    m.Init(p + ".weight", {sizes[i], sizes[i + 1]});
    m.Init(p + ".bias", {sizes[i + 1]});
    if (gemm) {
      m.Node("Gemm", {x, p + ".weight", p + ".bias"}, {p + "/y"}, p + "/Gemm");
    } else {
      m.Node("MatMul", {x, p + ".weight"}, {p + "/mm"}, p + "/MatMul");
      m.Node("Add", {p + "/mm", p + ".bias"}, {p + "/y"}, p + "/Add");
    }
    x = p + "/y";
    if (i + 2 < sizes.size()) {
      m.Node("Relu", {x}, {p + "/relu"}, p + "/Relu");
      x = p + "/relu";
    }
  }
  m.Node("Identity", {x}, {"logits"}, "out");
  m.Output("logits");
  return m.Write(file);
}

void ExpectSameStep(const TrainingStep& a, const TrainingStep& b) {
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.flops_per_step, b.flops_per_step);
  EXPECT_EQ(a.matmul_flops_per_step, b.matmul_flops_per_step);
  EXPECT_EQ(a.samples_per_step, b.samples_per_step);
  EXPECT_EQ(a.tokens_per_step, b.tokens_per_step);
  ASSERT_EQ(a.phases.size(), b.phases.size());
  for (std::size_t p = 0; p < a.phases.size(); ++p) {
    EXPECT_EQ(a.phases[p].ops.size(), b.phases[p].ops.size()) << p;
    EXPECT_EQ(a.phases[p].flops, b.phases[p].flops) << p;
    EXPECT_EQ(a.phases[p].matmul_flops, b.phases[p].matmul_flops) << p;
    EXPECT_EQ(a.phases[p].bytes_read, b.phases[p].bytes_read) << p;
    EXPECT_EQ(a.phases[p].bytes_written, b.phases[p].bytes_written) << p;
    EXPECT_EQ(a.phases[p].repeats, b.phases[p].repeats) << p;
    for (std::size_t i = 0; i < a.phases[p].ops.size() && i < b.phases[p].ops.size(); ++i) {
      const GraphOp& x = a.graph.op(a.phases[p].ops[i]);
      const GraphOp& y = b.graph.op(b.phases[p].ops[i]);
      EXPECT_EQ(x.kind, y.kind) << x.name << " vs " << y.name;
      EXPECT_EQ(x.layer, y.layer) << x.name << " vs " << y.name;
      EXPECT_EQ(OpSignature(a.graph, x), OpSignature(b.graph, y)) << x.name << " vs " << y.name;
    }
  }
  EXPECT_EQ(a.footprint.total_bytes, b.footprint.total_bytes);
  EXPECT_EQ(a.representative_layer, b.representative_layer);
}

TEST(OnnxImport, MlpPresetFromOnnxGivesTheZooStep) {
  const WorkloadConfig config = LoadWorkloadConfig(WorkloadPresetPath("mlp"));
  const TrainingStep zoo = BuildTrainingStep(config);
  for (bool gemm : {true, false}) {
    SCOPED_TRACE(gemm ? "Gemm" : "MatMul + Add");
    const TrainingStep onnx =
        BuildTrainingStep(ImportOnnx(MlpOnnx(gemm, "mlp.onnx"), config), config);
    // 1024x4096 + 4096 + 4096x4096 + 4096 + 4096x1024 + 1024 weights and biases.
    EXPECT_EQ(onnx.parameters, 25175040u);
    // Forward: 2 FLOPs per MAC over 256 samples x (1024x4096 + 4096x4096 + 4096x1024).
    EXPECT_EQ(onnx.phase(Phase::kForward).matmul_flops, 2ull * 256 * 25165824);
    ExpectSameStep(onnx, zoo);
  }
  // Timed on the baseline chip: the same step time.
  const ArchConfig arch = LoadArchConfig("");
  const TrainingStep onnx =
      BuildTrainingStep(ImportOnnx(MlpOnnx(true, "mlp_timed.onnx"), config), config);
  EXPECT_EQ(RunTrainingStep(arch, onnx).step_ns, RunTrainingStep(arch, zoo).step_ns);
}

TEST(OnnxImport, MlpWithOverridesAndFullRecomputeMatchesTheZoo) {
  // Symbolic batch takes training.micro_batch; layers numbered from "/layers.N" names,
  // so full recomputation re-runs the same ops as the zoo's.
  const WorkloadConfig config = LoadWorkloadConfig(
      WorkloadPresetPath("mlp"), {"training.micro_batch=32", "training.recompute=full",
                                  "training.precision=bf16_mixed", "training.grad_accum_steps=2"});
  const TrainingStep zoo = BuildTrainingStep(config);
  const TrainingStep onnx =
      BuildTrainingStep(ImportOnnx(MlpOnnx(true, "mlp_recompute.onnx"), config), config);
  EXPECT_EQ(onnx.samples_per_step, 64u);  // 32 per micro-batch x 2 micro-batches
  ExpectSameStep(onnx, zoo);
}

// conv 3->16 3x3 pad 1 (+bias), relu, maxpool 2/2, conv 16->32 3x3 stride 2 pad 1 (+bias),
// relu, global average pool, flatten, Gemm with transB (weight [10, 32]) + bias.
std::string TinyConvNet() {
  ModelBuilder m;
  m.Input("images", {-1, 3, 32, 32});
  m.Init("conv1.w", {16, 3, 3, 3});
  m.Init("conv1.b", {16});
  m.Init("conv2.w", {32, 16, 3, 3});
  m.Init("conv2.b", {32});
  m.Init("fc.w", {10, 32});
  m.Init("fc.b", {10});
  onnx::NodeProto* c1 = m.Node("Conv", {"images", "conv1.w", "conv1.b"}, {"c1"}, "conv1");
  ModelBuilder::Ints(c1, "pads", {1, 1, 1, 1});
  ModelBuilder::Ints(c1, "kernel_shape", {3, 3});
  m.Node("Relu", {"c1"}, {"r1"}, "relu1");
  onnx::NodeProto* p = m.Node("MaxPool", {"r1"}, {"p1"}, "pool");
  ModelBuilder::Ints(p, "kernel_shape", {2, 2});
  ModelBuilder::Ints(p, "strides", {2, 2});
  onnx::NodeProto* c2 = m.Node("Conv", {"p1", "conv2.w", "conv2.b"}, {"c2"}, "conv2");
  ModelBuilder::Ints(c2, "pads", {1, 1, 1, 1});
  ModelBuilder::Ints(c2, "strides", {2, 2});
  m.Node("Relu", {"c2"}, {"r2"}, "relu2");
  m.Node("GlobalAveragePool", {"r2"}, {"gap"}, "gap");
  m.Node("Flatten", {"gap"}, {"flat"}, "flatten");
  onnx::NodeProto* fc = m.Node("Gemm", {"flat", "fc.w", "fc.b"}, {"logits"}, "fc");
  ModelBuilder::Int(fc, "transB", 1);
  m.Output("logits");
  return m.Write("tiny_conv.onnx");
}

TEST(OnnxImport, TinyConvNet) {
  const WorkloadConfig config =
      LoadWorkloadConfig(WorkloadPresetPath("mlp"), {"training.micro_batch=8"});
  const ForwardGraph fg = ImportOnnx(TinyConvNet(), config);
  std::vector<OpKind> kinds;
  for (const GraphOp& op : fg.graph.ops()) kinds.push_back(op.kind);
  const std::vector<OpKind> expected = {OpKind::kConv2d,  OpKind::kBiasAdd,     OpKind::kRelu,
                                        OpKind::kMaxPool, OpKind::kConv2d,      OpKind::kBiasAdd,
                                        OpKind::kRelu,    OpKind::kAvgPool,     OpKind::kMatmul,
                                        OpKind::kBiasAdd, OpKind::kCrossEntropy};  // appended loss
  EXPECT_EQ(kinds, expected);
  const GraphOp& conv2 = fg.graph.op(4);
  // 16x16 after the pool; stride 2 with pad 1 and a 3x3 window: (16 + 2 - 3) / 2 + 1 = 8.
  EXPECT_EQ(conv2.conv.h_out, 8u);
  EXPECT_EQ(conv2.conv.c_in, 16u);
  EXPECT_TRUE(fg.graph.op(8).matmul.transpose_b);  // weight stored [10, 32]
  EXPECT_EQ(fg.samples, 8u);
  EXPECT_EQ(fg.tokens, 8u);

  const TrainingStep step = BuildTrainingStep(ImportOnnx(TinyConvNet(), config), config);
  // 16x3x3x3 + 16 + 32x16x3x3 + 32 + 10x32 + 10.
  EXPECT_EQ(step.parameters, 432u + 16 + 4608 + 32 + 320 + 10);
  // Forward MACs x 2: conv1 8x16x32x32 outputs x 27, conv2 8x32x8x8 outputs x 144, fc 8x32x10.
  const std::uint64_t conv1 = 2ull * 8 * 16 * 32 * 32 * 27;       // 7,077,888
  const std::uint64_t conv2_flops = 2ull * 8 * 32 * 8 * 8 * 144;  // 4,718,592
  const std::uint64_t fc = 2ull * 8 * 32 * 10;                    // 5,120
  EXPECT_EQ(step.phase(Phase::kForward).matmul_flops, conv1 + conv2_flops + fc);
  // Backward: input and weight gradients (each as many FLOPs as the forward), except the
  // images' gradient (an input needs none).
  EXPECT_EQ(step.phase(Phase::kBackward).matmul_flops, 2 * (conv1 + conv2_flops + fc) - conv1);
}

// A stem MatMul, then two blocks "layers.0", "layers.1": MatMul, x * Sigmoid(x) (silu),
// LayerNorm; a softmax head.
TEST(OnnxImport, SiluPatternSoftmaxLayerNormAndLayerNumbers) {
  ModelBuilder m;
  m.Input("x", {-1, 64});
  m.Init("stem.w", {64, 64});
  m.Node("MatMul", {"x", "stem.w"}, {"stem"}, "stem/MatMul");
  std::string x = "stem";
  for (int l = 0; l < 2; ++l) {
    const std::string p = "/layers." + std::to_string(l) + "/";
    m.Init(p + "w", {64, 64});
    m.Init(p + "ln.g", {64});
    m.Init(p + "ln.b", {64});
    m.Node("MatMul", {x, p + "w"}, {p + "mm"}, p + "MatMul");
    m.Node("Sigmoid", {p + "mm"}, {p + "sig"}, p + "Sigmoid");
    m.Node("Mul", {p + "mm", p + "sig"}, {p + "silu"}, p + "Mul");
    m.Node("LayerNormalization", {p + "silu", p + "ln.g", p + "ln.b"}, {p + "ln"}, p + "LayerNorm");
    x = p + "ln";
  }
  m.Node("Softmax", {x}, {"probs"}, "head/Softmax");
  m.Output("probs");
  const WorkloadConfig config = LoadWorkloadConfig(WorkloadPresetPath("mlp"));
  const ForwardGraph fg = ImportOnnx(m.Write("silu.onnx"), config);
  std::vector<OpKind> kinds;
  std::vector<int> layers;
  for (const GraphOp& op : fg.graph.ops()) {
    kinds.push_back(op.kind);
    layers.push_back(op.layer);
  }
  EXPECT_EQ(kinds,
            (std::vector<OpKind>{OpKind::kMatmul, OpKind::kMatmul, OpKind::kSilu,
                                 OpKind::kLayerNorm, OpKind::kMatmul, OpKind::kSilu,
                                 OpKind::kLayerNorm, OpKind::kSoftmax, OpKind::kCrossEntropy}));
  EXPECT_EQ(layers, (std::vector<int>{-1, 0, 0, 0, 1, 1, 1, -1, -1}));
  // Stem 64x64 + 2 x (64x64 weight + 64 gain + 64 bias).
  EXPECT_EQ(fg.graph.ParameterCount(), 4096u + 2 * (4096 + 128));
  const TrainingStep step = BuildTrainingStep(ImportOnnx(m.Write("silu.onnx"), config), config);
  // Identical blocks (both read an activation; without the stem, block 0 would read the
  // input x, which needs no gradient, and differ).
  EXPECT_EQ(step.representative_layer, (std::vector<int>{0, 0}));
}

// One attention block over token ids [batch, sequence] (both symbolic): embedding, LayerNorm,
// q/k/v, heads split by Reshape + Transpose (layout), QK^T / 4, softmax, AV, merge, output
// projection, residual, LM head. h = 16, 2 heads of d = 8, vocab 50.
TEST(OnnxImport, AttentionBlockWithLayoutOps) {
  ModelBuilder m;
  m.Input("ids", {-1, -1}, onnx::TensorProto::INT64);
  m.Init("wte", {50, 16});
  m.Init("ln.g", {16});
  m.Init("ln.b", {16});
  for (const char* w : {"wq", "wk", "wv", "wo"}) m.Init(w, {16, 16});
  m.Init("head", {16, 50});
  m.Init("split", {4}, {0, 0, 2, 8});
  m.Init("merge", {3}, {0, 0, 16});
  m.Init("scale", {});
  m.Node("Gather", {"wte", "ids"}, {"x"}, "embed");
  m.Node("LayerNormalization", {"x", "ln.g", "ln.b"}, {"n"}, "/h.0/ln");
  for (const char* t : {"q", "k", "v"}) {
    const std::string p = std::string("/h.0/") + t;
    m.Node("MatMul", {"n", std::string("w") + t}, {p}, p + "/MatMul");
    m.Node("Reshape", {p, "split"}, {p + "4"}, p + "/Reshape");
    // q, v: [b, a, s, d]; k: [b, a, d, s].
    ModelBuilder::Ints(m.Node("Transpose", {p + "4"}, {p + "t"}, p + "/Transpose"), "perm",
                       std::string(t) == "k" ? std::vector<std::int64_t>{0, 2, 3, 1}
                                             : std::vector<std::int64_t>{0, 2, 1, 3});
  }
  m.Node("MatMul", {"/h.0/qt", "/h.0/kt"}, {"scores"}, "/h.0/qk");
  m.Node("Div", {"scores", "scale"}, {"scaled"}, "/h.0/scale");
  ModelBuilder::Int(m.Node("Softmax", {"scaled"}, {"probs"}, "/h.0/softmax"), "axis", -1);
  m.Node("MatMul", {"probs", "/h.0/vt"}, {"ctx4"}, "/h.0/av");
  ModelBuilder::Ints(m.Node("Transpose", {"ctx4"}, {"ctxt"}, "/h.0/merge_t"), "perm", {0, 2, 1, 3});
  m.Node("Reshape", {"ctxt", "merge"}, {"ctx"}, "/h.0/merge");
  m.Node("MatMul", {"ctx", "wo"}, {"o"}, "/h.0/o");
  m.Node("Add", {"x", "o"}, {"r"}, "/h.0/residual");
  m.Node("MatMul", {"r", "head"}, {"logits"}, "lm_head");
  m.Output("logits");
  const std::string path = m.Write("attention.onnx");
  const WorkloadConfig config = LoadWorkloadConfig(
      WorkloadPresetPath("gpt2-small"),
      {"training.micro_batch=2", "training.sequence=4", "training.recompute=selective"});
  const ForwardGraph fg = ImportOnnx(path, config);
  EXPECT_EQ(fg.samples, 2u);
  EXPECT_EQ(fg.tokens, 8u);  // 2 samples x 4 tokens
  const GraphOp* qk = nullptr;
  for (const GraphOp& op : fg.graph.ops()) {
    if (op.name == "/h.0/qk") qk = &op;
  }
  ASSERT_NE(qk, nullptr);
  // batch 2 x 2 heads, [4 x 8] x [8 x 4].
  EXPECT_EQ(qk->matmul.batch, 4u);
  EXPECT_EQ(qk->matmul.m, 4u);
  EXPECT_EQ(qk->matmul.k, 8u);
  EXPECT_EQ(qk->matmul.n, 4u);
  EXPECT_FALSE(qk->matmul.transpose_a);
  EXPECT_TRUE(qk->matmul.transpose_b);  // k read through the (0, 2, 3, 1) view: K^T
  EXPECT_TRUE(qk->attention_core);
  EXPECT_EQ(qk->layer, 0);
  const TrainingStep step = BuildTrainingStep(ImportOnnx(path, config), config);
  // 50x16 table + 16 + 16 + 4 x 16x16 + 16x50 head.
  EXPECT_EQ(step.parameters, 800u + 32 + 1024 + 800);
  // Selective recomputation re-runs the attention core: QK^T, softmax (with the scaling by a
  // constant fused in, as kSoftmax does in the zoo) and AV.
  std::uint64_t recomputed = 0;
  for (OpId id : step.phase(Phase::kBackward).ops) {
    recomputed += step.graph.op(id).role == OpRole::kRecompute;
  }
  EXPECT_EQ(recomputed, 3u);
}

// PyTorch's exact GELU before opset 20: x * (1 + Erf(x / sqrt 2)) * 0.5 is one gelu op.
TEST(OnnxImport, ErfGeluPatternIsOneGelu) {
  ModelBuilder m;
  m.Input("x", {-1, 16});
  m.Init("w", {16, 16});
  m.Init("sqrt2", {});
  m.Init("one", {});
  m.Init("half", {});
  m.Node("MatMul", {"x", "w"}, {"h"}, "fc/MatMul");
  m.Node("Div", {"h", "sqrt2"}, {"d"}, "gelu/Div");
  m.Node("Erf", {"d"}, {"e"}, "gelu/Erf");
  m.Node("Add", {"e", "one"}, {"a"}, "gelu/Add");
  m.Node("Mul", {"h", "a"}, {"m"}, "gelu/Mul");
  m.Node("Mul", {"m", "half"}, {"y"}, "gelu/Mul_1");
  m.Output("y");
  const ForwardGraph fg =
      ImportOnnx(m.Write("gelu.onnx"), LoadWorkloadConfig(WorkloadPresetPath("mlp")));
  std::vector<OpKind> kinds;
  for (const GraphOp& op : fg.graph.ops()) kinds.push_back(op.kind);
  EXPECT_EQ(kinds, (std::vector<OpKind>{OpKind::kMatmul, OpKind::kGelu, OpKind::kCrossEntropy}));
  EXPECT_EQ(fg.graph.ParameterCount(), 256u);  // the 16x16 weight; the scalars are constants
}

// A GPT-2-style transformer as PyTorch's exporter emits it (opset 17): token ids and position
// ids [batch, sequence] (both symbolic) viewed as (-1, sequence) through a runtime
// Shape -> Gather -> Unsqueeze -> Concat chain; token + position embeddings; per block
// "/transformer/h.N": LayerNorm, q / k / v MatMul + Add, heads split by Reshape targets
// computed at runtime (Shape -> Gather -> Unsqueeze -> Concat for q and k, Shape -> Slice ->
// Concat for v) and Transpose, K^T by a second Transpose, QK^T, the scale divided by
// sqrt(Cast(Shape(v)[-1])), the causal mask Where(Slice(bias buffer) computed from the
// query and key lengths, scores, min), Softmax, AV, Transpose and Reshape back (target
// Shape -> Slice -> Concat), projection, residual, LayerNorm, MLP with GELU (even blocks
// the Erf pattern, odd blocks the tanh pattern), residual; final LayerNorm, the output view
// (-1, sequence, hidden) and the LM head, tied (MatMul by Transpose(wte)) or not.
struct GptDims {
  std::int64_t vocab = 512, hidden = 128, layers = 2, heads = 4, ffn = 512, positions = 64;
};

// Before opset 17 (no LayerNormalization), LayerNorm is exported as ReduceMean, Sub, Pow,
// ReduceMean, Add, Sqrt, Div, Mul, Add.
// `fused_qkv`: one c_attn projection [hidden, 3 x hidden] + bias, Split into q, k, v (as
// Hugging Face's GPT-2 exports), instead of three projections.
std::string GptOnnx(const GptDims& d, bool tied, const std::string& file, int opset = 17,
                    bool fused_qkv = false) {
  ModelBuilder m;
  m.model.mutable_opset_import(0)->set_version(opset);
  const std::int64_t hd = d.hidden / d.heads;
  m.Input("input_ids", {-1, -1}, onnx::TensorProto::INT64);
  m.Input("position_ids", {-1, -1}, onnx::TensorProto::INT64);
  m.Init("transformer.wte.weight", {d.vocab, d.hidden});
  m.Init("transformer.wpe.weight", {d.positions, d.hidden});
  // input_ids.view(-1, input_shape[-1]), position_ids likewise.
  m.Node("Shape", {"input_ids"}, {"/transformer/Shape_output_0"}, "/transformer/Shape");
  m.Node("Gather", {"/transformer/Shape_output_0", m.ConstInts("/transformer/Constant", {}, {-1})},
         {"/transformer/Gather_output_0"}, "/transformer/Gather");
  m.Node("Unsqueeze",
         {"/transformer/Gather_output_0", m.ConstInts("/transformer/Constant_1", {1}, {0})},
         {"/transformer/Unsqueeze_output_0"}, "/transformer/Unsqueeze");
  ModelBuilder::Int(
      m.Node("Concat",
             {m.ConstInts("/transformer/Constant_2", {1}, {-1}), "/transformer/Unsqueeze_output_0"},
             {"/transformer/Concat_output_0"}, "/transformer/Concat"),
      "axis", 0);
  m.Node("Reshape", {"input_ids", "/transformer/Concat_output_0"}, {"/transformer/ids"},
         "/transformer/Reshape");
  m.Node("Reshape", {"position_ids", "/transformer/Concat_output_0"}, {"/transformer/pos"},
         "/transformer/Reshape_1");
  // Token embedding first, as the zoo's BuildGpt emits it.
  m.Node("Gather", {"transformer.wte.weight", "/transformer/ids"}, {"/transformer/wte"},
         "/transformer/wte/Gather");
  m.Node("Gather", {"transformer.wpe.weight", "/transformer/pos"}, {"/transformer/wpe"},
         "/transformer/wpe/Gather");
  m.Node("Add", {"/transformer/wte", "/transformer/wpe"}, {"/transformer/h"}, "/transformer/Add");
  std::string x = "/transformer/h";
  auto layer_norm = [&](const std::string& p, const std::string& w, const std::string& in) {
    m.Init(w + ".weight", {d.hidden});
    m.Init(w + ".bias", {d.hidden});
    if (opset >= 17) {
      ModelBuilder::Int(m.Node("LayerNormalization", {in, w + ".weight", w + ".bias"}, {p + "_out"},
                               p + "/LayerNormalization"),
                        "axis", -1);
      return p + "_out";
    }
    ModelBuilder::Ints(m.Node("ReduceMean", {in}, {p + "/mean"}, p + "/ReduceMean"), "axes", {-1});
    m.Node("Sub", {in, p + "/mean"}, {p + "/d"}, p + "/Sub");
    m.Node("Pow", {p + "/d", m.ConstFloat(p + "/Constant", 2.0f)}, {p + "/sq"}, p + "/Pow");
    ModelBuilder::Ints(m.Node("ReduceMean", {p + "/sq"}, {p + "/var"}, p + "/ReduceMean_1"), "axes",
                       {-1});
    m.Node("Add", {p + "/var", m.ConstFloat(p + "/Constant_1", 1e-5f)}, {p + "/var_eps"},
           p + "/Add");
    m.Node("Sqrt", {p + "/var_eps"}, {p + "/std"}, p + "/Sqrt");
    m.Node("Div", {p + "/d", p + "/std"}, {p + "/norm"}, p + "/Div");
    m.Node("Mul", {p + "/norm", w + ".weight"}, {p + "/scaled"}, p + "/Mul");
    m.Node("Add", {p + "/scaled", w + ".bias"}, {p + "_out"}, p + "/Add_1");
    return p + "_out";
  };
  auto linear = [&](const std::string& p, const std::string& w, const std::string& in,
                    std::int64_t n_in, std::int64_t n_out) {
    m.Init(w + ".weight", {n_in, n_out});
    m.Init(w + ".bias", {n_out});
    m.Node("MatMul", {in, w + ".weight"}, {p + "/MatMul_output_0"}, p + "/MatMul");
    m.Node("Add", {p + "/MatMul_output_0", w + ".bias"}, {p + "/Add_output_0"}, p + "/Add");
    return p + "/Add_output_0";
  };
  for (std::int64_t l = 0; l < d.layers; ++l) {
    const std::string p = "/transformer/h." + std::to_string(l);
    const std::string w = "transformer.h." + std::to_string(l);
    const std::string a = p + "/attn";
    const std::string ln1 = layer_norm(p + "/ln_1", w + ".ln_1", x);
    std::map<std::string, std::string> heads;  // q, k, v as [b, heads, s, hd]
    if (fused_qkv) {
      const std::string qkv =
          linear(a + "/c_attn", w + ".attn.c_attn", ln1, d.hidden, 3 * d.hidden);
      ModelBuilder::Int(
          m.Node("Split",
                 {qkv, m.ConstInts(a + "/Constant_split", {3}, {d.hidden, d.hidden, d.hidden})},
                 {a + "/q", a + "/k", a + "/v"}, a + "/Split"),
          "axis", 2);
    }
    for (const std::string t : {"q", "k", "v"}) {
      const std::string tp = a + "/" + t + "_proj";
      const std::string y =
          fused_qkv ? a + "/" + t : linear(tp, w + ".attn." + t + "_proj", ln1, d.hidden, d.hidden);
      m.Node("Shape", {y}, {tp + "/Shape_output_0"}, tp + "/Shape");
      std::string target = tp + "/Concat_output_0";
      if (t == "v") {  // x.size()[:-1] + (heads, hd)
        m.Node(
            "Slice",
            {tp + "/Shape_output_0", m.ConstInts(tp + "/Constant", {1}, {0}),
             m.ConstInts(tp + "/Constant_1", {1}, {-1}), m.ConstInts(tp + "/Constant_2", {1}, {0})},
            {tp + "/Slice_output_0"}, tp + "/Slice");
        ModelBuilder::Int(
            m.Node("Concat",
                   {tp + "/Slice_output_0", m.ConstInts(tp + "/Constant_3", {2}, {d.heads, hd})},
                   {target}, tp + "/Concat"),
            "axis", 0);
      } else {  // (x.size(0), x.size(1), heads, hd)
        std::vector<std::string> parts;
        for (std::int64_t i = 0; i < 2; ++i) {
          const std::string g = tp + "/Gather_" + std::to_string(i);
          m.Node("Gather", {tp + "/Shape_output_0", m.ConstInts(g + "/Constant", {}, {i})},
                 {g + "_output_0"}, g);
          m.Node("Unsqueeze", {g + "_output_0", m.ConstInts(g + "/Constant_1", {1}, {0})},
                 {g + "/Unsqueeze_output_0"}, g + "/Unsqueeze");
          parts.push_back(g + "/Unsqueeze_output_0");
        }
        parts.push_back(m.ConstInts(tp + "/Constant_h", {1}, {d.heads}));
        parts.push_back(m.ConstInts(tp + "/Constant_d", {1}, {hd}));
        ModelBuilder::Int(m.Node("Concat", parts, {target}, tp + "/Concat"), "axis", 0);
      }
      m.Node("Reshape", {y, target}, {tp + "/Reshape_output_0"}, tp + "/Reshape");
      ModelBuilder::Ints(
          m.Node("Transpose", {tp + "/Reshape_output_0"}, {tp + "/heads"}, tp + "/Transpose"),
          "perm", {0, 2, 1, 3});
      heads[t] = tp + "/heads";
    }
    ModelBuilder::Ints(m.Node("Transpose", {heads["k"]}, {a + "/kT"}, a + "/Transpose"), "perm",
                       {0, 1, 3, 2});
    m.Node("MatMul", {heads["q"], a + "/kT"}, {a + "/scores"}, a + "/MatMul");
    // / sqrt(v.size(-1))
    m.Node("Shape", {heads["v"]}, {a + "/Shape_v"}, a + "/Shape");
    m.Node("Gather", {a + "/Shape_v", m.ConstInts(a + "/Constant", {}, {-1})}, {a + "/hd"},
           a + "/Gather");
    ModelBuilder::Int(m.Node("Cast", {a + "/hd"}, {a + "/hd_f"}, a + "/Cast"), "to",
                      onnx::TensorProto::FLOAT);
    m.Node("Sqrt", {a + "/hd_f"}, {a + "/sqrt"}, a + "/Sqrt");
    m.Node("Div", {a + "/scores", a + "/sqrt"}, {a + "/scaled"}, a + "/Div");
    // bias[:, :, k_len - q_len : k_len, :k_len]
    m.InitTyped(w + ".attn.bias", {1, 1, d.positions, d.positions}, onnx::TensorProto::BOOL);
    m.Node("Shape", {heads["q"]}, {a + "/Shape_q"}, a + "/Shape_1");
    m.Node("Gather", {a + "/Shape_q", m.ConstInts(a + "/Constant_1", {}, {-2})}, {a + "/q_len"},
           a + "/Gather_1");
    m.Node("Shape", {heads["k"]}, {a + "/Shape_k"}, a + "/Shape_2");
    m.Node("Gather", {a + "/Shape_k", m.ConstInts(a + "/Constant_2", {}, {-2})}, {a + "/k_len"},
           a + "/Gather_2");
    m.Node("Sub", {a + "/k_len", a + "/q_len"}, {a + "/start"}, a + "/Sub");
    const std::string zero_axis = m.ConstInts(a + "/Constant_3", {1}, {0});
    m.Node("Unsqueeze", {a + "/start", zero_axis}, {a + "/start_1"}, a + "/Unsqueeze");
    m.Node("Unsqueeze", {a + "/k_len", zero_axis}, {a + "/k_len_1"}, a + "/Unsqueeze_1");
    m.Node("Slice",
           {w + ".attn.bias", a + "/start_1", a + "/k_len_1",
            m.ConstInts(a + "/Constant_4", {1}, {2}), m.ConstInts(a + "/Constant_5", {1}, {1})},
           {a + "/rows"}, a + "/Slice");
    m.Node("Slice",
           {a + "/rows", m.ConstInts(a + "/Constant_6", {1}, {0}), a + "/k_len_1",
            m.ConstInts(a + "/Constant_7", {1}, {3})},
           {a + "/causal"}, a + "/Slice_1");
    ModelBuilder::Int(m.Node("Cast", {a + "/causal"}, {a + "/causal_b"}, a + "/Cast_1"), "to",
                      onnx::TensorProto::BOOL);
    m.Node("Where", {a + "/causal_b", a + "/scaled", m.ConstFloat(a + "/Constant_8", -3.4e38f)},
           {a + "/masked"}, a + "/Where");
    ModelBuilder::Int(m.Node("Softmax", {a + "/masked"}, {a + "/probs"}, a + "/Softmax"), "axis",
                      -1);
    m.Node("MatMul", {a + "/probs", heads["v"]}, {a + "/ctx4"}, a + "/MatMul_1");
    ModelBuilder::Ints(m.Node("Transpose", {a + "/ctx4"}, {a + "/ctxT"}, a + "/Transpose_1"),
                       "perm", {0, 2, 1, 3});
    // ctx.size()[:-2] + (hidden,)
    m.Node("Shape", {a + "/ctxT"}, {a + "/Shape_ctx"}, a + "/Shape_3");
    m.Node("Slice",
           {a + "/Shape_ctx", m.ConstInts(a + "/Constant_9", {1}, {0}),
            m.ConstInts(a + "/Constant_10", {1}, {-2}), m.ConstInts(a + "/Constant_11", {1}, {0})},
           {a + "/Shape_bs"}, a + "/Slice_2");
    ModelBuilder::Int(
        m.Node("Concat", {a + "/Shape_bs", m.ConstInts(a + "/Constant_12", {1}, {d.hidden})},
               {a + "/merge"}, a + "/Concat"),
        "axis", 0);
    m.Node("Reshape", {a + "/ctxT", a + "/merge"}, {a + "/ctx"}, a + "/Reshape");
    const std::string o = linear(a + "/c_proj", w + ".attn.c_proj", a + "/ctx", d.hidden, d.hidden);
    m.Node("Add", {x, o}, {p + "/Add_output_0"}, p + "/Add");
    const std::string h1 = p + "/Add_output_0";
    const std::string ln2 = layer_norm(p + "/ln_2", w + ".ln_2", h1);
    const std::string f = linear(p + "/mlp/c_fc", w + ".mlp.c_fc", ln2, d.hidden, d.ffn);
    const std::string g = p + "/mlp/act";
    if (l % 2 == 0) {  // x * 0.5 * (1 + erf(x / sqrt(2))) (nn.GELU)
      m.Node("Div", {f, m.ConstFloat(g + "/Constant", 1.4142135f)}, {g + "/Div"}, g + "/Div");
      m.Node("Erf", {g + "/Div"}, {g + "/Erf"}, g + "/Erf");
      m.Node("Add", {g + "/Erf", m.ConstFloat(g + "/Constant_1", 1.0f)}, {g + "/Add"}, g + "/Add");
      m.Node("Mul", {f, g + "/Add"}, {g + "/Mul"}, g + "/Mul");
      m.Node("Mul", {g + "/Mul", m.ConstFloat(g + "/Constant_2", 0.5f)}, {g + "/out"},
             g + "/Mul_1");
    } else {  // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) (gelu_new)
      m.Node("Mul", {f, m.ConstFloat(g + "/Constant", 0.5f)}, {g + "/half"}, g + "/Mul");
      m.Node("Pow", {f, m.ConstFloat(g + "/Constant_1", 3.0f)}, {g + "/Pow"}, g + "/Pow");
      m.Node("Mul", {m.ConstFloat(g + "/Constant_2", 0.044715f), g + "/Pow"}, {g + "/Mul_1"},
             g + "/Mul_1");
      m.Node("Add", {f, g + "/Mul_1"}, {g + "/Add"}, g + "/Add");
      m.Node("Mul", {m.ConstFloat(g + "/Constant_3", 0.7978846f), g + "/Add"}, {g + "/Mul_2"},
             g + "/Mul_2");
      m.Node("Tanh", {g + "/Mul_2"}, {g + "/Tanh"}, g + "/Tanh");
      m.Node("Add", {m.ConstFloat(g + "/Constant_4", 1.0f), g + "/Tanh"}, {g + "/Add_1"},
             g + "/Add_1");
      m.Node("Mul", {g + "/half", g + "/Add_1"}, {g + "/out"}, g + "/Mul_3");
    }
    const std::string proj =
        linear(p + "/mlp/c_proj", w + ".mlp.c_proj", g + "/out", d.ffn, d.hidden);
    m.Node("Add", {h1, proj}, {p + "/Add_1_output_0"}, p + "/Add_1");
    x = p + "/Add_1_output_0";
  }
  const std::string lnf = layer_norm("/transformer/ln_f", "transformer.ln_f", x);
  // hidden_states.view((-1,) + input_shape[1:] + (hidden,))
  m.Node("Slice",
         {"/transformer/Shape_output_0", m.ConstInts("/transformer/Constant_3", {1}, {1}),
          m.ConstInts("/transformer/Constant_4", {1}, {std::numeric_limits<std::int64_t>::max()})},
         {"/transformer/Slice_output_0"}, "/transformer/Slice");
  ModelBuilder::Int(
      m.Node("Concat",
             {m.ConstInts("/transformer/Constant_5", {1}, {-1}), "/transformer/Slice_output_0",
              m.ConstInts("/transformer/Constant_6", {1}, {d.hidden})},
             {"/transformer/Concat_1_output_0"}, "/transformer/Concat_1"),
      "axis", 0);
  m.Node("Reshape", {lnf, "/transformer/Concat_1_output_0"}, {"/transformer/out"},
         "/transformer/Reshape_2");
  if (tied) {
    ModelBuilder::Ints(m.Node("Transpose", {"transformer.wte.weight"}, {"/lm_head/weight_T"},
                              "/lm_head/Transpose"),
                       "perm", {1, 0});
    m.Node("MatMul", {"/transformer/out", "/lm_head/weight_T"}, {"logits"}, "/lm_head/MatMul");
  } else {
    m.Init("lm_head.weight", {d.hidden, d.vocab});  // nn.Linear's weight, folded transposed
    m.Node("MatMul", {"/transformer/out", "lm_head.weight"}, {"logits"}, "/lm_head/MatMul");
  }
  m.Output("logits");
  return m.Write(file);
}

// The zoo's GPT in the same small config.
WorkloadConfig SmallGpt(std::vector<std::string> overrides) {
  return ParseWorkloadConfig(R"([model]
family = "gpt"
vocab = 512
hidden = 128
layers = 2
heads = 4
ffn = 512
max_positions = 64
tie_embeddings = true

[training]
micro_batch = 2
sequence = 64
)",
                             "gpt-small-test.toml", overrides);
}

TEST(OnnxImport, GptFromOnnxGivesTheZooStep) {
  const ArchConfig arch = LoadArchConfig("");
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied LM head" : "untied LM head");
    const WorkloadConfig config =
        SmallGpt({std::string("model.tie_embeddings=") + (tied ? "true" : "false")});
    const TrainingStep zoo = BuildTrainingStep(config);
    const TrainingStep onnx =
        BuildTrainingStep(ImportOnnx(GptOnnx({}, tied, "gpt.onnx"), config), config);
    // wte 512x128 + wpe 64x128 + 2 blocks x (4 x (128x128 + 128) + 128x512 + 512 + 512x128 +
    // 128 + 2 LayerNorms x 256) + ln_f 256 (+ an untied 128x512 head).
    const std::uint64_t block = 4 * (16384 + 128) + 65536 + 512 + 65536 + 128 + 2 * 256;
    EXPECT_EQ(onnx.parameters, 65536 + 8192 + 2 * block + 256 + (tied ? 0 : 65536));
    // Forward MACs x 2 over 2 x 64 = 128 tokens: per block q, k, v, o 128x128, fc and proj
    // 128x512, QK^T and AV over 2 x 4 heads of 64x64x32; the LM head 128x512.
    const std::uint64_t per_block =
        2ull * 128 * (4 * 128 * 128 + 2 * 128 * 512) + 2 * 2ull * 8 * 64 * 64 * 32;
    EXPECT_EQ(onnx.phase(Phase::kForward).matmul_flops, 2 * per_block + 2ull * 128 * 128 * 512);
    ExpectSameStep(onnx, zoo);
    EXPECT_EQ(RunTrainingStep(arch, onnx).step_ns, RunTrainingStep(arch, zoo).step_ns);
  }
}

TEST(OnnxImport, GptExportedBeforeOpset17WithDecomposedLayerNormGivesTheZooStep) {
  const WorkloadConfig config = SmallGpt({});
  const TrainingStep zoo = BuildTrainingStep(config);
  const TrainingStep onnx =
      BuildTrainingStep(ImportOnnx(GptOnnx({}, true, "gpt_opset14.onnx", 14), config), config);
  ExpectSameStep(onnx, zoo);
}

// GPT-2's fused c_attn split into q, k, v: three projections with their slices of the weight
// and bias, as the zoo's separate q, k, v.
TEST(OnnxImport, GptWithFusedQkvSplitGivesTheZooStep) {
  const WorkloadConfig config = SmallGpt({});
  const TrainingStep zoo = BuildTrainingStep(config);
  const TrainingStep onnx =
      BuildTrainingStep(ImportOnnx(GptOnnx({}, true, "gpt_c_attn.onnx", 17, true), config), config);
  ExpectSameStep(onnx, zoo);
  const ArchConfig arch = LoadArchConfig("");
  EXPECT_EQ(RunTrainingStep(arch, onnx).step_ns, RunTrainingStep(arch, zoo).step_ns);
}

TEST(OnnxImport, GptFromOnnxWithRecomputeAndAccumulationMatchesTheZoo) {
  for (const char* recompute : {"selective", "full"}) {
    SCOPED_TRACE(recompute);
    const WorkloadConfig config =
        SmallGpt({std::string("training.recompute=") + recompute, "training.micro_batch=1",
                  "training.sequence=32", "training.grad_accum_steps=3"});
    const TrainingStep zoo = BuildTrainingStep(config);
    const TrainingStep onnx =
        BuildTrainingStep(ImportOnnx(GptOnnx({}, true, "gpt_recompute.onnx"), config), config);
    EXPECT_EQ(onnx.tokens_per_step, 96u);  // 1 x 32 tokens x 3 micro-batches
    ExpectSameStep(onnx, zoo);
  }
}

// A Reshape target computed by the less common folded ops: ConstantOfShape, Equal, Where,
// Expand, Split, Range, Mul and Concat on constants and shapes.
TEST(OnnxImport, ShapeComputationsFoldToStaticReshapeTargets) {
  ModelBuilder m;
  m.Input("x", {-1, 64});
  m.Init("w", {16, 8});
  m.Node("Shape", {"x"}, {"shape"}, "shape");  // [b, 64]
  // Split [b, 64] into [b] and [64]; 64 / 4 = 16 via Div, and -1 from Where(Equal(...)).
  ModelBuilder::Int(m.Node("Split", {"shape"}, {"b", "c"}, "split"), "axis", 0);
  m.Node("Div", {"c", m.ConstInts("four", {1}, {4})}, {"c4"}, "div");
  m.Node("ConstantOfShape", {m.ConstInts("one", {1}, {1})}, {"zeros"}, "zeros");  // float [0]
  m.Node("Range",
         {m.ConstInts("r0", {}, {0}), m.ConstInts("r1", {}, {2}), m.ConstInts("r2", {}, {1})},
         {"range"}, "range");                                                     // [0, 1]
  m.Node("Equal", {"range", m.ConstInts("zero", {1}, {0})}, {"first"}, "equal");  // [1, 0]
  m.Node("Where", {"first", m.ConstInts("minus1", {1}, {-1}), "c4"}, {"lead"}, "where");
  m.Node("Expand", {"c4", m.ConstInts("one_dim", {1}, {1})}, {"c4e"}, "expand");
  ModelBuilder::Int(m.Node("Concat", {"lead", "c4e"}, {"target"}, "concat"), "axis", 0);
  // target = [-1, 16, 16]: x [b, 64] -> [4b, 16] (the -1 slot and the 16 after it).
  m.Node("Slice", {"target", m.ConstInts("s0", {1}, {1}), m.ConstInts("s1", {1}, {3})}, {"tail"},
         "slice");                                                                   // [16, 16]
  m.Node("Mul", {"tail", m.ConstInts("zero_one", {2}, {0, 1})}, {"tail01"}, "mul");  // [0, 16]
  m.Node("Sub", {"tail01", m.ConstInts("fix", {2}, {1, 0})}, {"shape2"}, "sub");     // [-1, 16]
  m.Node("Reshape", {"x", "shape2"}, {"rows"}, "reshape");
  m.Node("MatMul", {"rows", "w"}, {"y"}, "mm");
  m.Output("y");
  const WorkloadConfig config =
      LoadWorkloadConfig(WorkloadPresetPath("mlp"), {"training.micro_batch=8"});
  const ForwardGraph fg = ImportOnnx(m.Write("folding.onnx"), config);
  ASSERT_EQ(fg.graph.ops().size(), 2u);  // matmul and the appended loss
  const GraphOp& mm = fg.graph.op(0);
  EXPECT_EQ(mm.matmul.m, 32u);  // 8 x 64 elements as rows of 16
  EXPECT_EQ(mm.matmul.k, 16u);
  EXPECT_EQ(mm.matmul.n, 8u);
}

// Position ids computed in the graph (Range over the sequence length, Unsqueeze): an
// embedding of constant ids, [1, s] rows, added by broadcast.
TEST(OnnxImport, ComputedPositionIdsAreAnEmbeddingOfConstantIds) {
  ModelBuilder m;
  m.Input("ids", {-1, -1}, onnx::TensorProto::INT64);
  m.Init("wte", {100, 32});
  m.Init("wpe", {16, 32});
  m.Node("Shape", {"ids"}, {"shape"}, "shape");
  m.Node("Gather", {"shape", m.ConstInts("one", {}, {1})}, {"seq"}, "seq");
  m.Node("Range", {m.ConstInts("zero", {}, {0}), "seq", m.ConstInts("step", {}, {1})}, {"pos"},
         "range");
  m.Node("Unsqueeze", {"pos", m.ConstInts("axis", {1}, {0})}, {"pos2"}, "unsqueeze");
  m.Node("Gather", {"wte", "ids"}, {"tok"}, "wte");
  m.Node("Gather", {"wpe", "pos2"}, {"pe"}, "wpe");
  m.Node("Add", {"tok", "pe"}, {"h"}, "add");
  m.Output("h");
  const WorkloadConfig config = LoadWorkloadConfig(
      WorkloadPresetPath("gpt2-small"), {"training.micro_batch=4", "training.sequence=16"});
  const ForwardGraph fg = ImportOnnx(m.Write("positions.onnx"), config);
  ASSERT_GE(fg.graph.ops().size(), 3u);
  EXPECT_EQ(fg.graph.op(0).rows, 64u);  // 4 x 16 token ids
  EXPECT_EQ(fg.graph.op(1).kind, OpKind::kEmbedding);
  EXPECT_EQ(fg.graph.op(1).rows, 16u);  // one row per position, shared by the batch
  EXPECT_EQ(fg.graph.ParameterCount(), 100u * 32 + 16 * 32);
}

TEST(OnnxImport, GemmAttributesAndSoftmaxAxis) {
  ModelBuilder m;
  m.Input("x", {8, 32});
  m.Init("w", {16, 32});  // [N, K]: transB
  m.Init("c", {16});
  m.Init("w2", {16, 4});
  onnx::NodeProto* g1 = m.Node("Gemm", {"x", "w", "c"}, {"y1"}, "gemm_tb");
  ModelBuilder::Int(g1, "transB", 1);
  onnx::AttributeProto* alpha = g1->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.5f);                         // a free scale
  m.Node("Transpose", {"y1"}, {"y1t"}, "t");  // [16, 8], read by transA
  onnx::NodeProto* g2 = m.Node("Gemm", {"y1t", "w2", "c"}, {"y2"}, "gemm_ta_beta0");
  ModelBuilder::Int(g2, "transA", 1);
  onnx::AttributeProto* beta = g2->add_attribute();
  beta->set_name("beta");
  beta->set_type(onnx::AttributeProto::FLOAT);
  beta->set_f(0.0f);  // C dropped
  ModelBuilder::Int(m.Node("Softmax", {"y2"}, {"p"}, "softmax_axis0"), "axis", 0);
  m.Output("p");
  const ForwardGraph fg =
      ImportOnnx(m.Write("gemm.onnx"), LoadWorkloadConfig(WorkloadPresetPath("mlp")));
  std::vector<OpKind> kinds;
  for (const GraphOp& op : fg.graph.ops()) kinds.push_back(op.kind);
  EXPECT_EQ(kinds, (std::vector<OpKind>{OpKind::kMatmul, OpKind::kBiasAdd, OpKind::kMatmul,
                                        OpKind::kSoftmax, OpKind::kCrossEntropy}));
  const MatmulDims& d1 = fg.graph.op(0).matmul;
  EXPECT_EQ(d1.m, 8u);
  EXPECT_EQ(d1.k, 32u);
  EXPECT_EQ(d1.n, 16u);
  EXPECT_TRUE(d1.transpose_b);
  // transA of the transposed view [16, 8] of y1 [8, 16]: y1 read as stored, no transpose.
  const MatmulDims& d2 = fg.graph.op(2).matmul;
  EXPECT_EQ(d2.m, 8u);
  EXPECT_EQ(d2.k, 16u);
  EXPECT_EQ(d2.n, 4u);
  EXPECT_FALSE(d2.transpose_a);
  // Softmax over axis 0 of [8, 4]: 4 rows of 8.
  EXPECT_EQ(fg.graph.op(3).rows, 4u);
  EXPECT_EQ(fg.graph.op(3).cols, 8u);
}

TEST(OnnxImport, ConvGroupsDilationsAndUnresolvedReshapesNameTheNode) {
  const WorkloadConfig config = LoadWorkloadConfig(WorkloadPresetPath("mlp"));
  // A depthwise 3x3 (group=8) and a dilated 3x3 (dilations 2: a 5x5 span) over 8 x 16 x 16.
  for (const char* attr : {"group", "dilations"}) {
    ModelBuilder m;
    m.Input("images", {1, 8, 16, 16});
    const bool group = std::string(attr) == "group";
    m.Init("w", {8, group ? 1 : 8, 3, 3});
    onnx::NodeProto* c = m.Node("Conv", {"images", "w"}, {"y"}, "conv");
    if (group) {
      ModelBuilder::Int(c, "group", 8);
    } else {
      ModelBuilder::Ints(c, "dilations", {2, 2});
    }
    m.Output("y");
    const ForwardGraph fg = ImportOnnx(m.Write(std::string(attr) + ".onnx"), config);
    const GraphOp& op = fg.graph.op(0);
    ASSERT_EQ(op.kind, OpKind::kConv2d);
    EXPECT_EQ(op.conv.groups, group ? 8u : 1u);
    EXPECT_EQ(op.conv.dilation, group ? 1u : 2u);
    // depthwise: 14 x 14 outputs x 8 channels x 1 input channel x 9 taps = 14,112 MACs;
    // dilated: 12 x 12 outputs x 8 x 8 channels x 9 taps = 82,944 MACs.
    EXPECT_EQ(op.conv.h_out, group ? 14u : 12u);
    EXPECT_EQ(op.matmul_flops, group ? 2u * 14112 : 2u * 82944);
  }
  // A group count that does not divide the channels, unequal dilations: errors naming both.
  for (const char* attr : {"group", "dilations"}) {
    ModelBuilder m;
    m.Input("images", {1, 8, 16, 16});
    const bool group = std::string(attr) == "group";
    m.Init("w", {8, 8, 3, 3});
    onnx::NodeProto* c = m.Node("Conv", {"images", "w"}, {"y"}, "bad");
    if (group) {
      ModelBuilder::Int(c, "group", 3);
    } else {
      ModelBuilder::Ints(c, "dilations", {2, 1});
    }
    m.Output("y");
    EXPECT_THAT([&] { ImportOnnx(m.Write(std::string(attr) + "_bad.onnx"), config); },
                ::testing::ThrowsMessage<InputError>(
                    HasSubstr(group ? "node 'bad' (Conv): attribute group=3"
                                    : "node 'bad' (Conv): attribute dilations=[2,1]")));
  }
  // A Reshape target read from a data input cannot be resolved statically.
  ModelBuilder m;
  m.Input("x", {4, 8});
  m.Input("target", {2}, onnx::TensorProto::INT64);
  m.Node("Reshape", {"x", "target"}, {"y"}, "dynamic_reshape");
  m.Output("y");
  EXPECT_THAT([&] { ImportOnnx(m.Write("dynamic.onnx"), config); },
              ::testing::ThrowsMessage<InputError>(
                  HasSubstr("node 'dynamic_reshape' (Reshape): its target shape 'target' cannot "
                            "be resolved statically")));
}

// Shape-computation ops on activations (outside the recognised patterns) name the node.
TEST(OnnxImport, ShapeOnlyOpsOnActivationsNameTheNode) {
  ModelBuilder m;
  m.Input("x", {4, 8});
  m.Node("Relu", {"x"}, {"r"}, "relu");
  m.Node("Floor", {"r"}, {"f"}, "floor_activation");
  m.Node("Add", {"f", "r"}, {"y"}, "add");
  m.Output("y");
  EXPECT_THAT(
      [&] { ImportOnnx(m.Write("floor_act.onnx"), LoadWorkloadConfig(WorkloadPresetPath("mlp"))); },
      ::testing::ThrowsMessage<InputError>(
          HasSubstr("node 'floor_activation' (Floor): supported only in shape computations")));
}

TEST(OnnxImport, UnsupportedOpsAreListedInOneError) {
  ModelBuilder m;
  m.Input("boxes", {1, 100, 4});
  m.Input("scores", {1, 1, 100});
  m.Init("k", {1}, {5});
  m.Node("TopK", {"scores", "k"}, {"v1", "i1"}, "topk1");
  m.Node("TopK", {"v1", "k"}, {"v2", "i2"}, "topk2");
  m.Node("NonMaxSuppression", {"boxes", "scores"}, {"sel"}, "nms");
  m.Node("Einsum", {"v2"}, {"s"}, "einsum");
  m.Node("Relu", {"s"}, {"out"}, "relu");
  m.Output("out");
  const std::string path = m.Write("unsupported.onnx");
  try {
    ImportOnnx(path, LoadWorkloadConfig(WorkloadPresetPath("mlp")));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(
        msg, HasSubstr(path + ": unsupported ONNX ops: Einsum x1, NonMaxSuppression x1, TopK x2"));
    EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line
  }
}

// ---------------------------------------------------------------------------------------
// Standalone element-wise functions, Concat, Split, Slice and Gather of activations.

WorkloadConfig Bf16Config(std::uint64_t micro_batch = 2) {
  return LoadWorkloadConfig(
      WorkloadPresetPath("mlp"),
      {"training.micro_batch=" + std::to_string(micro_batch), "training.precision=bf16_mixed"});
}

// The forward op named `name`; the ops of `kind` derived from forward op `fwd`.
const GraphOp* FindOp(const Graph& g, const std::string& name) {
  for (const GraphOp& op : g.ops()) {
    if (op.name == name && op.role == OpRole::kForward) return &op;
  }
  return nullptr;
}
std::vector<const GraphOp*> GradOps(const Graph& g, const GraphOp& fwd, OpKind kind) {
  std::vector<const GraphOp*> out;
  for (const GraphOp& op : g.ops()) {
    if (op.role != OpRole::kForward && op.kind == kind && op.forward_op < g.ops().size() &&
        g.op(op.forward_op).name == fwd.name) {
      out.push_back(&op);
    }
  }
  return out;
}

// x [2, 128, 768] -> MatMul by a weight (so what follows needs gradients) -> f -> output
// (cross-entropy appended). Per function: FLOPs per element forward and backward, what the
// gradient reads besides dy, and the kernel class each is timed with.
TEST(OnnxImport, StandaloneUnaryOpsImportAndTrainWithTheirCost) {
  struct Case {
    const char* type;
    UnaryFn fn;
    std::uint64_t flops, grad_flops;
    UnarySaved saved;
    const char *kernel, *grad_kernel;  // relu: one input, one vector op; add: two inputs
  };
  const std::vector<Case> cases = {
      // tanh 1; dy * (1 - y^2): square, subtract, multiply
      {"Tanh", UnaryFn::kTanh, 1, 3, UnarySaved::kOutput, "gelu", "add"},
      // exp, add, divide; dy * y * (1 - y)
      {"Sigmoid", UnaryFn::kSigmoid, 3, 3, UnarySaved::kOutput, "gelu", "add"},
      // erf 1; dy * 2/sqrt(pi) * exp(-x^2): square, exp, scale, multiply
      {"Erf", UnaryFn::kErf, 1, 4, UnarySaved::kInput, "gelu", "gelu"},
      {"Exp", UnaryFn::kExp, 1, 1, UnarySaved::kOutput, "gelu", "add"},    // exp; dy * y
      {"Log", UnaryFn::kLog, 1, 1, UnarySaved::kInput, "gelu", "add"},     // log; dy / x
      {"Sqrt", UnaryFn::kSqrt, 1, 2, UnarySaved::kOutput, "gelu", "add"},  // sqrt; dy * 0.5 / y
      // divide; -dy * y^2
      {"Reciprocal", UnaryFn::kReciprocal, 1, 2, UnarySaved::kOutput, "relu", "add"},
      {"Neg", UnaryFn::kNeg, 1, 1, UnarySaved::kNothing, "relu", "add"},  // -x; -dy
      {"Abs", UnaryFn::kAbs, 1, 2, UnarySaved::kInput, "relu", "add"},    // abs; sign(x) * dy
      // exp(p log x); dy * p * x^(p-1): log, multiply, exp, 2 multiplies
      {"Pow", UnaryFn::kPow, 3, 5, UnarySaved::kInput, "gelu", "gelu"},
      // multiply, select; both again on dy
      {"LeakyRelu", UnaryFn::kLeakyRelu, 2, 2, UnarySaved::kInput, "relu", "add"},
      // max, min; two compares and a select on dy
      {"Clip", UnaryFn::kClip, 2, 3, UnarySaved::kInput, "relu", "add"},
      // exp, add, log; dy * sigmoid(x): 3 + 1
      {"Softplus", UnaryFn::kSoftplus, 3, 4, UnarySaved::kInput, "gelu", "gelu"},
      // a*x + b, max, min; a*x + b, two compares, select of a * dy
      {"HardSigmoid", UnaryFn::kHardSigmoid, 4, 5, UnarySaved::kInput, "relu", "add"},
      // hard sigmoid 4 + product; two compares, (2x + 3) / 6, select, product
      {"HardSwish", UnaryFn::kHardSwish, 5, 6, UnarySaved::kInput, "relu", "add"},
      // exp, subtract, multiply, select; dy or dy * (y + a): add, multiply, select
      {"Elu", UnaryFn::kElu, 4, 3, UnarySaved::kOutput, "gelu", "add"},
  };
  const WorkloadConfig config = Bf16Config();
  const ArchConfig arch = LoadArchConfig("");
  constexpr std::uint64_t kElements = 2 * 128 * 768;  // 196,608 elements of x and y
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    ModelBuilder m;
    m.Input("x", {-1, 128, 768});
    m.Init("w", {768, 768});
    m.Node("MatMul", {"x", "w"}, {"h"}, "proj");
    std::vector<std::string> in = {"h"};
    if (std::string(c.type) == "Pow") {
      m.Init("p", {});  // a constant exponent
      in.push_back("p");
    } else if (std::string(c.type) == "Clip") {
      m.Init("lo", {});
      m.Init("hi", {});
      in.insert(in.end(), {"lo", "hi"});
    }
    m.Node(c.type, in, {"y"}, "f");
    m.Output("y");
    const TrainingStep step = BuildTrainingStep(
        ImportOnnx(m.Write(std::string("unary_") + c.type + ".onnx"), config), config);
    EXPECT_EQ(step.parameters, 768u * 768);  // w only: exponent and bounds are constants
    const GraphOp* f = FindOp(step.graph, "f");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->kind, OpKind::kUnary);
    EXPECT_EQ(f->unary, c.fn);
    EXPECT_EQ(f->flops, kElements * c.flops);
    EXPECT_EQ(f->matmul_flops, 0u);
    EXPECT_EQ(f->bytes_read, kElements * 2);     // x read once, bf16
    EXPECT_EQ(f->bytes_written, kElements * 2);  // y written once, bf16
    const std::vector<const GraphOp*> grads = GradOps(step.graph, *f, OpKind::kUnaryGrad);
    ASSERT_EQ(grads.size(), 1u);
    const GraphOp& g = *grads[0];
    EXPECT_EQ(g.unary, c.fn);
    EXPECT_EQ(g.flops, kElements * c.grad_flops);
    // dy (and the saved x or y) read, dx written, all bf16.
    EXPECT_EQ(g.bytes_read, kElements * 2 * (c.saved == UnarySaved::kNothing ? 1 : 2));
    EXPECT_EQ(g.bytes_written, kElements * 2);
    ASSERT_EQ(g.inputs.size(), c.saved == UnarySaved::kNothing ? 1u : 2u);
    if (c.saved == UnarySaved::kInput) {
      EXPECT_EQ(g.inputs[1], f->inputs[0]);
    } else if (c.saved == UnarySaved::kOutput) {
      EXPECT_EQ(g.inputs[1], f->outputs[0]);
    }
    EXPECT_EQ(step.graph.tensor(g.outputs.at(0)).kind, TensorKind::kGradient);  // d:h
    EXPECT_FALSE(f->fused());  // no epilogue step for a generic function: never fused
    EXPECT_EQ(LowerOp(arch, step.graph, *f, Dtype::kBf16).at(0).ew.kind, c.kernel);
    EXPECT_EQ(LowerOp(arch, step.graph, g, Dtype::kBf16).at(0).ew.kind, c.grad_kernel);
  }
}

// Division by an activation (x / a row norm, as decomposed norms export it): the reciprocal
// of the divisor, then a product; both train.
TEST(OnnxImport, DivisionByAnActivationIsAReciprocalThenAProduct) {
  const WorkloadConfig config = Bf16Config();
  ModelBuilder m;
  m.Input("x", {-1, 128, 768});
  m.Init("w", {768, 768});
  m.Init("v", {768, 1});
  m.Node("MatMul", {"x", "w"}, {"h"}, "proj");
  m.Node("MatMul", {"x", "v"}, {"n"}, "norm");  // [b, 128, 1]: one divisor per row
  m.Node("Div", {"h", "n"}, {"y"}, "f");
  m.Output("y");
  const TrainingStep step =
      BuildTrainingStep(ImportOnnx(m.Write("div_tensor.onnx"), config), config);
  EXPECT_EQ(step.parameters, 768u * 768 + 768);
  const GraphOp* r = FindOp(step.graph, "f.reciprocal");
  const GraphOp* f = FindOp(step.graph, "f");
  ASSERT_NE(r, nullptr);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(r->kind, OpKind::kUnary);
  EXPECT_EQ(r->unary, UnaryFn::kReciprocal);
  EXPECT_EQ(r->flops, 2u * 128);  // one per divisor: batch 2 x 128 rows
  EXPECT_EQ(f->kind, OpKind::kMul);
  EXPECT_EQ(f->inputs.size(), 2u);
  EXPECT_EQ(f->inputs[1], r->outputs[0]);  // h x (1 / n)
  EXPECT_EQ(f->flops, 2u * 128 * 768);
  EXPECT_EQ(GradOps(step.graph, *r, OpKind::kUnaryGrad).size(), 1u);  // d:n
  EXPECT_EQ(GradOps(step.graph, *f, OpKind::kMulGrad).size(), 1u);    // d:h and d:(1/n)
}

// Two projections of different widths concatenated along the features, then a learned token
// (a float initializer: a parameter) concatenated along the batch.
TEST(OnnxImport, ConcatOfActivationsIsACopyWhoseGradientIsASplit) {
  ModelBuilder m;
  m.Input("x", {-1, 128, 768});
  m.Init("wa", {768, 768});
  m.Init("wb", {768, 256});
  m.Init("tok", {1, 128, 1024});
  m.Init("wo", {1024, 10});
  m.Node("MatMul", {"x", "wa"}, {"a"}, "proj_a");
  m.Node("MatMul", {"x", "wb"}, {"b"}, "proj_b");
  ModelBuilder::Int(m.Node("Concat", {"a", "b"}, {"ab"}, "cat_features"), "axis", -1);
  ModelBuilder::Int(m.Node("Concat", {"ab", "tok"}, {"t"}, "cat_token"), "axis", 0);
  m.Node("MatMul", {"t", "wo"}, {"logits"}, "head");
  m.Output("logits");
  const WorkloadConfig config = Bf16Config();
  const TrainingStep step = BuildTrainingStep(ImportOnnx(m.Write("concat.onnx"), config), config);
  EXPECT_EQ(step.parameters, 768u * 768 + 768 * 256 + 128 * 1024 + 1024 * 10);  // with tok
  const GraphOp* features = FindOp(step.graph, "cat_features");
  const GraphOp* token = FindOp(step.graph, "cat_token");
  ASSERT_NE(features, nullptr);
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(features->kind, OpKind::kConcat);
  EXPECT_EQ(features->flops, 0u);               // a copy
  EXPECT_EQ(features->bytes_read, 524288u);     // 2 x 128 x (768 + 256) elements x 2 bytes
  EXPECT_EQ(features->bytes_written, 524288u);  // 2 x 128 x 1024 elements x 2 bytes
  EXPECT_EQ(features->rows, 256u);              // 2 x 128 rows of the output
  EXPECT_EQ(features->cols, 1024u);
  EXPECT_EQ(step.graph.tensor(token->outputs[0]).shape, (std::vector<std::uint64_t>{3, 128, 1024}));
  EXPECT_EQ(token->bytes_read, 786432u);     // (2 + 1) x 128 x 1024 elements x 2 bytes
  EXPECT_EQ(token->bytes_written, 786432u);  // 3 x 128 x 1024 elements x 2 bytes
  // Backward: each concat's output gradient split into its inputs' gradients.
  const std::vector<const GraphOp*> split_token = GradOps(step.graph, *token, OpKind::kSplit);
  ASSERT_EQ(split_token.size(), 1u);
  EXPECT_EQ(split_token[0]->outputs.size(), 2u);  // d:ab and the token's parameter gradient
  EXPECT_EQ(step.graph.tensor(split_token[0]->outputs[1]).kind, TensorKind::kParamGradient);
  EXPECT_EQ(split_token[0]->bytes_read, 786432u);     // the parts of dy it writes: all of it
  EXPECT_EQ(split_token[0]->bytes_written, 786432u);  // 3 x 128 x 1024 x 2 bytes
  EXPECT_EQ(split_token[0]->flops, 0u);
  const std::vector<const GraphOp*> split_features = GradOps(step.graph, *features, OpKind::kSplit);
  ASSERT_EQ(split_features.size(), 1u);
  EXPECT_EQ(split_features[0]->outputs.size(), 2u);      // d:a, d:b
  EXPECT_EQ(split_features[0]->bytes_read, 524288u);     // 2 x 128 x 1024 x 2 bytes
  EXPECT_EQ(split_features[0]->bytes_written, 524288u);  // 2 x 128 x (768 + 256) x 2 bytes
  EXPECT_EQ(split_features[0]->rows * split_features[0]->cols, 2u * 128 * 1024);
  const ArchConfig arch = LoadArchConfig("");
  EXPECT_EQ(LowerOp(arch, step.graph, *features, Dtype::kBf16).at(0).ew.kind, "add");
  EXPECT_GT(RunTrainingStep(arch, step).step_ns, 0.0);
}

// Split of an activation along the features into 512 + 128 + 128 (the last part unused),
// not read straight from a projection (so not the c_attn pattern); and a Slice keeping the
// first token.
TEST(OnnxImport, SplitAndSliceOfActivationsAreCopiesWhoseGradientsAreConcats) {
  ModelBuilder m;
  m.Input("x", {-1, 128, 768});
  m.Init("w", {768, 768});
  m.Init("wa", {512, 10});
  m.Init("wb", {128, 10});
  m.Init("wc", {768, 10});
  m.Node("MatMul", {"x", "w"}, {"h"}, "proj");
  m.Node("Relu", {"h"}, {"r"}, "relu");
  ModelBuilder::Int(m.Node("Split", {"r", m.ConstInts("sizes", {3}, {512, 128, 128})},
                           {"a", "b", "unused"}, "split"),
                    "axis", 2);
  m.Node("MatMul", {"a", "wa"}, {"la"}, "head_a");
  m.Node("MatMul", {"b", "wb"}, {"lb"}, "head_b");
  m.Node("Add", {"la", "lb"}, {"l"}, "sum");
  m.Node("Slice",
         {"r", m.ConstInts("starts", {1}, {0}), m.ConstInts("ends", {1}, {1}),
          m.ConstInts("axes", {1}, {1})},
         {"first"}, "first_token");
  m.Node("MatMul", {"first", "wc"}, {"lf"}, "head_first");
  ModelBuilder::Int(m.Node("Concat", {"l", "lf"}, {"logits"}, "cat"), "axis", 1);
  m.Output("logits");
  const WorkloadConfig config = Bf16Config();
  const TrainingStep step = BuildTrainingStep(ImportOnnx(m.Write("split.onnx"), config), config);
  // The projection stays one matmul (no "#part" parameters).
  EXPECT_EQ(step.parameters, 768u * 768 + 512 * 10 + 128 * 10 + 768 * 10);
  const GraphOp* split = FindOp(step.graph, "split");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->kind, OpKind::kSplit);
  ASSERT_EQ(split->outputs.size(), 3u);
  EXPECT_EQ(step.graph.tensor(split->outputs[2]).shape, (std::vector<std::uint64_t>{2, 128, 128}));
  EXPECT_EQ(split->flops, 0u);
  EXPECT_EQ(split->bytes_read, 393216u);     // 2 x 128 x 768 elements x 2 bytes: every part
  EXPECT_EQ(split->bytes_written, 393216u);  // 2 x 128 x (512 + 128 + 128) x 2 bytes
  EXPECT_EQ(split->cols, 128u);              // gcd of 512, 128, 128
  EXPECT_EQ(split->rows, 1536u);             // 196,608 elements / 128
  const GraphOp* slice = FindOp(step.graph, "first_token");
  ASSERT_NE(slice, nullptr);
  EXPECT_EQ(slice->kind, OpKind::kSplit);
  EXPECT_EQ(step.graph.tensor(slice->outputs[0]).shape, (std::vector<std::uint64_t>{2, 1, 768}));
  EXPECT_EQ(slice->flops, 0u);
  EXPECT_EQ(slice->bytes_read, 3072u);     // only the kept 2 x 1 x 768 elements x 2 bytes
  EXPECT_EQ(slice->bytes_written, 3072u);  // 2 x 1 x 768 elements x 2 bytes
  // Backward, in reverse order: the slice's gradient first writes d:r (the dropped tokens
  // as zeros), then the split's adds into it.
  const std::vector<const GraphOp*> pad = GradOps(step.graph, *slice, OpKind::kConcat);
  ASSERT_EQ(pad.size(), 1u);
  EXPECT_FALSE(pad[0]->Accumulates(0));
  EXPECT_EQ(pad[0]->bytes_read, 3072u);       // dy: 2 x 1 x 768 elements x 2 bytes
  EXPECT_EQ(pad[0]->bytes_written, 393216u);  // d:r: 2 x 128 x 768 elements x 2 bytes
  const std::vector<const GraphOp*> concat = GradOps(step.graph, *split, OpKind::kConcat);
  ASSERT_EQ(concat.size(), 1u);
  EXPECT_EQ(concat[0]->inputs.size(), 2u);  // d:a and d:b; the unused part adds nothing
  EXPECT_TRUE(concat[0]->Accumulates(0));
  // d:a, d:b (2 x 128 x (512 + 128) elements x 2 bytes) + d:r read to accumulate into
  // (2 x 128 x 768 x 2 bytes).
  EXPECT_EQ(concat[0]->bytes_read, 327680u + 393216u);
  EXPECT_EQ(concat[0]->bytes_written, 393216u);  // d:r
  const ArchConfig arch = LoadArchConfig("");
  EXPECT_GT(RunTrainingStep(arch, step).step_ns, 0.0);
}

// A BERT-like encoder block over token ids, then the pooler: the first token (PyTorch's
// x[:, 0], a Gather of index 0 along the sequence), a dense layer and Tanh, a classifier.
// h = 16, one head, ffn 64, 2 classes; micro-batch 2, sequence 8.
TEST(OnnxImport, BertBlockWithTanhPoolerImportsAndTrains) {
  ModelBuilder m;
  m.Input("ids", {-1, -1}, onnx::TensorProto::INT64);
  m.Init("wte", {50, 16});
  for (const char* ln : {"ln0", "ln1", "ln2"}) {
    m.Init(std::string(ln) + ".g", {16});
    m.Init(std::string(ln) + ".b", {16});
  }
  for (const char* w : {"wq", "wk", "wv", "wo"}) m.Init(w, {16, 16});
  m.Init("w1", {16, 64});
  m.Init("b1", {64});
  m.Init("w2", {64, 16});
  m.Init("pool.w", {16, 16});
  m.Init("pool.b", {16});
  m.Init("cls.w", {16, 2});
  m.Init("cls.b", {2});
  m.Init("scale", {});
  const std::string l = "/encoder/layer.0/";
  m.Node("Gather", {"wte", "ids"}, {"x"}, "/embeddings/Gather");
  m.Node("LayerNormalization", {"x", "ln0.g", "ln0.b"}, {"n0"}, "/embeddings/LayerNorm");
  for (const char* t : {"q", "k", "v"}) {
    m.Node("MatMul", {"n0", std::string("w") + t}, {l + t}, l + t + "/MatMul");
  }
  ModelBuilder::Ints(m.Node("Transpose", {l + "k"}, {l + "kt"}, l + "Transpose"), "perm",
                     {0, 2, 1});
  m.Node("MatMul", {l + "q", l + "kt"}, {l + "scores"}, l + "qk");
  m.Node("Div", {l + "scores", "scale"}, {l + "scaled"}, l + "scale");
  ModelBuilder::Int(m.Node("Softmax", {l + "scaled"}, {l + "probs"}, l + "softmax"), "axis", -1);
  m.Node("MatMul", {l + "probs", l + "v"}, {l + "ctx"}, l + "av");
  m.Node("MatMul", {l + "ctx", "wo"}, {l + "o"}, l + "o");
  m.Node("Add", {"n0", l + "o"}, {l + "r1"}, l + "residual1");
  m.Node("LayerNormalization", {l + "r1", "ln1.g", "ln1.b"}, {l + "n1"}, l + "ln1");
  m.Node("MatMul", {l + "n1", "w1"}, {l + "f1"}, l + "ffn1");
  m.Node("Add", {l + "f1", "b1"}, {l + "f1b"}, l + "ffn1_bias");
  m.Node("Gelu", {l + "f1b"}, {l + "g"}, l + "gelu");
  m.Node("MatMul", {l + "g", "w2"}, {l + "f2"}, l + "ffn2");
  m.Node("Add", {l + "n1", l + "f2"}, {l + "r2"}, l + "residual2");
  m.Node("LayerNormalization", {l + "r2", "ln2.g", "ln2.b"}, {"hidden"}, l + "ln2");
  ModelBuilder::Int(m.Node("Gather", {"hidden", m.ConstInts("/pooler/Constant", {}, {0})},
                           {"first"}, "/pooler/Gather"),
                    "axis", 1);
  m.Node("Gemm", {"first", "pool.w", "pool.b"}, {"pooled"}, "/pooler/dense/Gemm");
  m.Node("Tanh", {"pooled"}, {"pooler_output"}, "/pooler/activation/Tanh");
  m.Node("Gemm", {"pooler_output", "cls.w", "cls.b"}, {"logits"}, "/classifier/Gemm");
  m.Output("logits");
  const WorkloadConfig config = LoadWorkloadConfig(
      WorkloadPresetPath("gpt2-small"),
      {"training.micro_batch=2", "training.sequence=8", "training.precision=bf16_mixed"});
  const TrainingStep step = BuildTrainingStep(ImportOnnx(m.Write("bert.onnx"), config), config);
  EXPECT_EQ(step.forward_tokens, 16u);  // 2 samples x 8 tokens
  const GraphOp* first = FindOp(step.graph, "/pooler/Gather");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->kind, OpKind::kSplit);  // a copy of the first token of each sample
  EXPECT_EQ(step.graph.tensor(first->outputs[0]).shape, (std::vector<std::uint64_t>{2, 16}));
  EXPECT_EQ(first->bytes_read, 64u);     // 2 x 16 elements x 2 bytes, the picked token only
  EXPECT_EQ(first->bytes_written, 64u);  // 2 x 16 elements x 2 bytes
  const GraphOp* tanh = FindOp(step.graph, "/pooler/activation/Tanh");
  ASSERT_NE(tanh, nullptr);
  EXPECT_EQ(tanh->kind, OpKind::kUnary);
  EXPECT_EQ(tanh->unary, UnaryFn::kTanh);
  EXPECT_EQ(tanh->flops, 32u);                              // 2 x 16 elements x 1 (tanh)
  EXPECT_EQ(tanh->bytes_read + tanh->bytes_written, 128u);  // 2 x 16 x 2 bytes in and out
  const std::vector<const GraphOp*> dtanh = GradOps(step.graph, *tanh, OpKind::kUnaryGrad);
  ASSERT_EQ(dtanh.size(), 1u);
  EXPECT_EQ(dtanh[0]->flops, 96u);  // 2 x 16 elements x 3 (dy * (1 - y^2))
  const std::vector<const GraphOp*> dfirst = GradOps(step.graph, *first, OpKind::kConcat);
  ASSERT_EQ(dfirst.size(), 1u);
  EXPECT_EQ(dfirst[0]->bytes_read, 64u);      // dy: 2 x 16 x 2 bytes
  EXPECT_EQ(dfirst[0]->bytes_written, 512u);  // d:hidden: 2 x 8 x 16 x 2 bytes (zeros but one)
  int layer0 = 0;
  for (const GraphOp& op : step.graph.ops()) layer0 += op.layer == 0 ? 1 : 0;
  EXPECT_GT(layer0, 0);  // "layer.0" numbered
  const ArchConfig arch = LoadArchConfig("");
  EXPECT_GT(RunTrainingStep(arch, step).step_ns, 0.0);
}

// x * Sigmoid(x) stays one silu next to a standalone Sigmoid (a unary op); a tensor
// concatenated with itself gets both parts of dy, the second by an accumulating split.
TEST(OnnxImport, SiluPatternNextToStandaloneSigmoidAndConcatOfOneTensorTwice) {
  ModelBuilder m;
  m.Input("x", {-1, 64});
  m.Init("w", {64, 64});
  m.Node("MatMul", {"x", "w"}, {"h"}, "proj");
  m.Node("Sigmoid", {"h"}, {"sig"}, "silu_sigmoid");
  m.Node("Mul", {"h", "sig"}, {"silu"}, "silu_mul");
  m.Node("Sigmoid", {"silu"}, {"gate"}, "gate");
  ModelBuilder::Int(m.Node("Concat", {"gate", "gate"}, {"y"}, "twice"), "axis", 0);
  m.Output("y");
  const WorkloadConfig config = Bf16Config();
  const TrainingStep step = BuildTrainingStep(ImportOnnx(m.Write("twice.onnx"), config), config);
  std::vector<OpKind> kinds;
  for (OpId i = 0; i < step.phase(Phase::kForward).ops.size(); ++i) {
    kinds.push_back(step.graph.op(step.phase(Phase::kForward).ops[i]).kind);
  }
  EXPECT_EQ(kinds, (std::vector<OpKind>{OpKind::kMatmul, OpKind::kSilu, OpKind::kUnary,
                                        OpKind::kConcat, OpKind::kCrossEntropy}));
  const GraphOp* twice = FindOp(step.graph, "twice");
  ASSERT_NE(twice, nullptr);
  EXPECT_EQ(twice->bytes_read, 512u);     // 2 x (2 x 64) elements x 2 bytes
  EXPECT_EQ(twice->bytes_written, 512u);  // 4 x 64 elements x 2 bytes
  const std::vector<const GraphOp*> splits = GradOps(step.graph, *twice, OpKind::kSplit);
  ASSERT_EQ(splits.size(), 2u);
  EXPECT_EQ(splits[0]->outputs, splits[1]->outputs);  // both into d:gate
  EXPECT_FALSE(splits[0]->Accumulates(0));
  EXPECT_TRUE(splits[1]->Accumulates(0));
  EXPECT_EQ(splits[0]->bytes_read, 256u);        // its half of dy: 2 x 64 x 2 bytes
  EXPECT_EQ(splits[1]->bytes_read, 256u + 256);  // its half, and d:gate to add into
  EXPECT_EQ(splits[1]->bytes_written, 256u);     // d:gate
}

// Bad uses of the new ops: one-line errors naming the node.
TEST(OnnxImport, BadConcatSplitGatherAndPowNameTheNode) {
  const WorkloadConfig config = Bf16Config();
  struct Bad {
    const char* file;
    std::function<void(ModelBuilder&)> build;
    const char* message;
  };
  const std::vector<Bad> cases = {
      {"pow_tensor.onnx",
       [](ModelBuilder& m) {
         m.Node("Pow", {"h", "h"}, {"y"}, "pow");
       },
       "node 'pow' (Pow): only a constant exponent is supported"},
      {"split_sizes.onnx",
       [](ModelBuilder& m) {
         m.Node("Relu", {"h"}, {"r"}, "relu");  // not read straight from a projection
         ModelBuilder::Int(
             m.Node("Split", {"r", m.ConstInts("sizes", {2}, {100, 100})}, {"y", "z"}, "bad_split"),
             "axis", -1);
       },
       "node 'bad_split' (Split): split sizes [100,100] do not cut axis 1 of [2,64] into 2 "
       "non-empty parts"},
      {"concat_rank.onnx",
       [](ModelBuilder& m) {
         m.Init("c", {2, 64, 1});
         ModelBuilder::Int(m.Node("Concat", {"h", "c"}, {"y"}, "bad_concat"), "axis", 0);
       },
       "node 'bad_concat' (Concat): inputs [2,64] and [2,64,1] differ outside axis 0"},
      {"concat_axis.onnx",
       [](ModelBuilder& m) {
         m.Node("Concat", {"h", "h"}, {"y"}, "no_axis");
       },
       "node 'no_axis' (Concat): missing attribute axis"},
      {"gather_ids.onnx",
       [](ModelBuilder& m) {
         m.Input("ids", {2}, onnx::TensorProto::INT64);
         m.Node("Gather", {"h", "ids"}, {"y"}, "dynamic_gather");
       },
       "node 'dynamic_gather' (Gather): its indices 'ids' cannot be resolved statically"},
      {"clip_bound.onnx",
       [](ModelBuilder& m) {
         m.Node("Clip", {"h", "h"}, {"y"}, "clip");
       },
       "node 'clip' (Clip): bound 'h' is an activation"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.file);
    ModelBuilder m;
    m.Input("x", {-1, 64});
    m.Init("w", {64, 64});
    m.Node("MatMul", {"x", "w"}, {"h"}, "proj");
    b.build(m);
    m.Output("y");
    const std::string path = m.Write(b.file);
    try {
      ImportOnnx(path, config);
      ADD_FAILURE() << "expected an InputError";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_THAT(msg, HasSubstr(path + ": " + b.message));
      EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line
    }
  }
}

TEST(OnnxImport, MissingGarbageAndEmptyFiles) {
  const WorkloadConfig config = LoadWorkloadConfig(WorkloadPresetPath("mlp"));
  const std::string missing = testing::TempDir() + "no_such_model.onnx";
  EXPECT_THAT([&] { ImportOnnx(missing, config); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(missing + ": cannot open")));
  const std::string garbage = testing::TempDir() + "garbage.onnx";
  std::ofstream(garbage) << "this is not an onnx model\n";
  EXPECT_THAT([&] { ImportOnnx(garbage, config); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(garbage + ": not an ONNX model")));
  const std::string empty = testing::TempDir() + "empty.onnx";
  std::ofstream(empty).flush();  // an empty file parses as an empty ModelProto: no graph
  EXPECT_THAT([&] { ImportOnnx(empty, config); },
              ::testing::ThrowsMessage<InputError>(HasSubstr(empty + ": not an ONNX model")));
}

struct CliResult {
  int exit_code = -1;
  std::string output;
};

CliResult RunSystole(const std::string& args) {
  CliResult r;
  FILE* pipe = popen((std::string(SYSTOLE_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(OnnxImport, CliRunsAnOnnxModelAndRejectsUnsupportedOps) {
  const CliResult ok = RunSystole("run --onnx " + TinyConvNet() + " --set training.micro_batch=4");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("tiny_conv training step"));
  ModelBuilder m;
  m.Input("x", {1, 8});
  m.Node("NonMaxSuppression", {"x"}, {"y"}, "nms");
  m.Output("y");
  const CliResult bad = RunSystole("run --onnx " + m.Write("nms.onnx"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;  // InputError
  EXPECT_THAT(bad.output, HasSubstr("unsupported ONNX ops: NonMaxSuppression x1"));
}

// systole run --onnx on the GPT export prints the zoo's step time, split and footprint.
TEST(OnnxImport, CliRunsTheGptExportLikeTheZoo) {
  const std::string toml = testing::TempDir() + "onnx_" + std::to_string(getpid()) + "_gpt.toml";
  std::ofstream(toml) << "[model]\nfamily = \"gpt\"\nvocab = 512\nhidden = 128\nlayers = 2\n"
                         "heads = 4\nffn = 512\nmax_positions = 64\ntie_embeddings = true\n"
                         "[training]\nmicro_batch = 2\nsequence = 64\n";
  const CliResult zoo = RunSystole("run --workload " + toml);
  const CliResult onnx =
      RunSystole("run --onnx " + GptOnnx({}, true, "gpt_cli.onnx") + " --workload " + toml);
  ASSERT_EQ(zoo.exit_code, 0) << zoo.output;
  ASSERT_EQ(onnx.exit_code, 0) << onnx.output;
  // Every summary line but the first (the model's name) and the top ops (op names).
  auto summary = [](const std::string& out) {
    std::string kept;
    std::size_t start = out.find('\n') + 1;
    while (start < out.size()) {
      const std::size_t end = out.find('\n', start);
      const std::string line = out.substr(start, end - start);
      if (line.rfind("top ops", 0) != 0 && line.rfind("simulated", 0) != 0) kept += line + "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return kept;
  };
  EXPECT_THAT(summary(onnx.output), HasSubstr("step time"));
  EXPECT_EQ(summary(onnx.output), summary(zoo.output));
}

}  // namespace
}  // namespace systole
