// Validated, immutable architecture configuration.
//
// Built in three layers, later ones winning: the defaults in param_registry.cpp, an
// optional TOML file whose nesting mirrors the hardware tree ([chip], [core],
// [core.tensor], ...), and `-p key=value` overrides. Every value is checked against its
// ParamSpec; an unknown key, a wrong type or an out-of-range value raises InputError
// naming the file, line, key and what is expected. Units are converted once here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/tensor_engine/systolic_timing.h"

namespace systole {

struct TensorEngineConfig {
  ArrayShape array;  // PEs
  Dataflow dataflow = Dataflow::kWeightStationary;
  std::string dtype = "bf16";
  std::uint64_t bytes_per_element = 2;  // bytes, derived from dtype
};

struct CoreConfig {
  double clock_ghz = 1.4;  // GHz
  TensorEngineConfig tensor;
};

struct ArchConfig {
  std::string name;
  CoreConfig core;
  // Every parameter's final value (as text) and where it came from ("default",
  // "file.toml:12", "-p"): written beside reports as the resolved config.
  std::map<std::string, std::string> values;
  std::map<std::string, std::string> sources;

  double CyclesToNs(std::uint64_t cycles) const {
    return static_cast<double>(cycles) / core.clock_ghz;
  }
  // The fully resolved configuration as TOML, with the source of each value as a comment.
  std::string ToResolvedToml() const;
};

// toml_path may be empty (defaults only). overrides are "key=value" strings.
ArchConfig LoadArchConfig(const std::string& toml_path,
                          const std::vector<std::string>& overrides = {});

}  // namespace systole
