// `systole sweep SPEC.toml [--jobs N] [--db results.sqlite]`: runs every point of a sweep
// (sweep_spec.h) as a child process of this same binary (`systole <command> ... --json`; one
// SystemC kernel per process), up to N at once, and stores each finished point in the
// database (result_db.h) as it finishes. Started again with the same spec and database it
// skips the points already stored, so a killed sweep resumes with no point lost or repeated.
//
// Under `mpirun -n K` (OpenMPI sets OMPI_COMM_WORLD_RANK/SIZE) rank r runs the points whose
// index is r mod K; every rank writes its rows into the one database (SQLite serialises the
// writers; each row is one transaction), so the ranks need a shared file system when they
// are on several machines.
//
// At the end it prints the counts, and the Pareto front of the ok points over the spec's
// [pareto] objectives.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/sweep/sweep_spec.h"

namespace CLI {
class App;
}

namespace systole {

struct SweepOptions {
  std::string spec_path;
  std::string db_path;  // default: the spec's name with .sqlite beside it
  unsigned jobs = 1;
  double lock_timeout_s = 30;  // how long to wait for a database another process holds
  bool json = false;
  std::string binary;  // the systole binary run for each point (default: this one)
};

struct ParetoPoint {
  std::uint64_t point = 0;
  std::vector<double> objectives;  // in the order minimize..., maximize...
};

// The points (index, objective values) no other point dominates: another point dominates
// when it is no worse in every objective and better in one. Minimised objectives first,
// then maximised ones, as in the spec. Points missing an objective are left out.
std::vector<ParetoPoint> ParetoFront(const std::vector<ParetoPoint>& points, std::size_t minimized);

// A figure of a report by dotted path ("footprint.total_bytes"); false when absent or not a
// number.
bool ReportFigure(const std::string& report_json, const std::string& path, double& value);

int RunSweep(const SweepOptions& options);

// Adds `sweep` to the command line; its callback sets action.
void RegisterSweepCommand(CLI::App& app, std::function<int()>& action);

}  // namespace systole
