#include "workloads/parallel/pipeline_schedule.h"

#include <algorithm>
#include <stdexcept>

namespace systole {

std::vector<PipelineTask> PipelineOrder(PipelineSchedule schedule, std::uint64_t pp,
                                        std::uint64_t v, std::uint64_t m, std::uint64_t s) {
  std::vector<PipelineTask> order;
  auto push = [&](bool backward, std::uint64_t mb, std::uint64_t chunk) {
    PipelineTask t;
    t.backward = backward;
    t.micro_batch = mb;
    t.chunk = chunk;
    order.push_back(t);
  };
  if (schedule == PipelineSchedule::kGpipe) {
    for (std::uint64_t i = 0; i < m; ++i) push(false, i, s);
    for (std::uint64_t i = 0; i < m; ++i) push(true, i, s);
    return order;
  }
  if (schedule == PipelineSchedule::kOneFOneB) {
    const std::uint64_t warmup = std::min(pp - s - 1, m);
    for (std::uint64_t i = 0; i < warmup; ++i) push(false, i, s);
    for (std::uint64_t i = 0; i + warmup < m; ++i) {
      push(false, warmup + i, s);
      push(true, i, s);
    }
    for (std::uint64_t i = m - warmup; i < m; ++i) push(true, i, s);
    return order;
  }
  // Interleaved (Megatron-LM forward_backward_pipelining_with_interleaving): the k-th
  // forward runs local chunk (k mod pp*V) / pp on micro-batch (k / (pp*V)) x pp + k mod pp;
  // backwards walk the chunks in reverse.
  const std::uint64_t total = m * v;
  auto fwd = [&](std::uint64_t k) {
    const std::uint64_t local = (k % (pp * v)) / pp;
    push(false, (k / (pp * v)) * pp + k % pp, local * pp + s);
  };
  auto bwd = [&](std::uint64_t k) {
    const std::uint64_t local = v - 1 - (k % (pp * v)) / pp;
    push(true, (k / (pp * v)) * pp + k % pp, local * pp + s);
  };
  const std::uint64_t warmup = m == pp ? total : std::min(total, (pp - s - 1) * 2 + (v - 1) * pp);
  for (std::uint64_t k = 0; k < warmup; ++k) fwd(k);
  for (std::uint64_t i = 0; i + warmup < total; ++i) {
    fwd(warmup + i);
    bwd(i);
  }
  for (std::uint64_t k = total - warmup; k < total; ++k) bwd(k);
  return order;
}

PipelineResult SimulatePipeline(PipelineSchedule schedule, std::uint64_t pp, std::uint64_t v,
                                std::uint64_t m, const std::vector<double>& forward_ns,
                                const std::vector<double>& backward_ns, double p2p_ns,
                                const std::vector<std::uint64_t>& saved_bytes) {
  const std::uint64_t chunks = pp * v;
  if (pp == 0 || v == 0 || m == 0 || forward_ns.size() != chunks || backward_ns.size() != chunks ||
      saved_bytes.size() != chunks) {
    throw std::logic_error("SimulatePipeline: per-chunk inputs must have pp x V entries");
  }
  PipelineResult r;
  r.tasks.resize(pp);
  for (std::uint64_t s = 0; s < pp; ++s) r.tasks[s] = PipelineOrder(schedule, pp, v, m, s);
  // End times of finished tasks: [chunk][micro-batch], < 0 while not run.
  std::vector<std::vector<double>> f_end(chunks, std::vector<double>(m, -1.0));
  std::vector<std::vector<double>> b_end(chunks, std::vector<double>(m, -1.0));
  std::vector<std::size_t> next(pp, 0);
  std::vector<double> free_at(pp, 0.0);
  std::size_t remaining = 0;
  for (const auto& t : r.tasks) remaining += t.size();
  while (remaining > 0) {
    bool progress = false;
    for (std::uint64_t s = 0; s < pp; ++s) {
      while (next[s] < r.tasks[s].size()) {
        PipelineTask& t = r.tasks[s][next[s]];
        double ready = 0;
        if (!t.backward) {
          if (t.chunk > 0) {
            const double dep = f_end[t.chunk - 1][t.micro_batch];
            if (dep < 0) break;
            ready = dep + p2p_ns;
          }
        } else if (t.chunk + 1 < chunks) {
          const double dep = b_end[t.chunk + 1][t.micro_batch];
          if (dep < 0) break;
          ready = dep + p2p_ns;
        } else {
          const double dep = f_end[t.chunk][t.micro_batch];
          if (dep < 0) break;
          ready = dep;
        }
        t.start_ns = std::max(ready, free_at[s]);
        t.end_ns = t.start_ns + (t.backward ? backward_ns : forward_ns)[t.chunk];
        (t.backward ? b_end : f_end)[t.chunk][t.micro_batch] = t.end_ns;
        free_at[s] = t.end_ns;
        ++next[s];
        --remaining;
        progress = true;
      }
    }
    if (!progress) throw std::logic_error("SimulatePipeline: the schedule deadlocks");
  }
  r.busy_ns.assign(pp, 0.0);
  r.last_end_ns.assign(pp, 0.0);
  r.peak_saved_bytes.assign(pp, 0);
  r.peak_in_flight.assign(pp, 0);
  for (std::uint64_t s = 0; s < pp; ++s) {
    std::uint64_t saved = 0, in_flight = 0;
    for (const PipelineTask& t : r.tasks[s]) {
      r.busy_ns[s] += t.end_ns - t.start_ns;
      r.last_end_ns[s] = std::max(r.last_end_ns[s], t.end_ns);
      // A device runs one task at a time, so in execution order a forward adds its saved
      // activations and a backward frees them at its end (peak: just before the free).
      if (!t.backward) {
        saved += saved_bytes[t.chunk];
        ++in_flight;
        r.peak_saved_bytes[s] = std::max(r.peak_saved_bytes[s], saved);
        r.peak_in_flight[s] = std::max(r.peak_in_flight[s], in_flight);
      } else {
        saved -= saved_bytes[t.chunk];
        --in_flight;
      }
    }
    r.makespan_ns = std::max(r.makespan_ns, r.last_end_ns[s]);
  }
  if (r.makespan_ns > 0) {
    for (std::uint64_t s = 0; s < pp; ++s) {
      r.bubble_fraction += (r.makespan_ns - r.busy_ns[s]) / r.makespan_ns;
    }
    r.bubble_fraction /= static_cast<double>(pp);
  }
  return r;
}

}  // namespace systole
