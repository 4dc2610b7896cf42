#include "sim/config/param_registry.h"

#include <fmt/format.h>

#include <algorithm>

namespace systole {

namespace {

ParamSpec Integer(std::string key, std::string unit, long long def, double min, double max,
                  std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kInteger;
  p.unit = std::move(unit);
  p.default_value = std::to_string(def);
  p.min = min;
  p.max = max;
  p.description = std::move(description);
  return p;
}

ParamSpec Float(std::string key, std::string unit, std::string def, double min, double max,
                std::string description) {
  ParamSpec p = Integer(std::move(key), std::move(unit), 0, min, max, std::move(description));
  p.type = ParamType::kFloat;
  p.default_value = std::move(def);
  return p;
}

ParamSpec Choice(std::string key, std::string def, std::vector<std::string> choices,
                 std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kChoice;
  p.default_value = std::move(def);
  p.choices = std::move(choices);
  p.description = std::move(description);
  return p;
}

ParamSpec Bool(std::string key, bool def, std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kBool;
  p.default_value = def ? "true" : "false";
  p.description = std::move(description);
  return p;
}

ParamSpec String(std::string key, std::string def, std::string description) {
  ParamSpec p;
  p.key = std::move(key);
  p.type = ParamType::kString;
  p.default_value = std::move(def);
  p.description = std::move(description);
  return p;
}

std::vector<ParamSpec> BuildTable() {
  // Defaults describe Systole's own baseline design (configs/arch/systole-base.toml).
  return {
      String("chip.name", "systole-base", "Name of the design, copied into every report"),
      Float("core.clock_ghz", "GHz", "1.4", 0.001, 10.0,
            "Core clock: tensor-engine cycles are converted to time with it"),
      Integer("core.tensor.rows", "PEs", 128, 1, 65536,
              "Systolic array rows (R): the dimension mapped on rows, see dataflow"),
      Integer("core.tensor.cols", "PEs", 128, 1, 65536, "Systolic array columns (C)"),
      Choice("core.tensor.dataflow", "ws", {"ws", "os", "is"},
             "Stationary operand: ws = weights (B), os = outputs, is = inputs (A)"),
      Choice("core.tensor.dtype", "bf16", {"fp32", "bf16", "fp16", "fp8", "int8"},
             "Operand datatype; sets bytes per element in traffic figures"),
      Integer("core.tensor.min_issue_cycles", "cycles", 16, 0, 1 << 20,
              "Minimum issue interval of one matmul instruction (fixed per-instruction cost)"),
      Integer("core.tensor.fp32_rate_divisor", "x", 4, 1, 64,
              "FP32 matmuls stream this many times slower than bf16/fp16"),
      Integer("core.tensor.fp8_rate_multiplier", "x", 1, 1, 8,
              "FP8 matmuls stream this many times faster than bf16/fp16"),
      Bool("core.tensor.weight_double_buffer", true,
           "Load the next stationary tile while the current one streams (hides the R-cycle load)"),

      Float("core.vector.clock_ghz", "GHz", "1.4", 0.001, 10.0, "Vector engine clock"),
      Integer("core.vector.lanes", "partitions", 128, 1, 4096,
              "Partitions the vector engine processes in parallel"),
      Float("core.vector.elements_per_cycle", "elements/cycle", "1", 0.001, 1024,
            "Elements per lane per cycle for a one-input op (two-input ops take twice as long)"),
      Integer("core.vector.fixed_overhead_cycles", "cycles", 64, 0, 1 << 20,
              "Fixed cost of every vector instruction (issue, pipeline fill)"),

      Float("core.scalar.clock_ghz", "GHz", "1.4", 0.001, 10.0, "Scalar (activation) engine clock"),
      Integer("core.scalar.lanes", "partitions", 128, 1, 4096,
              "Partitions the scalar engine processes in parallel"),
      Integer("core.scalar.fixed_overhead_cycles", "cycles", 64, 0, 1 << 20,
              "Fixed cost of every scalar-engine instruction"),
      Float("core.scalar.identity_cycles_per_element", "cycles", "1", 0.001, 1024,
            "Per-element cost of copy/scale/cast on the scalar engine"),
      Float("core.scalar.exp_cycles_per_element", "cycles", "1", 0.001, 1024,
            "Per-element cost of exp"),
      Float("core.scalar.tanh_cycles_per_element", "cycles", "1", 0.001, 1024,
            "Per-element cost of tanh"),
      Float("core.scalar.gelu_cycles_per_element", "cycles", "2", 0.001, 1024,
            "Per-element cost of gelu (tanh approximation)"),
      Float("core.scalar.silu_cycles_per_element", "cycles", "2", 0.001, 1024,
            "Per-element cost of silu (x * sigmoid(x))"),
      Float("core.scalar.rsqrt_cycles_per_element", "cycles", "1", 0.001, 1024,
            "Per-element cost of rsqrt"),

      Integer("core.scratchpad.partitions", "partitions", 128, 1, 4096,
              "Scratchpad partitions (rows that engines access in parallel)"),
      Integer("core.scratchpad.partition_bytes", "bytes", 196608, 1, 1ll << 34,
              "Capacity of one scratchpad partition"),
      Integer("core.scratchpad.bytes_per_cycle_per_partition", "bytes/cycle", 64, 1, 1 << 16,
              "Bandwidth of one partition, shared by all engines (core clock)"),
      Integer("core.scratchpad.access_overhead_cycles", "cycles", 60, 0, 1 << 20,
              "Fixed latency added to every scratchpad access"),

      Integer("core.accumulator.partitions", "partitions", 128, 1, 4096,
              "Accumulator partitions (one per array column)"),
      Integer("core.accumulator.partition_bytes", "bytes", 16384, 4, 1ll << 30,
              "Capacity of one accumulator partition (FP32 entries)"),
      Integer("core.accumulator.banks", "banks", 8, 1, 1024,
              "Banks per partition; accesses to one bank serialise"),
      Integer("core.accumulator.bytes_per_cycle_per_partition", "bytes/cycle", 64, 1, 1 << 16,
              "Bandwidth of one accumulator partition (core clock)"),
      Integer("core.accumulator.access_overhead_cycles", "cycles", 60, 0, 1 << 20,
              "Fixed latency added to every accumulator access"),

      Integer("core.dma.queues", "queues", 16, 1, 256, "DMA queues (engines) per core"),
      Float("core.dma.queue_bandwidth_gbps", "GB/s", "27", 0.001, 100000,
            "Data bandwidth of one DMA queue"),
      Float("core.dma.setup_latency_ns", "ns", "1300", 0, 1e9,
            "Fixed latency of each transfer (overlaps the previous transfer's data)"),
      Integer("core.dma.efficient_chunk_bytes", "bytes", 2048, 1, 1 << 30,
              "Contiguous chunks smaller than this cost as much time as one of this size"),
      Integer("core.dma.max_outstanding", "transfers", 8, 1, 4096,
              "Transfers one queue keeps in flight"),
  };
}

}  // namespace

std::string ParamSpec::Expectation() const {
  switch (type) {
    case ParamType::kInteger:
      return fmt::format("an integer in [{}, {}]", static_cast<long long>(min),
                         static_cast<long long>(max));
    case ParamType::kFloat:
      return fmt::format("a number in [{}, {}]", min, max);
    case ParamType::kChoice: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
      return out;
    }
    case ParamType::kString:
      return "a string";
    case ParamType::kBool:
      return "true or false";
  }
  return "";
}

const std::vector<ParamSpec>& ArchParams() {
  static const std::vector<ParamSpec> table = BuildTable();
  return table;
}

const ParamSpec* FindArchParam(const std::string& key) {
  const auto& table = ArchParams();
  auto it =
      std::find_if(table.begin(), table.end(), [&](const ParamSpec& p) { return p.key == key; });
  return it == table.end() ? nullptr : &*it;
}

std::string FormatParamTable() {
  std::string out = fmt::format("{:<24} {:<8} {:<14} {:<30} {}\n", "key", "unit", "default",
                                "valid", "description");
  for (const ParamSpec& p : ArchParams()) {
    out += fmt::format("{:<24} {:<8} {:<14} {:<30} {}\n", p.key, p.unit.empty() ? "-" : p.unit,
                       p.default_value, p.Expectation(), p.description);
  }
  return out;
}

}  // namespace systole
