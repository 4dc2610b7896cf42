// Pipeline schedule: when each micro-batch's forward and backward run on each stage.
//
// What it models: pp devices, each holding V model chunks (V = 1 except interleaved);
// chunk c = v x pp + s lives on device s (Megatron-LM's interleaving), so the model's
// C = pp x V chunks run in order 0 .. C-1. A task is the forward or the backward of one
// micro-batch on one chunk; each device runs its tasks one at a time in the schedule's
// order, a task starting when the device is free and its input is there:
//   forward (m, c)   needs forward (m, c-1) + the point-to-point time (c > 0)
//   backward (m, c)  needs backward (m, c+1) + the point-to-point time (c < C-1), or
//                    forward (m, C-1) on the same device (c = C-1)
// Orders per device s (m micro-batches):
//   gpipe        every forward (micro-batch order), then every backward (Huang et al. 2019,
//                "GPipe", arXiv:1811.06965): all m micro-batches in flight
//   1f1b         min(pp-s-1, m) warm-up forwards, then one forward one backward, then the
//                remaining backwards (PipeDream-Flush, Narayanan et al. 2021): at most
//                pp-s micro-batches in flight
//   interleaved  Megatron-LM's interleaved 1F1B (Narayanan et al. 2021, arXiv:2104.04473,
//                sec. 2.2.2): forwards walk chunks pp micro-batches at a time; warm-up
//                (pp-s-1) x 2 + (V-1) x pp forwards; needs m a multiple of pp
// Closed forms (equal stages, forward F and backward B per chunk, no point-to-point time):
//   gpipe and 1f1b: (m + pp - 1) x (F + B); interleaved: (m + (pp-1)/V) x V x (F + B),
//   i.e. the bubble shrinks by V (Narayanan et al. 2021, eq. for t_pb).
// Bubble fraction here = idle time / makespan, averaged over devices
// (= (pp-1)/(m+pp-1) for gpipe and 1f1b with equal stages).
// In flight: activations saved by a forward are freed when its backward ends; the peak of
// saved bytes per device over the schedule is reported.
// What it ignores: point-to-point transfers occupying the devices (they are a delay on the
// dependency only), uneven stage memory limits, schedules that split backward into input
// and weight gradients (zero-bubble).
#pragma once

#include <cstdint>
#include <vector>

#include "workloads/parallel/parallel_layout.h"

namespace systole {

struct PipelineTask {
  bool backward = false;
  std::uint64_t micro_batch = 0;
  std::uint64_t chunk = 0;  // global chunk index 0 .. C-1
  double start_ns = 0, end_ns = 0;
};

struct PipelineResult {
  std::vector<std::vector<PipelineTask>> tasks;  // per device, in execution order
  double makespan_ns = 0;                        // last task end
  std::vector<double> busy_ns;                   // per device: sum of its task durations
  std::vector<double> last_end_ns;               // per device: end of its last task
  double bubble_fraction = 0;                    // mean over devices of idle / makespan
  std::vector<std::uint64_t> peak_saved_bytes;   // per device
  std::vector<std::uint64_t> peak_in_flight;     // per device: micro-batch chunks held
};

// forward_ns, backward_ns, saved_bytes: per chunk (C = pp x V entries). p2p_ns: between
// consecutive chunks (forward activation or backward gradient). The order of one device's
// tasks (device < pp) is PipelineOrder.
PipelineResult SimulatePipeline(PipelineSchedule schedule, std::uint64_t pp, std::uint64_t v,
                                std::uint64_t micro_batches, const std::vector<double>& forward_ns,
                                const std::vector<double>& backward_ns, double p2p_ns,
                                const std::vector<std::uint64_t>& saved_bytes);

// The order of device s's tasks (times 0).
std::vector<PipelineTask> PipelineOrder(PipelineSchedule schedule, std::uint64_t pp,
                                        std::uint64_t v, std::uint64_t micro_batches,
                                        std::uint64_t device);

}  // namespace systole
