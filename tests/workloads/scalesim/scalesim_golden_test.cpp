// Compares Systole's SCALE-Sim mode with SCALE-Sim v2's own reports (tests/data/scalesim/<case>,
// produced by running SCALE-Sim v2 at commit 22f88b1 on the cfg/topology stored next to them).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>
#include <vector>

#include "workloads/scalesim/scalesim_run.h"

namespace systole::scalesim {
namespace {

const std::string kData = std::string(SYSTOLE_TEST_DATA) + "/scalesim";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Table = std::vector<std::vector<std::string>>;

Table ParseCsv(const std::string& text) {
  Table t;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::string cur;
    for (char ch : line) {
      if (ch == ',') {
        const auto b = cur.find_first_not_of(' ');
        fields.push_back(b == std::string::npos ? "" : cur.substr(b));
        cur.clear();
      } else {
        cur.push_back(ch);
      }
    }
    EXPECT_TRUE(cur.empty()) << "row without trailing comma: " << line;
    t.push_back(fields);
  }
  return t;
}

// Column-by-column comparison: same header, same row count, every number equal within a
// relative 1e-12 and printed as the same Python type (int vs float).
void ExpectSameReport(const std::string& name, const std::string& expected,
                      const std::string& actual) {
  const Table e = ParseCsv(expected);
  const Table a = ParseCsv(actual);
  ASSERT_EQ(e.size(), a.size()) << name;
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0], a[0]) << name << " header";
  for (std::size_t r = 1; r < e.size(); ++r) {
    ASSERT_EQ(e[r].size(), a[r].size()) << name << " row " << r;
    for (std::size_t c = 0; c < e[r].size(); ++c) {
      const std::string& ev = e[r][c];
      const std::string& av = a[r][c];
      const double ed = std::stod(ev);
      const double ad = std::stod(av);
      const double tol = 1e-12 * std::max(std::fabs(ed), std::fabs(ad));
      EXPECT_LE(std::fabs(ed - ad), tol) << name << " layer " << r - 1 << " column '" << e[0][c]
                                         << "': SCALE-Sim " << ev << ", Systole " << av;
      const bool ef = ev.find_first_of(".e") != std::string::npos;
      const bool af = av.find_first_of(".e") != std::string::npos;
      EXPECT_EQ(ef, af) << name << " layer " << r - 1 << " column '" << e[0][c] << "' printed as "
                        << av << ", SCALE-Sim prints " << ev;
    }
  }
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / "scale.cfg")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

void RunCase(const std::string& name, bool reference) {
  const std::string dir = kData + "/" + name;
  // Benchmark-sized cases: the row-level reference engine would take seconds (minutes under
  // sanitizers); it is checked against the fast engine on smaller shapes instead.
  if (reference && std::filesystem::exists(dir + "/fast_engine_only")) {
    GTEST_SKIP() << "benchmark-sized case, default engine only";
  }
  const std::string out =
      (std::filesystem::temp_directory_path() /
       ("systole_scalesim_" + name + (reference ? "_ref_" : "_fast_") + std::to_string(::getpid())))
          .string();
  ScaleSimRunOptions opt;
  opt.config_path = dir + "/scale.cfg";
  opt.topology_path = dir + "/topology.csv";
  opt.output_dir = out;
  opt.gemm_input = ReadFile(dir + "/input_type").rfind("gemm", 0) == 0;
  opt.reference_engine = reference;
  RunScaleSim(opt);
  for (const char* report :
       {"COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"}) {
    ExpectSameReport(name + "/" + report, ReadFile(dir + "/" + report),
                     ReadFile(out + "/" + report));
  }
  std::filesystem::remove_all(out);
}

class ScaleSimGolden : public testing::TestWithParam<std::string> {};

TEST_P(ScaleSimGolden, ReferenceEngineMatchesScaleSim) { RunCase(GetParam(), true); }
TEST_P(ScaleSimGolden, DefaultEngineMatchesScaleSim) { RunCase(GetParam(), false); }

INSTANTIATE_TEST_SUITE_P(ScaleSim, ScaleSimGolden, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace systole::scalesim
