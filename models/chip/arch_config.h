// Validated, immutable architecture configuration: the chip and every block's settings.
//
// The hardware blocks read it; sim/config (LoadArchConfig) builds it from the parameter
// defaults, an optional TOML file and `-p key=value` overrides, validating every value.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "models/energy/energy_config.h"
#include "models/hbm/hbm_config.h"
#include "models/link/system_config.h"
#include "models/tensor_engine/systolic_timing.h"

namespace systole {

struct TensorEngineConfig {
  ArrayShape array;  // PEs
  Dataflow dataflow = Dataflow::kWeightStationary;
  std::string dtype = "bf16";
  std::uint64_t bytes_per_element = 2;    // bytes, derived from dtype
  std::uint64_t min_issue_cycles = 0;     // cycles
  std::uint64_t fp32_rate_divisor = 4;    // x slower than bf16
  std::uint64_t fp8_rate_multiplier = 1;  // x faster than bf16
  bool weight_double_buffer = true;
};

struct VectorEngineConfig {
  double clock_ghz = 1.4;
  std::uint64_t lanes = 128;      // partitions in parallel
  double elements_per_cycle = 1;  // per lane, one-input op
  std::uint64_t fixed_overhead_cycles = 0;
};

struct ScalarEngineConfig {
  double clock_ghz = 1.4;
  std::uint64_t lanes = 128;
  std::uint64_t fixed_overhead_cycles = 0;
  double identity_cycles_per_element = 1;
  double exp_cycles_per_element = 1;
  double tanh_cycles_per_element = 1;
  double gelu_cycles_per_element = 2;
  double silu_cycles_per_element = 2;
  double rsqrt_cycles_per_element = 1;
};

// Scratchpad or accumulator: partitions x partition_bytes, banked along each partition.
struct OnChipMemoryConfig {
  std::uint64_t partitions = 128;
  std::uint64_t partition_bytes = 0;                 // bytes
  std::uint64_t banks = 1;                           // per partition
  std::uint64_t bytes_per_cycle_per_partition = 64;  // bytes/cycle at the core clock
  std::uint64_t access_overhead_cycles = 0;          // cycles of latency per access
  std::uint64_t capacity_bytes() const { return partitions * partition_bytes; }
};

struct DmaConfig {
  std::uint64_t queues = 16;
  double queue_bandwidth_gbps = 27;  // GB/s per queue
  double setup_latency_ns = 0;       // ns per transfer
  std::uint64_t efficient_chunk_bytes = 2048;
  std::uint64_t max_outstanding = 8;  // transfers in flight per queue
  // Shared DMA engines (models/dma/dma_engines.h); 0 = each queue is its own engine.
  std::uint64_t engines = 0;
  double engine_bandwidth_gbps = 17;  // GB/s per engine
  double descriptor_ns = 0;           // ns per descriptor on an engine
};

struct CoreConfig {
  double clock_ghz = 1.4;  // GHz: tensor engine and on-chip memories
  TensorEngineConfig tensor;
  VectorEngineConfig vector;
  ScalarEngineConfig scalar;
  OnChipMemoryConfig scratchpad;
  OnChipMemoryConfig accumulator;
  DmaConfig dma;
  // Tensor-engine peak of one core, bf16: 2 FLOPs per PE per cycle (FLOP/ns = GFLOP/s).
  double PeakFlopsPerNs() const {
    return 2.0 * static_cast<double>(tensor.array.rows) * static_cast<double>(tensor.array.cols) *
           clock_ghz;
  }
};

// How a kernel's work is spread over the chip's cores (chip.schedule).
enum class ChipSchedule { kSplit, kWaves };

struct ArchConfig {
  std::string name;
  std::uint64_t cores = 1;  // per chip, sharing the HBM
  ChipSchedule schedule = ChipSchedule::kSplit;
  std::uint64_t l2_bytes = 0;    // bytes, shared last-level cache (0 = none)
  double l2_bandwidth_gbps = 0;  // GB/s, L2 to all cores (0 = unlimited)
  double kernel_launch_ns = 0;   // ns added to every kernel
  CoreConfig core;
  HbmConfig hbm;
  SystemConfig system;  // chips, nodes and their links (models/link/system_config.h)
  EnergyConfig energy;  // energy table, power limit, server overheads (models/energy)
  // Every parameter's final value (as text) and where it came from ("default",
  // "file.toml:12", "-p"): written beside reports as the resolved config.
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> sources;

  // Tensor-engine peak of the chip (every core), bf16.
  double PeakFlopsPerNs() const { return core.PeakFlopsPerNs() * static_cast<double>(cores); }
  double CyclesToNs(std::uint64_t cycles) const {
    return static_cast<double>(cycles) / core.clock_ghz;
  }
};

}  // namespace systole
