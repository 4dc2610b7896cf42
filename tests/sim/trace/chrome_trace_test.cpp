#include "sim/trace/chrome_trace.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

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
  // tensor, vector, scalar + 16 DMA queues.
  EXPECT_EQ(tracks.size(), 3u + arch.core.dma.queues);
  EXPECT_TRUE(tracks.count("dma0"));
  EXPECT_EQ(slices, p.instructions.size());
  // Slices are named by the kernel's labels.
  EXPECT_TRUE(names.count("row_max"));
  EXPECT_TRUE(names.count("exp"));
  EXPECT_TRUE(names.count("load_x"));
}

}  // namespace
}  // namespace systole
