// Price and cost parameters of one deployment option (configs/cost/*.toml), for `systole tco`.
//
// A cost file describes one option: [option] kind = "cloud" (rented instances) or "onprem"
// (owned servers), then the section of that kind and [energy] (facility PUE and grid carbon
// intensity). Every key is checked: unknown keys, wrong types, negative prices, a
// utilisation outside (0, 1], a PUE below 1 and missing keys raise InputError naming the
// file, line and key. `systole tco --list-cost-keys` prints the table below.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace systole {

enum class DeploymentKind { kCloud, kOnPrem };

struct CloudCost {
  std::string instance_type;
  std::uint64_t chips_per_instance = 1;
  std::uint64_t instances = 1;
  double on_demand_usd_per_hour = 0;  // per instance
  double committed_usd_per_hour = 0;  // per instance, effective rate of a commitment
  double committed_term_years = 1;
};

struct OnPremCost {
  std::uint64_t servers = 1;
  std::uint64_t chips_per_server = 1;
  double chip_usd = 0;                // capex per chip
  double server_usd = 0;              // capex per server without its chips
  double network_usd_per_server = 0;  // NICs, switch ports, cables
  double depreciation_years = 5;
  double power_usd_per_kwh = 0;
  double utilisation = 1;  // fraction of the owned hours doing useful training
  double maintenance_usd_per_server_year = 0;
  double hosting_usd_per_server_year = 0;  // floor space, rack, colocation (power apart)
};

struct CostOption {
  std::string file;  // where it came from
  std::string name;
  // Architecture of this option's chips (option.arch: a configs/arch preset name or a
  // path, relative paths from the cost file's folder); empty: the command's --arch.
  std::string arch;
  DeploymentKind kind = DeploymentKind::kCloud;
  CloudCost cloud;
  OnPremCost onprem;
  double pue = 1;                  // facility power / IT power
  double grid_kg_co2_per_kwh = 0;  // carbon intensity of the electricity

  std::uint64_t Chips() const {
    return kind == DeploymentKind::kCloud ? cloud.chips_per_instance * cloud.instances
                                          : onprem.chips_per_server * onprem.servers;
  }
};

CostOption LoadCostOption(const std::string& path);

// configs/cost/NAME.toml in the source tree (like the workload presets).
std::string CostPresetPath(const std::string& name);

// The key table (key, unit, valid range, description), for --list-cost-keys.
std::string FormatCostKeys();

}  // namespace systole
