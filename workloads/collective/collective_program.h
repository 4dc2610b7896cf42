// A collective as DMA instructions on the core's timeline (kDmaLink, models/link/link.h).
//
// CollectiveProgram turns the representative rank's steps (CollectiveResult::steps) into
// a core program: every repetition of a step is one kDmaLink per DMA queue (the chunk
// split evenly), each waiting for all of the previous step's, over a link whose bandwidth
// is the rank's share of the step's most loaded link or network path (send bytes / link
// time) and whose latency is the step's. Run alone, the program takes the fast model's
// time plus the DMA queues' setup latency per step; run in one program with compute
// kernels (AppendCollective), its reads and writes share the HBM and its queues.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/program.h"
#include "workloads/collective/collective.h"

namespace systole {

// The collective alone, its data at HBM address hbm_base (bytes).
Program CollectiveProgram(const ArchConfig& arch, const CollectiveResult& result,
                          std::uint64_t hbm_base = 0);

// Appends the collective's instructions to `program` on DMA queues [first_queue,
// first_queue + queues), the first step waiting for `after` (global ids; e.g. the
// instruction that produced the gradient bucket). Returns the ids of the last step.
std::vector<std::uint32_t> AppendCollective(Program& program, const ArchConfig& arch,
                                            const CollectiveResult& result, std::uint64_t hbm_base,
                                            std::uint16_t first_queue, std::uint16_t queues,
                                            const std::vector<std::uint32_t>& after);

}  // namespace systole
