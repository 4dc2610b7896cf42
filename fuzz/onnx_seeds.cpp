// Writes small ONNX models into DIR as seeds for onnx_fuzz (the repository keeps no binary
// models): an MLP with MatMul + Add + Relu, one with Gemm, and a convolution net with
// strides, pads and pooling, so the fuzzer starts from the shapes of real exports.
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Model {
  onnx::ModelProto proto;
  onnx::GraphProto* g;
  Model() {
    proto.set_ir_version(8);
    proto.add_opset_import()->set_version(17);
    g = proto.mutable_graph();
    g->set_name("seed");
  }
  void Input(const std::string& name, const std::vector<std::int64_t>& dims) {
    onnx::ValueInfoProto* v = g->add_input();
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("batch");
      } else {
        dim->set_dim_value(d);
      }
    }
  }
  void Init(const std::string& name, const std::vector<std::int64_t>& dims) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
  }
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& in,
                        const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name("/" + out + "/" + op);
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
  void Write(const std::string& path) const {
    std::ofstream out(path, std::ios::binary);
    proto.SerializeToOstream(&out);
  }
};

}  // namespace

int main(int argc, char* argv[]) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: onnx_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  {
    Model m;
    m.Input("x", {-1, 16});
    m.Init("layers.0.weight", {16, 32});
    m.Init("layers.0.bias", {32});
    m.Init("layers.1.weight", {32, 8});
    m.Node("MatMul", {"x", "layers.0.weight"}, "mm0");
    m.Node("Add", {"mm0", "layers.0.bias"}, "a0");
    m.Node("Relu", {"a0"}, "r0");
    m.Node("MatMul", {"r0", "layers.1.weight"}, "y");
    m.g->add_output()->set_name("y");
    m.Write(dir + "/mlp_matmul.onnx");
  }
  {
    Model m;
    m.Input("x", {-1, 16});
    m.Init("w", {32, 16});
    m.Init("b", {32});
    onnx::NodeProto* n = m.Node("Gemm", {"x", "w", "b"}, "y");
    onnx::AttributeProto* t = n->add_attribute();
    t->set_name("transB");
    t->set_type(onnx::AttributeProto::INT);
    t->set_i(1);
    m.g->add_output()->set_name("y");
    m.Write(dir + "/gemm.onnx");
  }
  {
    Model m;
    m.Input("x", {-1, 3, 32, 32});
    m.Init("conv.weight", {8, 3, 3, 3});
    onnx::NodeProto* c = m.Node("Conv", {"x", "conv.weight"}, "c");
    Model::Ints(c, "strides", {2, 2});
    Model::Ints(c, "pads", {1, 1, 1, 1});
    Model::Ints(c, "kernel_shape", {3, 3});
    m.Node("Relu", {"c"}, "r");
    onnx::NodeProto* p = m.Node("MaxPool", {"r"}, "p");
    Model::Ints(p, "kernel_shape", {2, 2});
    Model::Ints(p, "strides", {2, 2});
    m.Node("GlobalAveragePool", {"p"}, "g");
    m.Node("Flatten", {"g"}, "f");
    m.Init("fc.weight", {10, 8});
    onnx::NodeProto* fc = m.Node("Gemm", {"f", "fc.weight"}, "y");
    onnx::AttributeProto* t = fc->add_attribute();
    t->set_name("transB");
    t->set_type(onnx::AttributeProto::INT);
    t->set_i(1);
    m.g->add_output()->set_name("y");
    m.Write(dir + "/convnet.onnx");
  }
  return 0;
}
