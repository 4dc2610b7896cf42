// `systole compare`: the side-by-side table and the command end to end.
#include "sim/compare/compare_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace systole {
namespace {

TEST(Compare, TableHasOneRowPerFigureAndRatiosToTheFirstChip) {
  std::vector<CompareRun> runs(3);
  runs[0].arch = "a.toml";
  runs[0].report_json = R"({"arch": "A", "step_time_ns": 2000000.5, "mfu": 0.25,
                            "footprint": {"total_bytes": 1024}, "ops": [1, 2]})";
  runs[1].arch = "b.toml";
  runs[1].report_json = R"({"arch": "B", "step_time_ns": 1000000.25, "mfu": 0.5,
                            "footprint": {"total_bytes": 1024}})";
  runs[2].arch = "c.toml";
  runs[2].exit_code = 2;
  runs[2].error = "c.toml: cannot open architecture file: no such file";
  EXPECT_EQ(
      FormatComparison("mlp", runs),
      "mlp on 3 chips (ratios to A)\n"
      "figure                         A                 B  c.toml\n"
      "file                      a.toml            b.toml  c.toml\n"
      "step_time_ns           2000000.5  1000000.2 (0.5x)   error\n"  // 1000000.25 / 2000000.5
      "mfu                         0.25          0.5 (2x)   error\n"
      "footprint.total_bytes       1024         1024 (1x)   error\n"
      "error: c.toml: c.toml: cannot open architecture file: no such file\n");
}

struct Result {
  int exit_code = -1;
  std::string output;
};

Result RunSystole(const std::string& args) {
  Result r;
  FILE* pipe = popen((std::string(SYSTOLE_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(Compare, TwoChipsEndToEnd) {
  const std::string arch = std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/";
  Result r = RunSystole("compare --workload mlp --json -j 2 --arch " + arch +
                        "systole-base.toml --arch " + arch + "tpu-v5e.toml");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["report"]["arch"], "systole-base");
  EXPECT_EQ(j["runs"][1]["report"]["arch"], "tpu-v5e");
  // The same workload on both: the same FLOPs, different times.
  EXPECT_EQ(j["runs"][0]["report"]["flops_per_step"], j["runs"][1]["report"]["flops_per_step"]);
  EXPECT_NE(j["runs"][0]["report"]["step_time_ns"], j["runs"][1]["report"]["step_time_ns"]);
}

TEST(Compare, AFailingChipIsShownAndExitsTwo) {
  const std::string arch = std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/";
  Result r = RunSystole("compare --workload mlp --arch " + arch + "systole-base.toml --arch " +
                        arch + "no-such-chip.toml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("error: " + arch + "no-such-chip.toml: "));
  EXPECT_THAT(r.output, testing::HasSubstr("step_time_ns"));
  r = RunSystole("compare --arch " + arch + "systole-base.toml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("at least two --arch"));
}

}  // namespace
}  // namespace systole
