#include "sim/parallel_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "base/checked_math.h"
#include "base/error.h"
#include "workloads/collective/collective.h"
#include "workloads/parallel/rank_memory.h"

namespace systole {

const char* CommKindName(CommKind kind) {
  switch (kind) {
    case CommKind::kAllReduce:
      return "all-reduce";
    case CommKind::kReduceScatter:
      return "reduce-scatter";
    case CommKind::kAllGather:
      return "all-gather";
    case CommKind::kSendRecv:
      return "send/recv";
  }
  return "?";
}

namespace {

// Devices of the system: every core of every chip (models/link/system_config.h).
std::uint64_t SystemDevices(const ArchConfig& arch) { return arch.system.chips() * arch.cores; }
std::string SystemDevicesFormula(const ArchConfig& arch) {
  return fmt::format("system.nodes {} x system.chips_per_node {} x chip.cores {}",
                     arch.system.nodes, arch.system.chips_per_node, arch.cores);
}

// A stage boundary's message: the b x s x h activation (or its gradient); with sequence
// parallelism each tensor-parallel rank sends its s / tp tokens.
std::uint64_t P2pBytes(const TrainingStep& step, const ParallelLayout& l) {
  const std::uint64_t bytes = CheckedMul(step.forward_tokens * step.config.model.hidden,
                                         DtypeBytes(step.compute_dtype), "message bytes");
  return l.sequence_parallel ? bytes / l.tp : bytes;
}

// One rank runs on one core: the chip's other cores are other ranks.
ArchConfig DeviceArch(const ArchConfig& arch) {
  ArchConfig a = arch;
  a.cores = 1;
  return a;
}

// Ops Megatron-LM runs sequence-parallel (Korthikanti et al. 2022): the norms, residual
// adds and row-parallel bias adds over the replicated b x s x h activations (and their
// gradients) run on s / tp tokens per rank. Their rows, FLOPs and bytes shrink by tp.
bool SequenceParallelOp(const GraphOp& op, std::uint64_t tokens, std::uint64_t hidden) {
  if (op.is_matmul() || op.role == OpRole::kOptimizer) return false;
  switch (op.kind) {
    case OpKind::kLayerNorm:
    case OpKind::kRmsNorm:
    case OpKind::kAdd:
    case OpKind::kBiasAdd:
    case OpKind::kLayerNormGrad:
    case OpKind::kRmsNormGrad:
    case OpKind::kBiasGrad:
      return op.rows == tokens && op.cols == hidden;
    default:
      return false;
  }
}

void ScaleOp(GraphOp& op, double f) {
  auto s = [f](std::uint64_t& v) {
    v = static_cast<std::uint64_t>(static_cast<double>(v) * f + 0.5);
  };
  s(op.flops);
  s(op.bytes_read);
  s(op.bytes_written);
  s(op.fused_bytes_read);
  s(op.fused_bytes_written);
}

// The representative rank's step: sequence-parallel ops on s / tp rows, optimizer ops on
// 1 / dp of their parameter (ZeRO >= 1).
void ShardStep(TrainingStep& step, const ParallelLayout& l) {
  const std::uint64_t tokens = step.forward_tokens, hidden = step.config.model.hidden;
  for (OpId id = 0; id < step.graph.ops().size(); ++id) {
    GraphOp& op = step.graph.mutable_op(id);
    if (l.sequence_parallel && l.tp > 1 && SequenceParallelOp(op, tokens, hidden)) {
      op.rows /= l.tp;  // sequence % tp == 0 (checked)
      op.matmul_flops = 0;
      ScaleOp(op, 1.0 / static_cast<double>(l.tp));
    }
    if (l.zero >= 1 && l.dp > 1 && op.role == OpRole::kOptimizer) {
      const std::uint64_t elements = op.rows * op.cols;
      const std::uint64_t shard = CeilDiv(elements, l.dp);
      if (op.rows >= l.dp) {
        op.rows = CeilDiv(op.rows, l.dp);
      } else {
        op.rows = 1;
        op.cols = shard;
      }
      ScaleOp(op, static_cast<double>(op.rows * op.cols) / static_cast<double>(elements));
    }
  }
}

// Which pipeline chunks each op belongs to.
struct ChunkMap {
  std::uint64_t chunks = 1, layers_per_chunk = 1;
  std::vector<std::vector<std::uint32_t>> of_op;  // per op id
  std::map<TensorId, std::vector<std::uint32_t>> of_param;
};

ChunkMap MapChunks(const TrainingStep& step, const ParallelLayout& l) {
  ChunkMap cm;
  const Graph& g = step.graph;
  cm.chunks = l.chunks();
  const std::uint64_t layers = std::max<std::uint64_t>(1, step.config.model.layers);
  cm.layers_per_chunk = std::max<std::uint64_t>(1, layers / cm.chunks);
  cm.of_op.resize(g.ops().size());
  const std::vector<OpId>& fwd = step.phase(Phase::kForward).ops;
  OpId last_layer_op = 0;
  for (OpId id : fwd) {
    if (g.op(id).layer >= 0) last_layer_op = std::max(last_layer_op, id);
  }
  auto chunk_of_forward = [&](OpId id) -> std::uint32_t {
    const GraphOp& op = g.op(id);
    if (op.layer >= 0) {
      return static_cast<std::uint32_t>(std::min<std::uint64_t>(
          cm.chunks - 1, static_cast<std::uint64_t>(op.layer) / cm.layers_per_chunk));
    }
    return id > last_layer_op && !fwd.empty() && last_layer_op > 0
               ? static_cast<std::uint32_t>(cm.chunks - 1)
               : 0;
  };
  for (OpId id : fwd) {
    cm.of_op[id] = {chunk_of_forward(id)};
    for (TensorId in : g.op(id).inputs) {
      if (g.tensor(in).kind != TensorKind::kParameter) continue;
      auto& v = cm.of_param[in];
      if (std::find(v.begin(), v.end(), cm.of_op[id][0]) == v.end()) v.push_back(cm.of_op[id][0]);
    }
  }
  for (OpId id : step.phase(Phase::kBackward).ops) {
    const GraphOp& op = g.op(id);
    cm.of_op[id] = {op.forward_op < g.ops().size() ? chunk_of_forward(op.forward_op)
                                                   : chunk_of_forward(id)};
  }
  for (OpId id : step.phase(Phase::kOptimizer).ops) {
    const TensorId param = g.tensor(g.op(id).inputs.at(0)).grad_of;
    auto it = cm.of_param.find(param);
    cm.of_op[id] = it == cm.of_param.end() ? std::vector<std::uint32_t>{0} : it->second;
  }
  return cm;
}

// Collectives of one task (forward or backward of one micro-batch on one chunk).
struct TpCalls {
  std::vector<CommCall> forward, backward;
};

TpCalls TensorParallelCalls(const TrainingStep& step, const ParallelLayout& l, std::uint64_t chunk,
                            std::uint64_t layers) {
  TpCalls c;
  if (l.tp <= 1) return c;
  const WorkloadConfig& w = step.config;
  const std::uint64_t act =
      CheckedMul(step.forward_tokens * w.model.hidden, DtypeBytes(step.compute_dtype), "bytes");
  auto layer_calls = [&](std::vector<CommCall>& out) {
    for (int i = 0; i < 2; ++i) {  // attention and MLP blocks
      if (l.sequence_parallel) {
        out.push_back({CommKind::kAllGather, act, l.tp, 1});
        out.push_back({CommKind::kReduceScatter, act, l.tp, 1});
      } else {
        out.push_back({CommKind::kAllReduce, act, l.tp, 1});
      }
    }
  };
  for (std::uint64_t i = 0; i < layers; ++i) {
    layer_calls(c.forward);
    layer_calls(c.backward);
    if (w.training.recompute == Recompute::kFull) layer_calls(c.backward);
  }
  if (chunk == 0) {  // vocab-parallel embedding: partial rows summed
    c.forward.push_back(
        {l.sequence_parallel ? CommKind::kReduceScatter : CommKind::kAllReduce, act, l.tp, 1});
  }
  if (chunk + 1 == l.chunks()) {
    if (l.sequence_parallel) {
      c.forward.push_back({CommKind::kAllGather, act, l.tp, 1});
      c.backward.push_back({CommKind::kReduceScatter, act, l.tp, 1});
    } else {
      c.backward.push_back({CommKind::kAllReduce, act, l.tp, 1});
    }
    // Parallel cross-entropy: max, target logit and sum of exponentials, fp32 per token.
    for (int i = 0; i < 3; ++i) {
      c.forward.push_back({CommKind::kAllReduce, step.forward_tokens * 4, l.tp, 1});
    }
  }
  return c;
}

double Sum(const std::vector<CommCall>& calls, const CommTimer& timer) {
  double t = 0;
  for (const CommCall& c : calls) t += c.ranks > 1 ? timer(c) : 0.0;
  return t;
}

// ZeRO-3: layer i's weights gathered before its compute, one layer ahead: the compute
// waits where a gather takes longer than the previous layer's compute.
double PrefetchExposed(double compute_ns, double gather_ns, std::uint64_t layers) {
  if (gather_ns <= 0) return 0;
  const double c = compute_ns / static_cast<double>(layers);
  const double gi = gather_ns / static_cast<double>(layers);
  double comm_end = 0, comp_end = 0;
  for (std::uint64_t i = 0; i < layers; ++i) {
    comm_end += gi;
    comp_end = std::max(comp_end, comm_end) + c;
  }
  return comp_end - compute_ns;
}

// Every chunk's layers, model states and saved activations (no timing needed).
std::vector<ChunkProfile> ProfileMemory(const TrainingStep& step, const ParallelLayout& l,
                                        const ChunkMap& cm) {
  const Graph& g = step.graph;
  std::vector<ChunkProfile> chunks(cm.chunks);
  for (std::uint64_t c = 0; c < cm.chunks; ++c) chunks[c].layers = cm.layers_per_chunk;
  // Model states per chunk (a tied weight on every chunk that reads it).
  for (TensorId id = 0; id < g.tensors().size(); ++id) {
    const GraphTensor& t = g.tensor(id);
    TensorId param = kNoTensor;
    if (t.kind == TensorKind::kParameter) param = id;
    if (t.kind == TensorKind::kParamGradient || t.kind == TensorKind::kMasterWeight ||
        t.kind == TensorKind::kOptimizerState) {
      param = t.grad_of;
    }
    auto it = cm.of_param.find(param);
    if (param == kNoTensor || it == cm.of_param.end()) continue;
    for (std::uint32_t c : it->second) {
      Footprint& f = chunks[c].states;
      switch (t.kind) {
        case TensorKind::kParameter:
          f.weights_bytes += t.bytes();
          break;
        case TensorKind::kParamGradient:
          f.gradients_bytes += t.bytes();
          if (it->second.size() > 1) chunks[c].tied_grad_bytes += t.bytes();
          break;
        case TensorKind::kMasterWeight:
          f.master_weights_bytes += t.bytes();
          break;
        default:
          f.optimizer_state_bytes += t.bytes();
          break;
      }
    }
  }
  // Activations saved for backward, by the chunk of the op that wrote them.
  const std::vector<OpId>& fwd = step.phase(Phase::kForward).ops;
  std::vector<OpId> order = fwd;
  const std::vector<OpId>& bwd = step.phase(Phase::kBackward).ops;
  order.insert(order.end(), bwd.begin(), bwd.end());
  std::map<TensorId, std::uint32_t> producer_chunk;
  for (OpId id : fwd) {
    for (TensorId t : g.op(id).outputs) producer_chunk.emplace(t, cm.of_op[id][0]);
  }
  const std::uint64_t hidden = step.config.model.hidden;
  for (TensorId t : SavedForBackward(g, order, fwd.size())) {
    const GraphTensor& x = g.tensor(t);
    if (x.kind != TensorKind::kActivation && x.kind != TensorKind::kInput) continue;
    auto it = producer_chunk.find(t);
    std::uint64_t bytes = x.bytes();
    // Sequence parallelism keeps the replicated b x s x h activations sharded.
    if (l.sequence_parallel && l.tp > 1 && Cols(x) == hidden && Rows(x) == step.forward_tokens) {
      bytes = CeilDiv(bytes, l.tp);
    }
    chunks[it == producer_chunk.end() ? 0 : it->second].saved_bytes += bytes;
  }
  return chunks;
}

// Profiles of every chunk from one rank's simulated step.
std::vector<ChunkProfile> Profile(const TrainingStep& step, const StepReport& rep,
                                  const ParallelLayout& l, const ChunkMap& cm,
                                  const CommTimer& timer) {
  const Graph& g = step.graph;
  std::vector<ChunkProfile> chunks = ProfileMemory(step, l, cm);
  std::set<TensorId> counted_grads;
  for (const OpReport& o : rep.ops) {
    const std::vector<std::uint32_t>& cs = cm.of_op[o.op];
    for (std::uint32_t c : cs) {
      ChunkProfile& p = chunks[c];
      if (o.phase == Phase::kForward) p.forward_ns += o.time_ns;
      if (o.phase == Phase::kOptimizer) p.optimizer_ns += o.time_ns;
      if (o.phase != Phase::kBackward) continue;
      p.backward_ns += o.time_ns;
      std::uint64_t bytes = 0;
      for (TensorId t : g.op(o.op).outputs) {
        if (g.tensor(t).kind == TensorKind::kParamGradient && counted_grads.insert(t).second) {
          bytes += g.tensor(t).bytes();
        }
      }
      // Fused ops (time 0) finish with their producer: same offset.
      if (bytes > 0) p.grads.emplace_back(p.backward_ns, bytes);
    }
  }
  // Collectives in the critical path.
  for (std::uint64_t c = 0; c < cm.chunks; ++c) {
    ChunkProfile& p = chunks[c];
    const TpCalls calls = TensorParallelCalls(step, l, c, p.layers);
    p.tp_forward_ns = Sum(calls.forward, timer);
    p.tp_backward_ns = Sum(calls.backward, timer);
    if (l.zero == 3 && l.dp > 1) {
      p.zero3_gather_ns = timer({CommKind::kAllGather, p.states.weights_bytes, l.dp, l.tp});
      p.zero3_forward_ns = PrefetchExposed(p.forward_ns, p.zero3_gather_ns, p.layers);
      p.zero3_backward_ns = PrefetchExposed(p.backward_ns, p.zero3_gather_ns, p.layers);
    }
  }
  return chunks;
}

}  // namespace

namespace {

// A stage's rank: its chunks' model states sharded by ZeRO, the activations its schedule
// keeps (the peak depends on the task order only), the step's workspace.
Footprint StageMemory(const std::vector<ChunkProfile>& chunks, const PipelineResult& pipe,
                      std::uint64_t s, const ParallelLayout& l, std::uint64_t workspace_bytes) {
  Footprint states;
  for (std::uint64_t v = 0; v < l.virtual_stages; ++v) {
    const Footprint& f = chunks[v * l.pp + s].states;
    states.weights_bytes += f.weights_bytes;
    states.gradients_bytes += f.gradients_bytes;
    states.master_weights_bytes += f.master_weights_bytes;
    states.optimizer_state_bytes += f.optimizer_state_bytes;
  }
  Footprint m = ShardModelStates(states, l.zero, l.dp);
  m.saved_activation_bytes = pipe.peak_saved_bytes[s];
  m.workspace_bytes = workspace_bytes;
  m.activation_peak_bytes = m.saved_activation_bytes + m.workspace_bytes;
  m.total_bytes = m.states_bytes() + m.activation_peak_bytes;
  return m;
}

// After the pipeline: data-parallel gradient traffic beside the backward tasks, the
// optimizer, ZeRO's weight all-gather.
StageReport FinishDevice(const std::vector<ChunkProfile>& chunks, const PipelineResult& pipe,
                         std::uint64_t s, const ParallelLayout& l, std::uint64_t m, double p2p_ns,
                         const CommTimer& timer) {
  StageReport r;
  r.stage = s;
  const CommKind grad_kind = l.zero == 0 ? CommKind::kAllReduce : CommKind::kReduceScatter;
  double chan_free = 0, last_end = 0, optimizer_ns = 0;
  std::uint64_t weights = 0, tied = 0;
  for (std::uint64_t v = 0; v < l.virtual_stages; ++v) {
    const ChunkProfile& p = chunks[v * l.pp + s];
    optimizer_ns += p.optimizer_ns;
    weights += p.states.weights_bytes;
    tied += p.tied_grad_bytes;
  }
  // Tasks of this device in order; the last backward of each chunk carries the final
  // gradients (ZeRO 0/1); with ZeRO 2/3 every backward does.
  std::vector<std::uint64_t> backwards_left(chunks.size(), m);
  for (const PipelineTask& t : pipe.tasks[s]) {
    const ChunkProfile& p = chunks[t.chunk];
    const double dur = t.end_ns - t.start_ns;
    last_end = std::max(last_end, t.end_ns);
    r.compute_ns += t.backward ? p.backward_ns : p.forward_ns;
    const double tp = t.backward ? p.tp_backward_ns : p.tp_forward_ns;
    const double z3 = t.backward ? p.zero3_backward_ns : p.zero3_forward_ns;
    r.comm_total_ns += tp + p.zero3_gather_ns;
    r.comm_exposed_ns += tp + z3;
    if (tp > 0) r.comm.push_back(CommSlice{"tensor-parallel collectives", t.end_ns - tp, tp});
    const bool sends = t.backward ? t.chunk > 0 : t.chunk + 1 < chunks.size();
    if (sends && p2p_ns > 0) {
      r.p2p_ns += p2p_ns;
      r.comm.push_back(
          CommSlice{t.backward ? "send gradient" : "send activation", t.end_ns, p2p_ns});
    }
    if (!t.backward) continue;
    const bool last = --backwards_left[t.chunk] == 0;
    if (l.dp <= 1 || (l.zero < 2 && !last)) continue;
    // Buckets of at least kDpBucketBytes in the order the gradients appear; offsets of
    // compute stretched over the task (its collectives are spread over its layers).
    const double stretch = p.backward_ns > 0 ? dur / p.backward_ns : 0.0;
    std::uint64_t bucket = 0;
    for (std::size_t i = 0; i < p.grads.size(); ++i) {
      bucket += p.grads[i].second;
      if (bucket < kDpBucketBytes && i + 1 < p.grads.size()) continue;
      const double ready = t.start_ns + p.grads[i].first * stretch;
      const double took = timer({grad_kind, bucket, l.dp, l.tp});
      const double start = std::max(ready, chan_free);
      r.comm.push_back(CommSlice{fmt::format("data-parallel {} {:.1f} MB", CommKindName(grad_kind),
                                             static_cast<double>(bucket) / 1e6),
                                 start, took});
      chan_free = start + took;
      r.comm_total_ns += took;
      bucket = 0;
    }
  }
  if (tied > 0 && l.pp > 1) {
    // The first and the last stage's copies of a tied weight: one all-reduce of their
    // gradients, 2 ranks (pp - 1) x tp x dp apart, after the data-parallel reduction.
    const double took = timer({CommKind::kAllReduce, tied, 2, (l.pp - 1) * l.tp * l.dp});
    const double start = std::max(chan_free, last_end);
    r.comm.push_back(CommSlice{"tied-embedding all-reduce", start, took});
    chan_free = start + took;
    r.comm_total_ns += took;
  }
  r.dp_tail_ns = std::max(0.0, chan_free - last_end);
  r.comm_exposed_ns += r.dp_tail_ns;
  r.optimizer_start_ns = std::max(chan_free, last_end);
  r.optimizer_ns = optimizer_ns;
  double t = r.optimizer_start_ns + optimizer_ns;
  r.compute_ns += optimizer_ns;
  if (l.dp > 1 && (l.zero == 1 || l.zero == 2)) {
    const double took = timer({CommKind::kAllGather, weights, l.dp, l.tp});
    r.comm.push_back(CommSlice{"ZeRO weight all-gather", t, took});
    t += took;
    r.comm_total_ns += took;
    r.comm_exposed_ns += took;
  }
  r.end_ns = t;
  r.in_flight = pipe.peak_in_flight[s];
  return r;
}

// Everything after the compute profiles: schedule, data parallel, totals.
void Assemble(ParallelReport& rep, const ParallelLayout& l, const TrainingStep& step,
              const CommTimer& timer) {
  const std::uint64_t chunks = l.chunks();
  std::vector<double> fwd(chunks), bwd(chunks);
  std::vector<std::uint64_t> saved(chunks);
  for (std::uint64_t c = 0; c < chunks; ++c) {
    const ChunkProfile& p = rep.chunks[c];
    fwd[c] = p.forward_ns + p.tp_forward_ns + p.zero3_forward_ns;
    bwd[c] = p.backward_ns + p.tp_backward_ns + p.zero3_backward_ns;
    saved[c] = p.saved_bytes;
  }
  rep.pipeline = SimulatePipeline(l.schedule, l.pp, l.virtual_stages, rep.micro_batches, fwd, bwd,
                                  rep.p2p_ns, saved);
  rep.stages.clear();
  for (std::uint64_t s = 0; s < l.pp; ++s) {
    StageReport d =
        FinishDevice(rep.chunks, rep.pipeline, s, l, rep.micro_batches, rep.p2p_ns, timer);
    d.memory = StageMemory(rep.chunks, rep.pipeline, s, l, step.footprint.workspace_bytes);
    rep.stages.push_back(std::move(d));
  }
  rep.step_ns = 0;
  for (const StageReport& s : rep.stages) {
    if (s.end_ns >= rep.step_ns) {
      rep.step_ns = s.end_ns;
      rep.comm_total_ns = s.comm_total_ns + s.p2p_ns;
      rep.comm_exposed_ns = s.comm_exposed_ns;
    }
    rep.peak_rank_bytes = std::max(rep.peak_rank_bytes, s.memory.total_bytes);
  }
}

}  // namespace

CommTimer MakeCommTimer(const ArchConfig& arch) {
  // Calls repeat (every bucket, every layer): each distinct one is timed once.
  auto cache = std::make_shared<
      std::map<std::tuple<int, std::uint64_t, std::uint64_t, std::uint64_t>, double>>();
  // Devices behind one network interface: a chip's cores on a rail-optimised network (each
  // chip has its own rail), a node's devices on a fat tree.
  const std::uint64_t per_nic = arch.system.network == NetworkTopology::kRailOptimized
                                    ? arch.cores
                                    : arch.system.chips_per_node * arch.cores;
  return [arch, cache, per_nic](const CommCall& c) -> double {
    if (c.ranks <= 1 || c.bytes == 0) return 0.0;
    const auto key = std::make_tuple(static_cast<int>(c.kind), c.bytes, c.ranks, c.stride);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
    CollectiveCall call;
    switch (c.kind) {
      case CommKind::kAllReduce:
        call.kind = CollectiveKind::kAllReduce;
        break;
      case CommKind::kReduceScatter:
        call.kind = CollectiveKind::kReduceScatter;
        break;
      case CommKind::kAllGather:
        call.kind = CollectiveKind::kAllGather;
        break;
      case CommKind::kSendRecv:
        call.kind = CollectiveKind::kSendRecv;
        break;
    }
    call.bytes = c.bytes;
    call.group.ranks = c.ranks;
    call.group.stride = c.stride;
    // Every group of this kind runs at once: groups interleaved `stride` apart have
    // min(stride, per_nic) members behind each network interface, which they share.
    call.group.groups_sharing_network = std::max<std::uint64_t>(1, std::min(c.stride, per_nic));
    const double t = TimeCollective(arch, call).time_ns;
    cache->emplace(key, t);
    return t;
  };
}

ParallelReport RunParallelStep(const ArchConfig& arch_in, WorkloadConfig config,
                               const ParallelOptions& options, const CommTimer& timer,
                               const std::function<void(double)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const ParallelLayout& l = options.layout;
  ParallelReport rep;
  rep.layout = l;
  CheckLayoutFitsModel(l, config);
  const std::uint64_t system = SystemDevices(arch_in);
  if (l.devices() > system || system % l.devices() != 0) {
    throw InputError(fmt::format(
        "--parallel {}: {} devices do not divide the system's {} ({}): expected dp x tp x pp "
        "to divide it",
        l.Spec(), l.devices(), system, SystemDevicesFormula(arch_in)));
  }
  rep.batch_note = ResolveGlobalBatch(config.training, l.dp);
  CheckScheduleFitsBatch(l, config);
  if (l.sequence_parallel && l.tp > 1 && config.training.sequence % l.tp != 0) {
    throw InputError(fmt::format(
        "--sequence-parallel: training.sequence = {} is not a multiple of tp = {}: expected "
        "whole tokens per tensor-parallel rank",
        config.training.sequence, l.tp));
  }
  rep.micro_batches = config.training.grad_accum_steps;
  rep.global_batch = config.training.global_batch;
  const ArchConfig arch = DeviceArch(arch_in);
  // The rank's step (op times are per micro-batch; the schedule repeats them).
  const WorkloadConfig& one = config;
  TrainingStep step = BuildTrainingStep(one, options.fusion, l.tp);
  ShardStep(step, l);
  ChunkMap cm = MapChunks(step, l);
  rep.rank_capacity_bytes = arch_in.hbm.CapacityBytes() / std::max<std::uint64_t>(1, arch_in.cores);
  {
    // Before any simulation: memory depends on the graph and the schedule's order only.
    const std::vector<ChunkProfile> mem = ProfileMemory(step, l, cm);
    std::vector<double> unit(l.chunks(), 1.0);
    std::vector<std::uint64_t> saved;
    for (const ChunkProfile& p : mem) saved.push_back(p.saved_bytes);
    const PipelineResult order = SimulatePipeline(l.schedule, l.pp, l.virtual_stages,
                                                  rep.micro_batches, unit, unit, 0.0, saved);
    for (std::uint64_t stage = 0; stage < l.pp; ++stage) {
      StageReport s;
      s.stage = stage;
      s.in_flight = order.peak_in_flight[stage];
      s.memory = StageMemory(mem, order, stage, l, step.footprint.workspace_bytes);
      if (s.memory.total_bytes <= rep.rank_capacity_bytes) continue;
      throw InputError(fmt::format(
          "--parallel {}: pipeline stage {} needs {} per rank (states {} with ZeRO {}, "
          "activations {} for {} micro-batch chunks in flight, workspace {}) but a rank has {} "
          "of HBM: raise tp or pp, {}recompute (training.recompute=full), or a smaller "
          "training.micro_batch",
          l.Spec(), s.stage, FormatBytes(s.memory.total_bytes),
          FormatBytes(s.memory.states_bytes()), l.zero,
          FormatBytes(s.memory.saved_activation_bytes), s.in_flight,
          FormatBytes(s.memory.workspace_bytes), FormatBytes(rep.rank_capacity_bytes),
          l.zero < 3 && l.dp > 1 ? fmt::format("use --zero {}, ", l.zero + 1) : ""));
    }
  }
  rep.compute = RunTrainingStep(arch, step, progress);
  rep.chunks = Profile(step, rep.compute, l, cm, timer);
  rep.simulated_ranks = 1;
  rep.simulated_note = fmt::format(
      "one rank per pipeline stage (tensor-parallel rank 0 of data-parallel replica 0: ranks "
      "0, {}, ...) scheduled individually, their compute from one tensor-parallel shard of "
      "the model ({} distinct kernels, {} instructions simulated); the other {} ranks repeat "
      "them",
      l.tp * l.dp, rep.compute.distinct_kernels, rep.compute.simulated_instructions,
      l.devices() - l.pp);
  if (options.every_rank) {
    // Every (data-parallel, tensor-parallel) rank's pipeline from its own simulation.
    ParallelReport worst = rep;
    worst.step_ns = -1;
    for (std::uint64_t d = 0; d < l.dp; ++d) {
      for (std::uint64_t t = 0; t < l.tp; ++t) {
        ParallelReport r = rep;
        for (std::uint64_t s = 0; s < l.pp; ++s) {
          TrainingStep own = BuildTrainingStep(one, options.fusion, l.tp);
          ShardStep(own, l);
          const StepReport sr = RunTrainingStep(arch, own, {}, /*reuse_kernels=*/false);
          const std::vector<ChunkProfile> p = Profile(own, sr, l, MapChunks(own, l), timer);
          for (std::uint64_t v = 0; v < l.virtual_stages; ++v) {
            r.chunks[v * l.pp + s] = p[v * l.pp + s];
          }
        }
        r.p2p_ns = l.pp > 1 ? timer({CommKind::kSendRecv, P2pBytes(step, l), 2, l.tp * l.dp}) : 0.0;
        Assemble(r, l, step, timer);
        if (r.step_ns > worst.step_ns) worst = r;
      }
    }
    worst.simulated_ranks = l.devices();
    worst.simulated_note =
        fmt::format("every one of the {} ranks simulated on its own", l.devices());
    rep = std::move(worst);
  } else {
    rep.p2p_ns = l.pp > 1 ? timer({CommKind::kSendRecv, P2pBytes(step, l), 2, l.tp * l.dp}) : 0;
    Assemble(rep, l, step, timer);
  }
  rep.tokens_per_step = CheckedMul(rep.global_batch, step.forward_tokens / one.training.micro_batch,
                                   "tokens per step");
  // MFU over all devices: the model's matmul FLOPs (no recomputation) of every rank.
  double model_flops = 0;
  for (const OpReport& o : rep.compute.ops) {
    if (step.graph.op(o.op).role == OpRole::kRecompute || o.phase == Phase::kOptimizer) continue;
    model_flops += static_cast<double>(o.matmul_flops);
  }
  model_flops *= static_cast<double>(rep.micro_batches * l.tp * l.dp);
  if (rep.step_ns > 0) {
    rep.tokens_per_s = static_cast<double>(rep.tokens_per_step) / (rep.step_ns * 1e-9);
    rep.mfu =
        model_flops / (rep.step_ns * arch.PeakFlopsPerNs() * static_cast<double>(l.devices()));
  }
  rep.op_chunks = std::move(cm.of_op);
  rep.step = std::move(step);
  rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace systole
