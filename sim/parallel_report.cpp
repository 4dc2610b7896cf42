// Reports of a parallel training step (sim/parallel_run.h): summary, JSON, CSV, trace.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sim/parallel_run.h"
#include "workloads/training/footprint.h"
#include "workloads/training/step_report.h"

namespace systole {

namespace {

std::string Seconds(double ns) { return fmt::format("{:.4f} s", ns / 1e9); }

}  // namespace

std::string FormatParallelSummary(const ArchConfig& arch, const WorkloadConfig& config,
                                  const ParallelReport& r) {
  const ParallelLayout& l = r.layout;
  std::string out =
      fmt::format("{} training step on {} ({})\n", config.model.name, arch.name, l.Describe());
  out += fmt::format("batch          {}\n", r.batch_note);
  // Models without a sequence (ResNet, the MLP) count samples, one "token" each.
  out +=
      fmt::format("step time      {}   {:.0f} {}/s   MFU {:.1f}% over {} devices\n",
                  Seconds(r.step_ns), r.tokens_per_s,
                  config.model.is_transformer() ? "tokens" : "samples", 100.0 * r.mfu, l.devices());
  out += fmt::format(
      "communication  {} in all, {} exposed ({:.1f}% of the step) on the slowest stage's rank\n",
      Seconds(r.comm_total_ns), Seconds(r.comm_exposed_ns),
      r.step_ns > 0 ? 100.0 * r.comm_exposed_ns / r.step_ns : 0.0);
  out += fmt::format(
      "pipeline       {} micro-batches, bubble {:.1f}% (idle share of the pipelined part), "
      "stage send {:.1f} us\n",
      r.micro_batches, 100.0 * r.pipeline.bubble_fraction, r.p2p_ns / 1e3);
  out += "stage  compute_s   comm_s  exposed_s  dp_tail_s    end_s  rank_memory  in_flight\n";
  for (const StageReport& s : r.stages) {
    out += fmt::format("{:>5}  {:>9.4f}  {:>7.4f}  {:>9.4f}  {:>9.4f}  {:>7.4f}  {:>11}  {:>9}\n",
                       s.stage, s.compute_ns / 1e9, (s.comm_total_ns + s.p2p_ns) / 1e9,
                       s.comm_exposed_ns / 1e9, s.dp_tail_ns / 1e9, s.end_ns / 1e9,
                       FormatBytes(s.memory.total_bytes), s.in_flight);
  }
  out += fmt::format("rank memory    peak {} of {} per rank\n", FormatBytes(r.peak_rank_bytes),
                     FormatBytes(r.rank_capacity_bytes));
  out += fmt::format("simulated      {} in {:.2f} s\n", r.simulated_note, r.wall_seconds);
  return out;
}

std::string ParallelReportJson(const ArchConfig& arch, const WorkloadConfig& config,
                               const ParallelReport& r) {
  const ParallelLayout& l = r.layout;
  nlohmann::ordered_json j;
  j["schema"] = "systole.parallel/1";
  j["workload"] = config.model.name;
  j["arch"] = arch.name;
  j["devices"] = l.devices();
  j["layout"] = {{"dp", l.dp},
                 {"tp", l.tp},
                 {"pp", l.pp},
                 {"zero", l.zero},
                 {"schedule", PipelineScheduleName(l.schedule)},
                 {"virtual_stages", l.virtual_stages},
                 {"sequence_parallel", l.sequence_parallel}};
  j["global_batch"] = r.global_batch;
  j["micro_batch"] = config.training.micro_batch;
  j["micro_batches"] = r.micro_batches;
  j["batch_note"] = r.batch_note;
  j["step_time_ns"] = r.step_ns;
  j["tokens_per_step"] = r.tokens_per_step;
  j["tokens_per_s"] = r.tokens_per_s;
  j["mfu"] = r.mfu;
  j["comm_total_ns"] = r.comm_total_ns;
  j["comm_exposed_ns"] = r.comm_exposed_ns;
  j["pipeline_bubble_fraction"] = r.pipeline.bubble_fraction;
  j["p2p_ns"] = r.p2p_ns;
  j["rank_capacity_bytes"] = r.rank_capacity_bytes;
  j["peak_rank_bytes"] = r.peak_rank_bytes;
  nlohmann::ordered_json stages = nlohmann::ordered_json::array();
  for (const StageReport& s : r.stages) {
    nlohmann::ordered_json e;
    e["stage"] = s.stage;
    e["compute_ns"] = s.compute_ns;
    e["comm_total_ns"] = s.comm_total_ns + s.p2p_ns;
    e["comm_exposed_ns"] = s.comm_exposed_ns;
    e["p2p_ns"] = s.p2p_ns;
    e["dp_tail_ns"] = s.dp_tail_ns;
    e["optimizer_ns"] = s.optimizer_ns;
    e["end_ns"] = s.end_ns;
    e["micro_batch_chunks_in_flight"] = s.in_flight;
    e["footprint"] = FootprintToJson(s.memory);
    stages.push_back(e);
  }
  j["stages"] = stages;
  nlohmann::ordered_json chunks = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < r.chunks.size(); ++c) {
    const ChunkProfile& p = r.chunks[c];
    chunks.push_back({{"chunk", c},
                      {"device_stage", c % l.pp},
                      {"layers", p.layers},
                      {"forward_compute_ns", p.forward_ns},
                      {"backward_compute_ns", p.backward_ns},
                      {"forward_tp_comm_ns", p.tp_forward_ns},
                      {"backward_tp_comm_ns", p.tp_backward_ns},
                      {"optimizer_ns", p.optimizer_ns},
                      {"saved_activation_bytes", p.saved_bytes}});
  }
  j["chunks"] = chunks;
  j["simulated_ranks"] = r.simulated_ranks;
  j["simulated"] = r.simulated_note;
  j["distinct_kernels"] = r.compute.distinct_kernels;
  j["simulated_instructions"] = r.compute.simulated_instructions;
  return j.dump(2) + "\n";
}

std::string ParallelOpsCsv(const ParallelReport& r) {
  // The representative rank's ops (OpsCsv's columns) plus the pipeline chunks they run on.
  const std::string base = OpsCsv(r.step, r.compute);
  std::string out;
  std::size_t pos = 0, row = 0;
  while (pos < base.size()) {
    const std::size_t nl = base.find('\n', pos);
    out += base.substr(pos, nl - pos);
    if (row == 0) {
      out += ",chunks\n";
    } else {
      const std::vector<std::uint32_t>& cs = r.op_chunks.at(r.compute.ops.at(row - 1).op);
      out += fmt::format(",\"{}\"\n", fmt::join(cs, " "));
    }
    ++row;
    pos = nl + 1;
  }
  // Communication rows (role "collective", bound "comm", times as in the step): each
  // chunk's tensor-parallel collectives per forward and backward task (repeats: the
  // micro-batches), each stage's data-parallel / ZeRO / tied-embedding traffic and sends
  // over the whole step (phase "step", repeats 1).
  const ParallelLayout& l = r.layout;
  const char* tp_kind = l.sequence_parallel ? "reduce-scatter+all-gather" : "all-reduce";
  auto row_of = [&](const std::string& name, const char* phase, const char* kind,
                    std::uint64_t repeats, double ns, const std::string& chunks) {
    out += fmt::format("{},{},collective,{},{},{:.3f},0,0,0,0,0,0,comm,,\"\",\"{}\"\n", name, phase,
                       kind, repeats, ns, chunks);
  };
  for (std::size_t c = 0; c < r.chunks.size(); ++c) {
    const ChunkProfile& p = r.chunks[c];
    if (p.tp_forward_ns > 0) {
      row_of(fmt::format("tensor_parallel.chunk{}", c), "forward", tp_kind, r.micro_batches,
             p.tp_forward_ns, std::to_string(c));
    }
    if (p.tp_backward_ns > 0) {
      row_of(fmt::format("tensor_parallel.chunk{}", c), "backward", tp_kind, r.micro_batches,
             p.tp_backward_ns, std::to_string(c));
    }
  }
  for (const StageReport& s : r.stages) {
    std::string chunks;
    for (std::uint64_t v = 0; v < l.virtual_stages; ++v) {
      chunks += fmt::format("{}{}", v ? " " : "", v * l.pp + s.stage);
    }
    double dp = 0;
    for (const CommSlice& c : s.comm) {
      if (c.name.rfind("tensor", 0) != 0 && c.name.rfind("send", 0) != 0) dp += c.duration_ns;
    }
    if (dp > 0) {
      row_of(fmt::format("data_parallel.stage{}", s.stage), "step", "data-parallel", 1, dp, chunks);
    }
    if (s.p2p_ns > 0) {
      row_of(fmt::format("pipeline_sends.stage{}", s.stage), "step", "send/recv", 1, s.p2p_ns,
             chunks);
    }
  }
  return out;
}

std::string ParallelTraceJson(const ParallelReport& r) {
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  bool first = true;
  auto event = [&](const std::string& text) {
    out += (first ? "" : ",\n") + text;
    first = false;
  };
  auto slice = [&](std::uint64_t pid, int tid, const std::string& name, double start, double dur) {
    event(fmt::format(R"({{"name":{},"ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f}}})",
                      nlohmann::json(name).dump(), pid, tid, start / 1000.0, dur / 1000.0));
  };
  const ParallelLayout& l = r.layout;
  for (const StageReport& s : r.stages) {
    // A representative rank per stage: tensor-parallel rank 0 of data-parallel replica 0.
    event(fmt::format(
        R"J({{"name":"process_name","ph":"M","pid":{},"args":{{"name":"stage {} (rank {})"}}}})J",
        s.stage, s.stage, s.stage * l.tp * l.dp));
    event(fmt::format(
        R"({{"name":"thread_name","ph":"M","pid":{},"tid":0,"args":{{"name":"compute"}}}})",
        s.stage));
    const char* tracks[] = {"tensor-parallel collectives", "data-parallel / ZeRO collectives",
                            "pipeline sends"};
    for (int t = 0; t < 3; ++t) {
      event(fmt::format(
          R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":"{}"}}}})", s.stage,
          t + 1, tracks[t]));
    }
    for (const PipelineTask& t : r.pipeline.tasks[s.stage]) {
      const ChunkProfile& p = r.chunks[t.chunk];
      const double compute = t.backward ? p.backward_ns : p.forward_ns;
      slice(s.stage, 0,
            fmt::format("{} mb{} chunk{}", t.backward ? "backward" : "forward", t.micro_batch,
                        t.chunk),
            t.start_ns, std::min(compute, t.end_ns - t.start_ns));
    }
    if (s.optimizer_ns > 0) slice(s.stage, 0, "optimizer", s.optimizer_start_ns, s.optimizer_ns);
    for (const CommSlice& c : s.comm) {
      const int tid = c.name.rfind("tensor", 0) == 0 ? 1 : c.name.rfind("send", 0) == 0 ? 3 : 2;
      slice(s.stage, tid, c.name, c.start_ns, c.duration_ns);
    }
  }
  out += "\n]}\n";
  return out;
}

}  // namespace systole
