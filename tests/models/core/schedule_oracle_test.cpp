// The engines' issue rule, checked against an independent oracle on whole kernels.
//
// An engine issues an instruction at the earliest time at which (a) the engine is free
// again (the previous instruction's occupancy has ended), (b) fewer than max_outstanding
// of its earlier instructions are still in flight, and (c) every instruction it waits for
// has completed (engine.h). The oracle recomputes that time for every instruction from
// the recorded times of the others alone:
//     issue = max(previous occupancy end, M-th latest earlier completion, waits' completion)
// (with M = max_outstanding; an earlier instruction completing at t no longer counts at t).
// It knows nothing of events or wake-ups, so it holds however the engines schedule their
// processes; what it cannot see is how shared memories and HBM arbitrate accesses that
// start at the same time (that is in each instruction's completion time, which the oracle
// takes as recorded).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "models/core/core.h"
#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

std::string Preset(const std::string& name) {
  return std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + name + ".toml";
}

// Checks every instruction of one core's run; returns how many were checked.
std::size_t CheckIssueRule(const ArchConfig& arch, const Program& program,
                           const CoreRunResult& result, const std::string& what) {
  const std::size_t n = program.instructions.size();
  std::vector<const TraceSlice*> slice_of(n, nullptr);
  for (const TraceSlice& s : result.slices) {
    EXPECT_EQ(slice_of.at(s.instr), nullptr) << what << ": #" << s.instr << " recorded twice";
    slice_of[s.instr] = &s;
  }
  // Per engine (by name), the earlier instructions' occupancy ends and completions.
  struct EngineState {
    double free_at_ns = 0;
    std::vector<double> completions;
  };
  std::vector<EngineState> engines(result.engines.size());
  std::size_t checked = 0;
  for (std::size_t i = 0; i < n; ++i) {  // stream order within an engine = global order
    const TraceSlice* s = slice_of[i];
    if (s == nullptr) {
      ADD_FAILURE() << what << ": #" << i << " never issued";
      continue;
    }
    const Instruction& in = program.instructions[i];
    EngineState& e = engines.at(s->engine);
    double expected = e.free_at_ns;
    const std::uint32_t max_outstanding = MaxOutstanding(arch.core, in.engine.kind);
    if (e.completions.size() >= max_outstanding) {
      std::vector<double> latest = e.completions;
      std::nth_element(latest.begin(), latest.begin() + (max_outstanding - 1), latest.end(),
                       std::greater<double>());
      expected = std::max(expected, latest[max_outstanding - 1]);
    }
    for (const std::uint32_t w : in.waits) {
      if (w >= i) {
        ADD_FAILURE() << what << ": #" << i << " waits for a later instruction";
        continue;
      }
      expected = std::max(expected, slice_of[w]->end_ns);
    }
    EXPECT_EQ(s->start_ns, expected) << what << ": #" << i << " (" << OpcodeName(in.op) << ")";
    EXPECT_LE(s->start_ns, s->occupancy_end_ns) << what << ": #" << i;
    EXPECT_LE(s->occupancy_end_ns, s->end_ns) << what << ": #" << i;
    e.free_at_ns = s->occupancy_end_ns;
    e.completions.push_back(s->end_ns);
    ++checked;
  }
  return checked;
}

std::size_t CheckChip(const ArchConfig& arch, const std::vector<Program>& programs, HbmFidelity hbm,
                      const std::string& what) {
  CoreRunOptions options;
  options.record_trace = true;
  options.hbm = hbm;
  const std::vector<CoreRunResult> results = RunCores(arch, programs, options);
  std::size_t checked = 0;
  for (std::size_t c = 0; c < programs.size(); ++c) {
    checked += CheckIssueRule(arch, programs[c], results[c], what + " core" + std::to_string(c));
  }
  return checked;
}

TEST(CoreScheduleOracle, EveryInstructionIssuesAtItsEarliestLegalTime) {
  std::size_t checked = 0;
  for (const char* preset : {"systole-base", "neuroncore-v2", "trainium1", "tpu-v5e"}) {
    const ArchConfig arch = LoadArchConfig(Preset(preset));
    for (const HbmFidelity hbm : {HbmFidelity::kBandwidth, HbmFidelity::kBanked}) {
      const std::string fidelity = hbm == HbmFidelity::kBanked ? " banked" : "";
      for (const char* level : {"naive", "hoist", "block", "block3", "tuned"}) {
        for (const char* epilogue : {"", "bias,gelu,residual", "swiglu,store"}) {
          // The NKI tutorial's kernels take no epilogue.
          if (*epilogue && std::string(level) != "tuned") continue;
          MatmulKernelOptions o;  // ragged edges in all three dimensions
          o.m = 1000;
          o.k = 1500;
          o.n = 700;
          o.level = level;
          o.epilogue = ParseEpilogue(epilogue);
          checked += CheckChip(arch, BuildMatmulKernelForChip(arch, o), hbm,
                               std::string(preset) + " " + level + " " + epilogue + fidelity);
        }
      }
      MatmulKernelOptions batched;  // the tiling search's options, pipelined across items
      batched.m = 64;
      batched.k = 512;
      batched.n = 256;
      batched.batch = 5;
      batched.out_buffers = 3;
      batched.store_queues = 1;
      checked += CheckChip(arch, BuildMatmulKernelForChip(arch, batched), hbm,
                           std::string(preset) + " batch" + fidelity);
      for (const char* kind : {"add", "relu", "gelu", "softmax", "layernorm", "rmsnorm"}) {
        ElementwiseKernelOptions e;
        e.kind = kind;
        e.rows = 1000;
        e.cols = 768;
        checked += CheckChip(arch, BuildElementwiseKernelForChip(arch, e), hbm,
                             std::string(preset) + " " + kind + fidelity);
      }
    }
  }
  EXPECT_GT(checked, 30000u);  // the sweep is not trivially small (34682 instructions)
}

}  // namespace
}  // namespace systole
