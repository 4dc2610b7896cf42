// Every money figure of `systole tco` against its closed form, with the arithmetic written
// out; the cost files' validation.
#include "sim/tco/tco.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace systole {
namespace {

// A step of 1000 s on one chip, 1e6 tokens, 3.6e6 J (1 kWh) per chip at the wall: 3600 W.
StepFigures Step() {
  StepFigures s;
  s.workload = "w";
  s.arch = "a";
  s.step_ns = 1e12;
  s.tokens_per_step = 1e6;
  s.energy_j = 3.6e6;
  return s;
}

CostOption Cloud() {
  CostOption o;
  o.name = "cloud";
  o.kind = DeploymentKind::kCloud;
  o.cloud.instance_type = "x";
  o.cloud.chips_per_instance = 10;
  o.cloud.instances = 2;
  o.cloud.on_demand_usd_per_hour = 30;
  o.cloud.committed_usd_per_hour = 20;
  o.pue = 1.2;
  o.grid_kg_co2_per_kwh = 0.5;
  return o;
}

CostOption OnPrem() {
  CostOption o;
  o.name = "own";
  o.kind = DeploymentKind::kOnPrem;
  o.onprem.servers = 2;
  o.onprem.chips_per_server = 10;
  o.onprem.chip_usd = 1000;
  o.onprem.server_usd = 5000;
  o.onprem.network_usd_per_server = 2000;
  o.onprem.depreciation_years = 4;
  o.onprem.power_usd_per_kwh = 0.1;
  o.onprem.utilisation = 0.5;
  o.onprem.maintenance_usd_per_server_year = 1000;
  o.onprem.hosting_usd_per_server_year = 3000;
  o.pue = 1.5;
  o.grid_kg_co2_per_kwh = 0.4;
  return o;
}

TEST(Tco, CloudFiguresAreHoursTimesPriceTimesInstances) {
  // 7.2e10 tokens = 72000 steps of 1000 s = 7.2e7 chip-seconds; 20 chips -> 3.6e6 s = 1000 h.
  const TcoReport r = ComputeTco(Step(), 7.2e10, {Cloud()});
  ASSERT_EQ(r.options.size(), 1u);
  const OptionFigures& f = r.options[0];
  EXPECT_DOUBLE_EQ(r.steps, 72000.0);
  EXPECT_EQ(f.chips, 20u);
  EXPECT_DOUBLE_EQ(f.train_hours, 1000.0);
  EXPECT_DOUBLE_EQ(f.cloud.total_on_demand_usd, 1000.0 * 30 * 2);  // hours x price x instances
  EXPECT_DOUBLE_EQ(f.cloud.total_committed_usd, 1000.0 * 20 * 2);
  EXPECT_DOUBLE_EQ(f.cloud.usd_per_mtok_on_demand, 60000.0 / 72000.0);  // $ / (7.2e10 / 1e6)
  EXPECT_DOUBLE_EQ(f.cloud.usd_per_mtok_committed, 40000.0 / 72000.0);
  // Energy: 72000 steps x 1 kWh = 72 MWh IT, x PUE 1.2 = 86.4 MWh; CO2 86400 kWh x 0.5.
  EXPECT_DOUBLE_EQ(f.it_energy_mwh, 72.0);
  EXPECT_DOUBLE_EQ(f.facility_energy_mwh, 72.0 * 1.2);
  EXPECT_DOUBLE_EQ(f.co2_kg, 72000.0 * 1.2 * 0.5);
}

TEST(Tco, OnPremFiguresAreCapexOverDepreciationAndEnergyTimesPriceTimesPue) {
  const TcoReport r = ComputeTco(Step(), 7.2e10, {OnPrem()});
  const OptionFigures& f = r.options[0];
  const OnPremFigures& g = f.onprem;
  EXPECT_DOUBLE_EQ(f.train_hours, 1000.0);  // 7.2e7 chip-s / 20 chips / 3600
  // capex: 2 servers x (10 chips x 1000 + 5000 + 2000) = 34000
  EXPECT_DOUBLE_EQ(g.capex_chips_usd, 2.0 * 10 * 1000);
  EXPECT_DOUBLE_EQ(g.capex_servers_usd, 2.0 * 5000);
  EXPECT_DOUBLE_EQ(g.capex_network_usd, 2.0 * 2000);
  EXPECT_DOUBLE_EQ(g.capex_usd, 34000.0);
  EXPECT_DOUBLE_EQ(g.depreciation_usd_per_year, 34000.0 / 4);  // 8500
  EXPECT_DOUBLE_EQ(g.maintenance_usd_per_year, 2.0 * 1000);
  EXPECT_DOUBLE_EQ(g.hosting_usd_per_year, 2.0 * 3000);
  // electricity per year: 3600 W per chip x 20 chips = 72 kW x 8760 h x 0.5 x PUE 1.5 x $0.1
  EXPECT_DOUBLE_EQ(g.energy_usd_per_year, 72.0 * 8760 * 0.5 * 1.5 * 0.1);  // 47304
  EXPECT_DOUBLE_EQ(g.total_usd_per_year, 8500.0 + 2000 + 6000 + 47304);
  // run: fixed (8500 + 2000 + 6000) x 1000 h / (8760 h x 0.5) + 72000 kWh x 1.5 x $0.1
  EXPECT_DOUBLE_EQ(g.run_fixed_usd, 16500.0 * 1000.0 / (8760 * 0.5));
  EXPECT_DOUBLE_EQ(g.run_energy_usd, 72000.0 * 1.5 * 0.1);  // 10800
  EXPECT_DOUBLE_EQ(g.run_usd, 16500.0 * 1000 / 4380 + 10800);
  EXPECT_DOUBLE_EQ(g.usd_per_mtok, (16500.0 * 1000 / 4380 + 10800) / 72000.0);
  EXPECT_DOUBLE_EQ(f.co2_kg, 72000.0 * 1.5 * 0.4);
}

TEST(Tco, BreakEvenIsCapexOverMonthlySaving) {
  const TcoReport r = ComputeTco(Step(), 7.2e10, {Cloud(), OnPrem()});
  ASSERT_EQ(r.break_even.size(), 2u);  // on-demand and committed
  // Owning per month: (2000 + 6000 + 47304) / 12 = 4608.666...
  const double own = (2000.0 + 6000 + 47304) / 12;
  // Renting the same 20 chips for the same useful hours: 730 h x 0.5 x $30 x 20 / 10 = 21900
  const BreakEven& od = r.break_even[0];
  EXPECT_EQ(od.pricing, "on_demand");
  EXPECT_DOUBLE_EQ(od.own_usd_per_month, own);
  EXPECT_DOUBLE_EQ(od.rent_usd_per_month, 730.0 * 0.5 * 30 * 20 / 10);
  ASSERT_TRUE(od.months.has_value());
  EXPECT_DOUBLE_EQ(*od.months, 34000.0 / (21900.0 - own));
  const BreakEven& cm = r.break_even[1];
  EXPECT_DOUBLE_EQ(cm.rent_usd_per_month, 730.0 * 0.5 * 20 * 20 / 10);  // 14600
  EXPECT_DOUBLE_EQ(*cm.months, 34000.0 / (14600.0 - own));
  // Renting cheaper than running owned servers: never.
  CostOption cheap = Cloud();
  cheap.cloud.on_demand_usd_per_hour = 1;
  cheap.cloud.committed_usd_per_hour = 1;
  EXPECT_FALSE(ComputeTco(Step(), 7.2e10, {cheap, OnPrem()}).break_even[0].months.has_value());
  // The JSON carries the same figures.
  const nlohmann::json j = nlohmann::json::parse(TcoJson(r));
  EXPECT_EQ(j["schema"], "systole.tco/1");
  EXPECT_DOUBLE_EQ(j["options"][1]["onprem"]["capex_usd"].get<double>(), 34000.0);
  EXPECT_DOUBLE_EQ(j["break_even"][0]["months"].get<double>(), *od.months);
  EXPECT_NE(TcoSvg(r).find("<svg"), std::string::npos);
}

TEST(Tco, OptionsOnOtherChipsUseTheirOwnStep) {
  // The cloud's chips train twice as fast per chip (a step of 500 s) at the same energy per
  // step: half the hours, and renting the owned fleet's monthly work takes half the rented
  // chip-hours.
  StepFigures fast = Step();
  fast.step_ns = 5e11;
  const TcoReport r = ComputeTco(Step(), 7.2e10, {Cloud(), OnPrem()}, {fast, Step()});
  EXPECT_DOUBLE_EQ(r.options[0].train_hours, 500.0);  // 72000 x 500 s / 20 chips / 3600
  EXPECT_DOUBLE_EQ(r.options[0].cloud.total_on_demand_usd, 500.0 * 30 * 2);
  EXPECT_DOUBLE_EQ(r.options[1].train_hours, 1000.0);
  // rent_month = 730 h x 0.5 x $30 x (20 chips x 1e6 tokens / 1e12 ns) /
  //              (10 chips per instance x 1e6 tokens / 5e11 ns) = 10950
  EXPECT_DOUBLE_EQ(r.break_even[0].rent_usd_per_month,
                   730.0 * 0.5 * 30 * (20.0 / 1e12) / (10.0 / 5e11));
  const double own = (2000.0 + 6000 + 47304) / 12;
  EXPECT_DOUBLE_EQ(*r.break_even[0].months, 34000.0 / (10950.0 - own));
}

TEST(Tco, ZeroTokensIsAnInputError) { EXPECT_THROW(ComputeTco(Step(), 0, {Cloud()}), InputError); }

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

std::string ErrorOf(const std::string& path) {
  try {
    LoadCostOption(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(CostConfig, PresetsLoad) {
  const CostOption cloud = LoadCostOption(CostPresetPath("trn1-cloud"));
  EXPECT_EQ(cloud.kind, DeploymentKind::kCloud);
  EXPECT_EQ(cloud.cloud.instance_type, "trn1.32xlarge");
  EXPECT_EQ(cloud.Chips(), 256u);
  const CostOption own = LoadCostOption(CostPresetPath("trn1-onprem"));
  EXPECT_EQ(own.kind, DeploymentKind::kOnPrem);
  EXPECT_EQ(own.Chips(), 256u);
}

TEST(CostConfig, BadValuesNameFileLineAndKey) {
  std::string text;
  {
    std::ifstream in(CostPresetPath("trn1-onprem"));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const std::string util = WriteTemp("util.toml", with("utilisation = 0.8", "utilisation = 1.5"));
  EXPECT_NE(ErrorOf(util).find(util + ":"), std::string::npos) << ErrorOf(util);
  EXPECT_NE(ErrorOf(util).find("onprem.utilisation = '1.5' is invalid"), std::string::npos);
  const std::string neg = WriteTemp("neg.toml", with("chip_usd = 8000", "chip_usd = -1"));
  EXPECT_NE(ErrorOf(neg).find("onprem.chip_usd = '-1' is invalid: expected a number >= 0"),
            std::string::npos)
      << ErrorOf(neg);
  const std::string unknown =
      WriteTemp("unknown.toml", with("servers = 16", "servers = 16\nserverz = 3"));
  EXPECT_NE(ErrorOf(unknown).find("unknown key 'onprem.serverz'"), std::string::npos)
      << ErrorOf(unknown);
  const std::string missing = WriteTemp("missing.toml", with("servers = 16", ""));
  EXPECT_NE(ErrorOf(missing).find("missing key 'onprem.servers'"), std::string::npos)
      << ErrorOf(missing);
  const std::string pue = WriteTemp("pue.toml", with("pue = 1.58", "pue = 0.9"));
  EXPECT_NE(ErrorOf(pue).find("energy.pue = '0.9' is invalid"), std::string::npos);
}

}  // namespace
}  // namespace systole
