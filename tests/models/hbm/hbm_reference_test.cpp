#include "models/hbm/hbm_reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace systole {
namespace {

// hbm2e timings (ns): tRCD 14, tRP 14, tRAS 34, tCL 14, tCWL 4, tRRD_S 4, tFAW 30,
// tWTR_S 6, tWTR_L 8, tCCD_L 2, burst 1.25 (32 B), tREFI 3900, tRFC 260.

// One pseudo-channel: global address = PC-local address, so rows and banks are explicit.
HbmConfig OnePc(bool refresh = false) {
  HbmConfig c = HbmPreset("hbm2e");
  c.stacks = 1;
  c.channels_per_stack = 1;
  c.pseudo_channels = 1;
  c.refresh = refresh;
  return c;
}

constexpr std::uint64_t kRow = 1024;          // bytes per row (page)
constexpr std::uint64_t kBankStride = 16384;  // 16 pages: same bank, next row

std::uint64_t Run1(const HbmConfig& c, const HbmRequest& r) {
  return HbmReference(c).Run({r}).completion_ps[0];
}

TEST(HbmReference, ClosedBankReadIsTrcdPlusTclPlusBurst) {
  // ACT at 0, RD at tRCD 14, data at +tCL 14 for one 1.25 ns burst: 29.25 ns.
  EXPECT_EQ(Run1(OnePc(), {0, 0, 32, false}), 29250u);
  // 64 B = two bursts of one row (one bank group): second RD tCCD_L = 2 ns later: 31.25.
  EXPECT_EQ(Run1(OnePc(), {0, 0, 64, false}), 31250u);
  // A write: ACT 0, WR at 14, data at +tCWL 4 for 1.25 ns: 19.25.
  EXPECT_EQ(Run1(OnePc(), {0, 0, 32, true}), 19250u);
}

TEST(HbmReference, RowHitAndRowConflictLatencies) {
  const HbmReferenceResult r = HbmReference(OnePc()).Run(
      {{0, 0, 32, false},                      // opens bank 0, row 0: 29.25 ns
       {1000000, 32, 32, false},               // same row, long after: hit = tCL + burst
       {2000000, kBankStride, 32, false},      // bank 0, row 1: PRE + tRP + tRCD + tCL + burst
       {3000000, 5 * kRow + 64, 32, false}});  // page 5 = bank 5, closed: tRCD + tCL + burst
  EXPECT_EQ(r.completion_ps[0], 29250u);
  EXPECT_EQ(r.completion_ps[1] - 1000000, 15250u);  // 14 + 1.25
  EXPECT_EQ(r.completion_ps[2] - 2000000, 43250u);  // 14 + 14 + 14 + 1.25
  EXPECT_EQ(r.completion_ps[3] - 3000000, 29250u);  // 14 + 14 + 1.25
  EXPECT_EQ(r.stats.activations, 3u);
  EXPECT_EQ(r.stats.row_hits, 1u);
  EXPECT_EQ(r.stats.row_misses, 3u);
}

TEST(HbmReference, FrFcfsServesRowHitsBeforeAnOlderConflict) {
  // All at t=0 on bank 0: A row 0, B row 1 (older than C), C row 0. C hits A's open row
  // and goes first; B then waits for PRE (tRAS after A's ACT) + tRP + tRCD.
  const HbmReferenceResult r = HbmReference(OnePc()).Run(
      {{0, 0, 32, false}, {0, kBankStride, 32, false}, {0, 64, 32, false}});
  EXPECT_LT(r.completion_ps[2], r.completion_ps[1]);
  EXPECT_EQ(r.completion_ps[2], 29250u + 2000u);  // right after A: tCCD_L = 2 ns
  // B: PRE at tRAS 34, ACT at 48 (= tRC), RD at 62, data 76..77.25.
  EXPECT_EQ(r.completion_ps[1], 77250u);
}

TEST(HbmReference, WriteThenReadPaysTwtr) {
  // Write 32 B to bank group 0 at t=0, then a read of the same row: WR at tRCD 14, write
  // data 18..19.25; the RD waits tWTR_L 8 after the write data: RD at 27.25, done 42.5.
  HbmReferenceResult r = HbmReference(OnePc()).Run({{0, 0, 32, true}, {0, 32, 32, false}});
  EXPECT_EQ(r.completion_ps[0], 19250u);
  EXPECT_EQ(r.completion_ps[1], 42500u);  // 19.25 + tWTR_L 8 + tCL 14 + 1.25
  // A read in another bank group (page 1) only waits tWTR_S = 6: RD 25.25, done 40.5
  // (its ACT at tRRD_S = 4 would allow RD at 18).
  r = HbmReference(OnePc()).Run({{0, 0, 32, true}, {0, kRow, 32, false}});
  EXPECT_EQ(r.completion_ps[1], 40500u);  // 19.25 + 6 + 14 + 1.25
  // Without the write the same read would finish at 4 + 29.25 = 33.25.
  r = HbmReference(OnePc()).Run({{0, 0, 32, false}, {0, kRow, 32, false}});
  EXPECT_EQ(r.completion_ps[1], 33250u);
}

TEST(HbmReference, LongSequentialReadReachesPeak) {
  for (const char* preset : {"hbm2e", "hbm3"}) {
    HbmConfig c = HbmPreset(preset);
    c.stacks = 1;
    c.refresh = false;
    const std::uint64_t bytes = 8ull << 20;
    const HbmReferenceResult r = HbmReference(c).Run({{0, 0, bytes, false}});
    const double peak_ns = static_cast<double>(bytes) / c.PeakGBps();  // 20480 / 10240 ns
    const double fraction = peak_ns / (static_cast<double>(r.completion_ps[0]) / 1000.0);
    // Closed form: first ACT + tRCD + tCL (28 ns) + bytes / peak; activations (one per
    // 1 KiB row, every 40 ns of data on a PC) hide behind the other bank groups' data.
    EXPECT_GE(fraction, 0.99) << preset;  // 20480 / 20508 = 99.86% for hbm2e
    EXPECT_EQ(r.stats.activations, bytes / kRow) << preset;
    EXPECT_GE(fraction, 0.90) << preset;  // the bar
  }
}

TEST(HbmReference, LongSequentialReadWithRefreshStaysAboveNinetyPercent) {
  HbmConfig c = HbmPreset("hbm2e");  // refresh on, the default
  c.stacks = 1;
  const std::uint64_t bytes = 8ull << 20;
  const HbmReferenceResult r = HbmReference(c).Run({{0, 0, bytes, false}});
  const double fraction = static_cast<double>(bytes) / c.PeakGBps() /
                          (static_cast<double>(r.completion_ps[0]) / 1000.0);
  // Refresh takes (tRP + tRFC + tRCD + tCL) / tREFI = 302 / 3900 = 7.7% of each PC's time,
  // so about 92.3% of peak remains.
  EXPECT_GE(fraction, 0.90);
  EXPECT_LE(fraction, 1.0 - 302.0 / 3900.0 + 0.005);
}

TEST(HbmReference, RefreshCostsTrfcPerTrefi) {
  // One PC streaming 1 MiB: 32768 bursts x 1.25 ns = 40.96 us of data. Refresh windows
  // at 3.9 us x k (offset (0 + 1) x tREFI / 1 PC): k = 1..11 fall inside the ~44.4 us run.
  const std::uint64_t bytes = 1ull << 20;
  const HbmReferenceResult off = HbmReference(OnePc(false)).Run({{0, 0, bytes, false}});
  const HbmReferenceResult on = HbmReference(OnePc(true)).Run({{0, 0, bytes, false}});
  EXPECT_EQ(off.completion_ps[0], 40991000u);  // 28 ns latency + 40960 + 3 ns pipeline tail
  ASSERT_EQ(on.stats.refreshes, 11u);
  // Each refresh: precharge all (tRP 14), tRFC 260, reopen (tRCD 14) and refill (tCL 14)
  // = 302 ns, plus at most a few ns waiting for tRTP / the last burst before PRE.
  const double per_refresh_ns =
      static_cast<double>(on.completion_ps[0] - off.completion_ps[0]) / 1000.0 / 11.0;
  EXPECT_GE(per_refresh_ns, 302.0);
  EXPECT_LE(per_refresh_ns, 310.0);
}

// ---- per-bank refresh (hbm.refresh_mode = per_bank): tREFIpb = 3900 / 16 = 243.75 ns,
// tRFCpb 160 ns ----------------------------------------------------------------------------

HbmConfig OnePcPerBank(bool refresh = true) {
  HbmConfig c = OnePc(refresh);
  c.refresh_mode = HbmRefreshMode::kPerBank;
  return c;
}

TEST(HbmReference, PerBankRefreshCostsAStreamOverAllBanksNothing) {
  // One PC streaming 1 MiB (~41 us): 168 REFsb fall inside (41 us / 243.75 ns). Each takes
  // the bank the stream has just left, which it needs again 15 rows = 600 ns later, after
  // tRFCpb + tRP = 174 ns: the stream never waits.
  const std::uint64_t bytes = 1ull << 20;
  const HbmReferenceResult off = HbmReference(OnePcPerBank(false)).Run({{0, 0, bytes, false}});
  const HbmReferenceResult on = HbmReference(OnePcPerBank(true)).Run({{0, 0, bytes, false}});
  EXPECT_EQ(on.stats.refreshes, 168u);
  EXPECT_EQ(on.completion_ps[0], off.completion_ps[0]);  // 40991 ns, as without refresh
  EXPECT_EQ(on.stats.activations, bytes / kRow);         // no row was closed under the stream
}

TEST(HbmReference, PerBankRefreshBlocksABankTheTrafficNeverLeaves) {
  // 3000 reads of 1 KiB, all of row 0 of bank 0, at t=0: 96000 bursts tCCD_L = 2 ns apart
  // (one bank group), 192 us without refresh. Each round of 16 REFsb (one tREFI = 3.9 us)
  // refreshes the 15 idle banks first; bank 0 is always wanted, so it goes last, once per
  // round: RD, tRTP 4, PRE, tRP 14, tRFCpb 160, ACT, tRCD 14, RD = 192 ns instead of the 2 ns
  // tCCD_L step, i.e. 190 ns per tREFI (4.9%), where all-bank refresh costs ~290 ns (7.4%).
  std::vector<HbmRequest> reqs(3000, HbmRequest{0, 0, 1024, false});
  const HbmReferenceResult off = HbmReference(OnePcPerBank(false)).Run(reqs);
  const HbmReferenceResult on = HbmReference(OnePcPerBank(true)).Run(reqs);
  const HbmReferenceResult all = HbmReference(OnePc(true)).Run(reqs);
  EXPECT_EQ(off.stats.last_completion_ps, 192027250u);     // 28 + 95999 x 2 + 1.25 ns
  const std::uint64_t blocked = on.stats.activations - 1;  // re-opens after bank 0's REFsb
  // One per round over the ~201.7 us run: 201.7 / 3.9 = 51.7 rounds.
  EXPECT_EQ(blocked, 51u);
  EXPECT_EQ(on.stats.last_completion_ps - off.stats.last_completion_ps, blocked * 190000u);
  EXPECT_GT(all.stats.last_completion_ps, on.stats.last_completion_ps);
}

TEST(HbmReference, LongSequentialReadWithPerBankRefreshReachesPeak) {
  // HBM3 refreshes per bank by default (hbm_config.cpp). All-bank refresh at its tRFC 350 ns
  // costs (tRP 14 + tRFC 350 + tRCD 14 + tCL 14) / tREFI 3900 = 10% of every PC: 89% of
  // peak, below the 90%. Per-bank refresh takes the bank the stream has just left,
  // so the stream keeps ~99% of peak (only the 28 ns first access and scheduling remain).
  EXPECT_EQ(HbmPreset("hbm3").refresh_mode, HbmRefreshMode::kPerBank);
  EXPECT_EQ(HbmPreset("hbm2e").refresh_mode, HbmRefreshMode::kAllBank);
  for (const char* preset : {"hbm2e", "hbm3"}) {
    for (HbmRefreshMode mode : {HbmRefreshMode::kAllBank, HbmRefreshMode::kPerBank}) {
      HbmConfig c = HbmPreset(preset);  // refresh on
      c.stacks = 1;
      c.refresh_mode = mode;
      const std::uint64_t bytes = 8ull << 20;
      const HbmReferenceResult r = HbmReference(c).Run({{0, 0, bytes, false}});
      const double fraction = static_cast<double>(bytes) / c.PeakGBps() /
                              (static_cast<double>(r.completion_ps[0]) / 1000.0);
      const double trfc = mode == HbmRefreshMode::kAllBank ? c.trfc_ns : 0.0;
      // All-bank: at most 1 - (tRP + tRFC + tRCD + tCL) / tREFI; per-bank: >= 99%.
      if (mode == HbmRefreshMode::kPerBank) {
        EXPECT_GE(fraction, 0.99) << preset;
      } else {
        EXPECT_LE(fraction, 1.0 - (14.0 + trfc + 14.0 + 14.0) / 3900.0 + 0.005) << preset;
      }
      if (mode == HbmPreset(preset).refresh_mode) {
        EXPECT_GE(fraction, 0.90) << preset;  // the bar, with each preset's default
      }
    }
  }
}

TEST(HbmReference, RandomSixtyFourByteReadsAreActivationBound) {
  // 2000 random 64 B reads at t=0 on one PC: every one needs an ACT (512 MiB, 16 banks).
  // ACT interval = max(tRRD_S 4, tFAW/4 = 7.5, tRC/banks = 48/16 = 3) = 7.5 ns, so the
  // PC moves 64 B per 7.5 ns = 8.53 GB/s = 33% of its 25.6 GB/s peak.
  const HbmConfig c = OnePc();
  std::mt19937_64 rng(1);
  std::vector<HbmRequest> reqs;
  for (int i = 0; i < 2000; ++i) reqs.push_back({0, rng() % (c.CapacityBytes() / 64) * 64, 64});
  const HbmReferenceResult r = HbmReference(c).Run(reqs);
  EXPECT_EQ(r.stats.activations, 2000u);
  const double per_request_ns = static_cast<double>(r.stats.last_completion_ps) / 1000.0 / 2000;
  EXPECT_GE(per_request_ns, 7.5);         // never beats the tFAW bound
  EXPECT_LE(per_request_ns, 7.5 * 1.03);  // bank conflicts cost < 3% with a 64-deep queue
  EXPECT_NEAR(r.stats.AchievedGBps(), 64.0 / 7.5, 64.0 / 7.5 * 0.03);
}

TEST(HbmReference, LightlyLoadedRandomReadsShowTheRowMissLatency) {
  // 500 random 64 B reads 200 ns apart: no queueing, so every latency is a row miss:
  // 31.25 ns on a closed bank (tRCD + tCCD_L + tCL + burst) or 45.25 ns when another row is
  // open (+ tRP). Only the first touch of each of the 16 banks finds it closed.
  const HbmConfig c = OnePc();
  std::mt19937_64 rng(2);
  std::vector<HbmRequest> reqs;
  for (std::uint64_t i = 0; i < 500; ++i) {
    reqs.push_back({i * 200000, rng() % (c.CapacityBytes() / 64) * 64, 64});
  }
  const HbmReferenceResult r = HbmReference(c).Run(reqs);
  std::map<std::uint64_t, int> latencies;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    ++latencies[r.completion_ps[i] - reqs[i].arrival_ps];
  }
  ASSERT_EQ(latencies.size(), 2u);
  EXPECT_LE(latencies[31250], 16);
  EXPECT_EQ(latencies[31250] + latencies[45250], 500);
}

}  // namespace
}  // namespace systole
