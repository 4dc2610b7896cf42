// One accelerator core: engines, on-chip memories, DMA queues and HBM, wired together.
//
// What it models
//   A tensor engine (MatmulUnit), a vector engine and a scalar
//   (activation) engine (VectorUnit), N DMA queues (DmaQueue), a scratchpad and an
//   accumulator memory (OnChipMemory), and HBM. Every engine is an Engine module running
//   its own instruction stream of the Program; engines synchronise only through the
//   waits the kernel recorded (semaphores), so loads, matmuls, vector work and stores
//   overlap exactly as the program allows. Engines reach the memories with one TLM-2.0
//   LT transaction per instruction; memories and HBM are shared, so they contend.
//   HBM fidelity: kBandwidth (a bandwidth + latency pipe at the HBM's peak) or kBanked
//   (the banked HBM model of models/hbm/).
//
//   RunCores runs several such cores on one chip; they share the HBM.
//
// What it ignores
//   Chip-to-chip links (later issues), instruction fetch. Power: the run reports its
//   activity; models/energy turns it into energy.
//
// Parameters
//   Everything under core.* and hbm.* in `systole params`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chip/arch_config.h"
#include "models/core/program.h"
#include "models/energy/activity.h"
#include "models/memory/onchip_memory.h"

namespace systole {

enum class HbmFidelity { kBandwidth, kBanked };

struct CoreRunOptions {
  bool record_trace = false;  // keep one record per instruction (for trace.json)
  HbmFidelity hbm = HbmFidelity::kBandwidth;
  // Bandwidth of the bandwidth-pipe HBM in GB/s; 0 = the HBM's peak. A representative core
  // of a GPU-class chip runs with its share of the chip's memory bandwidth
  // (workloads/kernel/wave_schedule.h).
  double hbm_gbps = 0;
};

struct EngineReport {
  std::string name;  // "tensor", "vector", "scalar", "dma0", ...
  std::uint64_t instructions = 0;
  double busy_ns = 0;        // time the engine was occupied
  double busy_fraction = 0;  // busy_ns / run time
};

struct TraceSlice {
  std::uint32_t engine = 0;     // index into CoreRunResult::engines
  std::uint32_t instr = 0;      // global instruction id
  double start_ns = 0;          // issue
  double occupancy_end_ns = 0;  // the engine may issue its next instruction from here
  double end_ns = 0;            // completion
};

// Instructions an engine of this kind keeps in flight at once (Engine's max_outstanding):
// the tensor engine 4 (its pipeline), the vector and scalar engines 1, a DMA queue
// core.dma.max_outstanding.
std::uint32_t MaxOutstanding(const CoreConfig& core, EngineKind kind);

struct CoreRunResult {
  double time_ns = 0;  // completion of the last instruction
  std::uint64_t instructions = 0;
  std::uint64_t flops = 0;       // tensor-engine FLOPs (2 per MAC)
  std::uint64_t hbm_bytes = 0;   // bytes moved to/from HBM
  double peak_flops_per_ns = 0;  // tensor engine, bf16
  double hbm_peak_gbps = 0;      // GB/s = bytes/ns
  double hfu = 0;                // flops / (time * peak)
  double compute_bound_ns = 0;   // flops / peak
  double memory_bound_ns = 0;    // hbm_bytes / HBM peak
  std::vector<EngineReport> engines;
  OnChipMemoryStats scratchpad, accumulator;
  // What the run did, for the energy model (models/energy): MACs and element-ops from the
  // instructions it ran, on-chip bytes from the memories' statistics, HBM bytes from the
  // DMA instructions, row activations from the banked HBM model (its chip-wide count split
  // over the cores by their HBM bytes) or one per hbm.row_bytes moved with the bandwidth
  // model, busy time from the engines.
  Activity activity;
  std::vector<TraceSlice> slices;  // when record_trace
  double roofline_ns() const {
    return compute_bound_ns > memory_bound_ns ? compute_bound_ns : memory_bound_ns;
  }
};

// Elaborates a fresh SystemC kernel (SimContext), runs the program to completion and
// returns the figures. Throws InputError for configurations the core cannot model.
CoreRunResult RunCore(const ArchConfig& arch, const Program& program,
                      const CoreRunOptions& options);

// Several cores of one chip, each running its own program, sharing one HBM (its
// bandwidth, banks and rows); results per core, in order. Each program's HBM tensors
// must lie in its own address range (KernelBuilder's hbm_base) unless sharing is meant.
std::vector<CoreRunResult> RunCores(const ArchConfig& arch, const std::vector<Program>& programs,
                                    const CoreRunOptions& options);

}  // namespace systole
