// The parameter-spec vocabulary: what one architecture parameter is (dotted key, type, unit,
// default, valid range or choices, description) and how a value written for it is checked.
//
// The specs themselves are declared by the blocks that read them; sim/config composes them
// into the table that `systole params` prints and the TOML loader and `-p key=value`
// overrides validate against. Nothing here knows any particular parameter.
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

// Builders for the five kinds of spec.
ParamSpec IntegerParam(std::string key, std::string unit, long long def, double min, double max,
                       std::string description);
ParamSpec FloatParam(std::string key, std::string unit, std::string def, double min, double max,
                     std::string description);
ParamSpec ChoiceParam(std::string key, std::string def, std::vector<std::string> choices,
                      std::string description);
ParamSpec BoolParam(std::string key, bool def, std::string description);
ParamSpec StringParam(std::string key, std::string def, std::string description);

// Checks `text` against `spec` and returns its canonical form (integers without leading
// zeros, numbers in shortest round-trip form). Throws InputError
// "<where>: <key> = '<text>' is invalid: expected <Expectation()>" otherwise.
std::string ValidateParamValue(const ParamSpec& spec, const std::string& text,
                               const std::string& where);

}  // namespace systole
