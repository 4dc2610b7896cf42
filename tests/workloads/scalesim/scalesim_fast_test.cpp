// The fast engine must equal the row-level reference engine exactly, column by column.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "base/error.h"
#include "workloads/scalesim/scalesim_engine.h"
#include "workloads/scalesim/scalesim_sim.h"

namespace systole::scalesim {
namespace {

struct Outcome {
  bool error = false;
  LayerResult r;
};

Outcome RunEngine(const Config& cfg, const Layer& layer, Engine engine) {
  Outcome o;
  try {
    o.r = SimulateLayer(cfg, layer, engine);
  } catch (const InputError&) {
    o.error = true;
  }
  return o;
}

// A config with the run name and the operand address offsets every test here uses
// (ifmap 0, filter 10^7, ofmap 2 x 10^7: far enough apart that no operand overlaps).
Config TestConfig(const std::string& run_name) {
  Config cfg;
  cfg.run_name = run_name;
  cfg.ifmap_offset = 0;
  cfg.filter_offset = 10000000;
  cfg.ofmap_offset = 20000000;
  return cfg;
}

std::string Describe(const Config& c, const Layer& l) {
  return std::string(c.mode == BandwidthMode::kCalc ? "CALC " : "USER ") +
         DataflowName(c.dataflow) + " " + std::to_string(c.array_rows) + "x" +
         std::to_string(c.array_cols) + " kB " + std::to_string(c.ifmap_sram_kb) + "/" +
         std::to_string(c.filter_sram_kb) + "/" + std::to_string(c.ofmap_sram_kb) + " bw " +
         (c.bandwidths.empty() ? "-" : std::to_string(c.bandwidths[0])) + " layer " +
         std::to_string(l.ifmap_h) + "x" + std::to_string(l.ifmap_w) + " f" +
         std::to_string(l.filt_h) + "x" + std::to_string(l.filt_w) + " c" +
         std::to_string(l.channels) + " n" + std::to_string(l.num_filt) + " s" +
         std::to_string(l.stride_h) + "," + std::to_string(l.stride_w);
}

void ExpectSame(const Outcome& ref, const Outcome& fast, const std::string& what) {
  ASSERT_EQ(ref.error, fast.error) << what;
  if (ref.error) return;
  const LayerResult& a = ref.r;
  const LayerResult& b = fast.r;
  EXPECT_EQ(a.total_cycles, b.total_cycles) << what;
  EXPECT_EQ(a.stall_cycles, b.stall_cycles) << what;
  EXPECT_EQ(a.overall_util, b.overall_util) << what;
  EXPECT_EQ(a.mapping_efficiency, b.mapping_efficiency) << what;
  EXPECT_EQ(a.compute_util, b.compute_util) << what;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.sram_bw[i], b.sram_bw[i]) << what << " op " << i;
    EXPECT_EQ(a.dram_bw[i], b.dram_bw[i]) << what << " op " << i;
    EXPECT_EQ(a.sram_start[i], b.sram_start[i]) << what << " op " << i;
    EXPECT_EQ(a.sram_stop[i], b.sram_stop[i]) << what << " op " << i;
    EXPECT_EQ(a.sram_count[i], b.sram_count[i]) << what << " op " << i;
    EXPECT_EQ(a.dram_start[i], b.dram_start[i]) << what << " op " << i;
    EXPECT_EQ(a.dram_stop[i], b.dram_stop[i]) << what << " op " << i;
    EXPECT_EQ(a.dram_count[i], b.dram_count[i]) << what << " op " << i;
  }
}

TEST(ScaleSimFast, EqualsReferenceOnRandomShapes) {
  std::mt19937_64 rng(12345);
  auto uni = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  int calc_stalls = 0, user_stalls = 0, calc_epochs = 0;
  for (int iter = 0; iter < 400; ++iter) {
    Config cfg = TestConfig("r");
    const bool wide = uni(0, 9) == 0;  // wide arrays make the CALC write buffer stall
    cfg.array_rows = uni(1, 12);
    cfg.array_cols = wide ? uni(300, 700) : uni(1, 12);
    cfg.ifmap_sram_kb = wide ? uni(4, 6) : uni(1, 3);
    cfg.filter_sram_kb = wide ? uni(4, 6) : uni(1, 3);
    cfg.ofmap_sram_kb = uni(1, 3);
    cfg.dataflow = static_cast<Dataflow>(uni(0, 2));
    cfg.mode = uni(0, 1) ? BandwidthMode::kUser : BandwidthMode::kCalc;
    if (cfg.mode == BandwidthMode::kUser) cfg.bandwidths = {uni(1, 16)};
    Layer l;
    l.name = "x";
    switch (uni(0, 2)) {
      case 0:  // GEMM
        l.ifmap_h = uni(1, 70);
        l.ifmap_w = l.filt_w = uni(1, 70);
        l.filt_h = l.channels = l.stride_h = l.stride_w = 1;
        l.num_filt = uni(1, 70);
        break;
      case 1:  // windows do not overlap
        l.stride_h = uni(1, 3);
        l.stride_w = uni(1, 3);
        l.filt_h = uni(1, l.stride_h);
        l.filt_w = uni(1, l.stride_w);
        // Sizes off the stride grid leave partial windows outside the image (-1 holes).
        l.ifmap_h = l.filt_h + l.stride_h * uni(0, 8) + uni(0, l.stride_h - 1);
        l.ifmap_w = l.filt_w + l.stride_w * uni(0, 8) + uni(0, l.stride_w - 1);
        l.channels = uni(1, 6);
        l.num_filt = uni(1, 30);
        break;
      default:  // general convolution
        l.filt_h = uni(1, 4);
        l.filt_w = uni(1, 4);
        l.ifmap_h = l.filt_h + uni(0, 10);
        l.ifmap_w = l.filt_w + uni(0, 10);
        l.stride_h = uni(1, 3);
        l.stride_w = uni(1, 3);
        l.channels = uni(1, 5);
        l.num_filt = uni(1, 30);
        break;
    }
    const std::string what = Describe(cfg, l);
    const Outcome ref = RunEngine(cfg, l, Engine::kReference);
    const Outcome fast = RunEngine(cfg, l, Engine::kFast);
    ExpectSame(ref, fast, what);
    if (!ref.error && ref.r.stall_cycles > 0) {
      (cfg.mode == BandwidthMode::kCalc ? calc_stalls : user_stalls)++;
    }
    if (!ref.error && cfg.mode == BandwidthMode::kCalc && ref.r.dram_stop[0] > 0) ++calc_epochs;
    if (HasFailure()) break;
  }
  // The random set must exercise USER stalls and completed CALC epochs. (CALC mode drains the
  // ofmap at ArrayWidth words per cycle, which SCALE-Sim's write buffer keeps up with, so CALC
  // stalls are not expected; calc_stalls is only reported.)
  RecordProperty("calc_stalls", calc_stalls);
  EXPECT_GT(user_stalls, 10);
  EXPECT_GT(calc_epochs, 10);
}

// Larger overlapping convolutions with many column folds: the CALC ifmap repetition shortcut.
TEST(ScaleSimFast, EqualsReferenceOnRepeatedConvolutionStreams) {
  std::mt19937_64 rng(777);
  auto uni = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 40; ++iter) {
    Config cfg = TestConfig("m");
    cfg.array_rows = uni(2, 16);
    cfg.array_cols = uni(2, 16);
    cfg.ifmap_sram_kb = uni(1, 2);
    cfg.filter_sram_kb = uni(1, 2);
    cfg.ofmap_sram_kb = uni(1, 2);
    cfg.dataflow = static_cast<Dataflow>(uni(0, 1));  // os, ws: repeated ifmap streams
    cfg.mode = BandwidthMode::kCalc;
    Layer l;
    l.name = "c";
    l.filt_h = uni(2, 3);
    l.filt_w = uni(2, 3);
    l.ifmap_h = l.filt_h + uni(6, 20);
    l.ifmap_w = l.filt_w + uni(6, 20);
    l.stride_h = l.stride_w = uni(1, 2);
    l.channels = uni(1, 8);
    l.num_filt = uni(16, 96);
    ExpectSame(RunEngine(cfg, l, Engine::kReference), RunEngine(cfg, l, Engine::kFast),
               Describe(cfg, l));
    if (HasFailure()) break;
  }
}

// Ifmaps of targeted convolution shapes. CALC: OS with overlapping windows goes through the
// per-location closed form (at most one epoch per fold, epochs completing inside folds,
// repetitions over column folds), repeat-free windows with out-of-image holes through the
// closed-form per-fold valid counts (all dataflows). USER: overlapping windows all inside
// the image use closed-form positions, the others the rank bitmap; hits through other
// occurrences of a word.
TEST(ScaleSimFast, EqualsReferenceOnConvolutionWindows) {
  struct Shape {
    std::uint64_t h, w, fh, fw, sh, sw;
  };
  const Shape shapes[] = {
      {12, 12, 3, 3, 1, 1},  // 3x3 stride 1
      {13, 11, 3, 3, 2, 2},  // 3x3 stride 2, last window column leaves the image
      {16, 16, 7, 7, 2, 2},  // 7x7 stride 2 (ResNet conv1 in small)
      {9, 9, 7, 7, 1, 1},    // window nearly as large as the image
      {7, 7, 7, 7, 1, 1},    // window = image: one pixel
      {10, 9, 1, 1, 2, 2},   // 1x1 stride 2: repeat-free with holes
      {11, 10, 2, 3, 3, 1},  // rows repeat-free, columns overlap
      {10, 11, 3, 1, 1, 3},  // rows overlap, columns repeat-free
      {11, 12, 1, 3, 3, 1},  // whole pixel rows outside the image
      {14, 14, 5, 5, 3, 3},  // 5x5 stride 3 with holes
      {24, 20, 3, 3, 1, 1},  // several epochs per repetition
      {29, 30, 7, 7, 2, 2},  // several epochs per repetition, holes
  };
  int cases = 0;
  for (const Shape& s : shapes) {
    for (const std::uint64_t ch : {1, 3, 8}) {
      for (const std::uint64_t array : {3, 8, 16}) {
        for (const std::uint64_t kb : {1, 2}) {
          for (int df = 0; df < 6; ++df) {
            Config cfg = TestConfig("w");
            cfg.array_rows = array;
            cfg.array_cols = array == 8 ? 5 : array;
            cfg.ifmap_sram_kb = kb;
            cfg.filter_sram_kb = 2;
            cfg.ofmap_sram_kb = 2;
            cfg.dataflow = static_cast<Dataflow>(df % 3);
            cfg.mode = df < 3 ? BandwidthMode::kCalc : BandwidthMode::kUser;
            if (df >= 3) cfg.bandwidths = {array == 3 ? 2u : 10u};
            Layer l;
            l.name = "w";
            l.ifmap_h = s.h;
            l.ifmap_w = s.w;
            l.filt_h = s.fh;
            l.filt_w = s.fw;
            l.stride_h = s.sh;
            l.stride_w = s.sw;
            l.channels = ch;
            l.num_filt = 3 * cfg.array_cols + 1;  // four column folds: repetitions
            ExpectSame(RunEngine(cfg, l, Engine::kReference), RunEngine(cfg, l, Engine::kFast),
                       Describe(cfg, l));
            ++cases;
            if (HasFailure()) return;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 12 * 3 * 3 * 2 * 6);
}

// USER-mode GEMMs large enough for long runs of full demand rows between window moves (the
// closed-form next-miss row) and for many folds, in every dataflow.
TEST(ScaleSimFast, EqualsReferenceOnUserGemms) {
  std::mt19937_64 rng(4242);
  auto uni = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 36; ++iter) {
    Config cfg = TestConfig("u");
    cfg.array_rows = uni(4, 16);
    cfg.array_cols = uni(4, 16);
    cfg.ifmap_sram_kb = uni(1, 3);
    cfg.filter_sram_kb = uni(1, 3);
    cfg.ofmap_sram_kb = uni(1, 3);
    cfg.dataflow = static_cast<Dataflow>(iter % 3);
    cfg.mode = BandwidthMode::kUser;
    cfg.bandwidths = {uni(1, 16)};
    Layer l;
    l.name = "g";
    l.ifmap_h = uni(40, 160);             // M
    l.ifmap_w = l.filt_w = uni(40, 160);  // K
    l.filt_h = l.channels = l.stride_h = l.stride_w = 1;
    l.num_filt = uni(40, 160);  // N
    if (iter % 4 == 0) {        // multiples of the array: no padded folds
      l.ifmap_h = cfg.array_rows * uni(4, 10);
      l.ifmap_w = l.filt_w = cfg.array_rows * uni(4, 10);
      l.num_filt = cfg.array_cols * uni(4, 10);
    }
    ExpectSame(RunEngine(cfg, l, Engine::kReference), RunEngine(cfg, l, Engine::kFast),
               Describe(cfg, l));
    if (HasFailure()) break;
  }
}

// The USER ifmap validity bitmap of convolutions whose windows leave the image is built
// from the clipped pixels (all cells valid, then padding and out-of-image cells cleared);
// it must equal the cell-by-cell scan, on random shapes with strides 1-3 in every dataflow.
TEST(ScaleSimFast, IfmapRankFromClippedPixelsEqualsScan) {
  std::mt19937_64 rng(9090);
  auto uni = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  int sparse = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    Config cfg = TestConfig("k");
    cfg.array_rows = uni(1, 40);
    cfg.array_cols = uni(1, 40);
    cfg.ifmap_sram_kb = uni(1, 64);
    cfg.filter_sram_kb = cfg.ofmap_sram_kb = 1;
    cfg.dataflow = static_cast<Dataflow>(iter % 3);
    cfg.mode = BandwidthMode::kUser;
    cfg.bandwidths = {uni(1, 20)};
    Layer l;
    l.name = "k";
    l.filt_h = uni(1, 7);
    l.filt_w = uni(1, 7);
    l.stride_h = uni(1, 3);
    l.stride_w = uni(1, 3);
    l.ifmap_h = l.filt_h + uni(0, 60);
    l.ifmap_w = l.filt_w + uni(0, 60);
    l.channels = uni(1, 6);
    l.num_filt = uni(1, 50);
    const int r = FastIfmapRankSelfCheck(cfg, l);
    ASSERT_NE(r, -1) << Describe(cfg, l);
    sparse += r;
  }
  EXPECT_GT(sparse, 250);
}

// USER OS convolutions whose windows leave the image (ResNet conv1-like, strides 1-3, few
// channels) with small SRAMs: long runs of cells that hit through another occurrence of
// their word at the same pixel offset, across window offsets and out-of-image cells.
TEST(ScaleSimFast, EqualsReferenceOnClippedUserConvolutions) {
  std::mt19937_64 rng(5151);
  auto uni = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int iter = 0; iter < 60; ++iter) {
    Config cfg = TestConfig("p");
    cfg.array_rows = uni(4, 32);
    cfg.array_cols = uni(4, 32);
    cfg.ifmap_sram_kb = uni(1, 4);
    cfg.filter_sram_kb = uni(1, 4);
    cfg.ofmap_sram_kb = uni(1, 4);
    cfg.dataflow = iter % 4 == 3 ? static_cast<Dataflow>(uni(1, 2)) : Dataflow::kOutputStationary;
    cfg.mode = BandwidthMode::kUser;
    cfg.bandwidths = {uni(2, 20)};
    Layer l;
    l.name = "p";
    l.filt_h = uni(3, 7);
    l.filt_w = uni(3, 7);
    l.stride_h = uni(1, 3);
    l.stride_w = uni(1, 3);
    l.ifmap_h = l.filt_h + uni(8, 40);
    l.ifmap_w = l.filt_w + uni(8, 40);
    l.channels = uni(1, 4);
    l.num_filt = uni(8, 70);
    ExpectSame(RunEngine(cfg, l, Engine::kReference), RunEngine(cfg, l, Engine::kFast),
               Describe(cfg, l));
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace systole::scalesim
