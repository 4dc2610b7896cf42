// Sweep specs: axes, sampling, constraints, Pareto front and the errors bad specs give.
#include "sim/sweep/sweep_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/error.h"
#include "sim/sweep/sweep_run.h"

namespace systole {
namespace {

std::string WriteSpec(const std::string& name, const std::string& text) {
  const std::string dir = testing::TempDir() + "/sweep_spec_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string ErrorOf(const std::string& text) {
  try {
    (void)ExpandSweep(LoadSweepSpec(WriteSpec("bad.toml", text)));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepSpec, GridIsTheProductLastAxisFastest) {
  const SweepSpec spec = LoadSweepSpec(WriteSpec("grid.toml", R"(
command = "kernel"
args = ["matmul"]
[[axis]]
param = "core.tensor.rows"
values = [64, 128]
[[axis]]
option = "--level"
values = ["naive", "hoist", "block3"]
)"));
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  ASSERT_EQ(points.size(), 6u);  // 2 x 3
  EXPECT_EQ(points[1].index, 1u);
  EXPECT_EQ(points[1].inputs.at("core.tensor.rows"), "64");
  EXPECT_EQ(points[1].inputs.at("--level"), "hoist");
  EXPECT_EQ(points[3].inputs.at("core.tensor.rows"), "128");
  EXPECT_EQ(points[3].inputs.at("--level"), "naive");
  EXPECT_EQ(points[5].argv,
            (std::vector<std::string>{"kernel", "matmul", "-p", "core.tensor.rows=128", "--level",
                                      "block3"}));
}

TEST(SweepSpec, RangesAndLogRanges) {
  const SweepSpec spec = LoadSweepSpec(WriteSpec("ranges.toml", R"(
command = "run"
[[axis]]
set = "training.micro_batch"
range = [4, 16, 4]
[[axis]]
param = "core.clock_ghz"
log_range = [0.5, 2.0, 3]
)"));
  ASSERT_EQ(spec.axes.size(), 2u);
  EXPECT_EQ(spec.axes[0].values,
            (std::vector<std::string>{"4", "8", "12", "16"}));                  // stop inclusive
  EXPECT_EQ(spec.axes[1].values, (std::vector<std::string>{"0.5", "1", "2"}));  // x2 per step
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[0].argv, (std::vector<std::string>{"run", "--set", "training.micro_batch=4",
                                                      "-p", "core.clock_ghz=0.5"}));
}

TEST(SweepSpec, LatinHypercubeUsesEveryStratumOnce) {
  // 8 samples over two axes of 8 values: every value of each axis appears exactly once.
  const SweepSpec spec = LoadSweepSpec(WriteSpec("lhs.toml", R"(
command = "run"
[[axis]]
param = "a"
range = [1, 8, 1]
[[axis]]
param = "b"
range = [10, 80, 10]
[sampling]
method = "lhs"
points = 8
seed = 7
)"));
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  ASSERT_EQ(points.size(), 8u);
  std::set<std::string> a;
  std::set<std::string> b;
  for (const SweepPoint& p : points) {
    a.insert(p.inputs.at("a"));
    b.insert(p.inputs.at("b"));
  }
  EXPECT_EQ(a.size(), 8u);
  EXPECT_EQ(b.size(), 8u);
  // The same seed gives the same points; another seed other points.
  const std::vector<SweepPoint> again = ExpandSweep(spec);
  for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].argv, again[i].argv);
  SweepSpec other = spec;
  other.seed = 8;
  EXPECT_NE(SweepId(spec), SweepId(other));
}

TEST(SweepSpec, ConstraintsDropPointsButKeepIndices) {
  const SweepSpec spec = LoadSweepSpec(WriteSpec("c.toml", R"(
command = "run"
constraints = ["core.tensor.rows <= core.tensor.cols && core.tensor.rows * 2 >= 128"]
[[axis]]
param = "core.tensor.rows"
values = [32, 64, 128]
[[axis]]
param = "core.tensor.cols"
values = [64, 128]
)"));
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  // Kept: (64,64) index 2, (64,128) index 3, (128,128) index 5; 32 fails rows*2 >= 128 and
  // (128,64) fails rows <= cols.
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].index, 2u);
  EXPECT_EQ(points[1].index, 3u);
  EXPECT_EQ(points[2].index, 5u);
}

TEST(SweepSpec, ConstraintArithmetic) {
  const std::map<std::string, std::string> in = {{"a", "6"}, {"b.c", "2"}};
  EXPECT_TRUE(EvaluateConstraint("a / b.c == 3", in, "t"));
  EXPECT_TRUE(EvaluateConstraint("(a - 2) * b.c == 8", in, "t"));    // (6-2)*2
  EXPECT_TRUE(EvaluateConstraint("-a + 10 > 3 || a < 0", in, "t"));  // 4 > 3
  EXPECT_FALSE(EvaluateConstraint("a != 6", in, "t"));
  EXPECT_THROW(EvaluateConstraint("a <= zz", in, "t"), InputError);
  EXPECT_THROW(EvaluateConstraint("a <=", in, "t"), InputError);
  EXPECT_THROW(EvaluateConstraint("a / (b.c - 2)", in, "t"), InputError);
}

TEST(SweepSpec, BadSpecsNameTheLineAndKey) {
  EXPECT_THAT(ErrorOf("command = \"frobnicate\"\n"),
              testing::HasSubstr("'command' expects one of"));
  EXPECT_THAT(ErrorOf("command = \"run\"\n"), testing::HasSubstr("at least one [[axis]]"));
  EXPECT_THAT(ErrorOf("command = \"run\"\n[[axis]]\nparam = \"x\"\nvalues = [1]\nbogus = 2\n"),
              testing::HasSubstr("bad.toml:5: unknown key 'axis.bogus'"));
  EXPECT_THAT(ErrorOf("command = \"run\"\n[[axis]]\nparam = \"x\"\nrange = [4, 1, 1]\n"),
              testing::HasSubstr("'range' expects start <= stop"));
  EXPECT_THAT(
      ErrorOf("command = \"run\"\n[[axis]]\nparam = \"x\"\nvalues = [1]\nrange = [1, 2, 1]\n"),
      testing::HasSubstr("exactly one of 'values', 'range' or 'log_range'"));
  EXPECT_THAT(ErrorOf("command = \"run\"\nconstraints = [\"y > 1\"]\n[[axis]]\nparam = \"x\"\n"
                      "values = [1]\n"),
              testing::HasSubstr("'y' is not an axis of the sweep"));
  EXPECT_THAT(ErrorOf("command = \"run\"\n[[axis]]\nparam = \"x\"\nrange = [1, 100000000, 1]\n"),
              testing::HasSubstr("limit 10000000"));
  EXPECT_THAT(ErrorOf("command = \"run\"\nargs = [\"--out\", \"d\"]\n[[axis]]\nparam = \"x\"\n"
                      "values = [1]\n"),
              testing::HasSubstr("'--out' is set by the sweep itself"));
  EXPECT_THAT(ErrorOf("command = \"run\"\n[[axis]]\nparam = \"x\"\nvalues = [1]\n[sampling]\n"
                      "method = \"lhs\"\n"),
              testing::HasSubstr("'sampling.points' is required for lhs"));
  EXPECT_THAT(ErrorOf("command = [\n"), testing::HasSubstr("bad.toml:"));
}

TEST(SweepPareto, FrontKeepsTheNonDominatedPoints) {
  // minimize time, maximize mfu. p1 (10, 0.5) and p2 (5, 0.3) trade off; p3 (12, 0.4) is
  // dominated by p1 (slower and lower MFU); p4 equals p1 and is kept too (not strictly worse).
  const std::vector<ParetoPoint> points = {
      {1, {10, 0.5}}, {2, {5, 0.3}}, {3, {12, 0.4}}, {4, {10, 0.5}}};
  const std::vector<ParetoPoint> front = ParetoFront(points, 1);
  ASSERT_EQ(front.size(), 3u);
  EXPECT_EQ(front[0].point, 1u);
  EXPECT_EQ(front[1].point, 2u);
  EXPECT_EQ(front[2].point, 4u);
}

TEST(SweepPareto, ReportFigureByDottedPath) {
  const std::string report = R"({"a": {"b": [1, {"c": 2.5}]}, "s": "x"})";
  double v = 0;
  EXPECT_TRUE(ReportFigure(report, "a.b.1.c", v));
  EXPECT_EQ(v, 2.5);
  EXPECT_TRUE(ReportFigure(report, "a.b.0", v));
  EXPECT_EQ(v, 1);
  EXPECT_FALSE(ReportFigure(report, "s", v));  // not a number
  EXPECT_FALSE(ReportFigure(report, "a.b.2", v));
  EXPECT_FALSE(ReportFigure(report, "nope", v));
}

}  // namespace
}  // namespace systole
