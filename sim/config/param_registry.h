// The one table of architecture parameters.
//
// Every parameter Systole reads from an architecture file is declared exactly once, in
// param_registry.cpp, with its dotted key (nesting mirrors the hardware tree: chip, core,
// core.tensor, ...), type, unit, default, valid range or choices, and a one-line
// description (base/param_spec.h). `systole params` prints this table; the TOML loader and
// the `-p key=value` overrides validate against it; ArchConfig is built from it.
#pragma once

#include <string>
#include <vector>

#include "base/param_spec.h"

namespace systole {

const std::vector<ParamSpec>& ArchParams();

// The spec for a key, or nullptr when the key is not a parameter.
const ParamSpec* FindArchParam(const std::string& key);

// Human-readable table of every parameter (the `systole params` output).
std::string FormatParamTable();

}  // namespace systole
