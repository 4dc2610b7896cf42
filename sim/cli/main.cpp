// The `systole` command line. With no arguments it prints its usage. Subcommands:
//   run       a training step (default: the embedded GPT-2-small) on an architecture
//   gemm      one GEMM on the tensor engine
//   scalesim  SCALE-Sim v2 drop-in: cfg + topology in, SCALE-Sim's three reports out
//   params    every architecture parameter with unit, default, range and description
// Bad input prints one line "systole: error: ..." and exits with status 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <systemc>

#include "base/error.h"
#include "base/text_escape.h"
#include "sim/cli/commands.h"
#include "sim/version.h"

int sc_main(int argc, char* argv[]) {
  CLI::App app{"Systole: a systolic-array training-accelerator simulator", "systole"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", systole::SystoleVersion());
  // Every option's default shows in --help (set before the subcommands inherit it).
  app.option_defaults()->always_capture_default();
  std::function<int()> action;
  systole::RegisterCommands(app, action);
  if (argc < 2) {
    std::cout << app.help();
    return 0;
  }
  // A first word that is not an option must name a command: `systole frobnicate --help`
  // is an error, not the main help.
  std::string names;
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands({})) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
    known = known || sub->get_name() == argv[1];
  }
  if (argv[1][0] != '-' && !known) {
    std::cerr << "systole: error: unknown command '" << systole::Printable(argv[1])
              << "' (expected one of " << names << ")\n";
    return systole::kInputErrorExitCode;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "systole: error: " << systole::Printable(e.what()) << " (see systole --help)\n";
    return systole::kInputErrorExitCode;
  }
  try {
    return action ? action() : systole::RunDefault();
  } catch (const systole::InputError& e) {
    std::cerr << "systole: error: " << systole::Printable(e.what()) << "\n";
    return systole::kInputErrorExitCode;
  } catch (const std::exception& e) {
    std::cerr << "systole: internal error: " << systole::Printable(e.what()) << "\n";
    return 1;
  }
}

int main(int argc, char* argv[]) {
  // Silence the SystemC banner unless the user asked for it.
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", /*overwrite=*/0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
