#include "sim/config/param_registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/hbm/hbm_config.h"

namespace systole {

namespace {

std::vector<ParamSpec> BuildTable() {
  // Defaults describe Systole's own baseline design (configs/arch/systole-base.toml).
  return {
      StringParam("chip.name", "systole-base", "Name of the design, copied into every report"),
      IntegerParam(
          "chip.cores", "cores", 1, 1, 1024,
          "Cores per chip; they share the chip's HBM (kernels split their work across them)"),
      ChoiceParam("chip.schedule", "split", {"split", "waves"},
                  "How kernels use the cores: split = each core simulated with an even share of "
                  "the rows; waves = GPU-style thread-block tiles in waves, one representative "
                  "core timed per wave shape (workloads/kernel/wave_schedule.h)"),
      IntegerParam("chip.l2_bytes", "bytes", 0, 0, 1ll << 40,
                   "Last-level cache shared by the cores (waves schedule; 0 = none: every tile "
                   "load goes to HBM)"),
      FloatParam("chip.l2_bandwidth_gbps", "GB/s", "0", 0, 1e7,
                 "L2 to cores bandwidth, all cores together (waves schedule; 0 = not a limit)"),
      FloatParam("chip.kernel_launch_ns", "ns", "0", 0, 1e9,
                 "Fixed time added to every kernel (launch and teardown on the device)"),
      // Power (models/energy/energy_config.h). The baseline is a card-class part: the PCIe
      // slot limit, PCI-SIG "PCI Express Card Electromechanical Specification" (75 W slot
      // power), https://pcisig.com/specifications
      FloatParam("chip.tdp_w", "W", "75", 0.001, 1e6,
                 "Thermal design power of the chip; a step averaging above it is throttled "
                 "(chip.power_policy) [PCIe CEM 75 W slot limit]"),
      ChoiceParam("chip.power_policy", "throttle", {"throttle", "report"},
                  "Above chip.tdp_w: throttle = lower every clock until the step fits (reported), "
                  "report = keep the clocks and report the excess"),
      FloatParam(
          "chip.uncore_static_w", "W", "5", 0, 1e6,
          "Static power of the chip outside the cores and HBM (interconnect, host interface) "
          "[assumption]"),
      FloatParam("core.clock_ghz", "GHz", "1.4", 0.001, 10.0,
                 "Core clock: tensor-engine cycles are converted to time with it"),
      IntegerParam("core.tensor.rows", "PEs", 128, 1, 65536,
                   "Systolic array rows (R): the dimension mapped on rows, see dataflow"),
      IntegerParam("core.tensor.cols", "PEs", 128, 1, 65536, "Systolic array columns (C)"),
      ChoiceParam("core.tensor.dataflow", "ws", {"ws", "os", "is"},
                  "Stationary operand: ws = weights (B), os = outputs, is = inputs (A)"),
      ChoiceParam("core.tensor.dtype", "bf16", {"fp32", "bf16", "fp16", "fp8", "int8"},
                  "Operand datatype; sets bytes per element in traffic figures"),
      IntegerParam("core.tensor.min_issue_cycles", "cycles", 16, 0, 1 << 20,
                   "Minimum issue interval of one matmul instruction (fixed per-instruction cost)"),
      IntegerParam("core.tensor.fp32_rate_divisor", "x", 4, 1, 64,
                   "FP32 matmuls stream this many times slower than bf16/fp16"),
      IntegerParam("core.tensor.fp8_rate_multiplier", "x", 1, 1, 8,
                   "FP8 matmuls stream this many times faster than bf16/fp16"),
      BoolParam(
          "core.tensor.weight_double_buffer", true,
          "Load the next stationary tile while the current one streams (hides the R-cycle load)"),
      // Energy per operation: M. Horowitz, "Computing's energy problem (and what we can do
      // about it)", ISSCC 2014, https://doi.org/10.1109/ISSCC.2014.6757323 (45 nm, 0.9 V:
      // FP16 mult 1.1 pJ, FP32 add 0.9 pJ, FP32 mult 3.7 pJ, 8-bit mult 0.2 pJ; SRAM 64-bit
      // read 10 pJ (8 KB), 20 pJ (32 KB)), scaled x0.2 to a 7 nm-class process after A.
      // Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS device
      // performance from 180 nm to 7 nm", Integration 58 (2017),
      // https://doi.org/10.1016/j.vlsi.2017.02.002 (the factor is our reading of it).
      FloatParam("core.tensor.energy_pj_per_mac_fp32", "pJ", "0.92", 0, 1e6,
                 "Energy of one FP32 MAC [Horowitz ISSCC 2014: (3.7 + 0.9) pJ at 45 nm x 0.2]"),
      FloatParam("core.tensor.energy_pj_per_mac_bf16", "pJ", "0.4", 0, 1e6,
                 "Energy of one BF16 MAC, FP32 accumulate [Horowitz: (1.1 + 0.9) pJ x 0.2]"),
      FloatParam("core.tensor.energy_pj_per_mac_fp16", "pJ", "0.4", 0, 1e6,
                 "Energy of one FP16 MAC, FP32 accumulate [Horowitz: (1.1 + 0.9) pJ x 0.2]"),
      FloatParam("core.tensor.energy_pj_per_mac_fp8", "pJ", "0.22", 0, 1e6,
                 "Energy of one FP8 MAC, FP32 accumulate [Horowitz: (0.2 + 0.9) pJ x 0.2]"),
      FloatParam("core.tensor.static_w", "W", "2", 0, 1e6,
                 "Static (leakage) power of one tensor engine [assumption]"),

      FloatParam("core.vector.clock_ghz", "GHz", "1.4", 0.001, 10.0, "Vector engine clock"),
      IntegerParam("core.vector.lanes", "partitions", 128, 1, 4096,
                   "Partitions the vector engine processes in parallel"),
      FloatParam(
          "core.vector.elements_per_cycle", "elements/cycle", "1", 0.001, 1024,
          "Elements per lane per cycle for a one-input op (two-input ops take twice as long)"),
      IntegerParam("core.vector.fixed_overhead_cycles", "cycles", 64, 0, 1 << 20,
                   "Fixed cost of every vector instruction (issue, pipeline fill)"),
      FloatParam("core.vector.energy_pj_per_element", "pJ", "0.5", 0, 1e6,
                 "Energy of one vector element-op (one output element) [Horowitz: FP32 add 0.9 + "
                 "mult 3.7 pJ, about 2.5 pJ per FMA-class op at 45 nm x 0.2]"),
      FloatParam("core.vector.static_w", "W", "0.5", 0, 1e6,
                 "Static power of one vector engine [assumption]"),

      FloatParam("core.scalar.clock_ghz", "GHz", "1.4", 0.001, 10.0,
                 "Scalar (activation) engine clock"),
      IntegerParam("core.scalar.lanes", "partitions", 128, 1, 4096,
                   "Partitions the scalar engine processes in parallel"),
      IntegerParam("core.scalar.fixed_overhead_cycles", "cycles", 64, 0, 1 << 20,
                   "Fixed cost of every scalar-engine instruction"),
      FloatParam("core.scalar.identity_cycles_per_element", "cycles", "1", 0.001, 1024,
                 "Per-element cost of copy/scale/cast/square on the scalar engine"),
      FloatParam("core.scalar.exp_cycles_per_element", "cycles", "1", 0.001, 1024,
                 "Per-element cost of exp"),
      FloatParam("core.scalar.tanh_cycles_per_element", "cycles", "1", 0.001, 1024,
                 "Per-element cost of tanh"),
      FloatParam("core.scalar.gelu_cycles_per_element", "cycles", "2", 0.001, 1024,
                 "Per-element cost of gelu (tanh approximation)"),
      FloatParam("core.scalar.silu_cycles_per_element", "cycles", "2", 0.001, 1024,
                 "Per-element cost of silu (x * sigmoid(x))"),
      FloatParam("core.scalar.rsqrt_cycles_per_element", "cycles", "1", 0.001, 1024,
                 "Per-element cost of rsqrt"),
      FloatParam("core.scalar.energy_pj_per_element", "pJ", "1", 0, 1e6,
                 "Energy of one scalar-engine element-op (function table + FMA) [assumption: twice "
                 "the vector engine's]"),
      FloatParam("core.scalar.static_w", "W", "0.5", 0, 1e6,
                 "Static power of one scalar engine [assumption]"),

      IntegerParam("core.scratchpad.partitions", "partitions", 128, 1, 4096,
                   "Scratchpad partitions (rows that engines access in parallel)"),
      IntegerParam("core.scratchpad.partition_bytes", "bytes", 196608, 1, (1ll << 32) - 1,
                   "Capacity of one scratchpad partition"),
      IntegerParam("core.scratchpad.bytes_per_cycle_per_partition", "bytes/cycle", 64, 1, 1 << 16,
                   "Bandwidth of one partition, shared by all engines (core clock)"),
      IntegerParam("core.scratchpad.access_overhead_cycles", "cycles", 60, 0, 1 << 20,
                   "Fixed latency added to every scratchpad access"),
      FloatParam("core.scratchpad.read_pj_per_byte", "pJ/byte", "0.5", 0, 1e6,
                 "Energy per byte read from the scratchpad [Horowitz: 32 KB SRAM 20 pJ per 64 bits "
                 "= 2.5 pJ/byte x 0.2]"),
      FloatParam("core.scratchpad.write_pj_per_byte", "pJ/byte", "0.6", 0, 1e6,
                 "Energy per byte written to the scratchpad [assumption: 1.2 x read]"),
      FloatParam("core.scratchpad.static_w", "W", "2", 0, 1e6,
                 "Static (leakage) power of the whole scratchpad [assumption]"),

      IntegerParam("core.accumulator.partitions", "partitions", 128, 1, 4096,
                   "Accumulator partitions (one per array column)"),
      IntegerParam("core.accumulator.partition_bytes", "bytes", 16384, 4, 1ll << 30,
                   "Capacity of one accumulator partition (FP32 entries)"),
      IntegerParam("core.accumulator.banks", "banks", 8, 1, 1024,
                   "Banks per partition; accesses to one bank serialise"),
      IntegerParam("core.accumulator.bytes_per_cycle_per_partition", "bytes/cycle", 64, 1, 1 << 16,
                   "Bandwidth of one accumulator partition (core clock)"),
      IntegerParam("core.accumulator.access_overhead_cycles", "cycles", 60, 0, 1 << 20,
                   "Fixed latency added to every accumulator access"),
      FloatParam(
          "core.accumulator.read_pj_per_byte", "pJ/byte", "0.25", 0, 1e6,
          "Energy per byte read from the accumulator [Horowitz: 8 KB SRAM 10 pJ per 64 bits = "
          "1.25 pJ/byte x 0.2]"),
      FloatParam("core.accumulator.write_pj_per_byte", "pJ/byte", "0.3", 0, 1e6,
                 "Energy per byte written to the accumulator [assumption: 1.2 x read]"),
      FloatParam("core.accumulator.static_w", "W", "0.2", 0, 1e6,
                 "Static power of the whole accumulator [assumption]"),

      IntegerParam("core.dma.queues", "queues", 16, 1, 256, "DMA queues (engines) per core"),
      FloatParam("core.dma.queue_bandwidth_gbps", "GB/s", "27", 0.001, 100000,
                 "Data bandwidth of one DMA queue"),
      FloatParam("core.dma.setup_latency_ns", "ns", "1300", 0, 1e9,
                 "Fixed latency of each transfer (overlaps the previous transfer's data)"),
      IntegerParam("core.dma.efficient_chunk_bytes", "bytes", 2048, 1, 1 << 30,
                   "Contiguous chunks smaller than this cost as much time as one of this size"),
      IntegerParam("core.dma.max_outstanding", "transfers", 8, 1, 4096,
                   "Transfers one queue keeps in flight"),
      FloatParam("core.dma.static_w", "W", "0.5", 0, 1e6,
                 "Static power of the core's DMA engines together [assumption]"),
      IntegerParam("core.dma.engines", "engines", 0, 0, 256,
                   "DMA engines shared by the queues; a transfer is split over them by "
                   "scratchpad partition (0: each queue is its own engine of "
                   "queue_bandwidth_gbps)"),
      FloatParam("core.dma.engine_bandwidth_gbps", "GB/s", "17", 0.001, 100000,
                 "Data bandwidth of one DMA engine (with core.dma.engines > 0)"),
      FloatParam("core.dma.descriptor_ns", "ns", "0", 0, 1e6,
                 "Engine time per descriptor (one contiguous HBM run), on top of its bytes "
                 "(with core.dma.engines > 0)"),

      // HBM (models/hbm/hbm_config.h). Baseline: 2 HBM2E stacks = 819.2 GB/s. Device keys
      // left unset take their value from hbm.preset; defaults below are the hbm2e preset.
      ChoiceParam("hbm.preset", kDefaultHbmPreset, {"hbm2e", "hbm3"},
                  "Device preset (JEDEC HBM2E / HBM3 figures); explicitly set hbm.* keys win"),
      IntegerParam("hbm.stacks", "stacks", 2, 1, 64, "HBM stacks"),
      IntegerParam("hbm.channels_per_stack", "channels", 8, 1, 64, "Channels per stack"),
      IntegerParam("hbm.pseudo_channels", "PCs", 2, 1, 8, "Pseudo-channels per channel"),
      IntegerParam("hbm.pc_width_bits", "bits", 64, 8, 1024,
                   "Data bus width of one pseudo-channel"),
      FloatParam("hbm.data_rate_gbps", "Gbit/s", "3.2", 0.1, 100, "Data rate per pin"),
      IntegerParam("hbm.bank_groups", "groups", 4, 1, 64, "Bank groups per pseudo-channel"),
      IntegerParam("hbm.banks_per_group", "banks", 4, 1, 64, "Banks per bank group"),
      IntegerParam("hbm.row_bytes", "bytes", 1024, 32, 1 << 20,
                   "Row buffer (page) size of one bank"),
      IntegerParam("hbm.rows_per_bank", "rows", 32768, 1, 1 << 24, "Rows per bank"),
      IntegerParam("hbm.burst_length", "beats", 4, 1, 64, "Beats per column command (BL)"),
      IntegerParam("hbm.interleave_bytes", "bytes", 256, 32, 1 << 20,
                   "Address interleaving granule across pseudo-channels"),
      FloatParam("hbm.trcd_ns", "ns", "14", 0, 1000, "tRCD: ACT to RD/WR"),
      FloatParam("hbm.trp_ns", "ns", "14", 0, 1000, "tRP: PRE to ACT"),
      FloatParam("hbm.tras_ns", "ns", "34", 0, 1000, "tRAS: ACT to PRE"),
      FloatParam("hbm.tcl_ns", "ns", "14", 0, 1000, "tCL: RD to read data"),
      FloatParam("hbm.tcwl_ns", "ns", "4", 0, 1000, "tCWL: WR to write data"),
      FloatParam("hbm.trrd_s_ns", "ns", "4", 0, 1000, "tRRD_S: ACT to ACT, other bank group"),
      FloatParam("hbm.trrd_l_ns", "ns", "6", 0, 1000, "tRRD_L: ACT to ACT, same bank group"),
      FloatParam("hbm.tfaw_ns", "ns", "30", 0, 10000, "tFAW: window holding at most 4 ACTs"),
      FloatParam("hbm.twr_ns", "ns", "16", 0, 1000, "tWR: end of write data to PRE"),
      FloatParam("hbm.twtr_s_ns", "ns", "6", 0, 1000, "tWTR_S: write data to RD, other bank group"),
      FloatParam("hbm.twtr_l_ns", "ns", "8", 0, 1000, "tWTR_L: write data to RD, same bank group"),
      FloatParam("hbm.trtp_ns", "ns", "4", 0, 1000, "tRTP: RD to PRE"),
      FloatParam("hbm.tccd_s_ns", "ns", "1.25", 0, 1000, "tCCD_S: column to column, other group"),
      FloatParam("hbm.tccd_l_ns", "ns", "2", 0, 1000, "tCCD_L: column to column, same group"),
      FloatParam("hbm.trefi_ns", "ns", "3900", 1, 1e7, "tREFI: all-bank refresh interval"),
      FloatParam("hbm.trfc_ns", "ns", "260", 0, 1e6, "tRFC: all-bank refresh cycle time"),
      FloatParam("hbm.trfcpb_ns", "ns", "160", 0, 1e6, "tRFCpb: per-bank refresh cycle time"),
      BoolParam("hbm.refresh", true, "Model refresh (off: no refresh windows)"),
      ChoiceParam("hbm.refresh_mode", "all_bank", {"all_bank", "per_bank"},
                  "all_bank: REFab every tREFI; per_bank: one bank every tREFI / banks"),
      IntegerParam("hbm.queue_depth", "bursts", 64, 1, 4096,
                   "Controller queue per pseudo-channel (detailed reference model)"),
      // HBM energy: M. O'Connor et al., "Fine-Grained DRAM: Energy-Efficient DRAM for
      // Extreme Bandwidth Systems", MICRO 2017, https://doi.org/10.1145/3123939.3124545
      // (HBM2 about 3.9 pJ/bit). Split (assumption): 2.7 pJ/bit column access and I/O, 1.2
      // pJ/bit of a 1 KiB row activation amortised over the row (1.2 x 8192 = 9830 pJ).
      FloatParam("hbm.read_pj_per_bit", "pJ/bit", "2.7", 0, 1e6,
                 "Energy per bit read from HBM, without the row activation [O'Connor MICRO 2017]"),
      FloatParam("hbm.write_pj_per_bit", "pJ/bit", "2.7", 0, 1e6,
                 "Energy per bit written to HBM, without the row activation [O'Connor MICRO 2017]"),
      FloatParam("hbm.activate_pj", "pJ", "9830", 0, 1e9,
                 "Energy of one row activation + precharge (bandwidth model: one per hbm.row_bytes "
                 "moved) [O'Connor MICRO 2017]"),
      FloatParam("hbm.static_w", "W", "4", 0, 1e6,
                 "Background and refresh power of every HBM stack together [assumption]"),

      // System (models/link/system_config.h). Defaults: one chip in one node, so a
      // single-chip design is unchanged. Link defaults are Trainium's NeuronLink-v2 class
      // (4 links, 384 GB/s per chip: aws-neuron-sdk trainium2.rst comparison table,
      // https://awsdocs-neuron.readthedocs-hosted.com/en/latest/general/arch/neuron-hardware/trainium2.html)
      // and the network trn1.32xlarge's 800 Gbit/s EFA (aws-neuron-sdk trn1-arch.rst).
      IntegerParam("system.chips_per_node", "chips", 1, 1, 1 << 16,
                   "Chips in one node (joined by the chip-to-chip links)"),
      IntegerParam("system.nodes", "nodes", 1, 1, 1 << 20, "Nodes (joined by the network)"),
      ChoiceParam("system.topology", "ring", {"ring", "torus2d", "fully_connected", "switch"},
                  "Chip-to-chip topology inside a node"),
      IntegerParam("system.torus_x", "chips", 0, 0, 1 << 16,
                   "torus2d: chips along x (must divide chips_per_node; 0 = squarest factor)"),
      IntegerParam("system.links_per_chip", "links", 4, 1, 256,
                   "Chip-to-chip links per chip (ring 2+, torus2d 4+, fully_connected chips-1+)"),
      FloatParam("system.link_bandwidth_gbps", "GB/s", "48", 0.001, 1e6,
                 "Bandwidth of one chip-to-chip link, per direction"),
      FloatParam("system.link_latency_ns", "ns", "2000", 0, 1e9,
                 "Latency of one chip-to-chip message (one hop, software included)"),
      ChoiceParam("system.network", "fat_tree", {"fat_tree", "rail_optimized"},
                  "Node-to-node network: fat tree, or rails (chip i of every node on rail i)"),
      FloatParam("system.node_bandwidth_gbps", "GB/s", "100", 0.001, 1e7,
                 "Network bandwidth of one node (all its NICs), per direction"),
      FloatParam("system.node_latency_ns", "ns", "15000", 0, 1e9,
                 "Latency of one node-to-node message"),
      FloatParam("system.oversubscription", "x", "1", 1, 1024,
                 "Spine oversubscription (1 = non-blocking): cross-leaf (or cross-rail) traffic "
                 "gets bandwidth / this"),
      // Link energy. Long-reach SerDes about 5 pJ/bit: OIF CEI-112G implementation
      // agreements target that class, https://www.oiforum.com/technical-work/hot-topics/
      FloatParam("system.link_pj_per_bit", "pJ/bit", "5", 0, 1e6,
                 "Energy per bit sent on a chip-to-chip link [OIF CEI-112G SerDes class]"),

      // The server around the chips, shared equally by them. Defaults: a trn1.32xlarge-class
      // server, 16 chips (https://aws.amazon.com/ec2/instance-types/trn1/), two 270 W Xeon
      // Platinum 8380-class hosts (https://ark.intel.com, 8380: TDP 270 W), 8 x 100 Gb/s
      // NICs at about 20 W each (NVIDIA ConnectX-6 Dx product brief), fans: assumption;
      // PSU 94 % (80 PLUS Platinum at 50 % load, https://www.clearesult.com/80plus/).
      IntegerParam("server.chips", "chips", 16, 1, 1 << 20,
                   "Chips per server; the host, NIC and fan power is shared among them [AWS trn1]"),
      FloatParam("server.host_cpu_w", "W", "540", 0, 1e6,
                 "Host CPUs of one server [2 x Intel Xeon Platinum 8380, 270 W TDP]"),
      FloatParam("server.nic_w", "W", "160", 0, 1e6,
                 "Network adapters of one server [8 x about 20 W, NVIDIA ConnectX-6 Dx]"),
      FloatParam("server.fans_w", "W", "300", 0, 1e6,
                 "Fans and other board power of one server [assumption]"),
      FloatParam("server.psu_efficiency", "fraction", "0.94", 0.01, 1,
                 "Power-supply efficiency (DC out / AC in) [80 PLUS Platinum, 50 % load]"),
  };
}

}  // namespace

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
