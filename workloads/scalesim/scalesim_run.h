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
// Array steps (folds x (2 x rows + columns + streamed vectors), SCALE-Sim's per-fold cycle
// count) above which a layer is refused before it is simulated: the engines' work grows
// with it (about 3e8 steps/s measured for the fast engine), so 2^31 is several seconds.
inline constexpr double kMaxLayerSteps = 2147483648.0;

// Estimated array steps of `layer` on `cfg`'s array and dataflow (a double: the product of
// user-given sizes may pass 64 bits).
double LayerSteps(const Config& cfg, const Layer& layer);

// Throws InputError naming the layer (topology file) and the array (config file) when the
// layer's estimated work passes kMaxLayerSteps or its GEMM overflows 64 bits.
void CheckLayerWork(const Config& cfg, const Layer& layer, std::size_t index,
                    const std::string& config_path, const std::string& topology_path);

// The three report files' contents for the given per-layer results.
std::string ComputeReportCsv(const std::vector<LayerResult>& layers);
std::string BandwidthReportCsv(const std::vector<LayerResult>& layers);
std::string DetailedAccessReportCsv(const std::vector<LayerResult>& layers);
}  // namespace scalesim

}  // namespace systole
