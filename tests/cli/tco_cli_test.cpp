// End-to-end: `systole tco`, the energy figures of `run` and `kernel`, energy parameters in
// `systole params`; bad cost input exits 2 with one line and writes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Result Systole(const std::string& args) {
  Result r;
  const std::string cmd = std::string(SYSTOLE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(TcoCli, WritesReportChartAndTable) {
  const std::string dir = testing::TempDir() + "systole_tco_out";
  std::filesystem::remove_all(dir);
  Result r = Systole("tco -w mlp --tokens 2e12 --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("AWS trn1.32xlarge on-demand"));
  EXPECT_THAT(r.output, testing::HasSubstr("break-even"));
  std::ifstream report(dir + "/report.json");
  const nlohmann::json j = nlohmann::json::parse(report);
  EXPECT_EQ(j["schema"], "systole.tco/1");
  EXPECT_EQ(j["options"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/tco.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/step.json"));
}

TEST(TcoCli, BadInputExitsTwoAndWritesNothing) {
  const std::string dir = testing::TempDir() + "systole_tco_bad";
  std::filesystem::remove_all(dir);
  Result zero = Systole("tco -w mlp --tokens 0 --out " + dir);
  EXPECT_EQ(zero.exit_code, 2) << zero.output;
  EXPECT_THAT(zero.output, testing::HasSubstr("--tokens '0'"));
  const std::string bad = testing::TempDir() + "bad_cost.toml";
  std::ofstream(bad) << "[option]\nkind = \"cloud\"\nname = \"x\"\n[cloud]\nprice = 3\n";
  Result unknown = Systole("tco -w mlp --tokens 1e9 --cost " + bad + " --out " + dir);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_THAT(unknown.output, testing::HasSubstr(bad + ":5: unknown key 'cloud.price'"));
  // One line.
  EXPECT_EQ(unknown.output.find('\n'), unknown.output.size() - 1) << unknown.output;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(EnergyCli, ParamsKernelAndRunReportEnergy) {
  Result p = Systole("params");
  EXPECT_THAT(p.output, testing::HasSubstr("core.tensor.energy_pj_per_mac_bf16"));
  EXPECT_THAT(p.output, testing::HasSubstr("Horowitz ISSCC 2014"));
  Result k = Systole("kernel matmul --M 512 --K 512 --N 512 --json");
  ASSERT_EQ(k.exit_code, 0) << k.output;
  const nlohmann::json kj = nlohmann::json::parse(k.output);
  EXPECT_GT(kj["energy_j"].get<double>(), 0.0);
  EXPECT_EQ(kj["activity"]["macs_bf16"].get<double>(), 512.0 * 512 * 512);
  Result run = Systole("run -w mlp");
  EXPECT_THAT(run.output, testing::HasSubstr("J per step"));
  EXPECT_THAT(run.output, testing::HasSubstr("W average"));
}

}  // namespace
