#include "models/core/core.h"

#include <algorithm>
#include <memory>

#include "base/error.h"
#include "models/core/engine.h"
#include "models/dma/dma_queue.h"
#include "models/hbm/hbm.h"
#include "models/memory/bandwidth_memory.h"
#include "models/sysc/sim_context.h"
#include "models/tensor_engine/matmul_unit.h"
#include "models/vector_engine/vector_unit.h"

namespace systole {

namespace {

std::uint32_t SlotOf(const EngineId& id) {
  switch (id.kind) {
    case EngineKind::kTensor:
      return 0;
    case EngineKind::kVector:
      return 1;
    case EngineKind::kScalar:
      return 2;
    case EngineKind::kDma:
      return 3 + id.index;
  }
  return 0;
}

// The inverse of SlotOf, for the kind.
EngineKind KindOfSlot(std::uint32_t slot) {
  return slot == 0   ? EngineKind::kTensor
         : slot == 1 ? EngineKind::kVector
         : slot == 2 ? EngineKind::kScalar
                     : EngineKind::kDma;
}

// The modules of one core, bound to a shared HBM socket.
struct CoreInstance {
  CoreInstance(const std::string& prefix, const ArchConfig& arch, const Program& program,
               const CoreRunOptions& options,
               tlm_utils::multi_passthrough_target_socket<Hbm>* banked,
               BandwidthMemory::Socket* flat)
      : program(program),
        dma_engines(arch.core.dma, arch.core.scratchpad.partitions),
        scratchpad((prefix + "scratchpad").c_str(), arch.core.scratchpad, arch.core.clock_ghz),
        accumulator((prefix + "accumulator").c_str(), arch.core.accumulator, arch.core.clock_ghz),
        tensor((prefix + "tensor_unit").c_str(), arch.core),
        vector((prefix + "vector_unit").c_str(), EngineKind::kVector, arch.core),
        scalar((prefix + "scalar_unit").c_str(), EngineKind::kScalar, arch.core) {
    const CoreConfig& core = arch.core;
    const auto queues = static_cast<std::uint32_t>(core.dma.queues);
    if (program.dma_queues > queues) {
      throw InputError("program '" + program.kernel_name + "' uses " +
                       std::to_string(program.dma_queues) + " DMA queues but the core has " +
                       std::to_string(queues));
    }
    const std::uint32_t slots = 3 + queues;
    const std::size_t n = program.instructions.size();
    board.entries.assign(n, CompletionBoard::Entry{});  // one NotIssued() conversion, copied
    // Each engine's stream: the global ids of its instructions, in order.
    std::vector<std::vector<std::uint32_t>> streams(slots);
    for (std::size_t i = 0; i < n; ++i) {
      streams[SlotOf(program.instructions[i].engine)].push_back(static_cast<std::uint32_t>(i));
    }
    tensor.scratchpad.bind(scratchpad.socket);
    tensor.accumulator.bind(accumulator.socket);
    vector.scratchpad.bind(scratchpad.socket);
    vector.accumulator.bind(accumulator.socket);
    scalar.scratchpad.bind(scratchpad.socket);
    scalar.accumulator.bind(accumulator.socket);
    for (const LinkTarget& l : program.links) links.emplace_back(l.bandwidth_gbps, l.latency_ns);
    for (std::uint32_t q = 0; q < queues; ++q) {
      dma.push_back(
          std::make_unique<DmaQueue>((prefix + "dma_unit" + std::to_string(q)).c_str(), core,
                                     /*chunk_lists=*/banked != nullptr, &dma_engines, &links));
      if (banked != nullptr) {
        dma.back()->hbm.bind(*banked);
      } else {
        dma.back()->hbm.bind(*flat);
      }
      dma.back()->scratchpad.bind(scratchpad.socket);
    }
    names = {"tensor", "vector", "scalar"};
    for (std::uint32_t q = 0; q < queues; ++q) names.push_back("dma" + std::to_string(q));
    for (std::uint32_t slot = 0; slot < slots; ++slot) {
      EngineCostModel* cost = slot == 0   ? static_cast<EngineCostModel*>(&tensor)
                              : slot == 1 ? static_cast<EngineCostModel*>(&vector)
                              : slot == 2 ? static_cast<EngineCostModel*>(&scalar)
                                          : static_cast<EngineCostModel*>(dma[slot - 3].get());
      const std::uint32_t outstanding = MaxOutstanding(core, KindOfSlot(slot));
      engines.push_back(std::make_unique<Engine>((prefix + names[slot]).c_str(), *cost, program,
                                                 std::move(streams[slot]), board, outstanding,
                                                 options.record_trace));
    }
  }

  // Fills everything but the roofline figures.
  void Collect(CoreRunResult& result, const CoreRunOptions& options) const {
    sc_core::sc_time end = sc_core::SC_ZERO_TIME;
    for (const auto& e : engines) end = std::max(end, e->last_completion());
    result.time_ns = end.to_seconds() * 1e9;
    for (std::uint32_t slot = 0; slot < engines.size(); ++slot) {
      const Engine& e = *engines[slot];
      EngineReport r;
      r.name = names[slot];
      r.instructions = e.issued();
      r.busy_ns = e.busy_time().to_seconds() * 1e9;
      r.busy_fraction = result.time_ns > 0 ? r.busy_ns / result.time_ns : 0.0;
      result.engines.push_back(r);
      if (options.record_trace) {
        for (const InstrRecord& rec : e.records()) {
          result.slices.push_back({slot, rec.id, rec.issue.to_seconds() * 1e9,
                                   rec.occupancy_end.to_seconds() * 1e9,
                                   rec.complete.to_seconds() * 1e9});
        }
      }
    }
    for (std::size_t i = 0; i < board.entries.size(); ++i) {
      if (!board.entries[i].issued()) {
        throw std::logic_error("program '" + program.kernel_name +
                               "' did not complete: instruction #" + std::to_string(i) +
                               " never ran");
      }
    }
    result.scratchpad = scratchpad.stats();
    result.accumulator = accumulator.stats();
    Activity& a = result.activity;
    a.scratchpad_read_bytes = static_cast<double>(result.scratchpad.read_bytes);
    a.scratchpad_write_bytes = static_cast<double>(result.scratchpad.write_bytes);
    a.accumulator_read_bytes = static_cast<double>(result.accumulator.read_bytes);
    a.accumulator_write_bytes = static_cast<double>(result.accumulator.write_bytes);
    for (std::uint32_t slot = 0; slot < engines.size(); ++slot) {
      const double busy = result.engines[slot].busy_ns;
      switch (KindOfSlot(slot)) {
        case EngineKind::kTensor:
          a.tensor_busy_ns += busy;
          break;
        case EngineKind::kVector:
          a.vector_busy_ns += busy;
          break;
        case EngineKind::kScalar:
          a.scalar_busy_ns += busy;
          break;
        case EngineKind::kDma:
          a.dma_busy_ns += busy;
          break;
      }
    }
  }

  const Program& program;
  CompletionBoard board;
  DmaEngines dma_engines;  // shared by the DMA queues
  OnChipMemory scratchpad;
  OnChipMemory accumulator;
  MatmulUnit tensor;
  VectorUnit vector;
  VectorUnit scalar;
  std::vector<Link> links;  // the program's link targets, shared by its DMA queues
  std::vector<std::unique_ptr<DmaQueue>> dma;
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Engine>> engines;
};

// MACs, element-ops and HBM bytes of the program's instructions (each ran exactly once).
void CountProgramActivity(const Program& program, Activity& a) {
  for (const Instruction& in : program.instructions) {
    const double elements = static_cast<double>(in.partitions) * in.free_elems;
    switch (in.op) {
      case Opcode::kMatmul:
        a.macs[static_cast<int>(in.dtype)] +=
            static_cast<double>(in.partitions) * in.stationary_cols * in.moving_cols;
        break;
      case Opcode::kVectorUnary:
      case Opcode::kVectorBinary:
      case Opcode::kVectorReduce:
      case Opcode::kActivation:
        (in.engine.kind == EngineKind::kScalar ? a.scalar_elements : a.vector_elements) += elements;
        break;
      case Opcode::kDmaLoad:
        a.hbm_read_bytes += static_cast<double>(in.hbm.bytes());
        break;
      case Opcode::kDmaStore:
        a.hbm_write_bytes += static_cast<double>(in.hbm.bytes());
        break;
      case Opcode::kDmaLink: {
        // Read the chunk to send, send it, write the chunk received; a reducing step also
        // reads both operands and writes the sum (models/dma/dma_queue.cpp, IssueLink).
        const double bytes = static_cast<double>(in.hbm.bytes());
        a.link_bytes += bytes;
        a.hbm_read_bytes += in.accumulate ? 3 * bytes : bytes;
        a.hbm_write_bytes += in.accumulate ? 2 * bytes : bytes;
        break;
      }
    }
  }
}

void FillRoofline(const ArchConfig& arch, const Program& program, CoreRunResult& result) {
  const CoreConfig& core = arch.core;
  result.instructions = program.instructions.size();
  result.flops = program.flops;
  result.hbm_bytes = program.hbm_bytes;
  result.peak_flops_per_ns = core.PeakFlopsPerNs();
  result.hbm_peak_gbps = arch.hbm.PeakGBps();
  result.compute_bound_ns = static_cast<double>(result.flops) / result.peak_flops_per_ns;
  // The memory bound: HBM, or the core's DMA engines when they carry less (NeuronCore-v2:
  // 16 x 17 GB/s = 272 GB/s against 820 GB/s of HBM).
  double memory_gbps = result.hbm_peak_gbps;
  if (core.dma.engines > 0) {
    memory_gbps = std::min(memory_gbps,
                           static_cast<double>(core.dma.engines) * core.dma.engine_bandwidth_gbps);
  }
  result.memory_bound_ns = static_cast<double>(result.hbm_bytes) / memory_gbps;
  result.hfu = result.time_ns > 0 ? result.compute_bound_ns / result.time_ns : 0.0;
}

std::vector<CoreRunResult> RunPrograms(const ArchConfig& arch,
                                       const std::vector<const Program*>& programs,
                                       const CoreRunOptions& options) {
  std::vector<CoreRunResult> results(programs.size());
  {
    SimContext context;
    // Exactly one HBM model, shared by every core: the banked one or the bandwidth pipe.
    std::unique_ptr<BandwidthMemory> flat_hbm;
    std::unique_ptr<Hbm> banked_hbm;
    if (options.hbm == HbmFidelity::kBanked) {
      banked_hbm = std::make_unique<Hbm>("hbm", arch.hbm);
    } else {
      flat_hbm = std::make_unique<BandwidthMemory>(
          "hbm", options.hbm_gbps > 0 ? options.hbm_gbps : arch.hbm.PeakGBps(),
          arch.hbm.trcd_ns + arch.hbm.tcl_ns);
    }
    std::vector<std::unique_ptr<CoreInstance>> cores;
    for (std::size_t c = 0; c < programs.size(); ++c) {
      const std::string prefix = programs.size() == 1 ? "" : "core" + std::to_string(c) + "_";
      cores.push_back(std::make_unique<CoreInstance>(prefix, arch, *programs[c], options,
                                                     banked_hbm ? &banked_hbm->socket : nullptr,
                                                     flat_hbm ? &flat_hbm->socket : nullptr));
    }
    sc_core::sc_start();
    for (std::size_t c = 0; c < programs.size(); ++c) {
      cores[c]->Collect(results[c], options);
      CountProgramActivity(*programs[c], results[c].activity);
    }
    // Row activations: the banked model counts them for the chip (split over the cores by
    // their HBM bytes); the bandwidth pipe has no rows, so one per row_bytes moved.
    double chip_hbm_bytes = 0;
    for (const CoreRunResult& r : results) {
      chip_hbm_bytes += r.activity.hbm_read_bytes + r.activity.hbm_write_bytes;
    }
    const double activations = banked_hbm
                                   ? static_cast<double>(banked_hbm->stats().activations)
                                   : chip_hbm_bytes / static_cast<double>(arch.hbm.row_bytes);
    for (CoreRunResult& r : results) {
      const double bytes = r.activity.hbm_read_bytes + r.activity.hbm_write_bytes;
      r.activity.hbm_activations =
          chip_hbm_bytes > 0 ? activations * (bytes / chip_hbm_bytes) : 0.0;
    }
  }
  for (std::size_t c = 0; c < programs.size(); ++c) FillRoofline(arch, *programs[c], results[c]);
  return results;
}

}  // namespace

std::uint32_t MaxOutstanding(const CoreConfig& core, EngineKind kind) {
  switch (kind) {
    case EngineKind::kTensor:
      return 4;
    case EngineKind::kVector:
    case EngineKind::kScalar:
      return 1;
    case EngineKind::kDma:
      return static_cast<std::uint32_t>(core.dma.max_outstanding);
  }
  return 1;
}

std::vector<CoreRunResult> RunCores(const ArchConfig& arch, const std::vector<Program>& programs,
                                    const CoreRunOptions& options) {
  std::vector<const Program*> pointers;
  for (const Program& p : programs) pointers.push_back(&p);
  return RunPrograms(arch, pointers, options);
}

CoreRunResult RunCore(const ArchConfig& arch, const Program& program,
                      const CoreRunOptions& options) {
  return RunPrograms(arch, {&program}, options).front();
}

}  // namespace systole
