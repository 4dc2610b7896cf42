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
#include <string>
#include <vector>

#include "sim/common/error.h"
#include "sim/config/arch_config.h"
#include "sim/step_run.h"
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
  EXPECT_TRUE(qk->attention_core);
  EXPECT_EQ(qk->layer, 0);
  const TrainingStep step = BuildTrainingStep(ImportOnnx(path, config), config);
  // 50x16 table + 16 + 16 + 4 x 16x16 + 16x50 head.
  EXPECT_EQ(step.parameters, 800u + 32 + 1024 + 800);
  // Selective recomputation re-runs the attention core: QK^T, its scaling by a constant,
  // softmax and AV.
  std::uint64_t recomputed = 0;
  for (OpId id : step.phase(Phase::kBackward).ops) {
    recomputed += step.graph.op(id).role == OpRole::kRecompute;
  }
  EXPECT_EQ(recomputed, 4u);
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

TEST(OnnxImport, UnsupportedOpsAreListedInOneError) {
  ModelBuilder m;
  m.Input("boxes", {1, 100, 4});
  m.Input("scores", {1, 1, 100});
  m.Init("k", {1}, {5});
  m.Node("TopK", {"scores", "k"}, {"v1", "i1"}, "topk1");
  m.Node("TopK", {"v1", "k"}, {"v2", "i2"}, "topk2");
  m.Node("NonMaxSuppression", {"boxes", "scores"}, {"sel"}, "nms");
  m.Node("Sigmoid", {"v2"}, {"s"}, "sigmoid");  // not part of a silu
  m.Node("Relu", {"s"}, {"out"}, "relu");
  m.Output("out");
  const std::string path = m.Write("unsupported.onnx");
  try {
    ImportOnnx(path, LoadWorkloadConfig(WorkloadPresetPath("mlp")));
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(
        msg, HasSubstr(path + ": unsupported ONNX ops: NonMaxSuppression x1, Sigmoid x1, TopK x2"));
    EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line
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
  m.Node("Erf", {"x"}, {"y"}, "erf");
  m.Output("y");
  const CliResult bad = RunSystole("run --onnx " + m.Write("erf.onnx"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;  // InputError
  EXPECT_THAT(bad.output, HasSubstr("unsupported ONNX ops: Erf x1"));
}

}  // namespace
}  // namespace systole
