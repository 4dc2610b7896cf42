// `systole collective`: output, JSON, and bad input (one line, exit 2).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "sim/cli/collective_command.h"

namespace systole {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Result RunCollective(const std::string& args) {
  Result r;
  const std::string cmd = std::string(SYSTOLE_BINARY) + " collective " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

const std::string kSwitch8 =
    " -p system.chips_per_node=8 -p system.topology=switch -p system.links_per_chip=4"
    " -p system.link_bandwidth_gbps=25 -p system.link_latency_ns=1000";

TEST(CollectiveCli, RingAllReduceJson) {
  const Result r = RunCollective("allreduce --bytes 8e8 --ranks 8 --algo ring --json" + kSwitch8);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  // 2 x 7/8 x 8e8 B / 100 GB/s + 14 x 1 us (Collective.RingAllReduceClosedForm).
  EXPECT_DOUBLE_EQ(j["time_ns"].get<double>(), 14e6 + 14'000);
  EXPECT_EQ(j["algo"], "ring");
  EXPECT_EQ(j["levels"][1]["ranks"], 8);
}

TEST(CollectiveCli, SummaryAndNodesOverride) {
  const Result r =
      RunCollective("allreduce --bytes 1GiB --ranks 64 --arch " + std::string(SYSTOLE_SOURCE_DIR) +
                    "/configs/arch/trn1-32xlarge.toml -p system.nodes=2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("group spread: 2 per chip x 16 chips per node x 2 nodes"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("algorithm: hierarchical (fastest)"), std::string::npos) << r.out;
}

TEST(CollectiveCli, BadInputIsOneLineAndExitTwo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"allreduce --bytes 0 --ranks 8" + kSwitch8,
       "systole: error: --bytes = 0: a collective needs at least 1 byte\n"},
      {"allreduce --bytes 1e9 --ranks 9" + kSwitch8,
       "systole: error: collective ranks = 9: 9 ranks (stride 1, first 0) do not fit the "
       "system's 8 ranks (system.nodes 1 x system.chips_per_node 8 x chip.cores 1)\n"},
      {"allreduce --bytes 1e9 --ranks 8 -p system.chips_per_node=8 -p system.topology=torus2d "
       "-p system.links_per_chip=2",
       "systole: error: -p: system.links_per_chip = 2: a 2-D torus splits its links evenly "
       "over 4 neighbours: expected a multiple of 4\n"},
      {"scatter --bytes 1e9 --ranks 8",
       "systole: error: collective = 'scatter': expected allreduce, reducescatter, allgather, "
       "alltoall, broadcast or sendrecv\n"},
      {"allreduce --bytes 1.5 --ranks 8",
       "systole: error: --bytes = '1.5': expected a whole number of bytes (e.g. 1e9, 4096, "
       "512MiB, 1GB)\n"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = RunCollective(args);
    EXPECT_EQ(r.exit_code, kInputErrorExitCode) << args;
    EXPECT_EQ(r.out, message) << args;
  }
}

TEST(CollectiveCli, ByteCounts) {
  EXPECT_EQ(ParseByteCount("1e9", "--bytes"), 1'000'000'000u);
  EXPECT_EQ(ParseByteCount("512MiB", "--bytes"), 512u * 1024 * 1024);
  EXPECT_EQ(ParseByteCount("2GB", "--bytes"), 2'000'000'000u);
  EXPECT_THROW(ParseByteCount("1e", "--bytes"), InputError);
  EXPECT_THROW(ParseByteCount("-5", "--bytes"), InputError);
  EXPECT_THROW(ParseByteCount("3TB", "--bytes"), InputError);
}

}  // namespace
}  // namespace systole
