// A sweep specification: which command each point runs, its fixed arguments, the axes that
// vary, how points are sampled, constraints between keys, and the objectives of the Pareto
// front. Read from TOML (`systole sweep SPEC.toml`):
//
//   command = "run"                       # run | kernel | tco | collective | gemm
//   args = ["--workload", "gpt2-small"]   # fixed arguments of every point
//
//   [[axis]]
//   param = "core.tensor.rows"            # an architecture parameter: -p key=value
//   values = [64, 128, 256]
//   [[axis]]
//   set = "training.micro_batch"          # a workload setting: --set key=value
//   range = [4, 16, 4]                    # start, stop (inclusive), step
//   [[axis]]
//   option = "--arch"                     # any option of the command: --arch value
//   values = ["configs/arch/neuroncore-v2.toml", "configs/arch/tpu-v5e.toml"]
//   [[axis]]
//   param = "hbm.channels"
//   log_range = [4, 64, 5]                # start, stop, points, evenly spaced in log
//
//   [sampling]
//   method = "grid"                       # grid | random | lhs (Latin hypercube)
//   points = 20                           # random / lhs only
//   seed = 1
//
//   constraints = ["core.tensor.rows <= core.tensor.cols", "core.tensor.rows * 2 >= 128"]
//
//   [pareto]
//   minimize = ["step_time_ns"]           # report figures (dotted JSON paths)
//   maximize = ["mfu"]
//
// Every point is the command's argument vector; the same spec always gives the same points in
// the same order (random and Latin-hypercube sampling use the seed), so a killed sweep
// resumes by point index. Bad specs raise InputError naming the file, line and key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace systole {

enum class AxisKind { kParam, kSet, kOption };

struct SweepAxis {
  AxisKind kind = AxisKind::kParam;
  std::string key;                  // "core.tensor.rows", "training.micro_batch", "--arch"
  std::vector<std::string> values;  // as passed on the command line
};

enum class SamplingMethod { kGrid, kRandom, kLatinHypercube };

struct SweepSpec {
  std::string path;  // the spec file (for messages)
  std::string command;
  std::vector<std::string> args;
  std::vector<SweepAxis> axes;
  SamplingMethod sampling = SamplingMethod::kGrid;
  std::uint64_t sample_points = 0;  // random / lhs
  std::uint64_t seed = 1;
  std::vector<std::string> constraints;
  std::vector<std::string> minimize;
  std::vector<std::string> maximize;
};

struct SweepPoint {
  std::uint64_t index = 0;                    // position in the spec's point list
  std::map<std::string, std::string> inputs;  // axis key -> value
  std::vector<std::string> argv;              // command, fixed args, then the axes' args
};

SweepSpec LoadSweepSpec(const std::string& path);

// The points of the spec, in order, constraints applied (a point that fails a constraint is
// dropped; indices stay those of the unconstrained list so they never shift).
std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec);

// A stable 64-bit identity of the spec's content (command, args, axes, sampling,
// constraints): rows of another spec in the same database are never mixed with this one's.
std::string SweepId(const SweepSpec& spec);

// Evaluates a constraint such as "a * 2 <= b && c != 3" over the point's inputs (numbers;
// keys are the axes' keys). Throws InputError naming `where` on a malformed expression or an
// unknown key.
bool EvaluateConstraint(const std::string& expression,
                        const std::map<std::string, std::string>& inputs, const std::string& where);

}  // namespace systole
