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
