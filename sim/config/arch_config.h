// Builds the validated ArchConfig (models/chip/arch_config.h) a run simulates.
//
// Three layers, later ones winning: the parameter defaults (param_registry.h), an optional
// TOML file whose nesting mirrors the hardware tree ([chip], [core], [core.tensor], ...),
// and `-p key=value` overrides. Every value is checked against its ParamSpec; an unknown
// key, a wrong type or an out-of-range value raises InputError naming the file, line, key
// and what is expected. Units are converted once here.
#pragma once

#include <string>
#include <vector>

#include "models/chip/arch_config.h"

namespace systole {

// toml_path may be empty (defaults only). overrides are "key=value" strings.
ArchConfig LoadArchConfig(const std::string& toml_path,
                          const std::vector<std::string>& overrides = {});

// The fully resolved configuration as TOML, with the source of each value as a comment.
std::string ResolvedArchToml(const ArchConfig& arch);

}  // namespace systole
