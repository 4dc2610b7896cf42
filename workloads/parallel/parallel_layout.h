// Parallel layout of a training run: how the model and the batch are split over devices.
//
// What it models (the vocabulary of Megatron-LM and DeepSpeed):
//   dp  data parallel: replicas of the model, each on its own share of the global batch;
//       their gradients are averaged every step (all-reduce, or ZeRO's reduce-scatter).
//   tp  tensor parallel (Megatron-LM, Shoeybi et al. 2019, arXiv:1909.08053): each layer's
//       matmuls split over tp devices (workloads/zoo/zoo.h, BuildForwardGraph).
//   pp  pipeline parallel (Narayanan et al. 2021, "Efficient Large-Scale Language Model
//       Training on GPU Clusters Using Megatron-LM", arXiv:2104.04473): the layers split
//       into pp consecutive stages (V chunks per device with the interleaved schedule),
//       micro-batches flowing through them (pipeline_schedule.h).
//   zero  ZeRO stage (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward
//       Training Trillion Parameter Models", arXiv:1910.02054): 0 none, 1 optimizer
//       states, 2 also gradients, 3 also parameters sharded over the dp replicas.
//   sequence parallel (Korthikanti et al. 2022, "Reducing Activation Recomputation in
//       Large Transformer Models", arXiv:2205.05198): the norms and residual adds run on
//       sequence/tp tokens per tensor-parallel rank; each tensor-parallel all-reduce
//       becomes a reduce-scatter plus an all-gather.
// Devices are numbered as Megatron-LM orders its ranks: tensor-parallel fastest, then
// data-parallel, then pipeline: device = t + tp x (d + dp x p). A tensor-parallel group is
// tp consecutive devices, a data-parallel group dp devices tp apart, a pipeline group pp
// devices tp x dp apart.
// Batch: global_batch = micro_batch x grad_accum_steps x dp (samples per optimizer step).
#pragma once

#include <cstdint>
#include <string>

#include "workloads/zoo/workload_config.h"

namespace systole {

enum class PipelineSchedule : std::uint8_t { kGpipe, kOneFOneB, kInterleaved };
const char* PipelineScheduleName(PipelineSchedule schedule);

struct ParallelLayout {
  std::uint64_t dp = 1, tp = 1, pp = 1;
  int zero = 0;  // ZeRO stage 0-3
  PipelineSchedule schedule = PipelineSchedule::kOneFOneB;
  std::uint64_t virtual_stages = 1;  // model chunks per device (interleaved: V >= 2)
  bool sequence_parallel = false;

  std::uint64_t devices() const { return dp * tp * pp; }
  std::uint64_t chunks() const { return pp * virtual_stages; }  // pipeline stages in all
  // "dp=4,tp=32,pp=8" (+ ", zero 1, 1f1b, sequence parallel" in Describe).
  std::string Spec() const;
  std::string Describe() const;
};

// Parses --parallel "dp=4,tp=32,pp=8" (any order, each at most once, missing ones 1),
// --zero "0".."3", --schedule "gpipe" | "1f1b" | "interleaved:V". Errors are InputError
// naming the option and the value.
ParallelLayout ParseParallelLayout(const std::string& parallel, const std::string& zero,
                                   const std::string& schedule, bool sequence_parallel);

// Checks the layout against the model: tp > 1 needs a gpt or llama model whose heads and
// ffn it divides (and kv_heads, or a multiple of them); pp x V stages at most the layers,
// dividing them. InputError naming the key and the value.
void CheckLayoutFitsModel(const ParallelLayout& layout, const WorkloadConfig& config);
// After ResolveGlobalBatch: interleaved needs pp >= 2 and micro-batches a multiple of pp.
void CheckScheduleFitsBatch(const ParallelLayout& layout, const WorkloadConfig& config);

// Resolves global_batch = micro_batch x grad_accum_steps x dp in `training`, from what was
// given (TrainingConfig::*_source): a value given by an override wins over the file's; two
// given at the same level must agree; global_batch alone derives grad_accum_steps (it must
// be a multiple of micro_batch x dp). Returns which was derived, e.g. "global batch 1024 =
// micro-batch 1 x 256 accumulation steps x dp 4 (accumulation steps derived)".
// InputError naming training.global_batch on inconsistent input.
std::string ResolveGlobalBatch(TrainingConfig& training, std::uint64_t dp);

}  // namespace systole
