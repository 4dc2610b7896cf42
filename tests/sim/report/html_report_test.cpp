// report.html (sim/report/html_report.h): self-contained, deterministic, escaped; and, when
// headless Chromium is installed, the page loads without script errors and its charts hold
// the run's data (read back from the DOM), with a screenshot in the test output directory.
#include "sim/report/html_report.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "base/text_escape.h"
#include "sim/config/arch_config.h"
#include "sim/report/chartjs_asset.h"
#include "workloads/zoo/workload_config.h"

namespace systole {
namespace {

std::string Between(const std::string& text, const std::string& open, const std::string& close) {
  const std::size_t a = text.find(open);
  if (a == std::string::npos) return "";
  const std::size_t b = text.find(close, a + open.size());
  if (b == std::string::npos) return "";
  return text.substr(a + open.size(), b - a - open.size());
}

struct MlpStep {
  ArchConfig arch;
  TrainingStep step;
  StepReport report;
  std::string json;
};

MlpStep MlpRun(const std::string& name = "") {
  MlpStep r;
  r.arch = LoadArchConfig("");
  r.step = BuildTrainingStep(LoadWorkloadConfig(WorkloadPresetPath("mlp")));
  if (!name.empty()) r.step.config.model.name = name;
  r.report = RunTrainingStep(r.arch, r.step);
  r.json = StepReportJson(r.arch, r.step, r.report);
  return r;
}

TEST(HtmlReport, SelfContainedDeterministicAndHoldsEveryOp) {
  const MlpStep r = MlpRun();
  const std::string html = StepReportHtml(r.arch, r.step, r.report, r.json);
  EXPECT_EQ(html, StepReportHtml(r.arch, r.step, r.report, r.json));  // byte-identical
  // Chart.js is inlined whole; nothing is loaded from elsewhere.
  EXPECT_NE(html.find(std::string(ChartJsSource())), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@DATA@"), std::string::npos);  // every marker filled
  EXPECT_EQ(html.find("@TITLE@"), std::string::npos);
  EXPECT_EQ(html.find("@CHARTJS@"), std::string::npos);
  // The data block carries report.json as written and one entry per ops.csv row.
  const nlohmann::json data = nlohmann::json::parse(
      Between(html, "<script type=\"application/json\" id=\"systole-data\">", "</script>"));
  EXPECT_EQ(data["report"], nlohmann::json::parse(r.json));
  EXPECT_EQ(data["ops"]["name"].size(), r.report.ops.size());
  EXPECT_EQ(data["ops"]["time_ns"].size(), r.report.ops.size());
  EXPECT_DOUBLE_EQ(data["hbm_gbps"].get<double>(), r.arch.hbm.PeakGBps());
}

TEST(HtmlReport, ChartJsCanBeInlined) {
  // An inline <script> ends at the first "</script": the vendored file must hold none.
  EXPECT_EQ(std::string(ChartJsSource()).find("</script"), std::string::npos);
  EXPECT_EQ(ChartJsSource().substr(0, 20), "/*!\n * Chart.js v4.6");
}

TEST(HtmlReport, NamesAreEscaped) {
  const MlpStep r = MlpRun("</script><b>x&y");
  const std::string html = StepReportHtml(r.arch, r.step, r.report, r.json);
  EXPECT_NE(html.find("<title>&lt;/script&gt;&lt;b&gt;x&amp;y training step"), std::string::npos);
  EXPECT_EQ(html.find("</script><b>"), std::string::npos);
  const nlohmann::json data = nlohmann::json::parse(
      Between(html, "<script type=\"application/json\" id=\"systole-data\">", "</script>"));
  EXPECT_EQ(data["report"]["workload"], "</script><b>x&y");
}

// --- Headless Chromium ---------------------------------------------------------------------

std::string Chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

int Shell(const std::string& cmd, std::string* out) {
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 65536> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Where the screenshot goes: $SYSTOLE_TEST_OUTPUT_DIR, else test-output/ under the working
// directory (the build directory under ctest).
std::filesystem::path OutputDir() {
  const char* env = std::getenv("SYSTOLE_TEST_OUTPUT_DIR");
  std::filesystem::path dir =
      env && *env ? std::filesystem::path(env) : std::filesystem::current_path() / "test-output";
  dir /= "html_report";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(HtmlReport, ChromiumLoadsThePageAndTheChartsHoldTheData) {
  const std::string chromium = Chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it): the page "
                    "was not loaded in a browser";
  }
  const std::filesystem::path out = OutputDir();
  const std::string run_dir = (out / "run").string();
  std::string log;
  ASSERT_EQ(Shell(std::string(SYSTOLE_BINARY) + " run -w mlp --out " + run_dir + " 2>&1", &log), 0)
      << log;
  const std::string page = run_dir + "/report.html";
  // A profile of its own (engineers and CI may run this at once); no network is needed.
  const std::string profile = (out / ("profile." + std::to_string(getpid()))).string();
  // One browser start both prints the DOM after the page's scripts ran and takes the
  // screenshot (each start costs seconds).
  const std::string screenshot = (out / "report.png").string();
  std::filesystem::remove(screenshot);
  std::string dom;
  const int rc = Shell("timeout 60 " + chromium +
                           " --headless --disable-gpu --no-sandbox --no-first-run "
                           "--disable-extensions --disable-background-networking "
                           "--disable-component-update --disable-sync --hide-scrollbars "
                           "--window-size=1400,3200 --user-data-dir=" +
                           profile + " --screenshot=" + screenshot + " --dump-dom file://" + page +
                           " 2>/dev/null",
                       &dom);
  ASSERT_EQ(rc, 0) << dom;
  std::filesystem::remove_all(profile);
  EXPECT_GT(std::filesystem::file_size(screenshot), 10000u) << screenshot;
  std::cout << "screenshot: " << screenshot << "\n";

  // The page's script wrote what the charts hold into <pre id="systole-check">.
  const std::string check_text =
      Between(dom.substr(std::min(dom.size(), dom.find("id=\"systole-check\""))), ">", "</pre>");
  ASSERT_FALSE(check_text.empty()) << dom.substr(0, 2000);
  const nlohmann::json check = nlohmann::json::parse(check_text);
  ASSERT_EQ(check["status"], "ok") << check.dump(2);
  EXPECT_TRUE(check["errors"].empty()) << check.dump(2);
  const nlohmann::json& charts = check["charts"];

  // Expected values from report.json and ops.csv as written.
  const nlohmann::json report = nlohmann::json::parse(ReadFile(run_dir + "/report.json"));
  const auto rows = ParseCsv(ReadFile(run_dir + "/ops.csv"));
  ASSERT_GT(rows.size(), 1u);
  std::map<std::string, int> col;
  for (std::size_t c = 0; c < rows[0].size(); ++c) col[rows[0][c]] = static_cast<int>(c);
  std::size_t timed = 0, roofline_points = 0;
  std::set<std::string> kinds;
  double step_ns = 0, timeline_ns = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const double t = std::stod(row[col["time_ns"]]);
    if (t <= 0) continue;
    ++timed;
    kinds.insert(row[col["kind"]]);
    const double repeats = std::stod(row[col["repeats"]]);
    step_ns += t * repeats;
    timeline_ns += t;
    if (std::stod(row[col["flops"]]) > 0 && std::stod(row[col["hbm_bytes"]]) > 0) {
      ++roofline_points;
    }
  }
  ASSERT_GT(timed, 0u);
  const double step_ms = report["step_time_ns"].get<double>() / 1e6;
  // ops.csv rounds times to 0.001 ns: sums agree to far better than 1e-6.
  EXPECT_NEAR(step_ns / 1e6, step_ms, 1e-6 * step_ms);
  EXPECT_EQ(charts["phase_ms"]["points"], 3);  // forward, backward, optimizer
  EXPECT_NEAR(charts["phase_ms"]["sum"].get<double>(), step_ms, 1e-9 * step_ms);
  EXPECT_EQ(charts["kind_ms"]["points"], kinds.size());
  EXPECT_NEAR(charts["kind_ms"]["sum"].get<double>(), step_ms, 1e-6 * step_ms);
  EXPECT_EQ(charts["top_ops_ms"]["points"], std::min<std::size_t>(20, timed));
  EXPECT_EQ(charts["roofline"]["points"], roofline_points);
  EXPECT_DOUBLE_EQ(charts["roof_peak_tflops"].get<double>(),
                   report["peak_flops_per_ns"].get<double>() / 1000);
  EXPECT_EQ(charts["timeline_us"]["points"], timed);  // one bar per timed op
  EXPECT_NEAR(charts["timeline_us"]["sum"].get<double>(), timeline_ns / 1000,
              1e-6 * timeline_ns / 1000);
  EXPECT_EQ(charts["engine_ms"]["points"], 2);
  EXPECT_NEAR(charts["engine_ms"]["sum"].get<double>(), step_ms, 1e-6 * step_ms);
  const double gib = 1024.0 * 1024.0 * 1024.0;
  const double footprint_gib = report["footprint"]["total_bytes"].get<double>() / gib;
  EXPECT_EQ(charts["footprint_gib"]["points"], 6);  // the six parts
  EXPECT_NEAR(charts["footprint_gib"]["sum"].get<double>(), footprint_gib, 1e-9 * footprint_gib);
}

}  // namespace
}  // namespace systole
