#include "sim/cli/commands.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "base/checked_math.h"
#include "base/error.h"
#include "base/number_parse.h"
#include "base/output_set.h"
#include "sim/cli/collective_command.h"
#include "sim/compare/compare_run.h"
#include "sim/config/arch_config.h"
#include "sim/config/param_registry.h"
#include "sim/kernel_run.h"
#include "sim/parallel_run.h"
#include "sim/report/html_report.h"
#include "sim/step_run.h"
#include "sim/sweep/sweep_run.h"
#include "sim/tco/cost_config.h"
#include "sim/tco/tco.h"
#include "sim/trace/chrome_trace.h"
#include "workloads/gemm/gemm_run.h"
#include "workloads/import/onnx_import.h"
#include "workloads/kernel/reference_kernels.h"
#include "workloads/kernel/wave_schedule.h"
#include "workloads/parallel/parallel_layout.h"
#include "workloads/scalesim/scalesim_run.h"
#include "workloads/training/footprint.h"
#include "workloads/zoo/workload_config.h"

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
      std::uint64_t v = 0;
      std::string why;
      if (!ParseUnsigned(text, &v, &why)) {
        return "expected a positive integer, got '" + text + "', which " + why;
      }
      if (v == 0) return "expected a positive integer, got 0";
      return "";
    },
    "POSITIVE_INT");

struct RunOptions {
  ArchOptions arch;
  std::string workload = "gpt2-small";
  std::vector<std::string> workload_overrides;
  std::string onnx;           // ONNX model to train (training settings from `workload`)
  std::string fusion = "on";  // fold element-wise ops into their matmul producers
  bool json = false;
  std::string out_dir;
  // Parallel training (sim/parallel_run.h); any of them set selects it.
  std::string parallel;
  std::string zero = "0";
  std::string schedule = "1f1b";
  bool sequence_parallel = false;
  bool every_rank = false;
  bool parallel_requested = false;
};

// Progress bar on stderr for runs longer than a second (only on a terminal).
class ProgressBar {
 public:
  ProgressBar() : start_(std::chrono::steady_clock::now()), tty_(isatty(fileno(stderr)) != 0) {}
  void Update(double fraction) {
    if (!tty_) return;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (elapsed < 1.0) return;
    const int width = 40;
    const int filled = static_cast<int>(fraction * width);
    std::cerr << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
              << std::string(static_cast<std::size_t>(width - filled), '.') << "] "
              << static_cast<int>(fraction * 100.0) << "% " << std::flush;
    shown_ = true;
  }
  ~ProgressBar() {
    if (shown_) std::cerr << "\r" << std::string(50, ' ') << "\r" << std::flush;
  }

 private:
  std::chrono::steady_clock::time_point start_;
  bool tty_;
  bool shown_ = false;
};

// The user-given sizes of a workload, for overflow messages: "model.hidden = 768, ...".
std::string WorkloadSizes(const WorkloadConfig& c) {
  const ModelConfig& m = c.model;
  std::string out;
  auto add = [&](const char* key, std::uint64_t v) {
    if (v != 0) out += fmt::format("{}{} = {}", out.empty() ? "" : ", ", key, v);
  };
  add("model.vocab", m.vocab);
  add("model.hidden", m.hidden);
  add("model.layers", m.layers);
  add("model.heads", m.heads);
  add("model.ffn", m.ffn);
  add("model.max_positions", m.max_positions);
  add("model.image_size", m.image_size);
  add("model.classes", m.classes);
  for (std::size_t i = 0; i < m.layer_sizes.size() && i < 8; ++i) {
    add(fmt::format("model.layer_sizes[{}]", i).c_str(), m.layer_sizes[i]);
  }
  add("training.micro_batch", c.training.micro_batch);
  add("training.sequence", c.training.sequence);
  add("training.grad_accum_steps", c.training.grad_accum_steps);
  return out;
}

int RunParallel(const ArchConfig& arch, const WorkloadConfig& config, const RunOptions& o) {
  ParallelOptions options;
  options.layout = ParseParallelLayout(o.parallel, o.zero, o.schedule, o.sequence_parallel);
  options.fusion = o.fusion == "on";
  options.every_rank = o.every_rank;
  ParallelReport report;
  {
    ProgressBar bar;
    report = RunParallelStep(arch, config, options, MakeCommTimer(arch),
                             [&bar](double f) { bar.Update(f); });
  }
  const std::string json_text = ParallelReportJson(arch, config, report);
  if (!o.out_dir.empty()) {
    OutputSet set(o.out_dir);  // published as one set, as RunStep's
    set.Add("report.json", json_text);
    set.Add("ops.csv", ParallelOpsCsv(report));
    set.Add("trace.json", ParallelTraceJson(report));
    set.Add("config.resolved.toml", ResolvedArchToml(arch));
    set.Publish();
  }
  std::cout << (o.json ? json_text : FormatParallelSummary(arch, config, report));
  return 0;
}

// The --workload file: a preset name or a path.
std::string WorkloadPath(const RunOptions& o) {
  const bool is_file =
      o.workload.find('/') != std::string::npos || o.workload.find(".toml") != std::string::npos;
  const std::string path = is_file ? o.workload : WorkloadPresetPath(o.workload);
  if (!is_file && !std::filesystem::exists(path)) {
    std::string names;
    for (const std::string& n : WorkloadPresetNames()) names += (names.empty() ? "" : ", ") + n;
    throw InputError("--workload '" + o.workload + "': no such preset (expected one of " + names +
                     ", or a .toml file)");
  }
  return path;
}

// A 64-bit overflow while building or timing a step, as an input error naming the inputs.
[[noreturn]] void ThrowOverflow(const RunOptions& o, const WorkloadConfig& config,
                                const OverflowError& e) {
  const std::string path = WorkloadPath(o);
  std::string source = o.onnx.empty() ? path : o.onnx + " (training settings from " + path + ")";
  for (const std::string& s : o.workload_overrides) source += " --set " + s;
  throw InputError(fmt::format("{}: {} with {}: expected sizes whose products fit 64 bits", source,
                               e.what(), WorkloadSizes(config)));
}

// The training step of --workload (or --onnx with its training settings), its footprint
// checked against the chip's HBM.
TrainingStep LoadStep(const RunOptions& o, const ArchConfig& arch) {
  WorkloadConfig config = LoadWorkloadConfig(WorkloadPath(o), o.workload_overrides);
  ResolveGlobalBatch(config.training, 1);
  TrainingStep step;
  try {
    if (o.onnx.empty()) {
      step = BuildTrainingStep(config, o.fusion == "on");
    } else {
      config.model.name = std::filesystem::path(o.onnx).stem().string();
      step = BuildTrainingStep(ImportOnnx(o.onnx, config), config, o.fusion == "on");
    }
    CheckFootprintFits(step, arch.hbm.CapacityBytes());
  } catch (const OverflowError& e) {
    ThrowOverflow(o, config, e);
  }
  return step;
}

int RunStep(const RunOptions& o) {
  const ArchConfig arch = o.arch.Load();
  if (o.parallel_requested) {
    if (!o.onnx.empty()) {
      throw InputError(
          "--onnx: parallel runs (--parallel, --zero, --schedule) take zoo models "
          "only (tensor and pipeline splits are built per family)");
    }
    return RunParallel(arch, LoadWorkloadConfig(WorkloadPath(o), o.workload_overrides), o);
  }
  const TrainingStep step = LoadStep(o, arch);
  StepReport report;
  try {
    ProgressBar bar;
    report = RunTrainingStep(arch, step, [&bar](double f) { bar.Update(f); });
  } catch (const OverflowError& e) {
    ThrowOverflow(o, step.config, e);
  }
  const std::string json_text = StepReportJson(arch, step, report);
  if (!o.out_dir.empty()) {
    // The five files are published as one set (base/output_set.h): a failure or a kill
    // partway leaves the previous set intact or marked incomplete (no manifest).
    // docs/REPORTS.md says what each holds.
    OutputSet set(o.out_dir);
    set.Add("report.json", json_text);
    set.Add("ops.csv", OpsCsv(step, report));
    set.Add("trace.json", StepTraceJson(step, report));
    set.Add("config.resolved.toml", ResolvedArchToml(arch));
    set.Add("report.html", StepReportHtml(arch, step, report, json_text));
    set.Publish();
  }
  std::cout << (o.json ? json_text : FormatStepSummary(arch, step, report));
  return 0;
}

struct TcoOptions {
  RunOptions run;
  std::string tokens;
  std::vector<std::string> cost_files;
  bool list_keys = false;
};

// A positive, finite number ("2e12", base/number_parse.h); InputError naming the option.
double ParseTokens(const std::string& text) {
  double v = 0;
  std::string why;
  if (!ParseReal(text, &v, &why)) {
    throw InputError("--tokens '" + text + "': " + why +
                     ": expected a number of tokens > 0, "
                     "e.g. 2e12");
  }
  if (!(v > 0)) {
    throw InputError("--tokens '" + text + "': expected a number of tokens > 0, e.g. 2e12");
  }
  return v;
}

int RunTcoCommand(const TcoOptions& o) {
  if (o.list_keys) {
    std::cout << FormatCostKeys();
    return 0;
  }
  // Every input is checked before anything is simulated or written.
  const double tokens = ParseTokens(o.tokens);
  std::vector<std::string> files = o.cost_files;
  if (files.empty()) files = {CostPresetPath("trn1-cloud"), CostPresetPath("trn1-onprem")};
  std::vector<CostOption> options;
  for (const std::string& f : files) {
    const bool is_file = f.find('/') != std::string::npos || f.find(".toml") != std::string::npos;
    if (!is_file && !std::filesystem::exists(CostPresetPath(f))) {
      std::string names;
      const std::filesystem::path dir = std::filesystem::path(CostPresetPath("x")).parent_path();
      std::vector<std::string> found;
      std::error_code ec;
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".toml") found.push_back(entry.path().stem().string());
      }
      std::sort(found.begin(), found.end());
      for (const std::string& n : found) names += (names.empty() ? "" : ", ") + n;
      throw InputError("--cost '" + f + "': no such preset (expected one of " + names +
                       ", or a .toml file)");
    }
    options.push_back(LoadCostOption(is_file ? f : CostPresetPath(f)));
  }
  // The command's architecture, and each option's own (option.arch), loaded and their
  // steps built (footprint checked) before any simulation.
  struct Chip {
    ArchConfig arch;
    TrainingStep step;
    StepReport report;
    StepFigures fig;
  };
  std::map<std::string, Chip> chips;  // by option.arch ("" = --arch)
  // Default chip: the one the default cost presets rent and own (trn1.32xlarge's Trainium).
  ArchOptions command_arch = o.run.arch;
  if (command_arch.arch_path.empty()) {
    command_arch.arch_path = ArchPresetPathForCost("trainium1");
  }
  chips[""].arch = command_arch.Load();
  for (const CostOption& option : options) {
    if (!option.arch.empty() && !chips.count(option.arch)) {
      chips[option.arch].arch = LoadArchConfig(option.arch, o.run.arch.overrides);
    }
  }
  for (auto& [path, chip] : chips) chip.step = LoadStep(o.run, chip.arch);
  for (auto& [path, chip] : chips) {
    {
      ProgressBar bar;
      chip.report = RunTrainingStep(chip.arch, chip.step, [&bar](double f) { bar.Update(f); });
    }
    StepFigures& fig = chip.fig;
    fig.workload = chip.step.config.model.name;
    fig.arch = chip.arch.name;
    fig.step_ns = chip.report.step_ns;
    fig.tokens_per_step = static_cast<double>(chip.step.tokens_per_step);
    fig.energy_j = chip.report.energy.TotalJ();
    fig.throttled = chip.report.power.throttled;
    fig.clock_scale = chip.report.power.clock_scale;
  }
  std::vector<StepFigures> option_steps;
  for (const CostOption& option : options) option_steps.push_back(chips.at(option.arch).fig);
  const Chip& main_chip = chips.at("");
  const ArchConfig& arch = main_chip.arch;
  const TrainingStep& step = main_chip.step;
  const StepReport& report = main_chip.report;
  const TcoReport tco = ComputeTco(main_chip.fig, tokens, options, option_steps);
  const std::string json_text = TcoJson(tco);
  if (!o.run.out_dir.empty()) {
    OutputSet set(o.run.out_dir);  // published as one set (base/output_set.h)
    set.Add("report.json", json_text);
    set.Add("tco.svg", TcoSvg(tco));
    set.Add("step.json", StepReportJson(arch, step, report));
    set.Add("config.resolved.toml", ResolvedArchToml(arch));
    set.Publish();
  }
  std::cout << (o.run.json ? json_text : FormatTcoTable(tco));
  return 0;
}

int RunGemms(const ArchConfig& arch, const std::vector<GemmJob>& jobs, bool json) {
  GemmRunSummary summary;
  try {
    summary = SimulateGemms(arch, jobs);
  } catch (const OverflowError& e) {
    const GemmShape& s = jobs.front().shape;
    throw InputError(
        fmt::format("gemm --M {} --K {} --N {}: {}: expected dimensions whose "
                    "products fit 64 bits",
                    s.m, s.k, s.n, e.what()));
  }
  std::cout << (json ? GemmSummaryJson(arch, summary) : FormatGemmSummary(arch, summary));
  return 0;
}

struct KernelCli {
  ArchOptions arch;
  std::string kind;
  MatmulKernelOptions mm;
  std::string dtype = "bf16";
  std::string shape = "4096x1024";
  std::string trace_path;
  std::string hbm = "bandwidth";
  std::string epilogue;
  bool json = false;
};

int RunKernelCommand(KernelCli& kc) {
  const ArchConfig arch = kc.arch.Load();
  const Dtype dtype = ParseDtype(kc.dtype);
  std::vector<Program> programs;
  std::string title;
  if (kc.kind == "matmul") {
    kc.mm.dtype = dtype;
    kc.mm.epilogue = ParseEpilogue(kc.epilogue);
    const MatmulKernelOptions o = ResolveMatmulOptions(arch, kc.mm);
    title = fmt::format(
        "kernel matmul {}{}x{}x{} {} (level {}: tiles m{} k{} n{}, blocks m{} n{} k{}, hoist "
        "{}, buffers {}, out buffers {})",
        o.batch > 1 ? fmt::format("{} x ", o.batch) : "", o.m, o.k, o.n, DtypeName(dtype), o.level,
        o.tile_m, o.tile_k, o.tile_n, o.block_m, o.block_n, o.block_k, o.hoist ? "on" : "off",
        o.buffers, o.out_buffers);
    if (!o.epilogue.empty()) title += " epilogue " + EpilogueString(o.epilogue);
    if (arch.schedule == ChipSchedule::kWaves) {
      std::cout << FormatWaveRun(arch, kc.mm, SimulateMatmulWaves(arch, kc.mm));
      return 0;
    }
    programs = BuildMatmulKernelForChip(arch, o);
  } else {
    ElementwiseKernelOptions o;
    o.kind = kc.kind;
    o.dtype = dtype;
    const auto x = kc.shape.find('x');
    std::string why;
    if (x == std::string::npos || !ParseUnsigned(kc.shape.substr(0, x), &o.rows, &why) ||
        !ParseUnsigned(kc.shape.substr(x + 1), &o.cols, &why) || o.rows == 0 || o.cols == 0) {
      throw InputError("--shape '" + kc.shape +
                       "': expected ROWSxCOLS of positive integers, e.g. 4096x1024");
    }
    title = fmt::format("kernel {} {}x{} {}", o.kind, o.rows, o.cols, DtypeName(dtype));
    if (arch.schedule == ChipSchedule::kWaves) {
      const WaveRun w = SimulateElementwiseWaves(arch, o);
      std::cout << fmt::format(
          "{} on {}: time {:.3f} us over {} cores ({:.1f} GB/s each), {:.1f} GB/s of HBM "
          "traffic achieved\n",
          title, arch.name, w.time_ns / 1000.0, w.tiles, w.full_share_gbps,
          static_cast<double>(w.hbm_bytes) / w.time_ns);
      return 0;
    }
    programs = BuildElementwiseKernelForChip(arch, o);
  }
  CoreRunOptions options;
  options.record_trace = !kc.trace_path.empty();
  options.hbm = kc.hbm == "banked" ? HbmFidelity::kBanked : HbmFidelity::kBandwidth;
  if (arch.cores > 1) title += fmt::format(" split over {} cores", arch.cores);
  const KernelRunReport report = RunKernel(arch, programs, options);
  if (!kc.trace_path.empty()) {
    WriteFileAtomically(kc.trace_path, ChromeTraceJson(programs, report.per_core));
  }
  std::cout << (kc.json ? KernelReportJson(title, arch, programs.front(), report.core)
                        : FormatKernelSummary(title, arch, programs.front(), report));
  return 0;
}

}  // namespace

int RunDefault() { return RunStep(RunOptions{}); }

void RegisterCommands(CLI::App& app, std::function<int()>& action) {
  // run
  auto run = std::make_shared<RunOptions>();
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Time one training step (forward, backward, optimizer) of a workload on a chip");
  run->arch.AddTo(run_cmd);
  run_cmd->add_option("--workload,-w", run->workload,
                      "Model-zoo preset (configs/workloads/NAME.toml) or a workload .toml file");
  run_cmd
      ->add_option("--set", run->workload_overrides,
                   "Override a workload key: --set training.micro_batch=8")
      ->take_all();
  run_cmd->add_option("--onnx", run->onnx,
                      "Train this ONNX model instead, with --workload's [training] settings "
                      "(default: the mlp preset's)");
  run_cmd
      ->add_option("--fusion", run->fusion,
                   "on (default): bias, activations, residual adds and activation gradients run "
                   "in the epilogue of the matmul producing their input; off: every op its own "
                   "kernel")
      ->check(CLI::IsMember({"on", "off"}));
  run_cmd->add_option("--parallel", run->parallel,
                      "Parallel layout dp=N,tp=N,pp=N (devices = dp x tp x pp; missing ones 1)");
  run_cmd->add_option("--zero", run->zero, "ZeRO stage 0-3 over the data-parallel replicas");
  run_cmd->add_option("--schedule", run->schedule,
                      "Pipeline schedule: gpipe, 1f1b (default) or interleaved:V");
  run_cmd->add_flag("--sequence-parallel", run->sequence_parallel,
                    "Megatron-LM sequence parallelism (norms and residual adds on s/tp tokens)");
  run_cmd->add_flag("--every-rank", run->every_rank,
                    "Simulate every rank on its own (no symmetry shortcut; slow, for checking)");
  run_cmd->add_flag("--json", run->json, "Print report.json to stdout");
  run_cmd->add_option(
      "--out", run->out_dir,
      "Write report.json, ops.csv, trace.json, config.resolved.toml and report.html here");
  run_cmd->callback([run, run_cmd, &action]() {
    if (!run->onnx.empty() && run_cmd->count("--workload") == 0) run->workload = "mlp";
    run->parallel_requested =
        run_cmd->count("--parallel") + run_cmd->count("--zero") + run_cmd->count("--schedule") +
            run_cmd->count("--sequence-parallel") + run_cmd->count("--every-rank") >
        0;
    action = [run]() { return RunStep(*run); };
  });

  // tco
  auto tco = std::make_shared<TcoOptions>();
  CLI::App* tco_cmd = app.add_subcommand(
      "tco",
      "Cost of training to a token target: cloud rental vs owned servers, energy, CO2, "
      "break-even (default chip: configs/arch/trainium1.toml)");
  tco->run.arch.AddTo(tco_cmd);
  tco_cmd->add_option("--workload,-w", tco->run.workload,
                      "Model-zoo preset (configs/workloads/NAME.toml) or a workload .toml file");
  tco_cmd
      ->add_option("--set", tco->run.workload_overrides,
                   "Override a workload key: --set training.micro_batch=8")
      ->take_all();
  tco_cmd->add_option("--tokens", tco->tokens, "Tokens to train on, e.g. 2e12");
  tco_cmd
      ->add_option("--cost", tco->cost_files,
                   "Cost file (configs/cost/NAME.toml or a path), one per deployment option; "
                   "repeatable (default: trn1-cloud and trn1-onprem)")
      ->take_all();
  tco_cmd->add_flag("--list-cost-keys", tco->list_keys, "List every cost-file key and exit");
  tco_cmd->add_flag("--json", tco->run.json, "Print report.json (systole.tco/1) to stdout");
  tco_cmd->add_option("--out", tco->run.out_dir,
                      "Write report.json, tco.svg, step.json and config.resolved.toml here");
  tco_cmd->callback([tco, &action]() {
    action = [tco]() {
      if (!tco->list_keys && tco->tokens.empty()) {
        throw InputError("tco: --tokens is required (e.g. --tokens 2e12)");
      }
      return RunTcoCommand(*tco);
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
      return RunGemms(gemm->arch.Load(), {{"gemm", {gemm->m, gemm->k, gemm->n}, 1}}, gemm->json);
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

  // kernel
  auto kc = std::make_shared<KernelCli>();
  CLI::App* kernel_cmd = app.add_subcommand(
      "kernel",
      "Run a reference tile kernel on one core: matmul, add, gelu, relu, softmax, layernorm, "
      "rmsnorm");
  kernel_cmd->add_option("kind", kc->kind, "Kernel")
      ->required()
      ->check(CLI::IsMember({"matmul", "add", "gelu", "relu", "softmax", "layernorm", "rmsnorm"}));
  kc->arch.AddTo(kernel_cmd);
  kernel_cmd->add_option("--M", kc->mm.m, "matmul: rows of A and C")->check(kPositiveInteger);
  kernel_cmd->add_option("--K", kc->mm.k, "matmul: reduction dimension")->check(kPositiveInteger);
  kernel_cmd->add_option("--N", kc->mm.n, "matmul: columns of B and C")->check(kPositiveInteger);
  kernel_cmd->add_option(
      "--level", kc->mm.level,
      "matmul kernel: naive, hoist, block, block3 (the NKI tutorial's ladder) or tuned "
      "(the parametrised nest the step uses; default)");
  kernel_cmd->add_option("--tile-m", kc->mm.tile_m, "matmul: stationary columns per tile");
  kernel_cmd->add_option("--tile-k", kc->mm.tile_k, "matmul: contraction rows per tile");
  kernel_cmd->add_option("--tile-n", kc->mm.tile_n, "matmul: moving elements per tile");
  kernel_cmd->add_option("--block-m", kc->mm.block_m, "matmul: M tiles per block");
  kernel_cmd->add_option("--block-n", kc->mm.block_n, "matmul: N tiles per block");
  kernel_cmd->add_option("--block-k", kc->mm.block_k, "matmul: K tiles per block");
  kernel_cmd->add_option("--hoist", kc->mm.hoist, "matmul: 1 = keep stationary tiles resident");
  kernel_cmd->add_option("--buffers", kc->mm.buffers,
                         "matmul: operand buffers (pipeline stages), 1-8");
  kernel_cmd->add_option("--batch", kc->mm.batch,
                         "matmul: independent products of this shape run back to back");
  kernel_cmd->add_option("--store-queues", kc->mm.store_queues,
                         "matmul: DMA queues that carry stores, the rest load (default a quarter)");
  kernel_cmd->add_option("--out-buffers", kc->mm.out_buffers,
                         "matmul: output row-block buffers, 1-8 (default 2, 3 with an epilogue)");
  kernel_cmd->add_option("--dma-rows", kc->mm.dma_rows, "matmul: rows per DMA of block loads");
  kernel_cmd->add_option(
      "--epilogue", kc->epilogue,
      "matmul: element-wise steps fused on the output, e.g. bias,gelu,residual "
      "(also relu, silu, scale, relu_grad, gelu_grad, silu_grad, swiglu, store)");
  kernel_cmd->add_option("--dtype", kc->dtype, "Datatype: bf16, fp16, fp8, fp32");
  kernel_cmd->add_option("--shape", kc->shape, "Element-wise kernels: ROWSxCOLS");
  kernel_cmd->add_option("--hbm", kc->hbm, "HBM fidelity: bandwidth or banked")
      ->check(CLI::IsMember({"bandwidth", "banked"}));
  kernel_cmd->add_option("--trace", kc->trace_path, "Write a Chrome/Perfetto trace here");
  kernel_cmd->add_flag("--json", kc->json, "Print the report as JSON");
  kernel_cmd->callback([kc, &action]() {
    action = [kc]() {
      try {
        return RunKernelCommand(*kc);
      } catch (const OverflowError& e) {
        const std::string sizes = kc->kind == "matmul"
                                      ? fmt::format("--M {} --K {} --N {} --batch {}", kc->mm.m,
                                                    kc->mm.k, kc->mm.n, kc->mm.batch)
                                      : "--shape " + kc->shape;
        throw InputError(
            fmt::format("kernel {} {}: {}: expected sizes whose products fit 64 "
                        "bits",
                        kc->kind, sizes, e.what()));
      }
    };
  });

  RegisterCollectiveCommand(app, action);  // sim/cli/collective_command.cpp
  RegisterSweepCommand(app, action);
  RegisterCompareCommand(app, action);

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
