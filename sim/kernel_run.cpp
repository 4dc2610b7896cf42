#include "sim/kernel_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "models/energy/energy_model.h"

namespace systole {

KernelRunReport RunKernel(const ArchConfig& arch, const std::vector<Program>& programs,
                          const CoreRunOptions& options) {
  KernelRunReport r;
  const auto t0 = std::chrono::steady_clock::now();
  r.per_core = RunCores(arch, programs, options);
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.per_core.size() == 1) {
    r.core = r.per_core.front();
    return r;
  }
  CoreRunResult& m = r.core;
  for (std::size_t c = 0; c < r.per_core.size(); ++c) {
    const CoreRunResult& x = r.per_core[c];
    m.time_ns = std::max(m.time_ns, x.time_ns);
    m.instructions += x.instructions;
    m.flops += x.flops;
    m.hbm_bytes += x.hbm_bytes;
    m.activity += x.activity;
    m.peak_flops_per_ns += x.peak_flops_per_ns;
    m.hbm_peak_gbps = x.hbm_peak_gbps;  // shared by the cores
    for (const EngineReport& e : x.engines) {
      EngineReport named = e;
      named.name = "c" + std::to_string(c) + "." + e.name;
      m.engines.push_back(named);
    }
  }
  for (EngineReport& e : m.engines) e.busy_fraction = m.time_ns > 0 ? e.busy_ns / m.time_ns : 0;
  m.compute_bound_ns = static_cast<double>(m.flops) / m.peak_flops_per_ns;
  // Shared HBM, or the slowest core's own memory bound (its DMA engines).
  m.memory_bound_ns = static_cast<double>(m.hbm_bytes) / m.hbm_peak_gbps;
  for (const CoreRunResult& x : r.per_core) {
    m.memory_bound_ns = std::max(m.memory_bound_ns, x.memory_bound_ns);
  }
  m.hfu = m.time_ns > 0 ? m.compute_bound_ns / m.time_ns : 0.0;
  return r;
}

namespace {

const char* BoundName(const CoreRunResult& r) {
  return r.compute_bound_ns >= r.memory_bound_ns ? "compute" : "memory";
}

// The chip's energy for the run: every core's activity, static power of all arch.cores.
EnergyBreakdown KernelEnergy(const ArchConfig& arch, const CoreRunResult& r) {
  return EnergyOf(arch.energy, r.activity, r.time_ns, arch.cores);
}

}  // namespace

std::string FormatKernelSummary(const std::string& title, const ArchConfig& arch,
                                const Program& program, const KernelRunReport& report) {
  const CoreRunResult& r = report.core;
  std::string out = fmt::format("{} on {}\n", title, arch.name);
  out += fmt::format(
      "time {:.3f} us  HFU {:.1f}%  roofline {:.3f} us ({}-bound: compute {:.3f} "
      "us, HBM {:.3f} us)  {:.2f}x roofline\n",
      r.time_ns / 1000.0, 100.0 * r.hfu, r.roofline_ns() / 1000.0, BoundName(r),
      r.compute_bound_ns / 1000.0, r.memory_bound_ns / 1000.0,
      r.roofline_ns() > 0 ? r.time_ns / r.roofline_ns() : 0.0);
  out += fmt::format("{} instructions, {:.3f} GFLOP, {:.3f} MiB HBM traffic\n", r.instructions,
                     static_cast<double>(r.flops) / 1e9,
                     static_cast<double>(r.hbm_bytes) / (1024.0 * 1024.0));
  double dma_busy = 0;
  std::uint64_t dma_instr = 0;
  std::size_t dma_engines = 0;
  out += "busy:";
  for (const EngineReport& e : r.engines) {
    if (e.name.find("dma") != std::string::npos) {
      dma_busy += e.busy_fraction;
      dma_instr += e.instructions;
      ++dma_engines;
      continue;
    }
    out += fmt::format(" {} {:.1f}% ({} instr)", e.name, 100.0 * e.busy_fraction, e.instructions);
  }
  (void)program;
  out += fmt::format(" | dma queues: {} transfers, data moving {:.1f}% of the time on average\n",
                     dma_instr, dma_engines ? 100.0 * dma_busy / dma_engines : 0.0);
  const EnergyBreakdown e = KernelEnergy(arch, r);
  const double chip_w = r.time_ns > 0 ? e.ChipJ() / (r.time_ns * 1e-9) : 0.0;
  out += fmt::format(
      "energy {:.4g} uJ (compute {:.4g}, on-chip memory {:.4g}, HBM {:.4g}, static {:.4g}, "
      "overheads {:.4g})  chip power {:.1f} W{}\n",
      e.TotalJ() * 1e6, e.compute_j * 1e6, e.onchip_j * 1e6, e.hbm_j * 1e6, e.static_j * 1e6,
      e.overhead_j * 1e6, chip_w,
      chip_w > arch.energy.tdp_w ? fmt::format(" (over the {:.0f} W TDP)", arch.energy.tdp_w)
                                 : std::string());
  out += fmt::format("simulated in {:.3f} s ({:.2f} M instructions/s)\n", report.wall_seconds,
                     report.wall_seconds > 0
                         ? static_cast<double>(r.instructions) / report.wall_seconds / 1e6
                         : 0.0);
  return out;
}

std::string KernelReportJson(const std::string& title, const ArchConfig& arch,
                             const Program& program, const CoreRunResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = "systole.kernel/1";
  j["kernel"] = program.kernel_name;
  j["title"] = title;
  j["arch"] = arch.name;
  j["time_ns"] = r.time_ns;
  j["instructions"] = r.instructions;
  j["flops"] = r.flops;
  j["hbm_bytes"] = r.hbm_bytes;
  j["hfu"] = r.hfu;
  j["roofline_ns"] = r.roofline_ns();
  j["compute_bound_ns"] = r.compute_bound_ns;
  j["memory_bound_ns"] = r.memory_bound_ns;
  j["bound"] = BoundName(r);
  nlohmann::ordered_json engines = nlohmann::ordered_json::array();
  for (const EngineReport& e : r.engines) {
    engines.push_back({{"name", e.name},
                       {"instructions", e.instructions},
                       {"busy_ns", e.busy_ns},
                       {"busy_fraction", e.busy_fraction}});
  }
  j["engines"] = engines;
  j["scratchpad"] = {{"read_bytes", r.scratchpad.read_bytes},
                     {"write_bytes", r.scratchpad.write_bytes},
                     {"contention_cycles", r.scratchpad.contention_cycles}};
  j["accumulator"] = {{"read_bytes", r.accumulator.read_bytes},
                      {"write_bytes", r.accumulator.write_bytes},
                      {"contention_cycles", r.accumulator.contention_cycles}};
  const EnergyBreakdown e = KernelEnergy(arch, r);
  j["energy_j"] = e.TotalJ();
  j["energy_breakdown_j"] = {{"compute", e.compute_j}, {"onchip_memory", e.onchip_j},
                             {"hbm", e.hbm_j},         {"links", e.link_j},
                             {"static", e.static_j},   {"overheads", e.overhead_j}};
  j["avg_chip_power_w"] = r.time_ns > 0 ? e.ChipJ() / (r.time_ns * 1e-9) : 0.0;
  j["tdp_w"] = arch.energy.tdp_w;
  const Activity& a = r.activity;
  j["activity"] = {{"macs_fp32", a.macs[0]},
                   {"macs_bf16", a.macs[1]},
                   {"macs_fp16", a.macs[2]},
                   {"macs_fp8", a.macs[3]},
                   {"vector_elements", a.vector_elements},
                   {"scalar_elements", a.scalar_elements},
                   {"scratchpad_read_bytes", a.scratchpad_read_bytes},
                   {"scratchpad_write_bytes", a.scratchpad_write_bytes},
                   {"accumulator_read_bytes", a.accumulator_read_bytes},
                   {"accumulator_write_bytes", a.accumulator_write_bytes},
                   {"hbm_read_bytes", a.hbm_read_bytes},
                   {"hbm_write_bytes", a.hbm_write_bytes},
                   {"hbm_activations", a.hbm_activations}};
  return j.dump(2) + "\n";
}

}  // namespace systole
