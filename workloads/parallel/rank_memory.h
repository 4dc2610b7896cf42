// Memory of one device (rank) in a parallel training run.
//
// What it models (bytes):
//   model states of the parameters the rank holds (its tensor-parallel share of its
//   pipeline stage's layers), sharded over the dp replicas by ZeRO stage (Rajbhandari et
//   al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
//   arXiv:1910.02054, sec. 5 and Figure 1): with Psi parameters, 2 + 2 + K bytes each for
//   mixed-precision Adam (bf16 weights, bf16 gradients, K = 12: fp32 master, momentum,
//   variance):
//     stage 0  (2 + 2 + K) Psi
//     stage 1  (2 + 2) Psi + K Psi / dp           optimizer states sharded
//     stage 2  2 Psi + (2 + K) Psi / dp           gradients too
//     stage 3  (2 + 2 + K) Psi / dp               parameters too
//   (shards rounded up to whole bytes per tensor-kind total);
//   activations saved for backward: the saved bytes of one micro-batch on each chunk
//   times the micro-batches the schedule keeps in flight (pipeline_schedule.h), plus the
//   step's transient workspace (workloads/training/footprint.h).
// What it ignores: ZeRO-3's gathered layer buffers and communication buckets, allocator
// fragmentation, framework buffers.
#pragma once

#include <cstdint>

#include "workloads/training/footprint.h"

namespace systole {

// `states`: the rank's unsharded weights, gradients, master weights and optimizer state
// (the other fields are ignored); returns them sharded by `zero` over `dp` replicas.
Footprint ShardModelStates(const Footprint& states, int zero, std::uint64_t dp);

}  // namespace systole
