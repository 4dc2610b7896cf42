// `systole scalesim`: SCALE-Sim v2 drop-in mode. Reads a SCALE-Sim .cfg and topology CSV and
// writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv with SCALE-Sim
// v2's column names, order and values (see scalesim_sim.h). Unlike SCALE-Sim, which writes to
// OUTDIR/<run_name>/, the reports go directly into output_dir.
#pragma once

#include <string>
#include <vector>

#include "workloads/scalesim/scalesim_sim.h"

namespace systole {

struct ScaleSimRunOptions {
  std::string config_path, topology_path, output_dir;
  bool gemm_input = false;
  bool reference_engine = false;  // row-level emulation only (slow; for cross-checking)
};

// Runs every layer, writes the three reports into output_dir (creating it if missing),
// returns a short human summary (layers, total cycles); throws InputError on bad input.
std::string RunScaleSim(const ScaleSimRunOptions& options);

namespace scalesim {
// The three report files' contents for the given per-layer results.
std::string ComputeReportCsv(const std::vector<LayerResult>& layers);
std::string BandwidthReportCsv(const std::vector<LayerResult>& layers);
std::string DetailedAccessReportCsv(const std::vector<LayerResult>& layers);
}  // namespace scalesim

}  // namespace systole
