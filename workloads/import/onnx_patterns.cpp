// ONNX pattern matching: subgraphs of several nodes that import as one op.
#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "workloads/import/onnx_importer.h"

namespace systole::onnx_importer {

// Patterns fused into one op (their nodes skipped, the last node emits the op):
//   silu  Sigmoid(x) read only by Mul(x, sigmoid)
//   gelu  Div(x, c) or Mul(x, c) -> Erf -> Add(., c), or Pow(x, c) -> Mul(., c) ->
//         Add(x, .) -> Mul(., c) -> Tanh -> Add(., c) (PyTorch's exact and tanh GELU
//         before opset 20), then a Mul by x and a Mul by c in either order, or one Mul by
//         Mul(x, c)
void Importer::FindPatterns() {
  std::map<std::string, std::vector<int>> consumers;
  std::set<std::string> constants;
  for (const onnx::TensorProto& t : g_.initializer()) constants.insert(t.name());
  const std::set<std::string> initializers = constants;
  std::map<std::string, int> producer;
  for (int i = 0; i < g_.node_size(); ++i) {
    const onnx::NodeProto& n = g_.node(i);
    for (const std::string& in : n.input()) consumers[in].push_back(i);
    for (const std::string& out : n.output()) producer[out] = i;
    if (n.op_type() == "Constant" && n.output_size() > 0) constants.insert(Output(n, 0));
  }
  auto is_const = [&](const std::string& v) { return constants.count(v) != 0; };
  auto only_user = [&](const std::string& value, const char* type) -> int {
    const std::vector<int>& users = consumers[value];
    if (users.size() != 1) return -1;
    const onnx::NodeProto& m = g_.node(users[0]);
    return m.op_type() == type && m.input_size() == 2 && m.output_size() >= 1 ? users[0] : -1;
  };
  auto other_input = [&](const onnx::NodeProto& m, const std::string& mine) {
    return Input(m, 0) == mine ? Input(m, 1) : Input(m, 0);
  };
  // The binary node of `type` producing `value`, read only once, with one input `a` (or
  // any constant when a is empty) and returning its other input; -1 when it does not.
  auto produced_by = [&](const std::string& value, const char* type, const std::string& a,
                         std::string* other) -> int {
    auto p = producer.find(value);
    if (p == producer.end() || consumers[value].size() != 1) return -1;
    const onnx::NodeProto& m = g_.node(p->second);
    if (m.op_type() != type || m.input_size() != 2) return -1;
    for (int side = 0; side < 2; ++side) {
      const std::string& mine = Input(m, side);
      if (a.empty() ? is_const(mine) : mine == a) {
        *other = Input(m, 1 - side);
        return p->second;
      }
    }
    return -1;
  };
  // The end of a GELU after Add(core, 1) = `add`: the node emitting the gelu, or -1.
  auto gelu_tail = [&](const std::string& x, int add, std::vector<int>* nodes) -> int {
    const std::string& a = g_.node(add).output(0);
    const int mul1 = only_user(a, "Mul");
    if (mul1 < 0) return -1;
    const std::string o1 = other_input(g_.node(mul1), a);
    if (o1 == x || is_const(o1)) {
      const int mul2 = only_user(g_.node(mul1).output(0), "Mul");
      if (mul2 < 0) return -1;
      const std::string o2 = other_input(g_.node(mul2), g_.node(mul1).output(0));
      if (!((o1 == x && is_const(o2)) || (o2 == x && is_const(o1)))) return -1;
      nodes->push_back(mul1);
      return mul2;
    }
    std::string c;  // o1 = Mul(x, c), read only here
    const int half = produced_by(o1, "Mul", x, &c);
    if (half < 0 || !is_const(c)) return -1;
    nodes->push_back(half);
    return mul1;
  };
  for (int i = 0; i < g_.node_size(); ++i) {
    const onnx::NodeProto& n = g_.node(i);
    if (n.input_size() < 1 || n.output_size() < 1) continue;
    if (n.op_type() == "Sigmoid") {
      const int mul = only_user(Output(n, 0), "Mul");
      if (mul >= 0 && other_input(g_.node(mul), Output(n, 0)) == Input(n, 0)) {
        fused_[mul] = {OpKind::kSilu, Input(n, 0)};
        skip_.insert(i);
      }
    } else if (n.op_type() == "Erf" || n.op_type() == "Tanh") {
      std::vector<int> nodes = {i};
      std::string x;
      if (n.op_type() == "Erf") {
        auto p = producer.find(Input(n, 0));
        if (p == producer.end() || consumers[Input(n, 0)].size() != 1) continue;
        const onnx::NodeProto& d = g_.node(p->second);
        if ((d.op_type() != "Div" && d.op_type() != "Mul") || d.input_size() != 2 ||
            !is_const(Input(d, 1))) {
          continue;
        }
        x = Input(d, 0);
        nodes.push_back(p->second);
      } else {
        // Tanh(Mul(Add(x, Mul(Pow(x, 3), c)), c)).
        std::string u, v, pw, three;
        const int scale = produced_by(Input(n, 0), "Mul", "", &u);
        if (scale < 0) continue;
        auto pu = producer.find(u);
        if (pu == producer.end() || consumers[u].size() != 1) continue;
        const onnx::NodeProto& add = g_.node(pu->second);
        if (add.op_type() != "Add" || add.input_size() != 2) continue;
        int cube = -1, mul = -1;
        for (int side = 0; side < 2 && cube < 0; ++side) {
          mul = produced_by(Input(add, side), "Mul", "", &pw);
          if (mul < 0) continue;
          auto pp = producer.find(pw);
          if (pp == producer.end() || consumers[pw].size() != 1) continue;
          const onnx::NodeProto& pow = g_.node(pp->second);
          if (pow.op_type() != "Pow" || pow.input_size() != 2 || !is_const(Input(pow, 1)) ||
              Input(pow, 0) != Input(add, 1 - side)) {
            continue;
          }
          cube = pp->second;
          x = Input(pow, 0);
        }
        if (cube < 0) continue;
        nodes.insert(nodes.end(), {scale, pu->second, mul, cube});
      }
      const int add = only_user(Output(n, 0), "Add");
      if (add < 0 || !is_const(other_input(g_.node(add), Output(n, 0)))) continue;
      nodes.push_back(add);
      const int last = gelu_tail(x, add, &nodes);
      if (last < 0) continue;
      skip_.insert(nodes.begin(), nodes.end());
      fused_[last] = {OpKind::kGelu, x};
    } else if (n.op_type() == "Split") {
      // A fused projection split into parts (GPT-2's c_attn into q, k, v): MatMul by a 2-D
      // initializer, optionally Add of an initializer bias, read only by the Split.
      std::string value = Input(n, 0), bias;
      auto p = producer.find(value);
      if (p == producer.end() || consumers[value].size() != 1) continue;
      int add = -1;
      if (g_.node(p->second).op_type() == "Add" && g_.node(p->second).input_size() == 2) {
        add = p->second;
        const onnx::NodeProto& a = g_.node(add);
        const int side = initializers.count(Input(a, 1))   ? 1
                         : initializers.count(Input(a, 0)) ? 0
                                                           : -1;
        if (side < 0) continue;
        bias = Input(a, side);
        value = Input(a, 1 - side);
        p = producer.find(value);
        if (p == producer.end() || consumers[value].size() != 1) continue;
      }
      const onnx::NodeProto& mm = g_.node(p->second);
      if (mm.op_type() != "MatMul" || mm.input_size() != 2 ||
          initializers.count(Input(mm, 1)) == 0 || consumers[Input(mm, 1)].size() != 1 ||
          (!bias.empty() && consumers[bias].size() != 1)) {
        continue;
      }
      splits_[i] = {p->second, Input(mm, 1), bias};
      split_bias_[Input(mm, 1)] = bias;
      skip_.insert(p->second);
      if (add >= 0) skip_.insert(add);
    } else if (n.op_type() == "ReduceMean") {
      // LayerNorm as exported before opset 17: mean = ReduceMean(x), d = x - mean,
      // d / Sqrt(ReduceMean(Pow(d, 2)) + eps) * gain + bias.
      const std::vector<std::int64_t> axes = IntsAttr(n, "axes", {});
      if (axes.size() != 1 || n.input_size() != 1) continue;
      const std::string& x = Input(n, 0);
      auto single = [&](const std::string& value, const char* type) -> int {
        const std::vector<int>& users = consumers[value];
        return users.size() == 1 && g_.node(users[0]).op_type() == type &&
                       g_.node(users[0]).output_size() >= 1
                   ? users[0]
                   : -1;
      };
      const int sub = single(Output(n, 0), "Sub");
      if (sub < 0 || g_.node(sub).input_size() != 2 || g_.node(sub).input(0) != x) continue;
      const std::string& d = g_.node(sub).output(0);
      int pow = -1, div = -1;
      for (int u : consumers[d]) {
        const onnx::NodeProto& m = g_.node(u);
        if (m.input_size() != 2 || Input(m, 0) != d || m.output_size() < 1) continue;
        if (m.op_type() == "Pow" && is_const(Input(m, 1))) pow = u;
        if (m.op_type() == "Div") div = u;
      }
      if (pow < 0 || div < 0 || consumers[d].size() != 2) continue;
      const int var = single(g_.node(pow).output(0), "ReduceMean");
      if (var < 0) continue;
      const int eps = only_user(g_.node(var).output(0), "Add");
      if (eps < 0 || !is_const(other_input(g_.node(eps), g_.node(var).output(0)))) continue;
      const int sqrt = single(g_.node(eps).output(0), "Sqrt");
      if (sqrt < 0 || single(g_.node(sqrt).output(0), "Div") != div ||
          g_.node(div).input(1) != g_.node(sqrt).output(0)) {
        continue;
      }
      const int mul = only_user(g_.node(div).output(0), "Mul");
      if (mul < 0) continue;
      const std::string gain = other_input(g_.node(mul), g_.node(div).output(0));
      const int add = only_user(g_.node(mul).output(0), "Add");
      if (add < 0) continue;
      const std::string bias = other_input(g_.node(add), g_.node(mul).output(0));
      if (initializers.count(gain) == 0 || initializers.count(bias) == 0) continue;
      skip_.insert({i, sub, pow, var, eps, sqrt, div, mul});
      norms_[add] = {x, gain, bias, axes[0]};
    }
  }
}

}  // namespace systole::onnx_importer
