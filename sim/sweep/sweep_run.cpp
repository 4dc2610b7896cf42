#include "sim/sweep/sweep_run.h"

#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sim/sweep/process_pool.h"
#include "sim/sweep/result_db.h"
#include "sim/version.h"

namespace systole {

namespace {

using Clock = std::chrono::steady_clock;

std::string JsonOfStrings(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::string JsonOfMap(const std::map<std::string, std::string>& m) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j.dump();
}

std::string Duration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s, 3600) / 60);
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x >= 0 && x < 1 << 20) ? static_cast<int>(x) : fallback;
}

}  // namespace

bool ReportFigure(const std::string& report_json, const std::string& path, double& value) {
  const nlohmann::json report = nlohmann::json::parse(report_json, nullptr, false);
  if (report.is_discarded()) return false;
  const nlohmann::json* node = &report;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (node->is_object() && node->contains(part)) {
      node = &(*node)[part];
    } else if (node->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos &&
               std::stoull(part) < node->size()) {
      node = &(*node)[std::stoull(part)];
    } else {
      return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!node->is_number()) return false;
  value = node->get<double>();
  return true;
}

std::vector<ParetoPoint> ParetoFront(const std::vector<ParetoPoint>& points,
                                     std::size_t minimized) {
  // Dominance with every objective turned into "smaller is better".
  auto better_or_equal_all = [minimized](const ParetoPoint& a, const ParetoPoint& b, bool& one) {
    one = false;
    for (std::size_t i = 0; i < a.objectives.size(); ++i) {
      const double x = i < minimized ? a.objectives[i] : -a.objectives[i];
      const double y = i < minimized ? b.objectives[i] : -b.objectives[i];
      if (x > y) return false;
      if (x < y) one = true;
    }
    return true;
  };
  std::vector<ParetoPoint> front;
  for (const ParetoPoint& p : points) {
    bool dominated = false;
    for (const ParetoPoint& q : points) {
      bool strictly = false;
      if (&p != &q && better_or_equal_all(q, p, strictly) && strictly) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(p);
  }
  return front;
}

int RunSweep(const SweepOptions& options) {
  const SweepSpec spec = LoadSweepSpec(options.spec_path);
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  const std::string sweep_id = SweepId(spec);
  std::string db_path = options.db_path;
  if (db_path.empty()) {
    db_path = std::filesystem::path(options.spec_path).replace_extension(".sqlite").string();
  }
  const std::string binary = options.binary.empty() ? SelfBinary() : options.binary;
  // MPI ranks (OpenMPI's environment; 0 of 1 without mpirun).
  const int size = std::max(1, EnvInt("OMPI_COMM_WORLD_SIZE", 1));
  const int rank = std::min(size - 1, EnvInt("OMPI_COMM_WORLD_RANK", 0));

  ResultDb db(db_path, static_cast<int>(options.lock_timeout_s * 1000));
  const std::set<std::uint64_t> done = db.DonePoints(sweep_id);
  std::vector<const SweepPoint*> todo;
  for (const SweepPoint& p : points) {
    if (static_cast<int>(p.index % static_cast<std::uint64_t>(size)) == rank &&
        done.count(p.index) == 0) {
      todo.push_back(&p);
    }
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const std::size_t mine = todo.size();
  if (!options.json) {
    std::cerr << fmt::format("sweep {}: {} points, {} stored, {} to run{} with {} job{}\n",
                             sweep_id, points.size(), done.size(), mine,
                             size > 1 ? fmt::format(" on rank {}/{}", rank, size) : "",
                             options.jobs, options.jobs == 1 ? "" : "s");
  }

  std::vector<std::vector<std::string>> tasks;
  for (const SweepPoint* p : todo) {
    tasks.push_back(p->argv);
    tasks.back().push_back("--json");
  }
  std::size_t finished = 0;
  const Clock::time_point start = Clock::now();
  RunProcessPool(binary, tasks, options.jobs, [&](const ChildResult& c) {
    const SweepPoint& point = *todo[c.task];
    PointRow row;
    row.sweep_id = sweep_id;
    row.point = point.index;
    row.command = spec.command;
    row.argv_json = JsonOfStrings(point.argv);
    row.inputs_json = JsonOfMap(point.inputs);
    row.version = SystoleVersion();
    row.rank = rank;
    row.wall_s = c.wall_s;
    row.exit_code = c.exit_code;
    const bool valid_json = !nlohmann::json::parse(c.out, nullptr, false).is_discarded();
    if (row.exit_code == 0 && valid_json) {
      row.status = "ok";
      row.report_json = c.out;
    } else if (row.exit_code == kInputErrorExitCode) {
      row.status = "input_error";
      row.error = LastErrorLine(c.err);
    } else {
      row.status = "failed";
      row.error = row.exit_code == 0 ? "the command printed no JSON report" : LastErrorLine(c.err);
      if (row.error.empty()) row.error = fmt::format("exit status {}", row.exit_code);
    }
    db.Insert(row);
    ++finished;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double eta =
        elapsed / static_cast<double>(finished) * static_cast<double>(mine - finished);
    if (options.json) {
      // quiet: the summary follows
    } else if (tty) {
      const int width = 30;
      const int filled =
          static_cast<int>(static_cast<double>(finished) / static_cast<double>(mine) * width);
      std::cerr << fmt::format("\r[{}{}] {}/{} points, ETA {}   ", std::string(filled, '#'),
                               std::string(width - filled, '.'), finished, mine, Duration(eta))
                << std::flush;
    } else {
      std::cerr << fmt::format("point {} {} ({:.2f} s){} [{}/{}, ETA {}]\n", row.point, row.status,
                               row.wall_s, row.error.empty() ? "" : ": " + row.error, finished,
                               mine, Duration(eta));
    }
  });
  if (tty && !options.json && mine > 0) std::cerr << "\n";
  if (size > 1 && rank != 0) return 0;  // rank 0 reports for every rank
  if (size > 1) {
    // Rank 0 waits for the other ranks' rows (mpirun ends the job when a rank dies).
    while (db.DonePoints(sweep_id).size() < points.size()) {
      usleep(200 * 1000);
    }
  }

  // Summary and Pareto front over every stored ok point of the sweep (all ranks').
  std::vector<std::string> objectives = spec.minimize;
  objectives.insert(objectives.end(), spec.maximize.begin(), spec.maximize.end());
  std::vector<ParetoPoint> candidates;
  for (const auto& [point, report] : db.OkReports(sweep_id)) {
    ParetoPoint p;
    p.point = point;
    bool complete = true;
    for (const std::string& o : objectives) {
      double v = 0;
      if (!ReportFigure(report, o, v)) {
        complete = false;
        break;
      }
      p.objectives.push_back(v);
    }
    if (complete) candidates.push_back(p);
  }
  const std::vector<ParetoPoint> front = objectives.empty()
                                             ? std::vector<ParetoPoint>{}
                                             : ParetoFront(candidates, spec.minimize.size());
  const std::uint64_t ok = db.Count(sweep_id, "ok");
  const std::uint64_t input_errors = db.Count(sweep_id, "input_error");
  const std::uint64_t failed = db.Count(sweep_id, "failed");
  std::map<std::uint64_t, const SweepPoint*> by_index;
  for (const SweepPoint& p : points) by_index[p.index] = &p;
  if (options.json) {
    nlohmann::ordered_json j;
    j["schema"] = "systole.sweep/1";
    j["sweep_id"] = sweep_id;
    j["database"] = db_path;
    j["points"] = points.size();
    j["ok"] = ok;
    j["input_error"] = input_errors;
    j["failed"] = failed;
    j["objectives"] = objectives;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const ParetoPoint& p : front) {
      nlohmann::ordered_json r;
      r["point"] = p.point;
      r["inputs"] = by_index.count(p.point) ? nlohmann::ordered_json(by_index[p.point]->inputs)
                                            : nlohmann::ordered_json::object();
      for (std::size_t i = 0; i < objectives.size(); ++i) r[objectives[i]] = p.objectives[i];
      rows.push_back(r);
    }
    j["pareto"] = rows;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << fmt::format("sweep {} ({}): {} points: {} ok, {} input errors, {} failed\n",
                             sweep_id, db_path, points.size(), ok, input_errors, failed);
    if (!front.empty()) {
      std::cout << fmt::format(
          "Pareto front ({} of {} ok points; minimize: {}; maximize: {})\n", front.size(),
          candidates.size(),
          spec.minimize.empty() ? "-" : fmt::format("{}", fmt::join(spec.minimize, ", ")),
          spec.maximize.empty() ? "-" : fmt::format("{}", fmt::join(spec.maximize, ", ")));
      for (const ParetoPoint& p : front) {
        std::string inputs;
        if (by_index.count(p.point)) {
          for (const auto& [k, v] : by_index[p.point]->inputs) {
            inputs += (inputs.empty() ? "" : " ") + k + "=" + v;
          }
        }
        std::string values;
        for (std::size_t i = 0; i < objectives.size(); ++i) {
          values += fmt::format("{}{}={:.6g}", i ? " " : "", objectives[i], p.objectives[i]);
        }
        std::cout << fmt::format("  point {:>5}  {}  | {}\n", p.point, values, inputs);
      }
    }
  }
  return 0;
}

void RegisterSweepCommand(CLI::App& app, std::function<int()>& action) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run every point of a sweep spec (TOML) in a process pool, into SQLite");
  cmd->add_option("spec", o->spec_path, "Sweep specification (TOML)")->required();
  cmd->add_option("--db", o->db_path, "Results database (default: SPEC with .sqlite)");
  cmd->add_option("-j,--jobs", o->jobs, "Points run at once")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  cmd->add_option("--lock-timeout", o->lock_timeout_s,
                  "Seconds to wait for a database another process holds")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the summary and Pareto front as JSON");
  cmd->callback([o, &action]() { action = [o]() { return RunSweep(*o); }; });
}

}  // namespace systole
