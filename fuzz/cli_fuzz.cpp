// The CLI argument vector: the bytes split at NUL are argv[1..]. The options are parsed and
// validated as `systole` does (CLI11 plus Systole's validators); the chosen action is not
// run (a simulation per input would be too slow, and SystemC elaborates once per process).
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "sim/cli/commands.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  std::vector<std::string> args{"systole"};
  std::string current;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty()) args.push_back(current);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  CLI::App app{"systole"};
  app.require_subcommand(0, 1);
  std::function<int()> action;
  systole::RegisterCommands(app, action);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
  }
  return 0;
}
