#include "sim/config/arch_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "base/input_file.h"
#include "base/text_escape.h"
#include "base/toml_guard.h"
#include "sim/config/param_registry.h"

namespace systole {

namespace {

// TOML node -> text, or nullopt when its TOML type cannot hold this parameter.
std::optional<std::string> NodeText(const ParamSpec& spec, const toml::node& node) {
  switch (spec.type) {
    case ParamType::kInteger:
      if (auto v = node.as_integer()) return std::to_string(v->get());
      return std::nullopt;
    case ParamType::kFloat:
      if (auto v = node.as_floating_point()) return fmt::format("{}", v->get());
      if (auto v = node.as_integer()) return std::to_string(v->get());
      return std::nullopt;
    case ParamType::kChoice:
    case ParamType::kString:
      if (auto v = node.as_string()) return v->get();
      return std::nullopt;
    case ParamType::kBool:
      if (auto v = node.as_boolean()) return v->get() ? "true" : "false";
      return std::nullopt;
  }
  return std::nullopt;
}

void WalkTable(const toml::table& table, const std::string& prefix, const std::string& file,
               ArchConfig& config) {
  for (const auto& [key_node, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(key_node.str()) : prefix + "." + std::string(key_node.str());
    const std::string where = Where(file, node.source().begin.line);
    if (const toml::table* sub = node.as_table()) {
      WalkTable(*sub, key, file, config);
      continue;
    }
    const ParamSpec* spec = FindArchParam(key);
    if (spec == nullptr) {
      throw InputError(
          fmt::format("{}: unknown key '{}' (run `systole params` for the list)", where, key));
    }
    std::optional<std::string> text = NodeText(*spec, node);
    if (!text) {
      throw InputError(
          fmt::format("{}: {} has the wrong type: expected {}", where, key, spec->Expectation()));
    }
    config.values[key] = ValidateParamValue(*spec, *text, where);
    config.sources[key] = where;
  }
}

std::uint64_t BytesPerElement(const std::string& dtype) {
  if (dtype == "fp32") return 4;
  if (dtype == "bf16" || dtype == "fp16") return 2;
  return 1;  // fp8, int8
}

}  // namespace

ArchConfig LoadArchConfig(const std::string& toml_path, const std::vector<std::string>& overrides) {
  ArchConfig config;
  for (const ParamSpec& spec : ArchParams()) {
    config.values[spec.key] = spec.default_value;
    config.sources[spec.key] = "default";
  }
  if (!toml_path.empty()) {
    const std::string text = ReadInputFile(toml_path, "architecture file", kMaxConfigFileBytes);
    CheckTomlBounds(text, toml_path, kMaxConfigFileBytes);
    toml::table table;
    try {
      table = toml::parse(text, toml_path);
    } catch (const toml::parse_error& err) {
      throw InputError(fmt::format("{}: TOML syntax error: {}",
                                   Where(toml_path, err.source().begin.line),
                                   std::string(err.description())));
    }
    WalkTable(table, "", toml_path, config);
  }
  for (const std::string& item : overrides) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw InputError(
          fmt::format("-p '{}': expected key=value, e.g. -p core.tensor.rows=64", item));
    }
    const std::string key = item.substr(0, eq);
    const ParamSpec* spec = FindArchParam(key);
    if (spec == nullptr) {
      throw InputError(
          fmt::format("-p: unknown key '{}' (run `systole params` for the list)", key));
    }
    config.values[key] = ValidateParamValue(*spec, item.substr(eq + 1), "-p");
    config.sources[key] = "-p";
  }

  const auto& v = config.values;
  auto u64 = [&](const char* key) { return std::strtoull(v.at(key).c_str(), nullptr, 10); };
  auto f64 = [&](const char* key) { return std::strtod(v.at(key).c_str(), nullptr); };
  auto flag = [&](const char* key) { return v.at(key) == "true"; };
  config.name = v.at("chip.name");
  config.cores = u64("chip.cores");
  config.schedule = v.at("chip.schedule") == "waves" ? ChipSchedule::kWaves : ChipSchedule::kSplit;
  config.l2_bytes = u64("chip.l2_bytes");
  config.l2_bandwidth_gbps = f64("chip.l2_bandwidth_gbps");
  config.kernel_launch_ns = f64("chip.kernel_launch_ns");
  // The L2 is modelled for thread-block tiles in waves only (workloads/kernel/wave_schedule.h).
  for (const char* key : {"chip.l2_bytes", "chip.l2_bandwidth_gbps"}) {
    if (config.schedule == ChipSchedule::kSplit && f64(key) > 0) {
      throw InputError(fmt::format(
          "{}: {} = {} needs chip.schedule = \"waves\" (the split schedule has no L2 model)",
          config.sources.at(key), key, v.at(key)));
    }
  }
  config.core.clock_ghz = f64("core.clock_ghz");
  TensorEngineConfig& te = config.core.tensor;
  te.array.rows = u64("core.tensor.rows");
  te.array.cols = u64("core.tensor.cols");
  te.dataflow = ParseDataflow(v.at("core.tensor.dataflow"));
  te.dtype = v.at("core.tensor.dtype");
  te.bytes_per_element = BytesPerElement(te.dtype);
  te.min_issue_cycles = u64("core.tensor.min_issue_cycles");
  te.fp32_rate_divisor = u64("core.tensor.fp32_rate_divisor");
  te.fp8_rate_multiplier = u64("core.tensor.fp8_rate_multiplier");
  te.weight_double_buffer = flag("core.tensor.weight_double_buffer");

  VectorEngineConfig& ve = config.core.vector;
  ve.clock_ghz = f64("core.vector.clock_ghz");
  ve.lanes = u64("core.vector.lanes");
  ve.elements_per_cycle = f64("core.vector.elements_per_cycle");
  ve.fixed_overhead_cycles = u64("core.vector.fixed_overhead_cycles");

  ScalarEngineConfig& se = config.core.scalar;
  se.clock_ghz = f64("core.scalar.clock_ghz");
  se.lanes = u64("core.scalar.lanes");
  se.fixed_overhead_cycles = u64("core.scalar.fixed_overhead_cycles");
  se.identity_cycles_per_element = f64("core.scalar.identity_cycles_per_element");
  se.exp_cycles_per_element = f64("core.scalar.exp_cycles_per_element");
  se.tanh_cycles_per_element = f64("core.scalar.tanh_cycles_per_element");
  se.gelu_cycles_per_element = f64("core.scalar.gelu_cycles_per_element");
  se.silu_cycles_per_element = f64("core.scalar.silu_cycles_per_element");
  se.rsqrt_cycles_per_element = f64("core.scalar.rsqrt_cycles_per_element");

  OnChipMemoryConfig& sp = config.core.scratchpad;
  sp.partitions = u64("core.scratchpad.partitions");
  sp.partition_bytes = u64("core.scratchpad.partition_bytes");
  sp.banks = 1;
  sp.bytes_per_cycle_per_partition = u64("core.scratchpad.bytes_per_cycle_per_partition");
  sp.access_overhead_cycles = u64("core.scratchpad.access_overhead_cycles");

  OnChipMemoryConfig& acc = config.core.accumulator;
  acc.partitions = u64("core.accumulator.partitions");
  acc.partition_bytes = u64("core.accumulator.partition_bytes");
  acc.banks = u64("core.accumulator.banks");
  acc.bytes_per_cycle_per_partition = u64("core.accumulator.bytes_per_cycle_per_partition");
  acc.access_overhead_cycles = u64("core.accumulator.access_overhead_cycles");
  if (acc.partition_bytes % acc.banks != 0) {
    // Blame whichever of the two the user set last (-p over the file over the default).
    const std::string& banks_source = config.sources.at("core.accumulator.banks");
    const std::string& bytes_source = config.sources.at("core.accumulator.partition_bytes");
    const bool banks_blamed = bytes_source == "default" || banks_source == "-p";
    throw InputError(
        fmt::format("{}: core.accumulator.partition_bytes ({}) must be a multiple "
                    "of core.accumulator.banks ({})",
                    banks_blamed ? banks_source : bytes_source, acc.partition_bytes, acc.banks));
  }

  // Coupled keys: a matmul contracts over scratchpad partitions (array rows) and writes
  // one accumulator partition per array column. A partition count set with less
  // precedence than the array size (default < file < -p) follows it; one set with as
  // much is an error naming the keys and the values they need.
  auto follow = [&](const char* array_key, std::uint64_t need, const char* key,
                    std::uint64_t& partitions) {
    if (partitions >= need) return;
    auto rank = [](const std::string& source) {
      return source == "default" ? 0 : source == "-p" ? 2 : 1;
    };
    const std::string& array_source = config.sources.at(array_key);
    const std::string& source = config.sources.at(key);
    if (rank(source) < rank(array_source)) {
      partitions = need;
      config.values[key] = std::to_string(need);
      config.sources[key] = std::string("derived from ") + array_key;
      return;
    }
    throw InputError(fmt::format("{}: {} = {} needs {} >= {} (it is {}, from {}): set {} = {}",
                                 Printable(array_source), array_key, need, key, need, partitions,
                                 Printable(source), key, need));
  };
  follow("core.tensor.rows", te.array.rows, "core.scratchpad.partitions", sp.partitions);
  follow("core.tensor.cols", te.array.cols, "core.accumulator.partitions", acc.partitions);

  DmaConfig& dma = config.core.dma;
  dma.queues = u64("core.dma.queues");
  dma.queue_bandwidth_gbps = f64("core.dma.queue_bandwidth_gbps");
  dma.setup_latency_ns = f64("core.dma.setup_latency_ns");
  dma.efficient_chunk_bytes = u64("core.dma.efficient_chunk_bytes");
  dma.max_outstanding = u64("core.dma.max_outstanding");
  dma.engines = u64("core.dma.engines");
  dma.engine_bandwidth_gbps = f64("core.dma.engine_bandwidth_gbps");
  dma.descriptor_ns = f64("core.dma.descriptor_ns");
  LoadHbmConfig(config);     // models/hbm/hbm_config.cpp: hbm.preset + explicit hbm.* keys
  LoadSystemConfig(config);  // models/link/system_config.cpp: system.* keys

  EnergyConfig& en = config.energy;
  en.mac_pj[0] = f64("core.tensor.energy_pj_per_mac_fp32");  // Dtype order: fp32 bf16 fp16 fp8
  en.mac_pj[1] = f64("core.tensor.energy_pj_per_mac_bf16");
  en.mac_pj[2] = f64("core.tensor.energy_pj_per_mac_fp16");
  en.mac_pj[3] = f64("core.tensor.energy_pj_per_mac_fp8");
  en.vector_pj_per_element = f64("core.vector.energy_pj_per_element");
  en.scalar_pj_per_element = f64("core.scalar.energy_pj_per_element");
  en.scratchpad_read_pj_per_byte = f64("core.scratchpad.read_pj_per_byte");
  en.scratchpad_write_pj_per_byte = f64("core.scratchpad.write_pj_per_byte");
  en.accumulator_read_pj_per_byte = f64("core.accumulator.read_pj_per_byte");
  en.accumulator_write_pj_per_byte = f64("core.accumulator.write_pj_per_byte");
  en.hbm_read_pj_per_bit = f64("hbm.read_pj_per_bit");
  en.hbm_write_pj_per_bit = f64("hbm.write_pj_per_bit");
  en.hbm_activate_pj = f64("hbm.activate_pj");
  en.link_pj_per_bit = f64("system.link_pj_per_bit");
  en.tensor_static_w = f64("core.tensor.static_w");
  en.vector_static_w = f64("core.vector.static_w");
  en.scalar_static_w = f64("core.scalar.static_w");
  en.scratchpad_static_w = f64("core.scratchpad.static_w");
  en.accumulator_static_w = f64("core.accumulator.static_w");
  en.dma_static_w = f64("core.dma.static_w");
  en.hbm_static_w = f64("hbm.static_w");
  en.uncore_static_w = f64("chip.uncore_static_w");
  en.tdp_w = f64("chip.tdp_w");
  en.policy =
      v.at("chip.power_policy") == "throttle" ? PowerPolicy::kThrottle : PowerPolicy::kReport;
  en.server_chips = u64("server.chips");
  en.host_cpu_w = f64("server.host_cpu_w");
  en.nic_w = f64("server.nic_w");
  en.fans_w = f64("server.fans_w");
  en.psu_efficiency = f64("server.psu_efficiency");
  return config;
}

std::string ResolvedArchToml(const ArchConfig& arch) {
  // Group keys by their table (everything before the last dot), in registry order.
  std::string out = "# Resolved Systole architecture (value sources in comments)\n";
  std::string current_table = "\x01";
  for (const ParamSpec& spec : ArchParams()) {
    const auto dot = spec.key.rfind('.');
    const std::string table = spec.key.substr(0, dot);
    const std::string leaf = spec.key.substr(dot + 1);
    if (table != current_table) {
      out += "\n[" + table + "]\n";
      current_table = table;
    }
    const std::string& value = arch.values.at(spec.key);
    const bool quoted = spec.type == ParamType::kChoice || spec.type == ParamType::kString;
    // Booleans and numbers are written bare (their text is canonical); strings by toml++'s
    // writer, which escapes quotes, backslashes and control characters. Sources (file
    // names) go into comments made printable.
    std::string text = value;
    if (quoted) {
      std::ostringstream escaped;
      escaped << toml::value<std::string>(value);
      text = escaped.str();
    }
    out += fmt::format("{} = {}  # {}\n", leaf, text, Printable(arch.sources.at(spec.key)));
  }
  return out;
}

}  // namespace systole
