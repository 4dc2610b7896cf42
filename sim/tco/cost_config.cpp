#include "sim/tco/cost_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "base/error.h"
#include "base/input_file.h"
#include "base/toml_guard.h"

namespace systole {

namespace {

enum class KeyType { kNumber, kInteger, kString };

struct CostKey {
  const char* key;
  KeyType type;
  const char* unit;
  double min;  // numbers: valid range; min_open: the bound itself is invalid
  double max;
  bool min_open;
  const char* description;
  std::function<void(CostOption&, const toml::node&)> set;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

double Num(const toml::node& n) {
  if (auto v = n.as_floating_point()) return v->get();
  return static_cast<double>(n.as_integer()->get());
}

const std::vector<CostKey>& Keys() {
  static const std::vector<CostKey> keys = {
      {"option.kind", KeyType::kString, "-", 0, 0, false,
       "cloud (rented instances) or onprem (owned servers)",
       [](CostOption&, const toml::node&) {}},  // read first, see LoadCostOption
      {"option.name", KeyType::kString, "-", 0, 0, false, "Name shown in reports",
       [](CostOption& o, const toml::node& n) { o.name = n.as_string()->get(); }},
      {"option.arch", KeyType::kString, "-", 0, 0, false,
       "Architecture of this option's chips: configs/arch preset name or .toml path (relative "
       "to the cost file); default: the command's --arch",
       [](CostOption& o, const toml::node& n) { o.arch = n.as_string()->get(); }},
      {"cloud.instance_type", KeyType::kString, "-", 0, 0, false, "Provider's instance name",
       [](CostOption& o, const toml::node& n) { o.cloud.instance_type = n.as_string()->get(); }},
      {"cloud.chips_per_instance", KeyType::kInteger, "chips", 1, 1e6, false,
       "Accelerator chips in one instance",
       [](CostOption& o, const toml::node& n) {
         o.cloud.chips_per_instance = static_cast<std::uint64_t>(n.as_integer()->get());
       }},
      {"cloud.instances", KeyType::kInteger, "instances", 1, 1e9, false,
       "Instances rented for the run",
       [](CostOption& o, const toml::node& n) {
         o.cloud.instances = static_cast<std::uint64_t>(n.as_integer()->get());
       }},
      {"cloud.on_demand_usd_per_hour", KeyType::kNumber, "USD/h", 0, kInf, false,
       "On-demand price of one instance",
       [](CostOption& o, const toml::node& n) { o.cloud.on_demand_usd_per_hour = Num(n); }},
      {"cloud.committed_usd_per_hour", KeyType::kNumber, "USD/h", 0, kInf, false,
       "Effective hourly price of one instance under a commitment (reserved / savings plan)",
       [](CostOption& o, const toml::node& n) { o.cloud.committed_usd_per_hour = Num(n); }},
      {"cloud.committed_term_years", KeyType::kNumber, "years", 0, 100, true,
       "Length of the commitment behind committed_usd_per_hour",
       [](CostOption& o, const toml::node& n) { o.cloud.committed_term_years = Num(n); }},
      {"onprem.servers", KeyType::kInteger, "servers", 1, 1e9, false, "Servers owned",
       [](CostOption& o, const toml::node& n) {
         o.onprem.servers = static_cast<std::uint64_t>(n.as_integer()->get());
       }},
      {"onprem.chips_per_server", KeyType::kInteger, "chips", 1, 1e6, false,
       "Accelerator chips in one server",
       [](CostOption& o, const toml::node& n) {
         o.onprem.chips_per_server = static_cast<std::uint64_t>(n.as_integer()->get());
       }},
      {"onprem.chip_usd", KeyType::kNumber, "USD", 0, kInf, false, "Capital cost of one chip",
       [](CostOption& o, const toml::node& n) { o.onprem.chip_usd = Num(n); }},
      {"onprem.server_usd", KeyType::kNumber, "USD", 0, kInf, false,
       "Capital cost of one server without its chips (CPUs, memory, board, PSUs)",
       [](CostOption& o, const toml::node& n) { o.onprem.server_usd = Num(n); }},
      {"onprem.network_usd_per_server", KeyType::kNumber, "USD", 0, kInf, false,
       "Capital cost of the network per server (NICs, switch ports, cables)",
       [](CostOption& o, const toml::node& n) { o.onprem.network_usd_per_server = Num(n); }},
      {"onprem.depreciation_years", KeyType::kNumber, "years", 0, 100, true,
       "Straight-line depreciation period of the capex",
       [](CostOption& o, const toml::node& n) { o.onprem.depreciation_years = Num(n); }},
      {"onprem.power_usd_per_kwh", KeyType::kNumber, "USD/kWh", 0, kInf, false, "Electricity price",
       [](CostOption& o, const toml::node& n) { o.onprem.power_usd_per_kwh = Num(n); }},
      {"onprem.utilisation", KeyType::kNumber, "fraction", 0, 1, true,
       "Fraction of the owned hours spent on useful training (in (0, 1])",
       [](CostOption& o, const toml::node& n) { o.onprem.utilisation = Num(n); }},
      {"onprem.maintenance_usd_per_server_year", KeyType::kNumber, "USD/year", 0, kInf, false,
       "Maintenance and support contract per server",
       [](CostOption& o, const toml::node& n) {
         o.onprem.maintenance_usd_per_server_year = Num(n);
       }},
      {"onprem.hosting_usd_per_server_year", KeyType::kNumber, "USD/year", 0, kInf, false,
       "Hosting per server (rack space, colocation; electricity apart)",
       [](CostOption& o, const toml::node& n) { o.onprem.hosting_usd_per_server_year = Num(n); }},
      {"energy.pue", KeyType::kNumber, "ratio", 1, 10, false,
       "Power usage effectiveness of the facility (facility power / IT power, >= 1)",
       [](CostOption& o, const toml::node& n) { o.pue = Num(n); }},
      {"energy.grid_kg_co2_per_kwh", KeyType::kNumber, "kg/kWh", 0, 10, false,
       "Carbon intensity of the electricity",
       [](CostOption& o, const toml::node& n) { o.grid_kg_co2_per_kwh = Num(n); }},
  };
  return keys;
}

const CostKey* Find(const std::string& key) {
  for (const CostKey& k : Keys()) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

std::string Expectation(const CostKey& k) {
  switch (k.type) {
    case KeyType::kString:
      return std::string(k.key) == "option.kind" ? "cloud or onprem" : "a string";
    case KeyType::kInteger:
      return fmt::format("an integer in [{}, {}]", k.min, k.max);
    case KeyType::kNumber:
      if (k.max == kInf) return fmt::format("a number >= {}", k.min);
      return fmt::format("a number in {}{}, {}]", k.min_open ? "(" : "[", k.min, k.max);
  }
  return "";
}

// Keys every option of a kind must set.
std::vector<std::string> Required(DeploymentKind kind) {
  std::vector<std::string> out = {"option.name", "energy.pue", "energy.grid_kg_co2_per_kwh"};
  const std::string section = kind == DeploymentKind::kCloud ? "cloud." : "onprem.";
  for (const CostKey& k : Keys()) {
    if (std::string(k.key).rfind(section, 0) == 0) out.push_back(k.key);
  }
  return out;
}

}  // namespace

CostOption LoadCostOption(const std::string& path) {
  const std::string text = ReadInputFile(path, "cost file", kMaxConfigFileBytes);
  CheckTomlBounds(text, path, kMaxConfigFileBytes);
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& err) {
    throw InputError(fmt::format("{}: TOML syntax error: {}", Where(path, err.source().begin.line),
                                 std::string(err.description())));
  }
  CostOption o;
  o.file = path;
  // The kind first: it decides which section is allowed.
  const toml::node* kind = table.at_path("option.kind").node();
  if (kind == nullptr || !kind->is_string()) {
    throw InputError(
        fmt::format("{}: option.kind is missing or not a string: expected cloud or "
                    "onprem",
                    Where(path, kind ? kind->source().begin.line : 0)));
  }
  const std::string kind_text = kind->as_string()->get();
  if (kind_text != "cloud" && kind_text != "onprem") {
    throw InputError(fmt::format("{}: option.kind = '{}' is invalid: expected cloud or onprem",
                                 Where(path, kind->source().begin.line), kind_text));
  }
  o.kind = kind_text == "cloud" ? DeploymentKind::kCloud : DeploymentKind::kOnPrem;
  const std::string other = o.kind == DeploymentKind::kCloud ? "onprem." : "cloud.";
  std::set<std::string> seen;
  std::function<void(const toml::table&, const std::string&)> walk =
      [&](const toml::table& t, const std::string& prefix) {
        for (const auto& [key_node, node] : t) {
          const std::string key = prefix.empty() ? std::string(key_node.str())
                                                 : prefix + "." + std::string(key_node.str());
          const std::string where = Where(path, node.source().begin.line);
          if (const toml::table* sub = node.as_table()) {
            walk(*sub, key);
            continue;
          }
          const CostKey* spec = Find(key);
          if (spec == nullptr) {
            throw InputError(fmt::format(
                "{}: unknown key '{}' (run `systole tco --list-cost-keys` for the list)", where,
                key));
          }
          if (key.rfind(other, 0) == 0) {
            throw InputError(
                fmt::format("{}: key '{}' does not belong in a {} option", where, key, kind_text));
          }
          bool ok = false;
          switch (spec->type) {
            case KeyType::kString:
              ok = node.is_string();
              break;
            case KeyType::kInteger:
              ok = node.is_integer() &&
                   static_cast<double>(node.as_integer()->get()) >= spec->min &&
                   static_cast<double>(node.as_integer()->get()) <= spec->max;
              break;
            case KeyType::kNumber:
              if (node.is_number()) {
                const double v = Num(node);
                ok = std::isfinite(v) && (spec->min_open ? v > spec->min : v >= spec->min) &&
                     v <= spec->max;
              }
              break;
          }
          if (!ok) {
            std::string text = "?";
            if (node.is_string()) {
              text = node.as_string()->get();
            } else if (node.is_number()) {
              text = fmt::format("{}", Num(node));
            }
            throw InputError(fmt::format("{}: {} = '{}' is invalid: expected {}", where, key, text,
                                         Expectation(*spec)));
          }
          spec->set(o, node);
          seen.insert(key);
        }
      };
  walk(table, "");
  if (!o.arch.empty() &&
      (o.arch.find('/') != std::string::npos || o.arch.find(".toml") != std::string::npos)) {
    const std::filesystem::path a(o.arch);
    if (a.is_relative()) o.arch = (std::filesystem::path(path).parent_path() / a).string();
  } else if (!o.arch.empty()) {
    o.arch = std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/" + o.arch + ".toml";
  }
  for (const std::string& key : Required(o.kind)) {
    if (!seen.count(key)) {
      throw InputError(fmt::format("{}: missing key '{}' (a {} option sets every {} key)", path,
                                   key, kind_text, key.substr(0, key.find('.'))));
    }
  }
  return o;
}

std::string CostPresetPath(const std::string& name) {
  return std::string(SYSTOLE_SOURCE_DIR) + "/configs/cost/" + name + ".toml";
}

std::string FormatCostKeys() {
  std::string out = fmt::format("{:<38} {:<10} {:<28} {}\n", "key", "unit", "valid", "description");
  for (const CostKey& k : Keys()) {
    out += fmt::format("{:<38} {:<10} {:<28} {}\n", k.key, k.unit, Expectation(k), k.description);
  }
  return out;
}

}  // namespace systole
