// End-to-end tests of the `systole` binary: exit codes, messages, outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include <algorithm>

namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Result RunSystole(const std::string& args) {
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

TEST(Cli, NoArgumentsPrintsUsage) {
  Result r = RunSystole("");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("Usage:"));
  EXPECT_THAT(r.output, testing::HasSubstr("sweep"));
}

TEST(Cli, RunWithoutOptionsRunsTheDefaultWorkload) {
  // A GPT-2-small training step on the baseline design.
  Result r = RunSystole("run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("gpt2-small training step on systole-base"));
  EXPECT_THAT(r.output, testing::HasSubstr("tokens/s"));
  EXPECT_THAT(r.output, testing::HasSubstr("MFU"));
  EXPECT_THAT(r.output, testing::HasSubstr("footprint"));
}

TEST(Cli, VersionAndUnknownCommands) {
  Result r = RunSystole("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::StartsWith("0."));
  // An unknown command is an error even with --help after it.
  r = RunSystole("frobnicate --help");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("unknown command 'frobnicate' (expected one of run,"));
  // Defaults show in a subcommand's help.
  r = RunSystole("kernel --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("--shape TEXT=4096x1024"));  // --shape's default
}

TEST(Cli, FootprintOverCapacityIsAnInputError) {
  // Llama-3-8B's states alone (16 bytes x 8.03e9 parameters) exceed the baseline's 16 GiB.
  Result r = RunSystole("run --workload llama3-8b");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, testing::StartsWith("systole: error: "));
}

TEST(Cli, GemmJsonHasExactCycles) {
  Result r = RunSystole("gemm --M 512 --K 768 --N 3072 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  // WS 128x128, trimmed edges (all folds full here): 144 folds x (128 + 512 + 127 + 127).
  EXPECT_EQ(j["gemms"][0]["cycles"], 144u * 894u);
  EXPECT_EQ(j["gemms"][0]["folds"], 144u);
  // bf16: ifmap 512*768 read once per column fold (24) x 2 bytes.
  EXPECT_EQ(j["gemms"][0]["ifmap_read_bytes"], 512u * 768u * 24u * 2u);
}

TEST(Cli, OverridesApply) {
  Result r = RunSystole(
      "gemm --M 4 --K 4 --N 4 --dataflow os -p core.tensor.rows=4 "
      "core.tensor.cols=4 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["gemms"][0]["cycles"], 10u);  // stream 4 + fill 3 + 3
}

TEST(Cli, OutputIsDeterministic) {
  EXPECT_EQ(RunSystole("run --json -w mlp").output, RunSystole("run --json -w mlp").output);
  EXPECT_EQ(RunSystole("gemm --M 300 --K 200 --N 100 --json").output,
            RunSystole("gemm --M 300 --K 200 --N 100 --json").output);
}

TEST(Cli, BadInputExitsWithTwoAndOneLine) {
  for (const char* args : {"gemm --M 0 --K 1 --N 1", "gemm --M x --K 1 --N 1", "gemm --M 1 --K 1",
                           "gemm --M 1 --K 1 --N 1 --dataflow rs", "run -p core.tensor.rowz=3",
                           "run --arch /nonexistent.toml", "frobnicate",
                           "gemm --M 99999999999 --K 99999999999 --N 99999999999 "
                           "-p core.tensor.rows=1 core.tensor.cols=1"}) {
    Result r = RunSystole(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_THAT(r.output, testing::StartsWith("systole: error: ")) << args;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << r.output;
  }
}

TEST(Cli, FusionSwitchAndMatmulEpilogue) {
  // mlp: 3 layers: bias + relu, bias + relu, bias forward, 2 relu gradients backward.
  Result on = RunSystole("run -w mlp");
  ASSERT_EQ(on.exit_code, 0) << on.output;
  EXPECT_THAT(on.output, testing::HasSubstr("fusion         on: 7 element-wise ops"));
  Result off = RunSystole("run -w mlp --fusion off");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  EXPECT_THAT(off.output, testing::HasSubstr("fusion         off"));
  Result k = RunSystole("kernel matmul --M 256 --K 256 --N 256 --epilogue bias,gelu,residual");
  ASSERT_EQ(k.exit_code, 0) << k.output;
  EXPECT_THAT(k.output, testing::HasSubstr("epilogue bias,gelu,residual"));
  Result bad = RunSystole("kernel matmul --M 256 --K 256 --N 256 --epilogue softmax");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

TEST(Cli, ParamsListsEveryKey) {
  Result r = RunSystole("params");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, testing::HasSubstr("core.tensor.rows"));
  EXPECT_THAT(r.output, testing::HasSubstr("an integer in [1, 65536]"));
}

TEST(Cli, RunOutWritesReportAndResolvedConfig) {
  const std::string dir = testing::TempDir() + "systole_run_out";
  Result r = RunSystole("run -w mlp --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream report(dir + "/report.json");
  EXPECT_TRUE(report.good());
  std::ifstream ops(dir + "/ops.csv");
  std::string header;
  std::getline(ops, header);
  EXPECT_EQ(header.rfind("op,phase,role,kind,repeats,time_ns", 0), 0u);
  std::ifstream cfg(dir + "/config.resolved.toml");
  std::string text((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, testing::HasSubstr("rows = 128  # default"));
  // report.html (tests/sim/report/html_report_test.cpp checks what it shows).
  std::ifstream html(dir + "/report.html");
  std::string first;
  std::getline(html, first);
  EXPECT_EQ(first, "<!DOCTYPE html>");
}

TEST(Cli, ParallelRunWritesItsReports) {
  const std::string dir = testing::TempDir() + "systole_parallel_out";
  Result r = RunSystole("run -w gpt3-125m --arch " + std::string(SYSTOLE_SOURCE_DIR) +
                        "/configs/arch/trn1-32xlarge.toml --parallel dp=2,tp=4,pp=4 --zero 1 --set "
                        "training.global_batch=16 --out " +
                        dir);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, testing::HasSubstr("dp 2 x tp 4 x pp 4 = 32 devices, ZeRO 1"));
  EXPECT_THAT(r.output, testing::HasSubstr("global batch 16 = micro-batch 1 x 8 accumulation"));
  std::ifstream report(dir + "/report.json");
  const nlohmann::json j = nlohmann::json::parse(report);
  EXPECT_EQ(j["devices"], 32u);
  EXPECT_EQ(j["stages"].size(), 4u);
  EXPECT_GT(j["comm_exposed_ns"].get<double>(), 0.0);
  EXPECT_LE(j["comm_exposed_ns"].get<double>(), j["comm_total_ns"].get<double>());
  std::ifstream trace(dir + "/trace.json");
  EXPECT_GT(nlohmann::json::parse(trace)["traceEvents"].size(), 100u);
  std::ifstream ops(dir + "/ops.csv");
  const std::string csv((std::istreambuf_iterator<char>(ops)), std::istreambuf_iterator<char>());
  EXPECT_THAT(csv, testing::HasSubstr(",kernels,chunks\n"));
  EXPECT_THAT(csv, testing::HasSubstr("tensor_parallel.chunk0,forward,collective,all-reduce,8,"));
  EXPECT_THAT(csv, testing::HasSubstr("data_parallel.stage0,step,collective,data-parallel,1,"));
}

TEST(Cli, BadParallelLayoutsExitTwoWithoutOutputs) {
  const std::string dir = testing::TempDir() + "systole_parallel_bad";
  const std::string trn1 =
      " --arch " + std::string(SYSTOLE_SOURCE_DIR) + "/configs/arch/trn1-32xlarge.toml";
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--parallel dp=3" + trn1, "--parallel dp=3,tp=1,pp=1: 3 devices do not divide"},
           {"--parallel tp=16", "--parallel tp=16: larger than model.heads = 12"},
           {"--parallel pp=24",
            "--parallel pp=24: 24 pipeline stages are more than "
            "model.layers = 12"},
           {"--parallel dp=2,tp=0", "--parallel 'dp=2,tp=0': item 'tp=0' is invalid"}}) {
    Result r = RunSystole("run -w gpt3-125m " + args + " --out " + dir);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_THAT(r.output, testing::HasSubstr(message)) << args;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::ifstream(dir + "/report.json").good()) << args;
  }
}

}  // namespace
