#include "sim/compare/compare_run.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "sim/sweep/process_pool.h"

namespace systole {

namespace {

// Numeric leaves of a report by dotted path, in the report's order (arrays are left out:
// per-op and per-engine lists belong in ops.csv, not in a side-by-side table).
void Leaves(const nlohmann::ordered_json& j, const std::string& prefix,
            std::vector<std::pair<std::string, double>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_number()) {
      out.emplace_back(key, it->get<double>());
    } else if (it->is_boolean()) {
      out.emplace_back(key, it->get<bool>() ? 1.0 : 0.0);
    } else if (it->is_object()) {
      Leaves(*it, key, out);
    }
  }
}

// Whole numbers up to 10^15 in full (counts, bytes), others with six significant digits
// (fractions), large ones without an exponent.
std::string Value(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  if (std::fabs(v) >= 1e6 && std::fabs(v) < 1e15) return fmt::format("{:.1f}", v);
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::string FormatComparison(const std::string& workload, const std::vector<CompareRun>& runs) {
  // Rows in the order the first successful report gives them, then any others.
  std::vector<std::string> keys;
  std::vector<std::map<std::string, double>> values(runs.size());
  std::vector<std::string> names(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    names[i] = runs[i].arch;
    if (runs[i].report_json.empty()) continue;
    const nlohmann::ordered_json report = nlohmann::ordered_json::parse(runs[i].report_json);
    if (report.contains("arch") && report["arch"].is_string()) {
      names[i] = report["arch"].get<std::string>();
    }
    std::vector<std::pair<std::string, double>> leaves;
    Leaves(report, "", leaves);
    for (const auto& [k, v] : leaves) {
      if (values[i].emplace(k, v).second && std::find(keys.begin(), keys.end(), k) == keys.end()) {
        keys.push_back(k);
      }
    }
  }
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"figure"});
  for (const std::string& n : names) cells[0].push_back(n);
  cells.push_back({"file"});
  for (const CompareRun& r : runs) cells[1].push_back(r.arch);
  const std::size_t first_ok = static_cast<std::size_t>(
      std::find_if(runs.begin(), runs.end(),
                   [](const CompareRun& r) { return !r.report_json.empty(); }) -
      runs.begin());
  for (const std::string& k : keys) {
    std::vector<std::string> row = {k};
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto it = values[i].find(k);
      if (!runs[i].report_json.empty() && it == values[i].end()) {
        row.push_back("-");
      } else if (runs[i].report_json.empty()) {
        row.push_back("error");
      } else {
        std::string cell = Value(it->second);
        if (i != first_ok && first_ok < runs.size() && values[first_ok].count(k) &&
            values[first_ok].at(k) != 0) {
          cell += fmt::format(" ({:.3g}x)", it->second / values[first_ok].at(k));
        }
        row.push_back(cell);
      }
    }
    cells.push_back(row);
  }
  std::vector<std::size_t> width(runs.size() + 1, 0);
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out = fmt::format("{} on {} chips (ratios to {})\n", workload, runs.size(),
                                first_ok < runs.size() ? names[first_ok] : "-");
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += c == 0 ? fmt::format("{:<{}}", row[c], width[c])
                     : fmt::format("  {:>{}}", row[c], width[c]);
    }
    out += line + "\n";
  }
  for (const CompareRun& r : runs) {
    if (r.report_json.empty()) out += fmt::format("error: {}: {}\n", r.arch, r.error);
  }
  return out;
}

std::string ComparisonJson(const std::string& workload, const std::vector<CompareRun>& runs) {
  nlohmann::ordered_json j;
  j["schema"] = "systole.compare/1";
  j["workload"] = workload;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const CompareRun& r : runs) {
    nlohmann::ordered_json e;
    e["arch_file"] = r.arch;
    if (r.report_json.empty()) {
      e["status"] = r.exit_code == kInputErrorExitCode ? "input_error" : "failed";
      e["error"] = r.error;
    } else {
      e["status"] = "ok";
      e["report"] = nlohmann::ordered_json::parse(r.report_json);
    }
    list.push_back(e);
  }
  j["runs"] = list;
  return j.dump(2) + "\n";
}

int RunCompare(const CompareOptions& o) {
  if (o.archs.size() < 2) {
    throw InputError("compare: give at least two --arch files or presets to compare");
  }
  std::vector<std::vector<std::string>> tasks;
  for (const std::string& arch : o.archs) {
    std::vector<std::string> args = {"run", "--json", "--arch", arch, "--workload", o.workload};
    for (const std::string& s : o.workload_overrides) args.insert(args.end(), {"--set", s});
    for (const std::string& p : o.overrides) args.insert(args.end(), {"-p", p});
    args.insert(args.end(), o.run_args.begin(), o.run_args.end());
    tasks.push_back(args);
  }
  std::vector<CompareRun> runs(o.archs.size());
  RunProcessPool(o.binary.empty() ? SelfBinary() : o.binary, tasks, o.jobs,
                 [&](const ChildResult& c) {
                   CompareRun& r = runs[c.task];
                   r.arch = o.archs[c.task];
                   r.exit_code = c.exit_code;
                   const bool valid = !nlohmann::json::parse(c.out, nullptr, false).is_discarded();
                   if (c.exit_code == 0 && valid) {
                     r.report_json = c.out;
                   } else {
                     r.error = LastErrorLine(c.err);
                     if (r.error.empty()) r.error = fmt::format("exit status {}", c.exit_code);
                   }
                 });
  std::cout << (o.json ? ComparisonJson(o.workload, runs) : FormatComparison(o.workload, runs));
  const bool all_ok = std::all_of(runs.begin(), runs.end(),
                                  [](const CompareRun& r) { return !r.report_json.empty(); });
  return all_ok ? 0 : kInputErrorExitCode;
}

void RegisterCompareCommand(CLI::App& app, std::function<int()>& action) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "The same training step on several chips, side by side (text or JSON)");
  cmd->add_option("--arch", o->archs, "Architecture file or preset name (two or more)")->required();
  cmd->add_option("-w,--workload", o->workload, "Model-zoo preset or workload .toml file")
      ->capture_default_str();
  cmd->add_option("--set", o->workload_overrides, "Override a workload key, for every chip");
  cmd->add_option("-p,--param", o->overrides, "Override a parameter on every chip");
  cmd->add_option("-j,--jobs", o->jobs, "Chips simulated at once")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print every chip's report as JSON");
  cmd->add_option("run_args", o->run_args, "Further `run` options, after --");
  cmd->callback([o, &action]() { action = [o]() { return RunCompare(*o); }; });
}

}  // namespace systole
