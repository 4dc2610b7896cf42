#include "sim/cli/commands.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "sim/common/atomic_file.h"
#include "sim/common/error.h"
#include "sim/config/arch_config.h"
#include "sim/config/param_registry.h"
#include "sim/gemm_run.h"
#include "workloads/scalesim/scalesim_run.h"

namespace systole {

namespace {

struct ArchOptions {
  std::string arch_path;
  std::vector<std::string> overrides;
  std::string dataflow;  // shorthand for -p core.tensor.dataflow=...

  void AddTo(CLI::App* cmd) {
    cmd->add_option("--arch", arch_path, "Architecture TOML file (default: built-in baseline)");
    cmd->add_option("-p,--param", overrides, "Override a parameter: -p core.tensor.rows=64")
        ->take_all();
    cmd->add_option("--dataflow", dataflow, "Shorthand for -p core.tensor.dataflow=ws|os|is");
  }
  ArchConfig Load() const {
    std::vector<std::string> all = overrides;
    if (!dataflow.empty()) all.push_back("core.tensor.dataflow=" + dataflow);
    return LoadArchConfig(arch_path, all);
  }
};

// Accepts a decimal integer >= 1 that fits 64 bits.
const CLI::Validator kPositiveInteger(
    [](std::string& text) -> std::string {
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
          text.find_first_not_of('0') == std::string::npos || text.size() > 19) {
        return "expected a positive integer below 10^19, got '" + text + "'";
      }
      return "";
    },
    "POSITIVE_INT");

struct RunOptions {
  ArchOptions arch;
  bool json = false;
  std::string out_dir;
};

int RunGemms(const ArchConfig& arch, const std::vector<GemmJob>& jobs, bool json,
             const std::string& out_dir) {
  const GemmRunSummary summary = SimulateGemms(arch, jobs);
  const std::string json_text = GemmSummaryJson(arch, summary);
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw InputError(out_dir + ": cannot create output directory: " + ec.message());
    WriteFileAtomically(out_dir + "/report.json", json_text);
    WriteFileAtomically(out_dir + "/config.resolved.toml", arch.ToResolvedToml());
  }
  std::cout << (json ? json_text : FormatGemmSummary(arch, summary));
  return 0;
}

}  // namespace

int RunDefault() { return RunGemms(LoadArchConfig(""), DefaultGemmSet(), false, ""); }

void RegisterCommands(CLI::App& app, std::function<int()>& action) {
  // run
  auto run = std::make_shared<RunOptions>();
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Run the default workload (for now: one GPT-2-small layer's forward GEMMs)");
  run->arch.AddTo(run_cmd);
  run_cmd->add_flag("--json", run->json, "Print the report as JSON");
  run_cmd->add_option("--out", run->out_dir, "Write report.json and config.resolved.toml here");
  run_cmd->callback([run, &action]() {
    action = [run]() {
      return RunGemms(run->arch.Load(), DefaultGemmSet(), run->json, run->out_dir);
    };
  });

  // gemm
  struct GemmOptions {
    ArchOptions arch;
    std::uint64_t m = 0, k = 0, n = 0;
    bool json = false;
  };
  auto gemm = std::make_shared<GemmOptions>();
  CLI::App* gemm_cmd = app.add_subcommand("gemm", "Time one GEMM C[M,N] = A[M,K] x B[K,N]");
  gemm_cmd->add_option("--M", gemm->m, "Rows of A and C")->required()->check(kPositiveInteger);
  gemm_cmd->add_option("--K", gemm->k, "Reduction dimension")->required()->check(kPositiveInteger);
  gemm_cmd->add_option("--N", gemm->n, "Columns of B and C")->required()->check(kPositiveInteger);
  gemm->arch.AddTo(gemm_cmd);
  gemm_cmd->add_flag("--json", gemm->json, "Print the result as JSON");
  gemm_cmd->callback([gemm, &action]() {
    action = [gemm]() {
      return RunGemms(gemm->arch.Load(), {{"gemm", {gemm->m, gemm->k, gemm->n}, 1}}, gemm->json,
                      "");
    };
  });

  // scalesim
  struct ScaleSimCli {
    ScaleSimRunOptions run;
    std::string input_type = "conv";
  };
  auto cli = std::make_shared<ScaleSimCli>();
  ScaleSimRunOptions* ss = &cli->run;
  CLI::App* ss_cmd = app.add_subcommand(
      "scalesim", "SCALE-Sim v2 drop-in: its .cfg and topology in, its three reports out");
  ss_cmd->add_option("-c", ss->config_path, "SCALE-Sim config file (.cfg)")->required();
  ss_cmd->add_option("-t", ss->topology_path, "Topology CSV")->required();
  ss_cmd->add_option("-p", ss->output_dir, "Output directory for the reports")->required();
  ss_cmd
      ->add_option("-i", cli->input_type, "Topology type: conv (default) or gemm (Layer, M, N, K)")
      ->check(CLI::IsMember({"conv", "gemm"}));
  ss_cmd->add_flag("--reference", ss->reference_engine,
                   "Use the slow row-by-row reference emulation (for cross-checking)");
  ss_cmd->callback([cli, &action]() {
    cli->run.gemm_input = cli->input_type == "gemm";
    action = [cli]() {
      std::cout << RunScaleSim(cli->run);
      return 0;
    };
  });

  // params
  CLI::App* params_cmd =
      app.add_subcommand("params", "List every architecture parameter (unit, default, range)");
  params_cmd->callback([&action]() {
    action = []() {
      std::cout << FormatParamTable();
      return 0;
    };
  });
}

}  // namespace systole
