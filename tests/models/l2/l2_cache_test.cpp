#include "models/l2/l2_cache.h"

#include <gtest/gtest.h>

namespace systole {
namespace {

// A panel of 128 rows (or columns) x K = 64 in bf16: 128 * 64 * 2 bytes.
constexpr std::uint64_t kPanel = 128 * 64 * 2;

TEST(L2Cache, OneWaveSharesPanelsOnlyWithAnL2) {
  GemmTiling g;
  g.m = 256;
  g.n = 256;
  g.k = 64;  // 2 x 2 tiles of 128 x 128
  const auto none = GemmWaveTraffic(g, 4, 0);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].tiles, 4u);
  EXPECT_EQ(none[0].l2_read_bytes, 4 * 2 * kPanel);   // each tile: its A and B panels
  EXPECT_EQ(none[0].hbm_read_bytes, 4 * 2 * kPanel);  // no cache: all of it from HBM
  EXPECT_EQ(none[0].write_bytes, 256u * 256 * 2);
  const auto l2 = GemmWaveTraffic(g, 4, 1 << 20);
  EXPECT_EQ(l2[0].l2_read_bytes, 4 * 2 * kPanel);
  EXPECT_EQ(l2[0].hbm_read_bytes, 4 * kPanel);  // 2 distinct A panels + 2 distinct B panels
}

TEST(L2Cache, NextWaveHitsWhenBothWavesFit) {
  GemmTiling g;
  g.m = 3 * 128;
  g.n = 2 * 128;
  g.k = 64;  // 3 x 2 tiles; waves of 2 = one tile row each
  // Wave 0 reads A row 0 and B columns 0, 1 (3 panels); waves 1 and 2 read a new A row and
  // the same B columns. Two consecutive waves span 4 distinct panels.
  const auto fits = GemmWaveTraffic(g, 2, 4 * kPanel);
  ASSERT_EQ(fits.size(), 3u);
  EXPECT_EQ(fits[0].hbm_read_bytes, 3 * kPanel);
  EXPECT_EQ(fits[1].hbm_read_bytes, 1 * kPanel);  // B columns hit
  EXPECT_EQ(fits[2].hbm_read_bytes, 1 * kPanel);
  const auto small = GemmWaveTraffic(g, 2, 4 * kPanel - 1);
  EXPECT_EQ(small[1].hbm_read_bytes, 3 * kPanel);  // one byte short: every panel again
  for (const WaveTraffic& w : small) EXPECT_EQ(w.l2_read_bytes, 2 * 2 * kPanel);
}

TEST(L2Cache, EdgeTilesAndBatchItems) {
  GemmTiling g;
  g.m = 200;  // rows 128 and 72
  g.n = 128;
  g.k = 64;
  g.batch = 2;  // items do not share panels
  const auto w = GemmWaveTraffic(g, 8, 1 << 20);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].tiles, 4u);
  // Per item: A panels 128 and 72 rows, one B panel read by both tiles.
  EXPECT_EQ(w[0].l2_read_bytes, 2 * (128 + 128 + 72 + 128) * 64 * 2u);
  EXPECT_EQ(w[0].hbm_read_bytes, 2 * (128 + 72 + 128) * 64 * 2u);
  EXPECT_EQ(w[0].write_bytes, 2 * 200 * 128 * 2u);
  // Waves of 3: the 4th tile (item 1, row 1) is the tail wave.
  const auto tail = GemmWaveTraffic(g, 3, 0);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[1].tiles, 1u);
  EXPECT_EQ(tail[1].l2_read_bytes, (72 + 128) * 64 * 2u);
}

}  // namespace
}  // namespace systole
