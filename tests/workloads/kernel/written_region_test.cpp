// WrittenRegion (which tile elements have been written) against a per-element oracle.
#include "workloads/kernel/written_region.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace systole {
namespace {

TEST(WrittenRegion, WholeRowsAndSlices) {
  WrittenRegion w(128, 512);
  EXPECT_EQ(w.FirstUnwritten(0, 128, 0, 512), 0u);
  w.Mark(0, 64, 0, 512);  // the top half
  EXPECT_EQ(w.FirstUnwritten(0, 64, 0, 512), std::nullopt);
  EXPECT_EQ(w.FirstUnwritten(0, 128, 0, 512), 64u);  // the first row not written
  EXPECT_EQ(w.runs(), 2u);                           // [0, 64) written, [64, 128) not
  w.Mark(64, 64, 0, 256);
  w.Mark(64, 64, 256, 256);  // touching ranges merge: the tile is now whole
  EXPECT_TRUE(w.full());
  EXPECT_EQ(w.FirstUnwritten(0, 128, 0, 512), std::nullopt);
}

TEST(WrittenRegion, RunsMergeBackWhenPartitionsAgree) {
  WrittenRegion w(128, 100);
  w.Mark(10, 20, 0, 50);  // runs [0,10) [10,30) [30,128)
  EXPECT_EQ(w.runs(), 3u);
  w.Mark(0, 10, 0, 50);
  w.Mark(30, 98, 0, 50);  // every partition has [0, 50): one run
  EXPECT_EQ(w.runs(), 1u);
  EXPECT_EQ(w.FirstUnwritten(0, 128, 0, 50), std::nullopt);
  EXPECT_EQ(w.FirstUnwritten(5, 3, 40, 20), 5u);  // [50, 60) was never written
}

// Random marks and checks on small tiles, against one bit per element.
TEST(WrittenRegion, MatchesPerElementOracle) {
  std::mt19937 rng(7);
  auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 300; ++trial) {
    const std::uint32_t parts = pick(1, 12), elems = pick(1, 20);
    WrittenRegion w(parts, elems);
    std::vector<std::vector<bool>> bits(parts, std::vector<bool>(elems, false));
    for (int op = 0; op < 40; ++op) {
      const std::uint32_t p0 = pick(0, parts - 1), np = pick(1, parts - p0);
      const std::uint32_t f0 = pick(0, elems - 1), nf = pick(1, elems - f0);
      if (pick(0, 2) == 0) {
        w.Mark(p0, np, f0, nf);
        for (std::uint32_t p = p0; p < p0 + np; ++p) {
          for (std::uint32_t f = f0; f < f0 + nf; ++f) bits[p][f] = true;
        }
      } else {
        std::optional<std::uint32_t> expected;
        for (std::uint32_t p = p0; p < p0 + np && !expected; ++p) {
          for (std::uint32_t f = f0; f < f0 + nf; ++f) {
            if (!bits[p][f]) {
              expected = p;
              break;
            }
          }
        }
        ASSERT_EQ(w.FirstUnwritten(p0, np, f0, nf), expected)
            << "trial " << trial << " op " << op << ": [" << p0 << "+" << np << ", " << f0 << "+"
            << nf << ")";
      }
      bool all = true;
      for (const auto& row : bits) {
        for (bool b : row) all = all && b;
      }
      ASSERT_EQ(w.full(), all) << "trial " << trial << " op " << op;
    }
  }
}

}  // namespace
}  // namespace systole
