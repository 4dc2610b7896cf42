// Runs a list of GEMMs back to back on one tensor engine (SystemC, tile level) and
// collects per-GEMM figures. This is what `systole gemm` and `systole run` execute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/chip/arch_config.h"

namespace systole {

struct GemmJob {
  std::string name;
  GemmShape shape;
  std::uint64_t count = 1;  // independent identical GEMMs (e.g. attention heads)
};

struct GemmResult {
  GemmJob job;
  FoldMapping mapping;
  std::uint64_t folds = 0;               // folds x count
  std::uint64_t cycles = 0;              // simulated by the SystemC engine
  std::uint64_t closed_form_cycles = 0;  // TimeGemm x count (must equal cycles)
  std::uint64_t macs = 0;
  double time_ns = 0;
  double utilization = 0;         // macs / (cycles * R * C)
  double mapping_efficiency = 0;  // mean used PEs per fold / (R * C)
  // SRAM-side operand traffic, bytes (elements x bytes_per_element).
  std::uint64_t ifmap_read_bytes = 0;
  std::uint64_t filter_read_bytes = 0;
  std::uint64_t ofmap_write_bytes = 0;
};

struct GemmRunSummary {
  std::vector<GemmResult> gemms;
  std::uint64_t total_cycles = 0;
  double total_time_ns = 0;
  std::uint64_t total_macs = 0;
  double utilization = 0;
  std::uint64_t simulated_events = 0;  // tensor-engine instructions (runs of folds)
};

GemmRunSummary SimulateGemms(const ArchConfig& arch, const std::vector<GemmJob>& jobs);

// The embedded default workload of `systole run`: the GEMMs of one GPT-2-small
// transformer layer's forward pass (sequence 1024, hidden 768, 12 heads).
std::vector<GemmJob> DefaultGemmSet();

// Text table and JSON renderings (deterministic, units in every column name).
std::string FormatGemmSummary(const ArchConfig& arch, const GemmRunSummary& summary);
std::string GemmSummaryJson(const ArchConfig& arch, const GemmRunSummary& summary);

}  // namespace systole
