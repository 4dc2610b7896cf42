// Issue 14 regression tests, end to end through the `systole` binary: every defect the issue
// lists answers with exit status 2 and one printable line naming the file, key and value,
// and output sets are published as a unit. Each runs in well under a second or two.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/output_set.h"
#include "base/text_escape.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

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

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("systole-harden-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  // A small, fast training step: gpt2-small's shape with one layer.
  static std::string SmallRun() { return "run --set model.layers=1 --set training.micro_batch=1"; }
  fs::path dir_;
};

TEST_F(Hardening, DeepTomlHeaderIsRefusedNotACrash) {
  // 50,000 dotted levels (about 100 KB) overflowed the stack in toml++ (SIGSEGV).
  std::string deep = "[a";
  for (int i = 0; i < 50000; ++i) deep += ".a";
  const std::string path = Write("deep.toml", deep + "]\n");
  for (const std::string flag : {"--arch", "--workload"}) {
    const Result r = RunSystole("run " + flag + " " + path);
    EXPECT_EQ(r.exit_code, 2) << flag << r.output;
    EXPECT_THAT(r.output, HasSubstr("deep.toml:1: TOML nesting is deeper than 64 levels"));
  }
}

TEST_F(Hardening, DirectoryAsInputIsRefused) {
  // --arch DIR silently used the defaults; --workload DIR read as "file is empty".
  Result r = RunSystole("run --arch " + dir_.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": is a directory: expected the architecture file"));
  r = RunSystole("run --workload " + dir_.string() + "/");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(": is a directory: expected the workload file"));
}

TEST_F(Hardening, SetWithANewlineIsRefused) {
  // "model.layers=2\nfoo" silently dropped "foo".
  const Result r = RunSystole("run --set 'model.layers=2\nfoo'");  // sh keeps the newline
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("override 'model.layers=2\\nfoo': the value holds a line break"));
}

TEST_F(Hardening, ShapeWithTrailingGarbageIsRefused) {
  // 12abcx10 ran as 12x10.
  for (const std::string shape : {"12abcx10", "12x10abc", "+12x10", " 12x10", "0x10", "12x"}) {
    const Result r = RunSystole("kernel add --shape '" + shape + "'");
    EXPECT_EQ(r.exit_code, 2) << shape << r.output;
    EXPECT_THAT(r.output, HasSubstr("expected ROWSxCOLS of positive integers")) << shape;
  }
}

TEST_F(Hardening, ParamValuesFollowTheOneNumberGrammar) {
  // -p accepted ' 64', '+64', '0x1p1' and '-0' (for floats) while other flags refused them.
  for (const std::string v : {" 64", "+64", "064", "0x40", "-0", "64\n"}) {
    const Result r = RunSystole("gemm --M 8 --K 8 --N 8 -p 'core.tensor.rows=" + v + "'");
    EXPECT_EQ(r.exit_code, 2) << v << r.output;
    EXPECT_THAT(r.output, HasSubstr("-p: core.tensor.rows = ")) << v;
  }
  for (const std::string v : {"0x1p1", "+1.4", " 1.4", "-0.0", "1.4e"}) {
    const Result r = RunSystole("gemm --M 8 --K 8 --N 8 -p 'core.clock_ghz=" + v + "'");
    EXPECT_EQ(r.exit_code, 2) << v << r.output;
  }
  // --M takes the same grammar.
  EXPECT_EQ(RunSystole("gemm --M +8 --K 8 --N 8").exit_code, 2);
  EXPECT_EQ(RunSystole("gemm --M 08 --K 8 --N 8").exit_code, 2);
}

TEST_F(Hardening, OverflowMessagesNameTheSourceKeysAndValues) {
  // "tensor elements overflows 64 bits; reduce the dimensions" named no file or key.
  Result r = RunSystole("run --set model.hidden=1099511627776 --set model.heads=1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("gpt2-small.toml --set model.hidden=1099511627776 --set "
                                  "model.heads=1: "));
  EXPECT_THAT(r.output, HasSubstr("overflows 64 bits with model.vocab = 50257, model.hidden = "
                                  "1099511627776"));
  r = RunSystole("gemm --M 4294967296 --K 4294967296 --N 4294967296");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("gemm --M 4294967296 --K 4294967296 --N 4294967296: "));
  r = RunSystole("kernel add --shape 4294967296x4294967296");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("kernel add --shape 4294967296x4294967296: "));
}

TEST_F(Hardening, SetValuesFollowTheOneNumberGrammar) {
  // --set parsed its value as TOML, which takes '+64', '0x2' and '1_0'; -p refused them.
  for (const std::string v : {"+64", " 2", "0x2", "2abc", "1_0"}) {
    const Result r = RunSystole("run --set 'model.layers=" + v + "'");
    EXPECT_EQ(r.exit_code, 2) << v << r.output;
    EXPECT_THAT(r.output, HasSubstr("override 'model.layers=" + v + "': the value ")) << v;
  }
}

TEST_F(Hardening, SmallestSubnormalIsInsideARangeFromZero) {
  // 5e-324 was called out of range for a parameter whose range starts at 0.
  const Result r = RunSystole("gemm --M 8 --K 8 --N 8 -p core.dma.setup_latency_ns=5e-324");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(Hardening, AccumulatorBanksErrorIsLocatedAtTheOverride) {
  // Was located at "default:".
  const Result r = RunSystole("gemm --M 8 --K 8 --N 8 -p core.accumulator.banks=3");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("systole: error: -p: core.accumulator.partition_bytes"));
}

TEST_F(Hardening, HugeLayerCountIsRefusedBeforeBuilding) {
  // 60000 layers built gigabytes of graph and ended in "internal error: std::bad_alloc".
  const Result r = RunSystole("run --set model.layers=60000");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("model.layers = 60000 is invalid: expected an integer in [1, "
                                  "1024]"));
}

TEST_F(Hardening, OversizedScaleSimLayersAreRefusedBeforeSimulating) {
  const std::string cfg_dir = std::string(SYSTOLE_TEST_DATA) + "/scalesim/gemm_ws_user";
  const std::string cfg = cfg_dir + "/scale.cfg";
  // A 100000^3 GEMM in USER mode ran for minutes; 2^32 filters too.
  for (const std::string row : {"big, 100000, 100000, 100000,", "big, 8, 4294967296, 8,"}) {
    const std::string topo = Write("t.csv", "Layer, M, N, K,\n" + row + "\n");
    const Result r = RunSystole("scalesim -c " + cfg + " -t " + topo + " -p " +
                                (dir_ / "out").string() + " -i gemm");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_THAT(r.output, HasSubstr("t.csv: layer 0 ('big'): about "));
    EXPECT_THAT(r.output, HasSubstr("array steps on the 8x4 array of " + cfg));
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
  // Arrays of 10^9 x 10^9 PEs died with bad_alloc: blamed on the config file's line.
  std::string text = Read(cfg);
  text.replace(text.find("ArrayHeight:    8"), 17, "ArrayHeight: 1000000000");
  const std::string huge = Write("huge.cfg", text);
  const Result r = RunSystole("scalesim -c " + huge + " -t " + cfg_dir + "/topology.csv -p " +
                              (dir_ / "out").string() + " -i gemm");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("huge.cfg:5: ArrayHeight = 1000000000 is invalid"));
}

TEST_F(Hardening, MessagesEscapeControlBytesAndBoms) {
  // A BOM and an escape sequence in a file name are echoed printably.
  const Result r = RunSystole("run --workload '" + dir_.string() + "/\xef\xbb\xbf\x1b[2Jw.toml'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\\uFEFF\\x1B[2Jw.toml: cannot open workload file"));
  EXPECT_THAT(r.output, Not(HasSubstr("\x1b")));
}

TEST_F(Hardening, ResolvedConfigEscapesStringsAndReadsBack) {
  // -p 'chip.name=a"b' wrote a config.resolved.toml Systole then rejected.
  const std::string out = (dir_ / "out").string();
  Result r = RunSystole(SmallRun() + " -p 'chip.name=a\"b\\c' --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunSystole(SmallRun() + " --arch " + out + "/config.resolved.toml --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(R"("arch": "a\"b\\c")"));
}

TEST_F(Hardening, OpsCsvIsRfc4180) {
  const std::string out = (dir_ / "out").string();
  const Result r = RunSystole(SmallRun() + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto records = systole::ParseCsv(Read(dir_ / "out" / "ops.csv"));
  ASSERT_GT(records.size(), 10u);
  // Every record has the header's number of fields, however the op names are quoted.
  for (const auto& rec : records) EXPECT_EQ(rec.size(), records.front().size());
}

TEST_F(Hardening, FailedPublishLeavesThePreviousSetIntact) {
  const fs::path out = dir_ / "out";
  ASSERT_EQ(RunSystole(SmallRun() + " --out " + out.string()).exit_code, 0);
  EXPECT_TRUE(systole::OutputSetComplete(out.string()));
  const std::string report = Read(out / "report.json");
  // The next run (another micro-batch) cannot write trace.json: nothing may change.
  fs::remove(out / "trace.json");
  fs::create_directory(out / "trace.json");
  std::ofstream(out / "trace.json" / "keep") << "x";
  const Result r =
      RunSystole("run --set model.layers=1 --set training.micro_batch=2 --out " + out.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("trace.json: is a directory"));
  EXPECT_EQ(Read(out / "report.json"), report);
  EXPECT_TRUE(fs::exists(out / systole::kManifestName));
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().filename(), "out");
}

TEST_F(Hardening, ReportsAreByteIdenticalAcrossRuns) {
  // Determinism (issue 14): the same inputs give the same bytes in every output file.
  const fs::path a = dir_ / "a", b = dir_ / "b";
  ASSERT_EQ(RunSystole(SmallRun() + " --out " + a.string()).exit_code, 0);
  ASSERT_EQ(RunSystole(SmallRun() + " --out " + b.string()).exit_code, 0);
  for (const char* f :
       {"report.json", "ops.csv", "trace.json", "config.resolved.toml", systole::kManifestName}) {
    EXPECT_EQ(Read(a / f), Read(b / f)) << f;
    EXPECT_FALSE(Read(a / f).empty()) << f;
  }
}

}  // namespace
