#include "workloads/training/training_step.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "base/checked_math.h"
#include "workloads/graph/op_kinds.h"
#include "workloads/training/fusion.h"
#include "workloads/zoo/zoo.h"

namespace systole {

const char* PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kForward:
      return "forward";
    case Phase::kBackward:
      return "backward";
    case Phase::kOptimizer:
      return "optimizer";
  }
  return "?";
}

namespace {

constexpr std::uint64_t kStochasticRoundingFlops = 3;  // random bits, add, truncate

class BackwardBuilder {
 public:
  BackwardBuilder(Graph& g, Dtype dtype, std::uint64_t micro_batches, Recompute recompute,
                  std::size_t forward_ops)
      : g_(g), dtype_(dtype), micro_batches_(micro_batches), forward_ops_(forward_ops) {
    // Which forward tensors need a gradient: parameters and whatever depends on them.
    // (Only forward tensors are ever looked up here.)
    requires_grad_.assign(g_.tensors().size(), false);
    for (TensorId p : g_.Parameters()) requires_grad_[p] = true;
    for (OpId i = 0; i < forward_ops_; ++i) {
      const GraphOp& op = g_.op(i);
      bool any = false;
      for (TensorId t : op.inputs) any = any || requires_grad_[t];
      for (TensorId t : op.outputs) requires_grad_[t] = any;
    }
    // Ops re-run during backward.
    for (OpId i = 0; i < forward_ops_; ++i) {
      const GraphOp& op = g_.op(i);
      const bool r = (recompute == Recompute::kSelective && op.attention_core) ||
                     (recompute == Recompute::kFull && op.layer >= 0);
      if (r) recompute_ops_.insert(i);
    }
    // One gradient buffer per parameter.
    for (TensorId p : g_.Parameters()) {
      const GraphTensor t = g_.tensor(p);
      param_grad_[p] =
          g_.AddTensor("grad:" + t.name, t.shape, dtype_, TensorKind::kParamGradient, p);
    }
  }

  std::vector<OpId> Build() {
    std::set<int> recomputed_layers;
    for (OpId i = static_cast<OpId>(forward_ops_); i-- > 0;) {
      const GraphOp op = g_.op(i);
      // A block is re-run just before the gradient of its last op.
      if (op.layer >= 0 && recomputed_layers.insert(op.layer).second) EmitRecompute(op.layer);
      EmitBackward(i, op);
    }
    return order_;
  }

  const std::map<TensorId, TensorId>& param_grads() const { return param_grad_; }

 private:
  OpId Add(GraphOp op) {
    const OpId id = g_.AddOp(std::move(op));
    order_.push_back(id);
    return id;
  }

  // Re-runs the recomputed ops of `layer` in forward order, with fresh output tensors.
  void EmitRecompute(int layer) {
    for (OpId i = 0; i < forward_ops_; ++i) {
      if (recompute_ops_.count(i) == 0 || g_.op(i).layer != layer) continue;
      GraphOp op = g_.op(i);
      op.role = OpRole::kRecompute;
      op.forward_op = i;
      op.name += ".recompute";
      for (TensorId& t : op.inputs) {
        auto it = clone_.find(t);
        if (it != clone_.end()) t = it->second;
      }
      for (TensorId& t : op.outputs) {
        const GraphTensor src = g_.tensor(t);
        const TensorId c =
            g_.AddTensor(src.name + ".recompute", src.shape, src.dtype, TensorKind::kActivation);
        clone_[t] = c;
        t = c;
      }
      Add(std::move(op));
    }
  }

  // A forward tensor as the backward of op `i` reads it: recomputed ops read their
  // recomputed copies, all others the kept original.
  TensorId Saved(OpId i, TensorId t) const {
    if (recompute_ops_.count(i) == 0) return t;
    auto it = clone_.find(t);
    return it == clone_.end() ? t : it->second;
  }

  bool IsParam(TensorId t) const { return g_.tensor(t).kind == TensorKind::kParameter; }

  // The buffer a gradient contribution to `t` goes to, and whether it accumulates.
  std::pair<TensorId, bool> Target(TensorId t) {
    if (IsParam(t)) {
      const bool again = param_grad_written_.count(t) != 0;
      param_grad_written_.insert(t);
      return {param_grad_.at(t), again || micro_batches_ > 1};
    }
    auto it = grad_.find(t);
    if (it != grad_.end()) return {it->second, true};
    const GraphTensor src = g_.tensor(t);
    const TensorId d = g_.AddTensor("d:" + src.name, src.shape, dtype_, TensorKind::kGradient, t);
    grad_[t] = d;
    return {d, false};
  }

  GraphOp Base(OpId i, const GraphOp& fwd, OpKind kind, OpRole role, const std::string& suffix) {
    GraphOp op;
    op.name = fwd.name + suffix;
    op.kind = kind;
    op.role = role;
    op.layer = fwd.layer;
    op.forward_op = i;
    op.attention_core = fwd.attention_core;
    op.rows = fwd.rows;
    op.cols = fwd.cols;
    op.matmul = fwd.matmul;
    op.conv = fwd.conv;
    op.unary = fwd.unary;
    return op;
  }

  // Backward of a copy: the gradients of the forward inputs that need one, copied out of
  // (kConcat forward: a kSplit) or into (kSplit forward: a kConcat) the output gradients.
  // A tensor that appears twice among a concat's inputs gets its second part accumulated
  // by a second split.
  void CopyBackward(OpId i, const GraphOp& fwd) {
    if (fwd.kind == OpKind::kConcat) {
      const auto dy = grad_.find(fwd.outputs[0]);
      if (dy == grad_.end()) return;
      std::set<TensorId> seen;
      std::vector<TensorId> again;
      GraphOp op = Base(i, fwd, OpKind::kSplit, OpRole::kInputGrad, ".grad");
      op.inputs = {dy->second};
      for (TensorId t : fwd.inputs) {
        if (!requires_grad_[t]) continue;
        if (!seen.insert(t).second) {
          again.push_back(t);
          continue;
        }
        const auto [d, acc] = Target(t);
        op.outputs.push_back(d);
        op.accumulate.push_back(acc);
      }
      if (op.outputs.empty()) return;
      SetCopyView(op, g_);
      Add(std::move(op));
      for (std::size_t k = 0; k < again.size(); ++k) {
        GraphOp extra =
            Base(i, fwd, OpKind::kSplit, OpRole::kInputGrad, fmt::format(".grad{}", k + 2));
        extra.inputs = {dy->second};
        const auto [d, acc] = Target(again[k]);
        extra.outputs = {d};
        extra.accumulate = {acc};
        SetCopyView(extra, g_);
        Add(std::move(extra));
      }
      return;
    }
    // kSplit: dx assembled from the parts' gradients, parts without one written as zeros.
    const TensorId x = fwd.inputs[0];
    if (!requires_grad_[x]) return;
    GraphOp op = Base(i, fwd, OpKind::kConcat, OpRole::kInputGrad, ".grad");
    for (TensorId t : fwd.outputs) {
      auto it = grad_.find(t);
      if (it != grad_.end()) op.inputs.push_back(it->second);
    }
    if (op.inputs.empty()) return;  // nothing downstream needs a gradient
    const auto [d, acc] = Target(x);
    op.outputs = {d};
    op.accumulate = {acc};
    SetCopyView(op, g_);
    Add(std::move(op));
  }

  // Passes dy through to `t` (residual and bias adds): an alias when `t` has no gradient
  // yet, else an accumulating add.
  void PassThrough(OpId i, const GraphOp& fwd, TensorId dy, TensorId t, const std::string& sfx) {
    if (!requires_grad_[t]) return;
    auto it = grad_.find(t);
    if (it == grad_.end()) {
      grad_[t] = dy;
      return;
    }
    GraphOp op = Base(i, fwd, OpKind::kAdd, OpRole::kInputGrad, sfx);
    op.rows = Rows(g_.tensor(t));
    op.cols = Cols(g_.tensor(t));
    op.inputs = {dy};
    op.outputs = {it->second};
    op.accumulate = {true};
    Add(std::move(op));
  }

  // One op with the given inputs whose outputs are the gradients of `wrt` (those that
  // need one); each output accumulates if its buffer already holds a gradient.
  void GradOp(OpId i, const GraphOp& fwd, OpKind kind, std::vector<TensorId> inputs,
              const std::vector<TensorId>& wrt) {
    GraphOp op = Base(i, fwd, kind, OpRole::kInputGrad, ".grad");
    op.inputs = std::move(inputs);
    bool any_param = false;
    for (TensorId t : wrt) {
      if (!requires_grad_[t]) continue;
      const auto [d, acc] = Target(t);
      op.outputs.push_back(d);
      op.accumulate.push_back(acc);
      any_param = any_param || IsParam(t);
    }
    if (op.outputs.empty()) return;
    if (any_param && wrt.size() == 1) op.role = OpRole::kWeightGrad;
    Add(std::move(op));
  }

  void EmitBackward(OpId i, const GraphOp& fwd) {
    if (fwd.kind == OpKind::kConcat || fwd.kind == OpKind::kSplit) return CopyBackward(i, fwd);
    TensorId dy = kNoTensor;
    if (fwd.kind != OpKind::kCrossEntropy) {
      auto it = grad_.find(fwd.outputs[0]);
      if (it == grad_.end()) return;  // nothing downstream needs a gradient
      dy = it->second;
    }
    auto S = [&](TensorId t) { return Saved(i, t); };
    const std::vector<TensorId>& in = fwd.inputs;
    const BackwardRule& rule = OpInfo(fwd.kind).backward;
    if (!rule.empty()) {  // one gradient op (op_kinds.cpp)
      std::vector<TensorId> reads, wrt;
      for (const GradRead& r : rule.reads) {
        if (r.source == GradRead::kNone) break;
        const TensorId t = r.source == GradRead::kDy      ? dy
                           : r.source == GradRead::kInput ? in[r.index]
                                                          : fwd.outputs[r.index];
        reads.push_back(r.saved ? S(t) : t);
      }
      for (std::int8_t w : rule.wrt) {
        if (w >= 0) wrt.push_back(in[static_cast<std::size_t>(w)]);
      }
      return GradOp(i, fwd, rule.grad, std::move(reads), wrt);
    }
    switch (fwd.kind) {
      case OpKind::kMatmul: {
        const TensorId a = in[0], b = in[1];
        const MatmulDims& d = fwd.matmul;
        if (requires_grad_[a]) {
          // dA[m x k] = dC[m x n] x op(B)^T: contraction over n.
          GraphOp op = Base(i, fwd, OpKind::kMatmul, OpRole::kInputGrad, ".grad_a");
          op.matmul = {d.batch, d.m, d.n, d.k, false, !d.transpose_b};
          op.inputs = {dy, S(b)};
          const auto [t, acc] = Target(a);
          op.outputs = {t};
          op.accumulate = {acc};
          Add(std::move(op));
        }
        if (requires_grad_[b]) {
          // dB = A^T x dC ([k x n]) or, for B given transposed, dC^T x A ([n x k]):
          // contraction over m. A weight shared across the batch sums over it.
          GraphOp op = Base(i, fwd, OpKind::kMatmul,
                            IsParam(b) ? OpRole::kWeightGrad : OpRole::kInputGrad, ".grad_b");
          if (d.transpose_b) {
            op.matmul = {d.batch, d.n, d.m, d.k, true, false};
            op.inputs = {dy, S(a)};
          } else {
            op.matmul = {d.batch, d.k, d.m, d.n, true, false};
            op.inputs = {S(a), dy};
          }
          const auto [t, acc] = Target(b);
          op.outputs = {t};
          op.accumulate = {acc};
          Add(std::move(op));
        }
        break;
      }
      case OpKind::kConv2d:
        if (requires_grad_[in[0]]) {
          GraphOp op = Base(i, fwd, OpKind::kConv2dGradInput, OpRole::kInputGrad, ".grad_input");
          op.inputs = {dy, S(in[1])};
          const auto [t, acc] = Target(in[0]);
          op.outputs = {t};
          op.accumulate = {acc};
          Add(std::move(op));
        }
        if (requires_grad_[in[1]]) {
          GraphOp op = Base(i, fwd, OpKind::kConv2dGradWeight, OpRole::kWeightGrad, ".grad_weight");
          op.inputs = {dy, S(in[0])};
          const auto [t, acc] = Target(in[1]);
          op.outputs = {t};
          op.accumulate = {acc};
          Add(std::move(op));
        }
        break;
      case OpKind::kAdd:
        PassThrough(i, fwd, dy, in[0], ".grad_a");
        PassThrough(i, fwd, dy, in[1], ".grad_b");
        break;
      case OpKind::kBiasAdd:
        GradOp(i, fwd, OpKind::kBiasGrad, {dy}, {in[1]});
        PassThrough(i, fwd, dy, in[0], ".grad_x");
        break;
      case OpKind::kMaxPool: {
        const GraphTensor& x = g_.tensor(in[0]);
        GraphOp op = Base(i, fwd, OpKind::kMaxPoolGrad, OpRole::kInputGrad, ".grad");
        op.rows = Rows(x);
        op.cols = Cols(x);
        op.inputs = {dy, S(in[0])};
        if (!requires_grad_[in[0]]) break;
        const auto [t, acc] = Target(in[0]);
        op.outputs = {t};
        op.accumulate = {acc};
        Add(std::move(op));
        break;
      }
      case OpKind::kUnary:
        switch (UnaryGradSaves(fwd.unary)) {
          case UnarySaved::kNothing:
            GradOp(i, fwd, OpKind::kUnaryGrad, {dy}, {in[0]});
            break;
          case UnarySaved::kInput:
            GradOp(i, fwd, OpKind::kUnaryGrad, {dy, S(in[0])}, {in[0]});
            break;
          case UnarySaved::kOutput:
            GradOp(i, fwd, OpKind::kUnaryGrad, {dy, S(fwd.outputs[0])}, {in[0]});
            break;
        }
        break;
      default:
        throw std::logic_error(std::string("no backward rule for forward op kind ") +
                               OpKindName(fwd.kind));
    }
  }

  Graph& g_;
  Dtype dtype_;
  std::uint64_t micro_batches_;
  std::size_t forward_ops_;
  std::vector<bool> requires_grad_;
  std::set<OpId> recompute_ops_;
  std::map<TensorId, TensorId> clone_;       // forward tensor -> its recomputed copy
  std::map<TensorId, TensorId> grad_;        // activation -> its gradient buffer
  std::map<TensorId, TensorId> param_grad_;  // parameter -> its gradient buffer
  std::set<TensorId> param_grad_written_;
  std::vector<OpId> order_;
};

std::vector<OpId> BuildOptimizer(Graph& g, const TrainingConfig& t,
                                 const std::map<TensorId, TensorId>& param_grads,
                                 std::size_t forward_ops) {
  // Layer of each parameter: that of its first forward consumer (for the lowering's
  // replication of identical layers).
  std::map<TensorId, int> layer_of;
  for (OpId i = 0; i < forward_ops; ++i) {
    for (TensorId in : g.op(i).inputs) layer_of.emplace(in, g.op(i).layer);
  }
  const bool mixed = t.precision == Precision::kBf16Mixed;
  OpKind kind = OpKind::kAdamW;
  int moments = 2;
  if (t.optimizer == OptimizerKind::kLamb) kind = OpKind::kLamb;
  if (t.optimizer == OptimizerKind::kSgdMomentum) {
    kind = OpKind::kSgdMomentum;
    moments = 1;
  }
  std::vector<OpId> order;
  for (TensorId p : g.Parameters()) {
    const GraphTensor w = g.tensor(p);
    GraphOp op;
    op.name = "optimizer." + w.name;
    op.kind = kind;
    op.role = OpRole::kOptimizer;
    auto it = layer_of.find(p);
    op.layer = it == layer_of.end() ? -1 : it->second;
    op.rows = Rows(w);
    op.cols = Cols(w);
    op.extra_flops_per_element = t.stochastic_rounding ? kStochasticRoundingFlops : 0;
    op.inputs = {param_grads.at(p)};
    TensorId master = p;
    if (mixed) {
      master = g.AddTensor("master:" + w.name, w.shape, Dtype::kFp32, TensorKind::kMasterWeight, p);
    }
    op.inputs.push_back(master);
    op.outputs.push_back(master);
    for (int k = 0; k < moments; ++k) {
      const char* label = moments == 1 ? "momentum:" : (k == 0 ? "m:" : "v:");
      const TensorId s =
          g.AddTensor(label + w.name, w.shape, Dtype::kFp32, TensorKind::kOptimizerState, p);
      op.inputs.push_back(s);
      op.outputs.push_back(s);
    }
    if (mixed) op.outputs.push_back(p);  // the bf16 copy used by the next step
    order.push_back(g.AddOp(std::move(op)));
  }
  return order;
}

PhaseWork Summarise(const Graph& g, Phase phase, std::vector<OpId> ops, std::uint64_t repeats) {
  PhaseWork w;
  w.phase = phase;
  w.ops = std::move(ops);
  w.repeats = repeats;
  for (OpId id : w.ops) {
    const GraphOp& op = g.op(id);
    w.flops = CheckedAdd(w.flops, op.flops, "phase FLOPs");
    w.matmul_flops = CheckedAdd(w.matmul_flops, op.matmul_flops, "phase FLOPs");
    w.bytes_read = CheckedAdd(w.bytes_read, op.hbm_bytes_read(), "phase bytes");
    w.bytes_written = CheckedAdd(w.bytes_written, op.hbm_bytes_written(), "phase bytes");
  }
  return w;
}

}  // namespace

TrainingStep BuildTrainingStep(const WorkloadConfig& config, bool fusion, std::uint64_t tp) {
  TrainingStep step = BuildTrainingStep(BuildForwardGraph(config, tp), config, fusion);
  step.from_zoo = true;
  return step;
}

TrainingStep BuildTrainingStep(ForwardGraph fg, const WorkloadConfig& config, bool fusion) {
  TrainingStep step;
  step.config = config;
  step.losses = fg.losses;
  step.compute_dtype = fg.compute_dtype;
  step.micro_batches = config.training.grad_accum_steps;
  step.graph = std::move(fg.graph);
  Graph& g = step.graph;
  const std::size_t forward_ops = g.ops().size();
  step.forward_tensors = g.tensors().size();
  step.forward_samples = fg.samples;
  step.forward_tokens = fg.tokens;
  step.from_zoo = false;
  if (step.losses.empty()) throw std::logic_error("BuildTrainingStep: the graph has no loss");

  BackwardBuilder backward(g, step.compute_dtype, step.micro_batches, config.training.recompute,
                           forward_ops);
  std::vector<OpId> backward_ops = backward.Build();
  std::vector<OpId> optimizer_ops =
      BuildOptimizer(g, config.training, backward.param_grads(), forward_ops);

  std::vector<OpId> forward(forward_ops);
  for (OpId i = 0; i < forward_ops; ++i) forward[i] = i;
  std::vector<OpId> order = forward;
  order.insert(order.end(), backward_ops.begin(), backward_ops.end());
  step.fusion = fusion;
  if (fusion) step.fused_ops = FuseIntoProducers(g, {forward, backward_ops, optimizer_ops});

  step.phases.push_back(Summarise(g, Phase::kForward, std::move(forward), step.micro_batches));
  step.phases.push_back(
      Summarise(g, Phase::kBackward, std::move(backward_ops), step.micro_batches));
  step.phases.push_back(Summarise(g, Phase::kOptimizer, std::move(optimizer_ops), 1));

  step.parameters = g.ParameterCount();
  step.samples_per_step = CheckedMul(fg.samples, step.micro_batches, "samples per step");
  step.tokens_per_step = CheckedMul(fg.tokens, step.micro_batches, "tokens per step");
  for (const PhaseWork& p : step.phases) {
    step.flops_per_step =
        CheckedAdd(step.flops_per_step, CheckedMul(p.flops, p.repeats, "step FLOPs"), "step FLOPs");
    step.matmul_flops_per_step =
        CheckedAdd(step.matmul_flops_per_step, CheckedMul(p.matmul_flops, p.repeats, "step FLOPs"),
                   "step FLOPs");
  }
  step.footprint = ComputeFootprint(g, order, forward_ops);

  // Blocks with identical op sequences over all phases.
  std::vector<std::string> layer_keys;
  for (const PhaseWork& p : step.phases) {
    for (OpId id : p.ops) {
      const GraphOp& op = g.op(id);
      if (op.layer < 0) continue;
      const auto layer = static_cast<std::size_t>(op.layer);
      if (layer_keys.size() <= layer) layer_keys.resize(layer + 1);
      layer_keys[layer] += OpSignature(g, op);
      layer_keys[layer] += '\n';
    }
  }
  std::map<std::string, int> first_with_key;
  for (std::size_t l = 0; l < layer_keys.size(); ++l) {
    step.representative_layer.push_back(
        first_with_key.emplace(layer_keys[l], static_cast<int>(l)).first->second);
  }
  return step;
}

std::string OpSignature(const Graph& graph, const GraphOp& op) {
  std::string key =
      fmt::format("{}{}{}|{}|{},{},{},{},{}{}|{},{},{},{},{},{},{},{},{},{},{},{},{}|{}x{}|{}{}{}",
                  OpKindName(op.kind), op.unary == UnaryFn::kNone ? "" : ":",
                  op.unary == UnaryFn::kNone ? "" : UnaryFnName(op.unary), OpRoleName(op.role),
                  op.matmul.batch, op.matmul.m, op.matmul.k, op.matmul.n, op.matmul.transpose_a,
                  op.matmul.transpose_b, op.conv.n, op.conv.c_in, op.conv.h_in, op.conv.w_in,
                  op.conv.c_out, op.conv.kh, op.conv.kw, op.conv.stride, op.conv.pad, op.conv.h_out,
                  op.conv.w_out, op.conv.groups, op.conv.dilation, op.rows, op.cols,
                  fmt::join(op.accumulate, ""), op.attention_core, op.extra_flops_per_element);
  auto tensors = [&](const std::vector<TensorId>& ids) {
    key += '|';
    for (TensorId t : ids) {
      const GraphTensor& x = graph.tensor(t);
      key += fmt::format("{}:{}:", DtypeName(x.dtype), TensorKindName(x.kind));
      for (std::uint64_t d : x.shape) key += fmt::format("{},", d);
      key += ';';
    }
  };
  tensors(op.inputs);
  tensors(op.outputs);
  // Fusion: where the op runs and what its epilogue does.
  key += fmt::format("|{}{}", op.fused() ? "fused" : "", op.fused_input_stored ? ",stored" : "");
  for (OpId e : op.epilogue) {
    const GraphOp& f = graph.op(e);
    key += fmt::format(";{}{}", OpKindName(f.kind), f.fused_input_stored ? "+store" : "");
  }
  return key;
}

}  // namespace systole
