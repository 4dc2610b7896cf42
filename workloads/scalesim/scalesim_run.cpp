#include "workloads/scalesim/scalesim_run.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"
#include "base/output_set.h"

namespace systole {

namespace scalesim {

namespace {

std::string Int(std::int64_t v) { return std::to_string(v); }
std::string Uint(std::uint64_t v) { return std::to_string(v); }
// Cycle columns are numpy float64 values in SCALE-Sim: integral, printed like "-3243.0".
std::string Cyc(std::int64_t v) { return PyFloatRepr(static_cast<double>(v)); }

std::string Rows(const std::vector<LayerResult>& layers, const std::string& header,
                 std::vector<std::string> (*items)(const LayerResult&)) {
  std::string out = header;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    out += std::to_string(i);
    for (const std::string& item : items(layers[i])) out += ", " + item;
    out += ",\n";
  }
  return out;
}

}  // namespace

double LayerSteps(const Config& cfg, const Layer& layer) {
  const double m = static_cast<double>(layer.ofmap_h()) * static_cast<double>(layer.ofmap_w());
  const double k = static_cast<double>(layer.filt_h) * static_cast<double>(layer.filt_w) *
                   static_cast<double>(layer.channels);
  const double n = static_cast<double>(layer.num_filt);
  // Operand mapped on rows (Sr), on columns (Sc), and streamed (T) per dataflow.
  double sr = k, sc = n, t = m;  // weight stationary
  if (cfg.dataflow == Dataflow::kOutputStationary) {
    sr = m;
    sc = n;
    t = k;
  } else if (cfg.dataflow == Dataflow::kInputStationary) {
    sr = k;
    sc = m;
    t = n;
  }
  const double rows = static_cast<double>(cfg.array_rows);
  const double cols = static_cast<double>(cfg.array_cols);
  const double folds = std::ceil(sr / rows) * std::ceil(sc / cols);
  return folds * (2 * rows + cols + t);
}

void CheckLayerWork(const Config& cfg, const Layer& layer, std::size_t index,
                    const std::string& config_path, const std::string& topology_path) {
  const std::string where = fmt::format("{}: layer {} ('{}')", topology_path, index, layer.name);
  try {
    (void)LayerGemm(layer);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", where, e.what()));
  }
  const double steps = LayerSteps(cfg, layer);
  if (steps > kMaxLayerSteps) {
    throw InputError(fmt::format(
        "{}: about {:.3g} array steps on the {}x{} array of {} (ArrayHeight x ArrayWidth): more "
        "than the {:.3g} one run may take; reduce the layer or enlarge the array",
        where, steps, cfg.array_rows, cfg.array_cols, config_path, kMaxLayerSteps));
  }
}

std::string ComputeReportCsv(const std::vector<LayerResult>& layers) {
  return Rows(layers,
              "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, "
              "Compute Util %,\n",
              [](const LayerResult& r) -> std::vector<std::string> {
                return {Int(r.total_cycles), Int(r.stall_cycles), PyFloatRepr(r.overall_util),
                        PyFloatRepr(r.mapping_efficiency), PyFloatRepr(r.compute_util)};
              });
}

std::string BandwidthReportCsv(const std::vector<LayerResult>& layers) {
  return Rows(layers,
              "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
              "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n",
              [](const LayerResult& r) -> std::vector<std::string> {
                return {PyFloatRepr(r.sram_bw[0]), PyFloatRepr(r.sram_bw[1]),
                        PyFloatRepr(r.sram_bw[2]), PyFloatRepr(r.dram_bw[0]),
                        PyFloatRepr(r.dram_bw[1]), PyFloatRepr(r.dram_bw[2])};
              });
}

std::string DetailedAccessReportCsv(const std::vector<LayerResult>& layers) {
  return Rows(layers,
              "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
              "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
              "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
              "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
              "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
              "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n",
              [](const LayerResult& r) -> std::vector<std::string> {
                std::vector<std::string> v;
                for (int op = 0; op < 3; ++op) {
                  v.push_back(Cyc(r.sram_start[op]));
                  v.push_back(Cyc(r.sram_stop[op]));
                  v.push_back(Uint(r.sram_count[op]));
                }
                for (int op = 0; op < 3; ++op) {
                  v.push_back(Cyc(r.dram_start[op]));
                  v.push_back(Cyc(r.dram_stop[op]));
                  v.push_back(Uint(r.dram_count[op]));
                }
                return v;
              });
}

}  // namespace scalesim

std::string RunScaleSim(const ScaleSimRunOptions& options) {
  using namespace scalesim;
  const Config cfg = ParseConfigFile(options.config_path);
  const std::vector<Layer> layers = ParseTopologyFile(options.topology_path, options.gemm_input);
  const Engine engine = options.reference_engine ? Engine::kReference : Engine::kFast;
  std::vector<LayerResult> results;
  results.reserve(layers.size());
  std::int64_t total = 0;
  std::int64_t stalls = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    CheckLayerWork(cfg, layers[i], i, options.config_path, options.topology_path);
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    try {
      results.push_back(SimulateLayer(cfg, layers[i], engine));
    } catch (const InputError& e) {
      // The layer (topology) and the array (config) together caused it: name both.
      throw InputError(options.topology_path + ": layer " + std::to_string(i) + " ('" +
                       layers[i].name + "') on the array of " + options.config_path + ": " +
                       e.what());
    }
    total += results.back().total_cycles;
    stalls += results.back().stall_cycles;
  }
  if (options.output_dir.empty()) throw InputError("scalesim: output directory (-p) is empty");
  // The three reports are published as one set (base/output_set.h).
  OutputSet set(options.output_dir);
  set.Add("COMPUTE_REPORT.csv", ComputeReportCsv(results));
  set.Add("BANDWIDTH_REPORT.csv", BandwidthReportCsv(results));
  set.Add("DETAILED_ACCESS_REPORT.csv", DetailedAccessReportCsv(results));
  set.Publish();
  return "scalesim: " + std::to_string(layers.size()) + " layer(s), " + std::to_string(total) +
         " total cycles (" + std::to_string(stalls) + " stall cycles), " +
         (cfg.mode == BandwidthMode::kCalc ? "CALC" : "USER") + " bandwidth mode; reports in " +
         options.output_dir;
}

}  // namespace systole
