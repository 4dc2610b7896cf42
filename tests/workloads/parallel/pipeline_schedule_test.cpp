// Pipeline schedules against their closed forms (Narayanan et al. 2021, arXiv:2104.04473)
// and their in-flight activation counts.
#include "workloads/parallel/pipeline_schedule.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

PipelineResult Equal(PipelineSchedule s, std::uint64_t pp, std::uint64_t v, std::uint64_t m,
                     double f, double b, double p2p = 0) {
  return SimulatePipeline(s, pp, v, m, std::vector<double>(pp * v, f),
                          std::vector<double>(pp * v, b), p2p,
                          std::vector<std::uint64_t>(pp * v, 1));
}

TEST(PipelineSchedule, GpipeAndOneFOneBTakeMPlusPMinusOneSlots) {
  for (auto s : {PipelineSchedule::kGpipe, PipelineSchedule::kOneFOneB}) {
    // pp 4, m 8, F 10, B 20: (8 + 4 - 1) x (10 + 20) = 330.
    const PipelineResult r = Equal(s, 4, 1, 8, 10, 20);
    EXPECT_DOUBLE_EQ(r.makespan_ns, 330.0) << PipelineScheduleName(s);
    // Every device busy m x (F + B) = 240 of 330: bubble (pp-1)/(m+pp-1) = 3/11.
    EXPECT_DOUBLE_EQ(r.bubble_fraction, 3.0 / 11.0);
  }
}

TEST(PipelineSchedule, PointToPointDelaysEachStageCrossing) {
  // The first forward crosses 3 boundaries and the last backward 3: 6 x 5 more than 330
  // (with 1F1B the steady state is stalled by the same crossings).
  EXPECT_DOUBLE_EQ(Equal(PipelineSchedule::kGpipe, 4, 1, 8, 10, 20, 5).makespan_ns, 330.0 + 30.0);
}

TEST(PipelineSchedule, OneFOneBKeepsAtMostPpMinusSMicroBatches) {
  const PipelineResult g = Equal(PipelineSchedule::kGpipe, 4, 1, 8, 10, 20);
  const PipelineResult o = Equal(PipelineSchedule::kOneFOneB, 4, 1, 8, 10, 20);
  for (std::uint64_t s = 0; s < 4; ++s) {
    EXPECT_EQ(g.peak_in_flight[s], 8u);      // GPipe: every micro-batch
    EXPECT_EQ(o.peak_in_flight[s], 4u - s);  // 1F1B: pp - s
    EXPECT_EQ(o.peak_saved_bytes[s], 4u - s);
  }
}

TEST(PipelineSchedule, InterleavedShrinksTheBubbleByV) {
  // pp 4, V 2, m 8, chunk F 5 and B 10 (a stage of F 10, B 20 cut in two):
  // m V (F + B) + (pp - 1)(F + B) = 8 x 2 x 15 + 3 x 15 = 285 (= (m + (pp-1)/V) x (10 + 20)).
  const PipelineResult r = Equal(PipelineSchedule::kInterleaved, 4, 2, 8, 5, 10);
  EXPECT_DOUBLE_EQ(r.makespan_ns, 285.0);
  // Each device: 240 busy of 285.
  EXPECT_DOUBLE_EQ(r.bubble_fraction, 45.0 / 285.0);
  // Megatron's warm-up: (pp - s - 1) x 2 + (V - 1) x pp forwards, then one more in flight.
  EXPECT_EQ(r.peak_in_flight[0], 3u * 2 + 4 + 1);
  EXPECT_EQ(r.peak_in_flight[3], 0u * 2 + 4 + 1);
}

TEST(PipelineSchedule, EveryTaskRunsOnceAfterItsInput) {
  const std::uint64_t pp = 3, v = 2, m = 6;
  const PipelineResult r =
      SimulatePipeline(PipelineSchedule::kInterleaved, pp, v, m, {1, 2, 3, 4, 5, 6},
                       {2, 4, 6, 8, 10, 12}, 0.5, std::vector<std::uint64_t>(6, 1));
  std::vector<std::vector<double>> fe(6, std::vector<double>(m, -1)), be = fe;
  for (const auto& dev : r.tasks) {
    EXPECT_EQ(dev.size(), 2 * m * v);
    for (const PipelineTask& t : dev) (t.backward ? be : fe)[t.chunk][t.micro_batch] = t.end_ns;
  }
  for (const auto& dev : r.tasks) {
    for (const PipelineTask& t : dev) {
      if (!t.backward && t.chunk > 0) {
        EXPECT_GE(t.start_ns, fe[t.chunk - 1][t.micro_batch] + 0.5);
      }
      if (t.backward) {
        EXPECT_GE(t.start_ns, t.chunk + 1 < 6 ? be[t.chunk + 1][t.micro_batch] + 0.5
                                              : fe[t.chunk][t.micro_batch]);
      }
    }
  }
}

}  // namespace
}  // namespace systole
