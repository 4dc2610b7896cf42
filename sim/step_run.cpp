#include "sim/step_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/text_escape.h"
#include "models/core/core.h"
#include "workloads/lowering/op_lowering.h"
#include "workloads/lowering/tiling_search.h"
#include "workloads/training/footprint.h"
#include "workloads/training/step_report.h"

namespace systole {

namespace {

// The step at the architecture's clocks, energy included, without the power limit.
StepReport RunAtClocks(const ArchConfig& arch, const TrainingStep& step,
                       const std::function<void(double)>& progress, bool reuse_kernels) {
  const auto t0 = std::chrono::steady_clock::now();
  StepReport rep;
  rep.peak_flops_per_ns = arch.PeakFlopsPerNs();
  const double hbm_gbps = arch.hbm.PeakGBps();
  std::map<std::string, KernelResult> cache;
  std::map<std::string, MatmulTuning> tunings;
  std::size_t total_ops = 0;
  for (const PhaseWork& ph : step.phases) total_ops += ph.ops.size();
  std::size_t done_ops = 0;
  double model_flops = 0, executed_flops = 0;
  for (const PhaseWork& ph : step.phases) {
    for (OpId id : ph.ops) {
      const GraphOp& op = step.graph.op(id);
      OpReport r;
      r.op = id;
      r.phase = ph.phase;
      r.repeats = ph.repeats;
      r.flops = op.flops;
      r.matmul_flops = op.matmul_flops;
      r.bytes = op.hbm_bytes_read() + op.hbm_bytes_written();  // 0 when fused
      auto simulate = [&](const KernelCall& call) -> KernelResult {
        std::string key = call.Key();
        auto it = cache.find(key);
        if (!reuse_kernels && it != cache.end()) {
          it->second = SimulateKernel(arch, call);  // simulate again, as if never seen
          rep.simulated_instructions += it->second.simulated_instructions;
        }
        if (it == cache.end()) {
          it = cache.emplace(std::move(key), SimulateKernel(arch, call)).first;
          rep.simulated_instructions += it->second.simulated_instructions;
        }
        return it->second;
      };
      for (const KernelCall& call : LowerOp(arch, step.graph, op, step.compute_dtype)) {
        KernelResult k;
        std::string kernel_key;  // as chosen
        if (call.matmul) {
          // Orientation and blocking (workloads/lowering/tiling_search.h); decided once per
          // distinct call.
          std::string key = call.Key() + (call.try_transposed ? " try_transposed" : "");
          auto it = tunings.find(key);
          if (it == tunings.end() || !reuse_kernels) {
            MatmulTuning tuned = TuneMatmul(arch, call, simulate);
            if (it == tunings.end()) {
              it = tunings.emplace(std::move(key), std::move(tuned)).first;
            } else {
              it->second = std::move(tuned);
            }
          }
          const MatmulTuning& tuned = it->second;
          k = tuned.result;
          kernel_key = tuned.call.Key();
          if (tuned.transposed) ++rep.transposed_kernels;
          if (tuned.changed) ++rep.tuned_kernels;
        } else {
          kernel_key = call.Key();
          k = simulate(call);
        }
        r.time_ns += k.time_ns * static_cast<double>(call.repeat) * call.scale;
        r.activity += k.activity.Scaled(static_cast<double>(call.repeat) * call.scale);
        r.kernels +=
            fmt::format("{}{} x{}", r.kernels.empty() ? "" : "; ", kernel_key,
                        call.scale == 1.0
                            ? fmt::format("{}", call.repeat)
                            : fmt::format("{:.3f}", call.scale * static_cast<double>(call.repeat)));
        rep.represented_instructions += static_cast<std::uint64_t>(
            static_cast<double>(k.instructions * call.repeat * ph.repeats) * call.scale);
      }
      const double compute_ns = static_cast<double>(op.matmul_flops) / rep.peak_flops_per_ns;
      const double memory_ns = static_cast<double>(r.bytes) / hbm_gbps;
      r.roofline_ns = std::max(compute_ns, memory_ns);
      r.compute_bound = compute_ns >= memory_ns;
      r.energy = EnergyOf(arch.energy, r.activity, r.time_ns, arch.cores);
      rep.activity += r.activity.Scaled(static_cast<double>(ph.repeats));
      rep.energy += r.energy.Scaled(static_cast<double>(ph.repeats));
      if (r.time_ns > 0) {
        rep.power.peak_chip_w =
            std::max(rep.power.peak_chip_w, r.energy.ChipJ() / (r.time_ns * 1e-9));
      }
      const double total = r.time_ns * static_cast<double>(ph.repeats);
      rep.phase_ns[static_cast<int>(ph.phase)] += total;
      executed_flops += static_cast<double>(op.matmul_flops) * static_cast<double>(ph.repeats);
      if (op.role != OpRole::kRecompute) {
        model_flops += static_cast<double>(op.matmul_flops) * static_cast<double>(ph.repeats);
      }
      rep.ops.push_back(r);
      ++done_ops;
      if (progress && done_ops % 16 == 0) {
        progress(static_cast<double>(done_ops) / static_cast<double>(total_ops));
      }
    }
  }
  rep.distinct_kernels = cache.size();
  rep.step_ns = rep.phase_ns[0] + rep.phase_ns[1] + rep.phase_ns[2];
  if (rep.step_ns > 0) {
    rep.tokens_per_s = static_cast<double>(step.tokens_per_step) / (rep.step_ns * 1e-9);
    rep.mfu = model_flops / (rep.step_ns * rep.peak_flops_per_ns);
    rep.hfu = executed_flops / (rep.step_ns * rep.peak_flops_per_ns);
  }
  if (rep.step_ns > 0) {
    rep.power.avg_chip_w = rep.energy.ChipJ() / (rep.step_ns * 1e-9);
    rep.power.avg_wall_w = rep.energy.TotalJ() / (rep.step_ns * 1e-9);
  }
  rep.power.tdp_w = arch.energy.tdp_w;
  rep.power.policy = arch.energy.policy;
  rep.power.unthrottled_step_ns = rep.step_ns;
  rep.power.unthrottled_avg_chip_w = rep.power.avg_chip_w;
  rep.power.over_tdp = rep.power.avg_chip_w > arch.energy.tdp_w;
  rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress(1.0);
  return rep;
}

// Every engine clock of `arch` times `scale` (the HBM and DMA queues keep theirs).
ArchConfig ScaledClocks(const ArchConfig& arch, double scale) {
  ArchConfig a = arch;
  a.core.clock_ghz *= scale;
  a.core.vector.clock_ghz *= scale;
  a.core.scalar.clock_ghz *= scale;
  return a;
}

}  // namespace

StepReport RunTrainingStep(const ArchConfig& arch, const TrainingStep& step,
                           const std::function<void(double)>& progress, bool reuse_kernels) {
  StepReport rep = RunAtClocks(arch, step, progress, reuse_kernels);
  const EnergyConfig& e = arch.energy;
  if (!rep.power.over_tdp || e.policy != PowerPolicy::kThrottle) return rep;
  const double static_w = e.ChipStaticW(arch.cores);
  if (static_w >= e.tdp_w) {
    throw InputError(fmt::format(
        "{}: chip.tdp_w = {} W is not above the chip's static power ({} W): no clock meets it",
        arch.sources.at("chip.tdp_w"), e.tdp_w, static_w));
  }
  const PowerReport first = rep.power;
  // Round 1 assumes the time scales with 1 / clock; later rounds take the secant through
  // the last two (clock, power) points, aiming just under the TDP, since parts bound by HBM
  // or DMA do not slow down.
  const double target = e.tdp_w * (1 - 1e-6);
  double scale = 1, prev_scale = 1, prev_w = rep.power.avg_chip_w;
  double wall_seconds = rep.wall_seconds;
  int rounds = 0;
  while (rep.power.avg_chip_w > e.tdp_w && rounds < kMaxThrottleRounds) {
    const double w = rep.power.avg_chip_w;
    double next = scale * (target - static_w) / (w - static_w);
    if (rounds > 0 && prev_w != w) {
      const double secant = scale + (target - w) * (scale - prev_scale) / (w - prev_w);
      if (secant > 0 && secant < scale) next = secant;
    }
    prev_scale = scale;
    prev_w = w;
    scale = next;
    rep = RunAtClocks(ScaledClocks(arch, scale), step, {}, reuse_kernels);
    wall_seconds += rep.wall_seconds;
    ++rounds;
  }
  // Utilisation against the chip's nominal peak (the clocks it was designed for).
  const double nominal_peak = arch.PeakFlopsPerNs();
  rep.mfu *= rep.peak_flops_per_ns / nominal_peak;
  rep.hfu *= rep.peak_flops_per_ns / nominal_peak;
  rep.peak_flops_per_ns = nominal_peak;
  rep.power.throttled = true;
  rep.power.clock_scale = scale;
  rep.power.throttle_rounds = rounds;
  rep.power.unthrottled_step_ns = first.unthrottled_step_ns;
  rep.power.unthrottled_avg_chip_w = first.avg_chip_w;
  rep.power.tdp_w = e.tdp_w;
  rep.wall_seconds = wall_seconds;
  return rep;
}

std::string FormatStepSummary(const ArchConfig& arch, const TrainingStep& step,
                              const StepReport& r) {
  const WorkloadConfig& w = step.config;
  std::string out =
      fmt::format("{} training step on {} ({} core{}, {:.1f} TFLOP/s peak)\n", w.model.name,
                  arch.name, arch.cores, arch.cores > 1 ? "s" : "", r.peak_flops_per_ns / 1000.0);
  // Models without a sequence (ResNet, the MLP) count samples, one "token" each.
  const bool per_sample = step.tokens_per_step == step.samples_per_step;
  out += fmt::format("step time      {:.3f} ms   {:.0f} {}/s   MFU {:.1f}%   HFU {:.1f}%\n",
                     r.step_ns / 1e6, r.tokens_per_s, per_sample ? "samples" : "tokens",
                     100.0 * r.mfu, 100.0 * r.hfu);
  out += fmt::format("split          forward {:.1f}%  backward {:.1f}%  optimizer {:.1f}%\n",
                     100.0 * r.phase_ns[0] / r.step_ns, 100.0 * r.phase_ns[1] / r.step_ns,
                     100.0 * r.phase_ns[2] / r.step_ns);
  double compute_bound_ns = 0;
  for (const OpReport& o : r.ops) {
    if (o.compute_bound) compute_bound_ns += o.time_ns * static_cast<double>(o.repeats);
  }
  out += fmt::format(
      "bound          {:.0f}% of the time in compute-bound ops, {:.0f}% in "
      "memory-bound ops\n",
      100.0 * compute_bound_ns / r.step_ns, 100.0 * (1.0 - compute_bound_ns / r.step_ns));
  out += step.fusion
             ? fmt::format("fusion         on: {} element-wise ops run in matmul epilogues\n",
                           step.fused_ops)
             : std::string("fusion         off\n");
  const EnergyBreakdown& e = r.energy;
  const double tokens = static_cast<double>(step.tokens_per_step);
  out += fmt::format(
      "energy         {:.4g} J per step ({:.4g} mJ/{}): compute {:.1f}%  on-chip memory "
      "{:.1f}%  HBM {:.1f}%  links {:.1f}%  static {:.1f}%  overheads {:.1f}%\n",
      e.TotalJ(), 1e3 * e.TotalJ() / tokens, per_sample ? "sample" : "token",
      100.0 * e.compute_j / e.TotalJ(), 100.0 * e.onchip_j / e.TotalJ(),
      100.0 * e.hbm_j / e.TotalJ(), 100.0 * e.link_j / e.TotalJ(), 100.0 * e.static_j / e.TotalJ(),
      100.0 * e.overhead_j / e.TotalJ());
  const PowerReport& p = r.power;
  out += fmt::format(
      "power          chip {:.1f} W average, {:.1f} W peak op; {:.1f} W at the wall "
      "with its server share; TDP {:.0f} W",
      p.avg_chip_w, p.peak_chip_w, p.avg_wall_w, p.tdp_w);
  if (p.throttled) {
    out += fmt::format(
        "\n               THROTTLED: {:.1f} W at full clock > TDP; clocks x{:.3f}, step {:.3f} ms "
        "-> {:.3f} ms{}",
        p.unthrottled_avg_chip_w, p.clock_scale, p.unthrottled_step_ns / 1e6, r.step_ns / 1e6,
        p.over_tdp ? " (still over the TDP after the last round)" : "");
  } else if (p.over_tdp) {
    out +=
        fmt::format(" EXCEEDED by {:.1f} W (chip.power_policy = report)", p.avg_chip_w - p.tdp_w);
  }
  out += "\n";
  const Footprint& f = step.footprint;
  out += fmt::format("HBM            footprint {} of {} (states {}, activations {})\n",
                     FormatBytes(f.total_bytes), FormatBytes(arch.hbm.CapacityBytes()),
                     FormatBytes(f.states_bytes()), FormatBytes(f.activation_peak_bytes));
  // Top ops by total time.
  std::vector<const OpReport*> top;
  for (const OpReport& o : r.ops) top.push_back(&o);
  std::stable_sort(top.begin(), top.end(), [](const OpReport* a, const OpReport* b) {
    return a->time_ns * static_cast<double>(a->repeats) >
           b->time_ns * static_cast<double>(b->repeats);
  });
  out += "top ops        ";
  for (std::size_t i = 0; i < std::min<std::size_t>(5, top.size()); ++i) {
    const OpReport& o = *top[i];
    out += fmt::format("{}{} {:.1f}%", i ? ", " : "", step.graph.op(o.op).name,
                       100.0 * o.time_ns * static_cast<double>(o.repeats) / r.step_ns);
  }
  out += fmt::format(
      "\nsimulated      {} distinct kernels{}, {} instructions simulated for a step of {} "
      "({:.2f}%), in {:.2f} s\n",
      r.distinct_kernels,
      r.transposed_kernels + r.tuned_kernels > 0
          ? fmt::format(" ({} matmul calls faster transposed, {} re-blocked by the tiling search)",
                        r.transposed_kernels, r.tuned_kernels)
          : std::string(),
      r.simulated_instructions, r.represented_instructions,
      100.0 * static_cast<double>(r.simulated_instructions) /
          static_cast<double>(std::max<std::uint64_t>(1, r.represented_instructions)),
      r.wall_seconds);
  return out;
}

std::string StepReportJson(const ArchConfig& arch, const TrainingStep& step, const StepReport& r) {
  nlohmann::ordered_json j;
  // Version 2: fusion, fused_ops, hbm_bytes_per_step, transposed_kernels; footprint (keys
  // as in TrainingStepToJson, plus hbm_capacity_bytes) replaces footprint_bytes; ops.csv
  // gained fused_into. Version 3: tuned_kernels (matmul calls the tiling search re-blocked);
  // ops.csv gained kernels (each op's kernels as chosen, with their repeat counts).
  // Version 4: energy_j, energy_breakdown_j, activity and power (docs/energy.md); ops.csv
  // gained energy_uj.
  j["schema"] = "systole.step/4";
  j["workload"] = step.config.model.name;
  j["arch"] = arch.name;
  j["cores"] = arch.cores;
  j["step_time_ns"] = r.step_ns;
  j["tokens_per_step"] = step.tokens_per_step;
  j["tokens_per_s"] = r.tokens_per_s;
  j["mfu"] = r.mfu;
  j["hfu"] = r.hfu;
  j["peak_flops_per_ns"] = r.peak_flops_per_ns;
  j["phases_ns"] = {
      {"forward", r.phase_ns[0]}, {"backward", r.phase_ns[1]}, {"optimizer", r.phase_ns[2]}};
  j["parameters"] = step.parameters;
  j["flops_per_step"] = step.flops_per_step;
  double hbm_bytes = 0;
  for (const OpReport& o : r.ops) {
    hbm_bytes += static_cast<double>(o.bytes) * static_cast<double>(o.repeats);
  }
  j["hbm_bytes_per_step"] = static_cast<std::uint64_t>(hbm_bytes);
  j["fusion"] = step.fusion;
  j["fused_ops"] = step.fused_ops;
  j["footprint"] = FootprintToJson(step.footprint);
  j["footprint"]["hbm_capacity_bytes"] = arch.hbm.CapacityBytes();
  j["distinct_kernels"] = r.distinct_kernels;
  j["transposed_kernels"] = r.transposed_kernels;
  j["tuned_kernels"] = r.tuned_kernels;
  j["simulated_instructions"] = r.simulated_instructions;
  j["represented_instructions"] = r.represented_instructions;
  const EnergyBreakdown& e = r.energy;
  j["energy_j"] = e.TotalJ();
  j["energy_breakdown_j"] = {{"compute", e.compute_j}, {"onchip_memory", e.onchip_j},
                             {"hbm", e.hbm_j},         {"links", e.link_j},
                             {"static", e.static_j},   {"overheads", e.overhead_j}};
  j["energy_per_token_j"] = e.TotalJ() / static_cast<double>(step.tokens_per_step);
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
                   {"hbm_activations", a.hbm_activations},
                   {"link_bytes", a.link_bytes},
                   {"tensor_busy_ns", a.tensor_busy_ns},
                   {"vector_busy_ns", a.vector_busy_ns},
                   {"scalar_busy_ns", a.scalar_busy_ns},
                   {"dma_busy_ns", a.dma_busy_ns}};
  const PowerReport& p = r.power;
  j["power"] = {{"avg_chip_w", p.avg_chip_w},
                {"avg_wall_w", p.avg_wall_w},
                {"peak_chip_w", p.peak_chip_w},
                {"tdp_w", p.tdp_w},
                {"policy", PowerPolicyName(p.policy)},
                {"throttled", p.throttled},
                {"clock_scale", p.clock_scale},
                {"throttle_rounds", p.throttle_rounds},
                {"unthrottled_step_time_ns", p.unthrottled_step_ns},
                {"unthrottled_avg_chip_w", p.unthrottled_avg_chip_w},
                {"over_tdp", p.over_tdp}};
  return j.dump(2) + "\n";
}

std::string OpsCsv(const TrainingStep& step, const StepReport& r) {
  std::string out =
      "op,phase,role,kind,repeats,time_ns,flops,matmul_flops,hbm_bytes,energy_uj,achieved_tflops,"
      "achieved_gbps,roofline_ns,bound,fused_into,kernels\n";
  for (const OpReport& o : r.ops) {
    const GraphOp& op = step.graph.op(o.op);
    // Fused ops (time 0): no rates of their own, bound "fused".
    const double t = o.time_ns > 0 ? o.time_ns : 1e300;
    // Names (ONNX node names may hold commas, quotes, line breaks) quoted per RFC 4180;
    // kernels always quoted (an epilogue list has commas). energy_uj: one execution, every
    // term (dynamic, static and overheads over its time).
    out += fmt::format("{},{},{},{},{},{:.3f},{},{},{},{:.6f},{:.4f},{:.3f},{:.3f},{},{},{}\n",
                       CsvField(op.name), PhaseName(o.phase), OpRoleName(op.role),
                       OpKindName(op.kind), o.repeats, o.time_ns, o.flops, o.matmul_flops, o.bytes,
                       o.energy.TotalJ() * 1e6, static_cast<double>(o.flops) / t / 1000.0,
                       static_cast<double>(o.bytes) / t, o.roofline_ns,
                       op.fused()        ? "fused"
                       : o.compute_bound ? "compute"
                                         : "memory",
                       CsvField(op.fused() ? step.graph.op(op.fused_into).name : ""),
                       CsvField(o.kernels, /*always_quote=*/true));
  }
  return out;
}

std::string StepTraceJson(const TrainingStep& step, const StepReport& r) {
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  out += fmt::format(R"({{"name":"process_name","ph":"M","pid":0,"args":{{"name":{}}}}})",
                     nlohmann::json(step.config.model.name + " training step").dump());
  const char* tracks[] = {"phase", "tensor engine (matmul ops)", "vector/scalar/DMA ops"};
  for (int t = 0; t < 3; ++t) {
    out += fmt::format(
        ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":{},\"args\":{{"
        "\"name\":\"{}\"}}}}",
        t, tracks[t]);
  }
  // Ops of each phase, in order, indexed into r.ops.
  std::vector<std::vector<std::size_t>> by_phase(3);
  for (std::size_t i = 0; i < r.ops.size(); ++i) {
    by_phase[static_cast<int>(r.ops[i].phase)].push_back(i);
  }
  double t = 0;
  auto slice = [&](int tid, const std::string& name, const char* cat, double start, double dur) {
    out += fmt::format(
        ",\n{{\"name\":{},\"cat\":\"{}\",\"ph\":\"X\",\"pid\":0,\"tid\":{},\"ts\":{:.3f},"
        "\"dur\":{:.3f}}}",
        nlohmann::json(name).dump(), cat, tid, start / 1000.0, dur / 1000.0);
  };
  auto run_phase = [&](int phase, const std::string& label) {
    const double start = t;
    for (std::size_t i : by_phase[phase]) {
      const OpReport& o = r.ops[i];
      const GraphOp& op = step.graph.op(o.op);
      slice(op.is_matmul() ? 1 : 2, op.name, OpRoleName(op.role), t, o.time_ns);
      t += o.time_ns;
    }
    slice(0, label, "phase", start, t - start);
  };
  const std::uint64_t micro = step.phases.empty() ? 1 : step.phases[0].repeats;
  for (std::uint64_t mb = 0; mb < micro; ++mb) {
    run_phase(0, fmt::format("forward (micro-batch {})", mb));
    run_phase(1, fmt::format("backward (micro-batch {})", mb));
  }
  run_phase(2, "optimizer");
  out += "\n]}\n";
  return out;
}

}  // namespace systole
