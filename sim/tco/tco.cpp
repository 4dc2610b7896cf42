#include "sim/tco/tco.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace systole {

namespace {

constexpr double kJoulesPerKwh = 3.6e6;

const char* KindName(DeploymentKind k) { return k == DeploymentKind::kCloud ? "cloud" : "onprem"; }

}  // namespace

TcoReport ComputeTco(const StepFigures& step, double tokens, const std::vector<CostOption>& opts) {
  return ComputeTco(step, tokens, opts, std::vector<StepFigures>(opts.size(), step));
}

TcoReport ComputeTco(const StepFigures& command_step, double tokens,
                     const std::vector<CostOption>& opts, const std::vector<StepFigures>& steps) {
  if (!(tokens > 0)) throw InputError(fmt::format("--tokens {}: expected a number > 0", tokens));
  if (steps.size() != opts.size()) throw std::logic_error("ComputeTco: one step per option");
  TcoReport r;
  r.step = command_step;
  r.tokens = tokens;
  r.steps = tokens / command_step.tokens_per_step;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    const CostOption& o = opts[i];
    const StepFigures& step = steps[i];
    OptionFigures f;
    f.option = o;
    f.step = step;
    f.steps = tokens / step.tokens_per_step;
    const double chip_seconds = f.steps * step.step_ns * 1e-9;
    const double it_kwh = f.steps * step.energy_j / kJoulesPerKwh;
    f.chips = o.Chips();
    f.train_hours = chip_seconds / static_cast<double>(f.chips) / 3600.0;
    f.it_energy_mwh = it_kwh / 1000.0;
    f.facility_energy_mwh = it_kwh * o.pue / 1000.0;
    f.co2_kg = it_kwh * o.pue * o.grid_kg_co2_per_kwh;
    const double mtok = tokens / 1e6;
    if (o.kind == DeploymentKind::kCloud) {
      const CloudCost& c = o.cloud;
      const double instances = static_cast<double>(c.instances);
      f.cloud.total_on_demand_usd = f.train_hours * c.on_demand_usd_per_hour * instances;
      f.cloud.total_committed_usd = f.train_hours * c.committed_usd_per_hour * instances;
      f.cloud.usd_per_mtok_on_demand = f.cloud.total_on_demand_usd / mtok;
      f.cloud.usd_per_mtok_committed = f.cloud.total_committed_usd / mtok;
    } else {
      const OnPremCost& p = o.onprem;
      const double servers = static_cast<double>(p.servers);
      OnPremFigures& g = f.onprem;
      g.capex_chips_usd = servers * static_cast<double>(p.chips_per_server) * p.chip_usd;
      g.capex_servers_usd = servers * p.server_usd;
      g.capex_network_usd = servers * p.network_usd_per_server;
      g.capex_usd = g.capex_chips_usd + g.capex_servers_usd + g.capex_network_usd;
      g.depreciation_usd_per_year = g.capex_usd / p.depreciation_years;
      g.maintenance_usd_per_year = servers * p.maintenance_usd_per_server_year;
      g.hosting_usd_per_year = servers * p.hosting_usd_per_server_year;
      g.energy_usd_per_year = step.WallW() * static_cast<double>(f.chips) / 1000.0 * kHoursPerYear *
                              p.utilisation * o.pue * p.power_usd_per_kwh;
      g.total_usd_per_year = g.depreciation_usd_per_year + g.maintenance_usd_per_year +
                             g.hosting_usd_per_year + g.energy_usd_per_year;
      const double fixed_per_year =
          g.depreciation_usd_per_year + g.maintenance_usd_per_year + g.hosting_usd_per_year;
      g.run_fixed_usd = fixed_per_year * f.train_hours / (kHoursPerYear * p.utilisation);
      g.run_energy_usd = it_kwh * o.pue * p.power_usd_per_kwh;
      g.run_usd = g.run_fixed_usd + g.run_energy_usd;
      g.usd_per_mtok = g.run_usd / mtok;
    }
    r.options.push_back(f);
  }
  for (const OptionFigures& own : r.options) {
    if (own.option.kind != DeploymentKind::kOnPrem) continue;
    const OnPremCost& p = own.option.onprem;
    const double own_month = (own.onprem.maintenance_usd_per_year +
                              own.onprem.hosting_usd_per_year + own.onprem.energy_usd_per_year) /
                             12.0;
    for (const OptionFigures& rent : r.options) {
      if (rent.option.kind != DeploymentKind::kCloud) continue;
      const CloudCost& c = rent.option.cloud;
      for (int committed = 0; committed < 2; ++committed) {
        BreakEven b;
        b.onprem = own.option.name;
        b.cloud = rent.option.name;
        b.pricing = committed ? "committed" : "on_demand";
        const double price = committed ? c.committed_usd_per_hour : c.on_demand_usd_per_hour;
        // Rented capacity training as many tokens per month as the owned fleet's useful hours:
        // chip throughputs (tokens/s per chip) in the ratio; 1 on the same chips.
        const double own_rate = own.step.tokens_per_step / own.step.step_ns;
        const double rent_rate = rent.step.tokens_per_step / rent.step.step_ns;
        b.rent_usd_per_month = kHoursPerMonth * p.utilisation * price *
                               (static_cast<double>(own.chips) * own_rate) /
                               (static_cast<double>(c.chips_per_instance) * rent_rate);
        b.own_usd_per_month = own_month;
        b.capex_usd = own.onprem.capex_usd;
        if (b.rent_usd_per_month > b.own_usd_per_month) {
          b.months = b.capex_usd / (b.rent_usd_per_month - b.own_usd_per_month);
        }
        r.break_even.push_back(b);
      }
    }
  }
  return r;
}

namespace {

std::string Usd(double v) {
  if (v >= 1e9) return fmt::format("${:.2f}B", v / 1e9);
  if (v >= 1e6) return fmt::format("${:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("${:.1f}k", v / 1e3);
  if (v >= 1) return fmt::format("${:.2f}", v);
  return fmt::format("${:.4f}", v);
}

}  // namespace

std::string FormatTcoTable(const TcoReport& r) {
  const StepFigures& s = r.step;
  std::string out = fmt::format(
      "{} on {}: {:.4g} tokens = {:.4g} steps of {:.3f} ms and {:.4g} J per chip ({:.0f} W at "
      "the wall per chip{})\n",
      s.workload, s.arch, r.tokens, r.steps, s.step_ns / 1e6, s.energy_j, s.WallW(),
      s.throttled ? fmt::format(", throttled to x{:.3f} clock", s.clock_scale) : "");
  for (const OptionFigures& f : r.options) {
    if (f.option.arch.empty()) continue;
    out += fmt::format("{} runs on {}: steps of {:.3f} ms and {:.4g} J per chip ({:.0f} W)\n",
                       f.option.name, f.step.arch, f.step.step_ns / 1e6, f.step.energy_j,
                       f.step.WallW());
  }
  out += "data-parallel scaling assumed linear over each option's chips (no communication)\n\n";
  out += fmt::format("{:<34} {:>7} {:>10} {:>10} {:>10} {:>12} {:>12} {:>11}\n", "option", "chips",
                     "days", "MWh", "CO2 t", "total", "per 1M tok", "per year");
  for (const OptionFigures& f : r.options) {
    const double days = f.train_hours / 24.0;
    if (f.option.kind == DeploymentKind::kCloud) {
      for (int committed = 0; committed < 2; ++committed) {
        out += fmt::format(
            "{:<34} {:>7} {:>10.1f} {:>10.2f} {:>10.2f} {:>12} {:>12} {:>11}\n",
            fmt::format("{} {}", f.option.name, committed ? "committed" : "on-demand"), f.chips,
            days, f.facility_energy_mwh, f.co2_kg / 1000.0,
            Usd(committed ? f.cloud.total_committed_usd : f.cloud.total_on_demand_usd),
            Usd(committed ? f.cloud.usd_per_mtok_committed : f.cloud.usd_per_mtok_on_demand), "-");
      }
    } else {
      out += fmt::format("{:<34} {:>7} {:>10.1f} {:>10.2f} {:>10.2f} {:>12} {:>12} {:>11}\n",
                         f.option.name, f.chips, days / f.option.onprem.utilisation,
                         f.facility_energy_mwh, f.co2_kg / 1000.0, Usd(f.onprem.run_usd),
                         Usd(f.onprem.usd_per_mtok), Usd(f.onprem.total_usd_per_year));
    }
  }
  for (const OptionFigures& f : r.options) {
    if (f.option.kind == DeploymentKind::kCloud) {
      const CloudCost& c = f.option.cloud;
      out += fmt::format(
          "\n{}: {} x {} ({} chips each), {}/h on demand, {}/h committed ({} y term)",
          f.option.name, c.instances, c.instance_type, c.chips_per_instance,
          Usd(c.on_demand_usd_per_hour), Usd(c.committed_usd_per_hour), c.committed_term_years);
    } else {
      const OnPremCost& p = f.option.onprem;
      const OnPremFigures& g = f.onprem;
      out += fmt::format(
          "\n{}: capex {} (chips {}, servers {}, network {}), depreciation {} y = {}/y, "
          "maintenance {}/y, hosting {}/y, electricity {}/y ({}/kWh, PUE {}, utilisation "
          "{:.0f}%); run: fixed {} + energy {}",
          f.option.name, Usd(g.capex_usd), Usd(g.capex_chips_usd), Usd(g.capex_servers_usd),
          Usd(g.capex_network_usd), p.depreciation_years, Usd(g.depreciation_usd_per_year),
          Usd(g.maintenance_usd_per_year), Usd(g.hosting_usd_per_year), Usd(g.energy_usd_per_year),
          Usd(p.power_usd_per_kwh), f.option.pue, 100.0 * p.utilisation, Usd(g.run_fixed_usd),
          Usd(g.run_energy_usd));
    }
  }
  out += "\n";
  for (const BreakEven& b : r.break_even) {
    out += fmt::format("break-even {} vs {} ({}): {}\n", b.onprem, b.cloud,
                       b.pricing == "committed" ? "committed" : "on-demand",
                       b.months ? fmt::format("owning is cheaper after {:.1f} months", *b.months)
                                : std::string("never (renting a month costs less than running "
                                              "owned servers)"));
  }
  return out;
}

std::string TcoJson(const TcoReport& r) {
  nlohmann::ordered_json j;
  j["schema"] = "systole.tco/1";
  j["workload"] = r.step.workload;
  j["arch"] = r.step.arch;
  j["tokens"] = r.tokens;
  j["steps"] = r.steps;
  j["step"] = {{"step_time_ns", r.step.step_ns},       {"tokens_per_step", r.step.tokens_per_step},
               {"energy_j_per_chip", r.step.energy_j}, {"wall_power_w_per_chip", r.step.WallW()},
               {"throttled", r.step.throttled},        {"clock_scale", r.step.clock_scale}};
  j["scaling"] = "linear data parallel over each option's chips (no communication modelled)";
  nlohmann::ordered_json options = nlohmann::ordered_json::array();
  for (const OptionFigures& f : r.options) {
    nlohmann::ordered_json o;
    o["name"] = f.option.name;
    o["kind"] = KindName(f.option.kind);
    o["cost_file"] = f.option.file;
    o["arch"] = f.step.arch;
    o["step"] = {
        {"step_time_ns", f.step.step_ns},       {"tokens_per_step", f.step.tokens_per_step},
        {"energy_j_per_chip", f.step.energy_j}, {"wall_power_w_per_chip", f.step.WallW()},
        {"throttled", f.step.throttled},        {"clock_scale", f.step.clock_scale}};
    o["steps"] = f.steps;
    o["chips"] = f.chips;
    o["train_hours"] = f.train_hours;
    o["it_energy_mwh"] = f.it_energy_mwh;
    o["facility_energy_mwh"] = f.facility_energy_mwh;
    o["pue"] = f.option.pue;
    o["grid_kg_co2_per_kwh"] = f.option.grid_kg_co2_per_kwh;
    o["co2_kg"] = f.co2_kg;
    if (f.option.kind == DeploymentKind::kCloud) {
      const CloudCost& c = f.option.cloud;
      o["cloud"] = {{"instance_type", c.instance_type},
                    {"instances", c.instances},
                    {"chips_per_instance", c.chips_per_instance},
                    {"on_demand_usd_per_hour", c.on_demand_usd_per_hour},
                    {"committed_usd_per_hour", c.committed_usd_per_hour},
                    {"committed_term_years", c.committed_term_years},
                    {"total_on_demand_usd", f.cloud.total_on_demand_usd},
                    {"total_committed_usd", f.cloud.total_committed_usd},
                    {"usd_per_million_tokens_on_demand", f.cloud.usd_per_mtok_on_demand},
                    {"usd_per_million_tokens_committed", f.cloud.usd_per_mtok_committed}};
    } else {
      const OnPremCost& p = f.option.onprem;
      const OnPremFigures& g = f.onprem;
      o["onprem"] = {{"servers", p.servers},
                     {"chips_per_server", p.chips_per_server},
                     {"capex_chips_usd", g.capex_chips_usd},
                     {"capex_servers_usd", g.capex_servers_usd},
                     {"capex_network_usd", g.capex_network_usd},
                     {"capex_usd", g.capex_usd},
                     {"depreciation_years", p.depreciation_years},
                     {"depreciation_usd_per_year", g.depreciation_usd_per_year},
                     {"maintenance_usd_per_year", g.maintenance_usd_per_year},
                     {"hosting_usd_per_year", g.hosting_usd_per_year},
                     {"power_usd_per_kwh", p.power_usd_per_kwh},
                     {"utilisation", p.utilisation},
                     {"energy_usd_per_year", g.energy_usd_per_year},
                     {"total_usd_per_year", g.total_usd_per_year},
                     {"run_fixed_usd", g.run_fixed_usd},
                     {"run_energy_usd", g.run_energy_usd},
                     {"run_usd", g.run_usd},
                     {"usd_per_million_tokens", g.usd_per_mtok}};
    }
    options.push_back(o);
  }
  j["options"] = options;
  nlohmann::ordered_json be = nlohmann::ordered_json::array();
  for (const BreakEven& b : r.break_even) {
    be.push_back({{"onprem", b.onprem},
                  {"cloud", b.cloud},
                  {"pricing", b.pricing},
                  {"capex_usd", b.capex_usd},
                  {"rent_usd_per_month", b.rent_usd_per_month},
                  {"own_usd_per_month", b.own_usd_per_month},
                  {"months", b.months ? nlohmann::ordered_json(*b.months) : nullptr}});
  }
  j["break_even"] = be;
  return j.dump(2) + "\n";
}

namespace {

std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string TcoSvg(const TcoReport& r) {
  // Left: total cost of the run per option (bars). Right: cumulative cash cost of owning vs
  // renting the on-premise fleet's chips over months (lines), break-even marked.
  struct Bar {
    std::string label;
    double usd;
  };
  std::vector<Bar> bars;
  for (const OptionFigures& f : r.options) {
    if (f.option.kind == DeploymentKind::kCloud) {
      bars.push_back({f.option.name + " on-demand", f.cloud.total_on_demand_usd});
      bars.push_back({f.option.name + " committed", f.cloud.total_committed_usd});
    } else {
      bars.push_back({f.option.name, f.onprem.run_usd});
    }
  }
  const double w = 1000, h = 420, pad = 60;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      w, h);
  out += fmt::format("<text x=\"{}\" y=\"20\" font-size=\"14\">{} on {}: {:.3g} tokens</text>\n",
                     pad, Esc(r.step.workload), Esc(r.step.arch), r.tokens);
  const char* colors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"};
  // Bars.
  const double bx = pad, by = 50, bw = 400, bh = h - by - 90;
  double max_usd = 0;
  for (const Bar& b : bars) max_usd = std::max(max_usd, b.usd);
  if (max_usd <= 0) max_usd = 1;
  out += fmt::format("<text x=\"{}\" y=\"{}\">Total cost of the run (USD)</text>\n", bx, by - 8);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", bx,
                     by + bh, bx + bw, by + bh);
  const double slot = bw / static_cast<double>(std::max<std::size_t>(1, bars.size()));
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double bar_h = bh * bars[i].usd / max_usd;
    const double x = bx + slot * static_cast<double>(i) + slot * 0.15;
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n", x,
        by + bh - bar_h, slot * 0.7, bar_h, colors[i % 6]);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                       x + slot * 0.35, by + bh - bar_h - 4, Esc(Usd(bars[i].usd)));
    out += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" transform=\"rotate(-30 {:.1f} "
        "{:.1f})\">{}</text>\n",
        x + slot * 0.35, by + bh + 14, x + slot * 0.35, by + bh + 14, Esc(bars[i].label));
  }
  // Break-even curves.
  const double lx = 560, ly = 50, lw = 400, lh = h - ly - 90;
  out += fmt::format("<text x=\"{}\" y=\"{}\">Cumulative cash cost vs months of use</text>\n", lx,
                     ly - 8);
  double months = 36;
  for (const BreakEven& b : r.break_even) {
    if (b.months) months = std::max(months, std::min(120.0, std::ceil(*b.months * 1.5)));
  }
  double top = 1;
  for (const BreakEven& b : r.break_even) {
    top =
        std::max({top, b.capex_usd + months * b.own_usd_per_month, months * b.rent_usd_per_month});
  }
  auto px = [&](double m) { return lx + lw * m / months; };
  auto py = [&](double usd) { return ly + lh - lh * usd / top; };
  out += fmt::format(
      "<polyline points=\"{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}\" fill=\"none\" "
      "stroke=\"black\"/>\n",
      lx, ly, lx, ly + lh, lx + lw, ly + lh);
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{} months</text>\n",
                     lx + lw, ly + lh + 14, months);
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", lx + 4, ly + 10, Esc(Usd(top)));
  int line = 0;
  std::string seen_own;
  for (const BreakEven& b : r.break_even) {
    const char* c = colors[(line + 1) % 6];
    if (seen_own != b.onprem) {  // one owning line per on-premise option
      seen_own = b.onprem;
      out += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-width=\"2\"/>\n",
          px(0), py(b.capex_usd), px(months), py(b.capex_usd + months * b.own_usd_per_month),
          colors[0]);
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">own: {}</text>\n", lx + 8,
                         ly + lh + 30 + 14 * line, colors[0], Esc(b.onprem));
      ++line;
    }
    out += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
        px(0), py(0), px(months), py(months * b.rent_usd_per_month), c);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">rent: {} {}{}</text>\n", lx + 8,
                       ly + lh + 30 + 14 * line, c, Esc(b.cloud), b.pricing,
                       b.months ? fmt::format(" (break-even {:.1f} months)", *b.months) : "");
    if (b.months && *b.months <= months) {
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>\n",
                         px(*b.months), py(*b.months * b.rent_usd_per_month), c);
    }
    ++line;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace systole
