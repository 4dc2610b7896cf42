// Issue 14 regressions for ONNX input: misleading messages for zero strides, negative dims
// and directories, and node names with commas, quotes and line breaks in ops.csv.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <fstream>

#include "base/error.h"
#include "base/text_escape.h"
#include "sim/config/arch_config.h"
#include "sim/step_run.h"
#include "workloads/import/onnx_import.h"
#include "workloads/training/training_step.h"

namespace systole {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

struct Model {
  onnx::ModelProto proto;
  onnx::GraphProto* g;
  Model() {
    proto.set_ir_version(8);
    proto.add_opset_import()->set_version(17);
    g = proto.mutable_graph();
    g->set_name("hardening");
  }
  void Input(const std::string& name, const std::vector<std::int64_t>& dims) {
    onnx::TypeProto_Tensor* t = g->add_input()->mutable_type()->mutable_tensor_type();
    g->mutable_input(g->input_size() - 1)->set_name(name);
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void Init(const std::string& name, const std::vector<std::int64_t>& dims) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
  }
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& in,
                        const std::string& out, const std::string& name) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  static void Ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a->add_ints(x);
  }
  std::string Write(const std::string& file) const {
    const std::string path =
        testing::TempDir() + "onnx_hard_" + std::to_string(getpid()) + "_" + file;
    std::ofstream out(path, std::ios::binary);
    proto.SerializeToOstream(&out);
    return path;
  }
};

const WorkloadConfig& Settings() {
  static const WorkloadConfig c = LoadWorkloadConfig(WorkloadPresetPath("mlp"));
  return c;
}

std::string ConvWithStrides(std::vector<std::int64_t> strides, std::vector<std::int64_t> pads) {
  Model m;
  m.Input("x", {1, 3, 16, 16});
  m.Init("w", {8, 3, 3, 3});
  onnx::NodeProto* c = m.Node("Conv", {"x", "w"}, "y", "conv");
  Model::Ints(c, "strides", strides);
  Model::Ints(c, "pads", pads);
  m.g->add_output()->set_name("y");
  return m.Write("conv.onnx");
}

TEST(OnnxHardening, ZeroStridesAndNegativePadsAreNamed) {
  // Zero strides were reported as "only equal strides in both dimensions are supported".
  const std::string zero = ConvWithStrides({0, 0}, {0, 0, 0, 0});
  EXPECT_THAT([&] { ImportOnnx(zero, Settings()); },
              ThrowsMessage<InputError>(HasSubstr("attribute strides=[0,0]: expected positive "
                                                  "strides")));
  const std::string pads = ConvWithStrides({1, 1}, {-1, -1, -1, -1});
  EXPECT_THAT([&] { ImportOnnx(pads, Settings()); },
              ThrowsMessage<InputError>(HasSubstr("attribute pads=[-1,-1,-1,-1]: expected pads "
                                                  ">= 0")));
}

TEST(OnnxHardening, NegativeDimsAreNamed) {
  // A negative input dim was read as symbolic ("dimension 2 is symbolic ...").
  Model m;
  m.Input("x", {4, 16, -3});
  m.Init("w", {16, 8});
  m.Node("MatMul", {"x", "w"}, "y", "mm");
  m.g->add_output()->set_name("y");
  const std::string path = m.Write("negdim.onnx");
  EXPECT_THAT([&] { ImportOnnx(path, Settings()); },
              ThrowsMessage<InputError>(
                  HasSubstr(path + ": input 'x': dimension 2 is -3: expected a positive size")));
  // A negative initializer dim was silently read as 0; the message names the file.
  Model n;
  n.Input("x", {4, 16});
  n.Init("w", {16, -8});
  n.Node("MatMul", {"x", "w"}, "y", "mm");
  n.g->add_output()->set_name("y");
  const std::string path2 = n.Write("neginit.onnx");
  EXPECT_THAT(
      [&] { ImportOnnx(path2, Settings()); },
      ThrowsMessage<InputError>(HasSubstr(path2 + ": tensor 'w': dimension -8 is negative")));
}

// Found by onnx_fuzz (scripts/fuzz.sh): a Flatten node with no output was read past the end
// of its output list (UBSan in protobuf's RepeatedPtrField::Get).
TEST(OnnxHardening, NodeWithoutTheOutputItNeedsIsAnInputError) {
  const std::string path = std::string(SYSTOLE_TEST_DATA) + "/fuzz/onnx-node-without-output.onnx";
  EXPECT_THAT([&] { ImportOnnx(path, Settings()); },
              testing::ThrowsMessage<InputError>(
                  testing::HasSubstr("(Flatten): expected at least 1 output(s), it has 0")));
}

TEST(OnnxHardening, DirectoryIsNamedAsOne) {
  EXPECT_THAT([&] { ImportOnnx(testing::TempDir(), Settings()); },
              ThrowsMessage<InputError>(HasSubstr("is a directory: expected an ONNX model file")));
}

TEST(OnnxHardening, OpsCsvQuotesNodeNamesAndReadsBack) {
  // ops.csv wrote ONNX node names raw: a comma, quote or line break broke the columns.
  const std::string odd = "layers.0/fc,\"one\"\nline";
  Model m;
  m.Input("x", {32, 64});
  m.Init("w", {64, 64});
  m.Node("MatMul", {"x", "w"}, "y", odd);
  m.g->add_output()->set_name("y");
  const std::string path = m.Write("odd.onnx");
  const TrainingStep step = BuildTrainingStep(ImportOnnx(path, Settings()), Settings());
  const StepReport report = RunTrainingStep(LoadArchConfig(""), step);
  const auto records = ParseCsv(OpsCsv(step, report));
  ASSERT_GT(records.size(), 1u);
  bool found = false;
  for (const auto& rec : records) {
    ASSERT_EQ(rec.size(), records.front().size());
    found = found || rec[0] == odd;
  }
  EXPECT_TRUE(found) << OpsCsv(step, report);
}

}  // namespace
}  // namespace systole
