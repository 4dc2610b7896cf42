// Total cost of ownership of a training run (`systole tco`): what reaching a token target
// costs on each deployment option (cost_config.h), from one simulated step.
//
// What it computes (per option; the closed forms are the tests, tests/sim/tco/)
//   steps          = tokens / tokens_per_step (per chip: the step is one chip's)
//   train_hours    = steps x step_s / chips / 3600 (data parallel over the option's chips,
//                    scaling assumed linear: communication is not modelled yet)
//   energy (IT)    = steps x step energy per chip (chip + server share + PSU loss);
//                    facility energy = IT energy x PUE; CO2 = facility kWh x grid intensity
//   cloud          total = train_hours x price per instance-hour x instances, for the
//                    on-demand and the committed price; per 1M tokens = total / (tokens/1e6)
//   on-premise     capex = servers x (chips_per_server x chip + server + network);
//                  per year: depreciation = capex / years, maintenance and hosting per
//                    server, electricity = wall power x chips x 8760 h x utilisation x PUE
//                    x price;
//                  run: the fixed yearly costs (depreciation, maintenance, hosting) x
//                    train_hours / (8760 x utilisation) + the run's facility energy x price
//   break-even     months of use at which owning the on-premise fleet costs less in cash
//                    than renting the capacity that trains as many tokens in the same time:
//                    capex + m x own_month = m x rent_month, with own_month = (maintenance +
//                    hosting + electricity per year) / 12 and rent_month = 730 h x
//                    utilisation x price x (own chips x own tokens/s per chip) /
//                    (chips_per_instance x cloud tokens/s per chip) (with the same chips on
//                    both sides: 730 h x utilisation x price x chips / chips_per_instance);
//                    none when renting a month costs no more than owning one.
//   Each option may name its own architecture (option.arch): the step is simulated on it, so
//   a rented accelerator can be compared with owned chips of another kind.
// What it ignores
//   Communication between chips (until `--parallel`), idle power of owned servers,
//   financing cost, resale value, staff, storage and data transfer, price changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/tco/cost_config.h"

namespace systole {

// What the simulated step gives the cost model (one chip).
struct StepFigures {
  std::string workload;
  std::string arch;
  double step_ns = 0;
  double tokens_per_step = 0;
  double energy_j = 0;  // per step per chip: chip + server share + PSU loss
  bool throttled = false;
  double clock_scale = 1;
  double WallW() const { return step_ns > 0 ? energy_j / (step_ns * 1e-9) : 0.0; }
};

struct CloudFigures {
  double total_on_demand_usd = 0;
  double total_committed_usd = 0;
  double usd_per_mtok_on_demand = 0;
  double usd_per_mtok_committed = 0;
};

struct OnPremFigures {
  double capex_chips_usd = 0;
  double capex_servers_usd = 0;
  double capex_network_usd = 0;
  double capex_usd = 0;
  double depreciation_usd_per_year = 0;
  double maintenance_usd_per_year = 0;
  double hosting_usd_per_year = 0;
  double energy_usd_per_year = 0;
  double total_usd_per_year = 0;
  double run_fixed_usd = 0;
  double run_energy_usd = 0;
  double run_usd = 0;
  double usd_per_mtok = 0;
};

struct OptionFigures {
  CostOption option;
  StepFigures step;  // the step on this option's chips
  double steps = 0;  // tokens / tokens_per_step
  std::uint64_t chips = 0;
  double train_hours = 0;
  double it_energy_mwh = 0;
  double facility_energy_mwh = 0;
  double co2_kg = 0;
  CloudFigures cloud;    // kind cloud
  OnPremFigures onprem;  // kind onprem
};

struct BreakEven {
  std::string onprem;  // option names
  std::string cloud;
  std::string pricing;  // "on_demand" or "committed"
  double rent_usd_per_month = 0;
  double own_usd_per_month = 0;  // running costs, capex apart
  double capex_usd = 0;
  std::optional<double> months;  // none: renting never costs more
};

struct TcoReport {
  StepFigures step;  // on the command's architecture (--arch)
  double tokens = 0;
  double steps = 0;  // tokens / tokens_per_step, on --arch
  std::vector<OptionFigures> options;
  std::vector<BreakEven> break_even;
};

inline constexpr double kHoursPerYear = 8760;
inline constexpr double kHoursPerMonth = kHoursPerYear / 12;  // 730

// Every option on the same chips (`step`).
TcoReport ComputeTco(const StepFigures& step, double tokens, const std::vector<CostOption>& opts);
// Options on their own chips (CostOption::arch): steps[i] is option i's step; `step` is the
// command's (for the header).
TcoReport ComputeTco(const StepFigures& step, double tokens, const std::vector<CostOption>& opts,
                     const std::vector<StepFigures>& steps);

std::string FormatTcoTable(const TcoReport& r);
std::string TcoJson(const TcoReport& r);  // schema systole.tco/1 (docs/tco.md)
std::string TcoSvg(const TcoReport& r);   // cost per option and break-even curves

}  // namespace systole
