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
      Integer("chip.cores", "cores", 1, 1, 1024,
              "Cores per chip; they share the chip's HBM (kernels split their work across them)"),
      Choice("chip.schedule", "split", {"split", "waves"},
             "How kernels use the cores: split = each core simulated with an even share of "
             "the rows; waves = GPU-style thread-block tiles in waves, one representative "
             "core timed per wave shape (sim/wave_schedule.h)"),
      Integer("chip.l2_bytes", "bytes", 0, 0, 1ll << 40,
              "Last-level cache shared by the cores (waves schedule; 0 = none: every tile "
              "load goes to HBM)"),
      Float("chip.l2_bandwidth_gbps", "GB/s", "0", 0, 1e7,
            "L2 to cores bandwidth, all cores together (waves schedule; 0 = not a limit)"),
      Float("chip.kernel_launch_ns", "ns", "0", 0, 1e9,
            "Fixed time added to every kernel (launch and teardown on the device)"),
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
            "Per-element cost of copy/scale/cast/square on the scalar engine"),
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
      Integer("core.scratchpad.partition_bytes", "bytes", 196608, 1, (1ll << 32) - 1,
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

      // HBM (models/hbm/hbm_config.h). Baseline: 2 HBM2E stacks = 819.2 GB/s. Device keys
      // left unset take their value from hbm.preset; defaults below are the hbm2e preset.
      Choice("hbm.preset", "hbm2e", {"hbm2e", "hbm3"},
             "Device preset (JEDEC HBM2E / HBM3 figures); explicitly set hbm.* keys win"),
      Integer("hbm.stacks", "stacks", 2, 1, 64, "HBM stacks"),
      Integer("hbm.channels_per_stack", "channels", 8, 1, 64, "Channels per stack"),
      Integer("hbm.pseudo_channels", "PCs", 2, 1, 8, "Pseudo-channels per channel"),
      Integer("hbm.pc_width_bits", "bits", 64, 8, 1024, "Data bus width of one pseudo-channel"),
      Float("hbm.data_rate_gbps", "Gbit/s", "3.2", 0.1, 100, "Data rate per pin"),
      Integer("hbm.bank_groups", "groups", 4, 1, 64, "Bank groups per pseudo-channel"),
      Integer("hbm.banks_per_group", "banks", 4, 1, 64, "Banks per bank group"),
      Integer("hbm.row_bytes", "bytes", 1024, 32, 1 << 20, "Row buffer (page) size of one bank"),
      Integer("hbm.rows_per_bank", "rows", 32768, 1, 1 << 24, "Rows per bank"),
      Integer("hbm.burst_length", "beats", 4, 1, 64, "Beats per column command (BL)"),
      Integer("hbm.interleave_bytes", "bytes", 256, 32, 1 << 20,
              "Address interleaving granule across pseudo-channels"),
      Float("hbm.trcd_ns", "ns", "14", 0, 1000, "tRCD: ACT to RD/WR"),
      Float("hbm.trp_ns", "ns", "14", 0, 1000, "tRP: PRE to ACT"),
      Float("hbm.tras_ns", "ns", "34", 0, 1000, "tRAS: ACT to PRE"),
      Float("hbm.tcl_ns", "ns", "14", 0, 1000, "tCL: RD to read data"),
      Float("hbm.tcwl_ns", "ns", "4", 0, 1000, "tCWL: WR to write data"),
      Float("hbm.trrd_s_ns", "ns", "4", 0, 1000, "tRRD_S: ACT to ACT, other bank group"),
      Float("hbm.trrd_l_ns", "ns", "6", 0, 1000, "tRRD_L: ACT to ACT, same bank group"),
      Float("hbm.tfaw_ns", "ns", "30", 0, 10000, "tFAW: window holding at most 4 ACTs"),
      Float("hbm.twr_ns", "ns", "16", 0, 1000, "tWR: end of write data to PRE"),
      Float("hbm.twtr_s_ns", "ns", "6", 0, 1000, "tWTR_S: write data to RD, other bank group"),
      Float("hbm.twtr_l_ns", "ns", "8", 0, 1000, "tWTR_L: write data to RD, same bank group"),
      Float("hbm.trtp_ns", "ns", "4", 0, 1000, "tRTP: RD to PRE"),
      Float("hbm.tccd_s_ns", "ns", "1.25", 0, 1000, "tCCD_S: column to column, other group"),
      Float("hbm.tccd_l_ns", "ns", "2", 0, 1000, "tCCD_L: column to column, same group"),
      Float("hbm.trefi_ns", "ns", "3900", 1, 1e7, "tREFI: all-bank refresh interval"),
      Float("hbm.trfc_ns", "ns", "260", 0, 1e6, "tRFC: all-bank refresh cycle time"),
      Float("hbm.trfcpb_ns", "ns", "160", 0, 1e6, "tRFCpb: per-bank refresh cycle time"),
      Bool("hbm.refresh", true, "Model refresh (off: no refresh windows)"),
      Choice("hbm.refresh_mode", "all_bank", {"all_bank", "per_bank"},
             "all_bank: REFab every tREFI; per_bank: one bank every tREFI / banks"),
      Integer("hbm.queue_depth", "bursts", 64, 1, 4096,
              "Controller queue per pseudo-channel (detailed reference model)"),

      // System (models/link/system_config.h). Defaults: one chip in one node, so a
      // single-chip design is unchanged. Link defaults are Trainium's NeuronLink-v2 class
      // (4 links, 384 GB/s per chip: aws-neuron-sdk trainium2.rst comparison table,
      // https://awsdocs-neuron.readthedocs-hosted.com/en/latest/general/arch/neuron-hardware/trainium2.html)
      // and the network trn1.32xlarge's 800 Gbit/s EFA (aws-neuron-sdk trn1-arch.rst).
      Integer("system.chips_per_node", "chips", 1, 1, 1 << 16,
              "Chips in one node (joined by the chip-to-chip links)"),
      Integer("system.nodes", "nodes", 1, 1, 1 << 20, "Nodes (joined by the network)"),
      Choice("system.topology", "ring", {"ring", "torus2d", "fully_connected", "switch"},
             "Chip-to-chip topology inside a node"),
      Integer("system.torus_x", "chips", 0, 0, 1 << 16,
              "torus2d: chips along x (must divide chips_per_node; 0 = squarest factor)"),
      Integer("system.links_per_chip", "links", 4, 1, 256,
              "Chip-to-chip links per chip (ring 2+, torus2d 4+, fully_connected chips-1+)"),
      Float("system.link_bandwidth_gbps", "GB/s", "48", 0.001, 1e6,
            "Bandwidth of one chip-to-chip link, per direction"),
      Float("system.link_latency_ns", "ns", "2000", 0, 1e9,
            "Latency of one chip-to-chip message (one hop, software included)"),
      Choice("system.network", "fat_tree", {"fat_tree", "rail_optimized"},
             "Node-to-node network: fat tree, or rails (chip i of every node on rail i)"),
      Float("system.node_bandwidth_gbps", "GB/s", "100", 0.001, 1e7,
            "Network bandwidth of one node (all its NICs), per direction"),
      Float("system.node_latency_ns", "ns", "15000", 0, 1e9, "Latency of one node-to-node message"),
      Float("system.oversubscription", "x", "1", 1, 1024,
            "Spine oversubscription (1 = non-blocking): cross-leaf (or cross-rail) traffic "
            "gets bandwidth / this"),
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
