// SCALE-Sim input parsing: accepted forms and one-line InputErrors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "base/error.h"
#include "workloads/scalesim/scalesim_input.h"
#include "workloads/scalesim/scalesim_run.h"
#include "workloads/scalesim/scalesim_sim.h"

namespace systole::scalesim {
namespace {

const char* kGoodCfg = R"([general]
run_name = t

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     4
IfmapSramSzkB:   1
FilterSramSzkB:  2
OfmapSramSzkB:   3
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 7, 9
Dataflow : ws
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: USER
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

// Runs f, expects an InputError whose single-line message contains every needle.
template <class F>
void ExpectInputError(F&& f, std::initializer_list<const char*> needles) {
  try {
    f();
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg << " / " << n;
  }
}

TEST(ScaleSimConfig, ParsesScaleSimKeys) {
  const Config c = ParseConfigText(kGoodCfg, "x.cfg");
  EXPECT_EQ(c.run_name, "t");
  EXPECT_EQ(c.array_rows, 8u);
  EXPECT_EQ(c.array_cols, 4u);
  EXPECT_EQ(c.ifmap_sram_kb, 1u);
  EXPECT_EQ(c.filter_sram_kb, 2u);
  EXPECT_EQ(c.ofmap_sram_kb, 3u);
  EXPECT_EQ(c.filter_offset, 10000000u);
  EXPECT_EQ(c.dataflow, Dataflow::kWeightStationary);
  EXPECT_EQ(c.mode, BandwidthMode::kUser);
  ASSERT_EQ(c.bandwidths.size(), 2u);
  EXPECT_EQ(c.bandwidths[0], 7u);
  // Keys are case-insensitive, '=' works, comments are skipped.
  const Config d =
      ParseConfigText(Replace(Replace(kGoodCfg, "ArrayHeight:    8", "# comment\narrayheight = 16"),
                              "USER", "CALC"),
                      "x.cfg");
  EXPECT_EQ(d.array_rows, 16u);
  EXPECT_EQ(d.mode, BandwidthMode::kCalc);
}

TEST(ScaleSimConfig, CalcModeDoesNotNeedBandwidth) {
  const Config c =
      ParseConfigText(Replace(Replace(kGoodCfg, "Bandwidth : 7, 9\n", ""), "USER", "CALC"), "x");
  EXPECT_TRUE(c.bandwidths.empty());
}

TEST(ScaleSimConfig, BadInputNamesFileLineAndField) {
  ExpectInputError([] { ParseConfigText(Replace(kGoodCfg, "ArrayWidth:     4\n", ""), "a.cfg"); },
                   {"a.cfg", "ArrayWidth", "missing"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "ArrayWidth:     4", "ArrayWidth: x4"), "a.cfg"); },
      {"a.cfg:6", "ArrayWidth", "integer"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "ArrayWidth:     4", "ArrayWidth: 0"), "a.cfg"); },
      {"a.cfg:6", "ArrayWidth", ">= 1"});
  ExpectInputError(
      [] {
        ParseConfigText(Replace(kGoodCfg, "IfmapSramSzkB:   1", "IfmapSramSzkB: -2"), "a.cfg");
      },
      {"a.cfg:7", "IfmapSramSzkB"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "Dataflow : ws", "Dataflow : WS"), "a.cfg"); },
      {"a.cfg:14", "Dataflow", "os, ws or is"});
  ExpectInputError([] { ParseConfigText(Replace(kGoodCfg, "USER", "USR"), "a.cfg"); },
                   {"a.cfg:18", "InterfaceBandwidth", "USER or CALC"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "Bandwidth : 7, 9", "Bandwidth : 7,,9"), "a.cfg"); },
      {"a.cfg:13", "Bandwidth"});
  ExpectInputError(
      [] {
        ParseConfigText(Replace(kGoodCfg, "Bandwidth : 7, 9", "Bandwidth : 7\nBandwidth : 8"),
                        "a.cfg");
      },
      {"a.cfg:14", "twice"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "[run_presets]", "[general]"), "a.cfg"); },
      {"a.cfg:17", "twice"});
  ExpectInputError([] { ParseConfigText("ArrayHeight: 4\n", "a.cfg"); }, {"a.cfg:1", "section"});
  ExpectInputError(
      [] { ParseConfigText(Replace(kGoodCfg, "ArrayWidth:     4", "ArrayWidth 4"), "a.cfg"); },
      {"a.cfg:6", "key: value"});
  ExpectInputError(
      [] {
        ParseConfigText(Replace(kGoodCfg, "ArrayWidth:     4", "ArrayWidth: 99999999999999999999"),
                        "a.cfg");
      },
      {"a.cfg:6", "ArrayWidth"});
  ExpectInputError([] { ParseConfigText("", "a.cfg"); }, {"a.cfg", "missing"});
  ExpectInputError([] { ParseConfigFile("/nonexistent/dir/x.cfg"); },
                   {"/nonexistent/dir/x.cfg", "cannot open"});
}

TEST(ScaleSimTopology, ParsesConvRowsLikeScaleSim) {
  const std::vector<Layer> l = ParseTopologyText(
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,\n\nConv1, 224, 224, 7, 7, 3, 64, 2,\nc2, 9, 10, 3, 2, 4, 5, 2, 3,\nDPx, 10, 10, 3, "
      "3, 3, 1, 1,\n",
      false, "t.csv");
  ASSERT_EQ(l.size(), 5u);
  EXPECT_EQ(l[0].ofmap_h(), 110u);  // ceil((224-7+2)/2), no padding
  EXPECT_EQ(l[0].stride_w, 2u);
  EXPECT_EQ(l[1].stride_h, 2u);
  EXPECT_EQ(l[1].stride_w, 3u);
  EXPECT_EQ(l[1].ofmap_w(), 4u);  // ceil((10-2+3)/3)
  EXPECT_EQ(l[2].name, "DPxChannel_0");
  EXPECT_EQ(l[4].name, "DPxChannel_2");
  EXPECT_EQ(l[4].channels, 1u);
  const GemmShape g = LayerGemm(l[0]);
  EXPECT_EQ(g.m, 110u * 110u);
  EXPECT_EQ(g.k, 147u);
  EXPECT_EQ(g.n, 64u);
}

TEST(ScaleSimTopology, ParsesGemmRowsAsMNK) {
  const std::vector<Layer> l = ParseTopologyText("Layer,M,N,K,\nQKT,1024,64,32,\n", true, "t.csv");
  ASSERT_EQ(l.size(), 1u);
  const GemmShape g = LayerGemm(l[0]);
  EXPECT_EQ(g.m, 1024u);
  EXPECT_EQ(g.n, 64u);
  EXPECT_EQ(g.k, 32u);
}

TEST(ScaleSimTopology, BadInputNamesFileLineAndField) {
  const std::string h =
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
      "Channels, Num Filter, Strides,\n";
  ExpectInputError([&] { ParseTopologyText(h + "c, 8, 8, 3, 3, 2, 4, 1\n", false, "t.csv"); },
                   {"t.csv:2", "trailing comma"});
  ExpectInputError([&] { ParseTopologyText(h + "c, 8, 8, 3, x, 2, 4, 1,\n", false, "t.csv"); },
                   {"t.csv:2", "Filter Width", "integer"});
  ExpectInputError([&] { ParseTopologyText(h + "c, 8, 8, 3, 3, 0, 4, 1,\n", false, "t.csv"); },
                   {"t.csv:2", "Channels", ">= 1"});
  ExpectInputError([&] { ParseTopologyText(h + "\nc, 8, 8, 9, 3, 1, 4, 1,\n", false, "t.csv"); },
                   {"t.csv:3", "Filter Height", "larger"});
  ExpectInputError([&] { ParseTopologyText(h + "c, 8, 8, 3, 3, -1, 4, 1,\n", false, "t.csv"); },
                   {"t.csv:2", "Channels"});
  ExpectInputError([&] { ParseTopologyText(h, false, "t.csv"); }, {"t.csv", "no layer"});
  ExpectInputError([&] { ParseTopologyText("", false, "t.csv"); }, {"t.csv", "empty"});
  ExpectInputError([&] { ParseTopologyText("Layer,M,N,K,\ng, 4, 4,\n", true, "g.csv"); },
                   {"g.csv:2", "M, N, K"});
  ExpectInputError([&] { ParseTopologyText("Layer,M,N,K,\ng, 4, 4, 2.5,\n", true, "g.csv"); },
                   {"g.csv:2", "K", "integer"});
  ExpectInputError(
      [&] {
        ParseTopologyText("Layer,M,N,K,\ng, 4294967296, 4294967296, 4294967296,\n", true, "g.csv");
      },
      {"overflows"});
  ExpectInputError([] { ParseTopologyFile("/nonexistent/t.csv", false); },
                   {"/nonexistent/t.csv", "cannot open"});
}

TEST(ScaleSimRun, WritesNothingOnBadInput) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("systole_ss_bad_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir + "/x.cfg") << kGoodCfg;
    std::ofstream(dir + "/t.csv") << "Layer,M,N,K,\ng1,4,4,4,\ng2,4,0,4,\n";
  }
  ScaleSimRunOptions o;
  o.config_path = dir + "/x.cfg";
  o.topology_path = dir + "/t.csv";
  o.output_dir = dir + "/out";
  o.gemm_input = true;
  ExpectInputError([&] { RunScaleSim(o); }, {"t.csv:3", "N"});
  EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
  std::ofstream(dir + "/t.csv") << "Layer,M,N,K,\ng1,4,4,4,\n";
  const std::string summary = RunScaleSim(o);
  EXPECT_NE(summary.find("1 layer"), std::string::npos) << summary;
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/COMPUTE_REPORT.csv"));
  std::filesystem::remove_all(dir);
}

TEST(ScaleSimFormat, PythonFloatRepr) {
  EXPECT_EQ(PyFloatRepr(33.0), "33.0");
  EXPECT_EQ(PyFloatRepr(-3243.0), "-3243.0");
  EXPECT_EQ(PyFloatRepr(0.1), "0.1");
  EXPECT_EQ(PyFloatRepr(94.53125), "94.53125");
  EXPECT_EQ(PyFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PyFloatRepr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(PyFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PyFloatRepr(0.00001), "1e-05");
  EXPECT_EQ(PyFloatRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(PyFloatRepr(0.0), "0.0");
  EXPECT_EQ(PyFloatRepr(2.0 / 3.0), "0.6666666666666666");
}

TEST(ScaleSimFormat, IntTrueDivIsCorrectlyRounded) {
  EXPECT_EQ(IntTrueDiv(1, 3), 1.0 / 3.0);
  // 2^60 + 1 over 3: the double nearest the exact quotient, not double(a)/double(b).
  const unsigned __int128 a = (static_cast<unsigned __int128>(1) << 60) + 1;
  const double q = IntTrueDiv(a, 3);
  const long double exact = static_cast<long double>(a) / 3.0L;
  EXPECT_LE(std::fabs(static_cast<long double>(q) - exact),
            std::fabs(static_cast<long double>(std::nextafter(q, 0.0)) - exact));
  EXPECT_EQ(
      IntTrueDiv(static_cast<unsigned __int128>(1) << 100, static_cast<unsigned __int128>(1) << 98),
      4.0);
}

}  // namespace
}  // namespace systole::scalesim
