#include "sim/trace/chrome_trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "sim/config/arch_config.h"
#include "workloads/kernel/reference_kernels.h"

namespace systole {
namespace {

TEST(ChromeTrace, OneTrackPerEngineAndOneSlicePerInstruction) {
  const ArchConfig arch = LoadArchConfig("");
  ElementwiseKernelOptions o;
  o.kind = "softmax";
  o.rows = 256;
  o.cols = 512;
  const Program p = BuildElementwiseKernel(arch, o);
  CoreRunOptions opt;
  opt.record_trace = true;
  const CoreRunResult r = RunCore(arch, p, opt);
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(p, r));
  std::set<std::string> tracks;
  std::size_t slices = 0;
  std::set<std::string> names;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") tracks.insert(e["args"]["name"]);
    if (e["ph"] == "X") {
      ++slices;
      names.insert(e["name"].get<std::string>());
      EXPECT_GE(e["dur"].get<double>(), 0.0);
    }
  }
  // tensor, vector, scalar + 16 DMA queues (and perhaps extra rows of them, "dma3 +1").
  std::set<std::string> engines;
  for (const std::string& t : tracks) engines.insert(t.substr(0, t.find(' ')));
  EXPECT_EQ(engines.size(), 3u + arch.core.dma.queues);
  EXPECT_TRUE(tracks.count("dma0"));
  EXPECT_EQ(slices, p.instructions.size());
  // Slices are named by the kernel's labels.
  EXPECT_TRUE(names.count("row_max"));
  EXPECT_TRUE(names.count("exp"));
  EXPECT_TRUE(names.count("load_x"));
}

// Perfetto needs the slices of a track to nest: instructions in flight together (DMA
// queues, the pipelined tensor engine) go to extra rows, never overlapping in one row.
TEST(ChromeTrace, SlicesOfATrackNeverOverlapAndCarryTheirWaits) {
  const ArchConfig arch = LoadArchConfig("");
  MatmulKernelOptions o;
  o.m = 256;
  o.k = 256;
  o.n = 512;
  o.level = "block3";
  const Program p = BuildMatmulKernel(arch, o);
  CoreRunOptions opt;
  opt.record_trace = true;
  const CoreRunResult r = RunCore(arch, p, opt);
  // Without rows, this kernel's DMA queues have slices that overlap partially.
  std::size_t overlapping_pairs = 0;
  for (const TraceSlice& a : r.slices) {
    for (const TraceSlice& b : r.slices) {
      if (a.engine == b.engine && a.start_ns < b.start_ns && b.start_ns < a.end_ns &&
          a.end_ns < b.end_ns) {
        ++overlapping_pairs;
      }
    }
  }
  ASSERT_GT(overlapping_pairs, 0u);

  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(p, r));
  std::map<int, std::vector<std::pair<double, double>>> rows;  // tid -> slices
  std::map<int, std::string> row_names;
  std::size_t slices = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") {
      row_names[e["tid"].get<int>()] = e["args"]["name"].get<std::string>();
    }
    if (e["ph"] != "X") continue;
    ++slices;
    const double ts = e["ts"].get<double>();
    rows[e["tid"].get<int>()].push_back({ts, ts + e["dur"].get<double>()});
    const std::uint32_t id = e["args"]["id"].get<std::uint32_t>();
    EXPECT_EQ(e["args"]["waits"].get<std::vector<std::uint32_t>>(),
              p.instructions[id].waits.ToVector());
  }
  EXPECT_EQ(slices, p.instructions.size());
  bool extra_rows = false;
  for (auto& [tid, list] : rows) {
    ASSERT_TRUE(row_names.count(tid)) << "slice on an unnamed track " << tid;
    extra_rows = extra_rows || row_names[tid].find(" +") != std::string::npos;
    std::sort(list.begin(), list.end());
    for (std::size_t i = 1; i < list.size(); ++i) {
      EXPECT_LE(std::llround(list[i - 1].second * 1000), std::llround(list[i].first * 1000))
          << row_names[tid];
    }
  }
  EXPECT_TRUE(extra_rows);
}

}  // namespace
}  // namespace systole
