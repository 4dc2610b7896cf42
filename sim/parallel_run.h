// Times one training step of a model split over many devices (`systole run --parallel`).
//
// What it models, per step (Megatron-LM / DeepSpeed semantics, workloads/parallel/):
//   compute    one tensor-parallel rank's share of the model (workloads/zoo BuildForwardGraph
//              with tp) trained as usual (forward, backward, optimizer) and timed by the
//              engine-level core (sim/step_run.h); with sequence parallelism the norms and
//              residual adds run on sequence/tp rows, with ZeRO >= 1 the optimizer on 1/dp
//              of each parameter tensor. Each op belongs to one pipeline chunk (its layer's;
//              embeddings to the first, final norm, LM head and loss to the last; a tied
//              embedding's update to both).
//   tensor-parallel collectives, in the critical path of every forward and backward task:
//              per layer 2 all-reduces of the b x s x h activations forward and 2 backward
//              (2 more when full recomputation re-runs the forward); with sequence
//              parallelism each all-reduce is a reduce-scatter and an all-gather. The
//              vocab-parallel embedding adds one all-reduce forward, the LM head one
//              backward, the parallel cross-entropy three of b x s fp32 values forward.
//   pipeline   the schedule's tasks (pipeline_schedule.h); each stage boundary costs a
//              send/recv of the b x s x h activation (its gradient backward; / tp with
//              sequence parallelism).
//   data parallel  gradients in buckets of at least kDpBucketBytes, in the order the
//              backward produces them (a layer's gradients are ready when its backward ops
//              end), on one communication channel per device that runs beside compute:
//              ZeRO 0 all-reduce and ZeRO 1 reduce-scatter after the last micro-batch's
//              backward; ZeRO 2 and 3 reduce-scatter after every micro-batch's (gradients
//              are not kept whole). Then the optimizer; then ZeRO 1 and 2 all-gather the
//              updated bf16 weights. ZeRO 3 all-gathers each layer's weights before its
//              forward and its backward, prefetched one layer ahead. A tied embedding's
//              gradient is all-reduced between the first and the last stage before the
//              optimizer (Megatron-LM's embedding-group all-reduce).
//   memory     per device: model states of its chunks sharded by ZeRO (rank_memory.h),
//              activations saved by the micro-batches the schedule keeps in flight (divided
//              by tp for the replicated ones with sequence parallelism), the step's
//              workspace; checked against the device's HBM share.
// Symmetry: every tensor-parallel and data-parallel rank of a pipeline stage does the
// same work, so one representative per stage is timed (and every distinct kernel once);
// `every_rank` simulates each rank on its own instead (to prove the shortcut).
// Exposed communication = the time a device waits for communication in its critical path:
// tensor-parallel collectives, the data-parallel tail after its last backward, ZeRO's
// all-gathers that compute does not hide. Point-to-point sends delay the next stage and
// show in the bubble. What it ignores: collective traffic contending with compute for HBM
// and DMA inside a device (each collective is timed alone), overlap of tensor-parallel
// collectives with compute, dropout, uneven pipeline stages, and that with tp > 1 the bias
// and residual add after a row-parallel matmul wait for its all-reduce (they stay fused in
// the matmul's epilogue here, as on one device).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/config/arch_config.h"
#include "sim/step_run.h"
#include "workloads/parallel/parallel_layout.h"
#include "workloads/parallel/pipeline_schedule.h"
#include "workloads/training/training_step.h"

namespace systole {

// PyTorch DDP's default gradient bucket (bucket_cap_mb = 25, "DistributedDataParallel",
// https://pytorch.org/docs/stable/generated/torch.nn.parallel.DistributedDataParallel.html).
inline constexpr std::uint64_t kDpBucketBytes = 25ull << 20;

enum class CommKind : std::uint8_t { kAllReduce, kReduceScatter, kAllGather, kSendRecv };
const char* CommKindName(CommKind kind);

// A collective over one group of the layout: `ranks` devices `stride` apart in the device
// numbering (parallel_layout.h), `bytes` the full buffer (all-reduce: the reduced tensor;
// reduce-scatter: its input; all-gather: its output; send/recv: the message).
struct CommCall {
  CommKind kind = CommKind::kAllReduce;
  std::uint64_t bytes = 0;
  std::uint64_t ranks = 1;
  std::uint64_t stride = 1;
};
// Returns the collective's time in ns (0 for one rank).
using CommTimer = std::function<double(const CommCall&)>;
// The system's collectives (workloads/collective/collective.h, TimeCollective, best
// algorithm per call), each distinct call timed once.
CommTimer MakeCommTimer(const ArchConfig& arch);

struct ParallelOptions {
  ParallelLayout layout;
  bool fusion = true;
  bool every_rank = false;  // simulate every rank (no symmetry shortcut)
};

struct ChunkProfile {
  std::uint64_t layers = 0;
  double forward_ns = 0, backward_ns = 0, optimizer_ns = 0;  // compute, per micro-batch
  double tp_forward_ns = 0, tp_backward_ns = 0;              // collectives, per micro-batch
  double zero3_forward_ns = 0, zero3_backward_ns = 0;        // exposed all-gathers
  double zero3_gather_ns = 0;                                // all-gathers per task (total)
  std::uint64_t saved_bytes = 0;                             // per micro-batch
  Footprint states;                                          // unsharded model states
  // Gradients of weights shared with another chunk (a tied embedding on the first and last
  // stage), all-reduced between the two after the backward (Megatron-LM).
  std::uint64_t tied_grad_bytes = 0;
  // Backward order: (end of the layer's backward ops from the task start, ns of compute;
  // its gradient bytes).
  std::vector<std::pair<double, std::uint64_t>> grads;
};

struct CommSlice {
  std::string name;
  double start_ns = 0, duration_ns = 0;
};

struct StageReport {
  std::uint64_t stage = 0;
  double compute_ns = 0;       // forward + backward + optimizer
  double comm_total_ns = 0;    // every collective it takes part in
  double comm_exposed_ns = 0;  // waiting for communication
  double p2p_ns = 0;           // point-to-point sends it issues
  double dp_tail_ns = 0;       // data-parallel communication after its last backward
  double optimizer_start_ns = 0, optimizer_ns = 0;
  double end_ns = 0;            // its step end
  Footprint memory;             // per rank: sharded states + activations
  std::uint64_t in_flight = 0;  // peak micro-batch chunks held
  std::vector<CommSlice> comm;  // its communication over the step (for the trace)
};

struct ParallelReport {
  ParallelLayout layout;
  std::string batch_note;  // how the global batch was resolved
  std::uint64_t micro_batches = 1, global_batch = 1;
  TrainingStep step;   // the representative rank's step (tp-sharded; sequence-parallel and
                       // ZeRO-sharded ops already shrunk)
  StepReport compute;  // its ops, timed on one core
  std::vector<std::vector<std::uint32_t>> op_chunks;  // per op id: its pipeline chunks
  std::vector<ChunkProfile> chunks;
  PipelineResult pipeline;
  std::vector<StageReport> stages;
  double p2p_ns = 0;  // one stage-boundary send
  double step_ns = 0, tokens_per_s = 0, mfu = 0;
  double comm_total_ns = 0, comm_exposed_ns = 0;  // of the slowest stage's rank
  std::uint64_t tokens_per_step = 0;
  std::uint64_t peak_rank_bytes = 0, rank_capacity_bytes = 0;
  std::uint64_t simulated_ranks = 0;  // ranks timed individually
  std::string simulated_note;
  double wall_seconds = 0;
};

// `config` as loaded (its global batch is resolved here against dp). Throws InputError
// for a layout the model or the system cannot take, and when a rank's memory does not fit.
ParallelReport RunParallelStep(const ArchConfig& arch, WorkloadConfig config,
                               const ParallelOptions& options, const CommTimer& timer,
                               const std::function<void(double)>& progress = {});

std::string FormatParallelSummary(const ArchConfig& arch, const WorkloadConfig& config,
                                  const ParallelReport& report);
std::string ParallelReportJson(const ArchConfig& arch, const WorkloadConfig& config,
                               const ParallelReport& report);
// ops.csv of the representative rank plus a stage column; collectives as rows.
std::string ParallelOpsCsv(const ParallelReport& report);
// One process per pipeline stage (its representative rank): compute and collective tracks.
std::string ParallelTraceJson(const ParallelReport& report);

}  // namespace systole
