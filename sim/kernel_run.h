// Runs a tile kernel on one core and renders the result (`systole kernel ...`).
#pragma once

#include <string>
#include <vector>

#include "models/core/core.h"
#include "models/core/program.h"
#include "sim/config/arch_config.h"

namespace systole {

struct KernelRunReport {
  // The chip: one core, or several merged (time = the slowest core; instructions, FLOPs
  // and bytes summed; engines named "c<i>.<engine>"; compute roofline over all cores, HBM
  // roofline over the shared HBM).
  CoreRunResult core;
  std::vector<CoreRunResult> per_core;
  double wall_seconds = 0;  // host time spent simulating (not part of the JSON report)
};

// programs: one per core (arch.cores of them, or one).
KernelRunReport RunKernel(const ArchConfig& arch, const std::vector<Program>& programs,
                          const CoreRunOptions& options);

// `title` describes the kernel and its options (first line of the text summary).
std::string FormatKernelSummary(const std::string& title, const ArchConfig& arch,
                                const Program& program, const KernelRunReport& report);
std::string KernelReportJson(const std::string& title, const ArchConfig& arch,
                             const Program& program, const CoreRunResult& result);

}  // namespace systole
