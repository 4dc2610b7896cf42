// Subcommand registration for the `systole` CLI (sim/cli/main.cpp). Each subcommand's
// options are declared in commands.cpp; the chosen one stores its action in `action`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace systole {

void RegisterCommands(CLI::App& app, std::function<int()>& action);

// `systole` with no subcommand: `systole run` with its defaults.
int RunDefault();

}  // namespace systole
