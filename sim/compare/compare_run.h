// `systole compare --arch A.toml --arch B.toml ... [--workload W] [run options]`: the same
// training step on several chips, side by side. Each chip's step is a `systole run --json`
// child process (one SystemC kernel per process; --jobs of them at once); the table has one
// row per figure of the step report (the JSON path, whose name carries its unit) and one
// column per chip, each value after the first with its ratio to the first chip's. A chip
// whose run fails (its file is missing, the model does not fit its memory) shows the error
// in its column and the command exits 2.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace systole {

struct CompareOptions {
  std::vector<std::string> archs;  // files or preset names
  std::string workload = "gpt2-small";
  std::vector<std::string> workload_overrides;  // --set
  std::vector<std::string> overrides;           // -p, for every chip
  std::vector<std::string> run_args;            // after --: passed to every run
  unsigned jobs = 1;
  bool json = false;
  std::string binary;  // default: this binary
};

struct CompareRun {
  std::string arch;
  int exit_code = 0;
  std::string error;        // one line, when the run failed
  std::string report_json;  // the run's report, when it succeeded
};

// The side-by-side table (text) of runs that already finished.
std::string FormatComparison(const std::string& workload, const std::vector<CompareRun>& runs);
std::string ComparisonJson(const std::string& workload, const std::vector<CompareRun>& runs);

int RunCompare(const CompareOptions& options);
void RegisterCompareCommand(CLI::App& app, std::function<int()>& action);

}  // namespace systole
