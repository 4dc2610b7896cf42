#include "sim/config/arch_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "sim/common/error.h"
#include "sim/config/param_registry.h"

namespace systole {

namespace {

// Checks `text` against `spec` and returns its canonical form; `where` prefixes errors.
std::string ValidateValue(const ParamSpec& spec, const std::string& text,
                          const std::string& where) {
  auto bad = [&]() {
    return InputError(fmt::format("{}: {} = '{}' is invalid: expected {}", where, spec.key, text,
                                  spec.Expectation()));
  };
  switch (spec.type) {
    case ParamType::kInteger: {
      if (text.empty()) throw bad();
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || static_cast<double>(v) < spec.min ||
          static_cast<double>(v) > spec.max) {
        throw bad();
      }
      return std::to_string(v);
    }
    case ParamType::kFloat: {
      if (text.empty()) throw bad();
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < spec.min || v > spec.max) {
        throw bad();
      }
      return fmt::format("{}", v);
    }
    case ParamType::kChoice:
      for (const std::string& c : spec.choices) {
        if (c == text) return text;
      }
      throw bad();
    case ParamType::kString:
      return text;
  }
  throw bad();
}

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
    config.values[key] = ValidateValue(*spec, *text, where);
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
    std::ifstream probe(toml_path);
    if (!probe) throw InputError(toml_path + ": cannot open architecture file");
    toml::table table;
    try {
      table = toml::parse_file(toml_path);
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
    config.values[key] = ValidateValue(*spec, item.substr(eq + 1), "-p");
    config.sources[key] = "-p";
  }

  const auto& v = config.values;
  config.name = v.at("chip.name");
  config.core.clock_ghz = std::strtod(v.at("core.clock_ghz").c_str(), nullptr);
  TensorEngineConfig& te = config.core.tensor;
  te.array.rows = std::strtoull(v.at("core.tensor.rows").c_str(), nullptr, 10);
  te.array.cols = std::strtoull(v.at("core.tensor.cols").c_str(), nullptr, 10);
  te.dataflow = ParseDataflow(v.at("core.tensor.dataflow"));
  te.dtype = v.at("core.tensor.dtype");
  te.bytes_per_element = BytesPerElement(te.dtype);
  return config;
}

std::string ArchConfig::ToResolvedToml() const {
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
    const std::string& value = values.at(spec.key);
    const bool quoted = spec.type == ParamType::kChoice || spec.type == ParamType::kString;
    out += fmt::format("{} = {}  # {}\n", leaf, quoted ? "\"" + value + "\"" : value,
                       sources.at(spec.key));
  }
  return out;
}

}  // namespace systole
