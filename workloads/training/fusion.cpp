#include "workloads/training/fusion.h"

#include <map>
#include <set>

#include "base/checked_math.h"
#include "workloads/graph/op_kinds.h"

namespace systole {

namespace {

bool IsProducer(const GraphOp& op) {
  if (op.outputs.size() != 1 || op.Accumulates(0)) return false;
  if (op.kind == OpKind::kMatmul) return op.matmul.batch == 1;
  return op.kind == OpKind::kConv2d || op.kind == OpKind::kConv2dGradInput;
}

// The input index through which `e` would continue a chain on tensor `t`, or -1.
int ChainInput(const Graph& g, const GraphOp& e, TensorId t, bool matmul_producer) {
  if (e.fused() || e.outputs.size() != 1 || e.Accumulates(0)) return -1;
  const std::vector<TensorId>& in = e.inputs;
  const std::uint64_t elements = g.tensor(t).elements();
  if (g.tensor(e.outputs[0]).elements() != elements) return -1;
  switch (OpInfo(e.kind).fusion) {
    case Fusion::kBias:
      if (!matmul_producer || in.size() != 2 || in[0] != t || in[1] == t) return -1;
      return g.tensor(in[1]).elements() == Cols(g.tensor(t)) ? 0 : -1;
    case Fusion::kActivation:
      return in.size() == 1 && in[0] == t ? 0 : -1;
    case Fusion::kResidual:
      if (in.size() != 2 || in[0] == in[1]) return -1;
      if (in[0] != t && in[1] != t) return -1;
      return g.tensor(in[in[0] == t ? 1 : 0]).elements() == elements ? (in[0] == t ? 0 : 1) : -1;
    case Fusion::kActivationGrad:
      if (in.size() != 2 || in[0] != t || in[1] == t) return -1;
      return g.tensor(in[1]).elements() == elements ? 0 : -1;
    case Fusion::kGatedProduct:
      if (in.size() != 2 || in[1] != t || in[0] == t) return -1;
      return g.tensor(in[0]).elements() == elements ? 1 : -1;
    case Fusion::kNone:
      return -1;
  }
  return -1;
}

}  // namespace

std::size_t FuseIntoProducers(Graph& g, const std::vector<std::vector<OpId>>& phases) {
  std::map<OpId, std::size_t> pos, phase_of;
  std::map<TensorId, std::vector<OpId>> readers, writers;
  std::size_t next = 0;
  for (std::size_t p = 0; p < phases.size(); ++p) {
    for (OpId id : phases[p]) {
      pos[id] = next++;
      phase_of[id] = p;
      const GraphOp& op = g.op(id);
      for (TensorId t : op.inputs) readers[t].push_back(id);
      for (std::size_t i = 0; i < op.outputs.size(); ++i) {
        writers[op.outputs[i]].push_back(id);
        if (op.Accumulates(i)) readers[op.outputs[i]].push_back(id);
      }
    }
  }
  auto lives_on = [&](TensorId t) {  // needed after the step whoever reads it
    const TensorKind k = g.tensor(t).kind;
    return k != TensorKind::kActivation && k != TensorKind::kGradient;
  };
  std::size_t fused = 0;
  for (const std::vector<OpId>& phase : phases) {
    for (OpId pid : phase) {
      if (!IsProducer(g.op(pid))) continue;
      const bool matmul_producer = g.op(pid).kind == OpKind::kMatmul;
      std::set<OpId> group = {pid};
      OpId last = pid;
      TensorId t = g.op(pid).outputs[0];
      while (writers[t].size() == 1 && !lives_on(t)) {
        OpId pick = kNoOp;
        int candidates = 0;
        for (OpId r : readers[t]) {
          if (group.count(r) || pos[r] <= pos[last] || phase_of[r] != phase_of[pid]) continue;
          if (ChainInput(g, g.op(r), t, matmul_producer) < 0) continue;
          ++candidates;
          pick = r;
        }
        if (candidates != 1) break;
        const GraphOp& e = g.op(pick);
        bool ok = true;
        for (TensorId s : e.inputs) {  // side inputs not written while the group runs
          if (s == t) continue;
          for (OpId w : writers[s]) ok = ok && (pos[w] < pos[pid] || pos[w] > pos[pick]);
        }
        const TensorId u = e.outputs[0];
        ok = ok && writers[u].size() == 1;
        for (OpId r : readers[u]) ok = ok && pos[r] > pos[pick];
        if (!ok) break;
        bool stored = false;
        for (OpId r : readers[t]) stored = stored || r != pick;
        GraphOp& em = g.mutable_op(pick);
        em.fused_into = pid;
        em.fused_input_stored = stored;
        if (!stored) g.mutable_tensor(t).on_chip_only = true;
        g.mutable_op(pid).epilogue.push_back(pick);
        group.insert(pick);
        ++fused;
        last = pick;
        t = u;
      }
      if (group.size() == 1) continue;
      // The group's HBM traffic: outside inputs once, stored and final outputs once.
      std::set<TensorId> produced, inputs;
      std::uint64_t written = g.tensor(t).bytes();
      for (OpId id : group) {
        for (TensorId o : g.op(id).outputs) produced.insert(o);
      }
      for (OpId id : group) {
        const GraphOp& op = g.op(id);
        for (TensorId in : op.inputs) {
          if (!produced.count(in)) inputs.insert(in);
        }
        if (op.fused_input_stored) {
          for (TensorId in : op.inputs) {
            if (produced.count(in)) written = CheckedAdd(written, g.tensor(in).bytes(), "bytes");
          }
        }
      }
      std::uint64_t read = 0;
      for (TensorId in : inputs) read = CheckedAdd(read, g.tensor(in).bytes(), "bytes");
      GraphOp& p = g.mutable_op(pid);
      p.fused_bytes_read = read;
      p.fused_bytes_written = written;
    }
  }
  return fused;
}

}  // namespace systole
