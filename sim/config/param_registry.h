// The one table of architecture parameters.
//
// Every parameter Systole reads from an architecture file is declared exactly once, in
// param_registry.cpp, with its dotted key (nesting mirrors the hardware tree: chip, core,
// core.tensor, ...), type, unit, default, valid range or choices, and a one-line
// description. `systole params` prints this table; the TOML loader and the `-p key=value`
// overrides validate against it; ArchConfig (arch_config.h) is built from it.
#pragma once

#include <string>
#include <vector>

namespace systole {

enum class ParamType { kInteger, kFloat, kChoice, kString, kBool };

struct ParamSpec {
  std::string key;  // dotted path, e.g. "core.tensor.rows"
  ParamType type = ParamType::kInteger;
  std::string unit;           // "PEs", "GHz", "bytes", ... ("" when unitless)
  std::string default_value;  // as it would be written on the command line
  double min = 0;             // inclusive bounds for kInteger / kFloat
  double max = 0;
  std::vector<std::string> choices;  // for kChoice
  std::string description;

  // "integer in [1, 65536]", "one of ws, os, is", ... used in error messages.
  std::string Expectation() const;
};

const std::vector<ParamSpec>& ArchParams();

// The spec for a key, or nullptr when the key is not a parameter.
const ParamSpec* FindArchParam(const std::string& key);

// Human-readable table of every parameter (the `systole params` output).
std::string FormatParamTable();

}  // namespace systole
