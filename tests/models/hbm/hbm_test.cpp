#include "models/hbm/hbm.h"

#include <gtest/gtest.h>

#include <tlm_utils/simple_initiator_socket.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "models/hbm/hbm_reference.h"
#include "models/sysc/sim_context.h"

namespace systole {
namespace {

// hbm2e timings (ns): tRCD 14, tRP 14, tRAS 34, tCL 14, tCWL 4, tRRD_S 4, tFAW 30,
// tWTR_L 8, tCCD_L 2, burst 1.25 (32 B), tREFI 3900, tRFC 260.

HbmConfig OnePc() {
  HbmConfig c = HbmPreset("hbm2e");
  c.stacks = 1;
  c.channels_per_stack = 1;
  c.pseudo_channels = 1;
  c.refresh = false;
  return c;
}

struct Comparison {
  double makespan_ratio;      // fast / reference, time of the last completion
  double mean_latency_ratio;  // fast / reference, mean of (completion - arrival)
};

// Runs the same requests, in order, through both models.
Comparison Compare(const HbmConfig& c, const std::vector<HbmRequest>& reqs) {
  const HbmReferenceResult ref = HbmReference(c).Run(reqs);
  HbmFastModel fast(c);
  std::uint64_t fast_end = 0;
  double fast_lat = 0;
  double ref_lat = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const std::uint64_t done =
        fast.Access(reqs[i].arrival_ps, reqs[i].address, reqs[i].bytes, reqs[i].is_write);
    fast_end = std::max(fast_end, done);
    fast_lat += static_cast<double>(done - reqs[i].arrival_ps);
    ref_lat += static_cast<double>(ref.completion_ps[i] - reqs[i].arrival_ps);
  }
  return {static_cast<double>(fast_end) / static_cast<double>(ref.stats.last_completion_ps),
          fast_lat / ref_lat};
}

// ---- closed forms: the fast model is exact on isolated accesses -------------------------

TEST(HbmFast, IsolatedAccessesMatchTheirClosedForms) {
  constexpr std::uint64_t kBankStride = 16384;  // same bank, next row on one PC
  HbmFastModel m(OnePc());
  EXPECT_EQ(m.Access(0, 0, 32, false), 29250u);  // tRCD 14 + tCL 14 + burst 1.25
  // Same row later: a hit, tCL + burst.
  EXPECT_EQ(m.Access(1000000, 32, 32, false) - 1000000, 15250u);
  // Same bank, other row: PRE + tRP + tRCD + tCL + burst = 43.25.
  EXPECT_EQ(m.Access(2000000, kBankStride, 32, false) - 2000000, 43250u);
  // 64 B on a closed bank (page 5): two bursts tCCD_L apart: 14 + 2 + 14 + 1.25 = 31.25.
  EXPECT_EQ(m.Access(3000000, 5 * 1024, 64, false) - 3000000, 31250u);
  // Write then read of the same row: data 18..19.25, RD after tWTR_L: 19.25+8+14+1.25.
  HbmFastModel w(OnePc());
  EXPECT_EQ(w.Access(0, 0, 32, true), 19250u);
  EXPECT_EQ(w.Access(0, 32, 32, false), 42500u);
}

TEST(HbmFast, SequentialStreamIsDataBoundAndCostsNothingPerByte) {
  HbmConfig c = HbmPreset("hbm2e");
  c.refresh = false;
  HbmFastModel m(c);
  // 64 MiB over 32 PCs: 2 MiB per PC = 81.92 us of bursts, after the first 28 ns ACT +
  // tRCD + tCL. The same closed form the reference reaches within 0.2%.
  const std::uint64_t done = m.Access(0, 0, 64ull << 20, false);
  EXPECT_EQ(done, 28000u + (64ull << 20) / 32 / 32 * 1250u);
  const HbmStats s = m.stats();
  EXPECT_EQ(s.activations, (64ull << 20) / 1024);  // one per 1 KiB row
  EXPECT_EQ(s.row_hits + s.row_misses, (64ull << 20) / 32);
  EXPECT_NEAR(s.AchievedGBps(), c.PeakGBps(), c.PeakGBps() * 0.001);
}

TEST(HbmFast, RefreshCostsItsClosedFormPerWindow) {
  // One PC streaming 1 MiB (40.96 us of bursts): windows at 3.9 us x k, k = 1..11, fall
  // inside; each costs tRP 14 + tRFC 260 + tRCD 14 + tCL 14 = 302 ns.
  HbmConfig c = OnePc();
  HbmFastModel off(c);
  c.refresh = true;
  HbmFastModel on(c);
  const std::uint64_t t_off = off.Access(0, 0, 1 << 20, false);
  const std::uint64_t t_on = on.Access(0, 0, 1 << 20, false);
  EXPECT_EQ(t_off, 28000u + 40960000u);  // ACT + tRCD + tCL, then 32768 x 1.25 ns
  EXPECT_EQ(t_on - t_off, 11u * 302000u);
  EXPECT_EQ(on.stats().refreshes, 11u);
}

TEST(HbmFast, PerBankRefreshBlocksOnlyABankTheTrafficNeverLeaves) {
  // One PC, per-bank refresh (tREFIpb = 3900 / 16 = 243.75 ns, tRFCpb 160). A DMA queue reads
  // row 0 of bank 0 (1 KiB, 32 bursts tCCD_L = 2 ns apart) 3000 times, each read issued when
  // the last is done: a hit costs tCL 14 + 1.25 + 31 x 2 = 77.25 ns. The 15 idle banks are
  // refreshed first in each round of 16 REFsb; bank 0 last, once per tREFI: PRE tRTP 4 after
  // the last RD (done - tCL - burst), tRP 14, tRFCpb 160, ACT, tRCD 14, then the read:
  // 4 + 14 + 160 + 14 - 14 - 1.25 = 176.75 ns more than a hit.
  HbmConfig c = OnePc();
  c.refresh_mode = HbmRefreshMode::kPerBank;
  HbmFastModel off(c);
  c.refresh = true;
  HbmFastModel on(c);
  std::uint64_t t_off = 0;
  std::uint64_t t_on = 0;
  for (int i = 0; i < 3000; ++i) {
    t_off = off.Access(t_off, 0, 1024, false);
    t_on = on.Access(t_on, 0, 1024, false);
  }
  EXPECT_EQ(t_off, 14000u + 3000u * 77250u);  // the first read opens the row: + tRCD
  const std::uint64_t blocked = on.stats().activations - 1;
  EXPECT_EQ(blocked, 62u);  // one per round: 242.7 us / 3.9 us
  EXPECT_EQ(t_on - t_off, blocked * 176750u);
}

TEST(HbmFast, PerBankRefreshCostsAStreamOverAllBanksNothing) {
  // 256 x 4 KiB reads back to back on one PC (~51 us, 210 REFsb): each REFsb takes the bank
  // the stream has just left (not needed for 600 ns > tRP + tRFCpb = 174 ns). The stream is
  // even ~1% faster: a refreshed bank is already precharged when the stream comes back
  // (tRP saved on that row conflict).
  HbmConfig c = OnePc();
  c.refresh_mode = HbmRefreshMode::kPerBank;
  HbmFastModel off(c);
  c.refresh = true;
  HbmFastModel on(c);
  std::uint64_t t_off = 0;
  std::uint64_t t_on = 0;
  for (std::uint64_t i = 0; i < 256; ++i) {
    t_off = off.Access(t_off, i * 4096, 4096, false);
    t_on = on.Access(t_on, i * 4096, 4096, false);
  }
  EXPECT_LE(t_on, t_off);
  EXPECT_GE(static_cast<double>(t_on), 0.98 * static_cast<double>(t_off));
}

// ---- fast vs reference ---------------------------------------------------------------
//
// Bound: 5% on the time of the last completion for streams, strided tiles and concurrent
// streams, and on the mean latency of lightly loaded random reads; 10% for saturated random
// 64 B reads (see that test). Sources of difference (hbm.h "What it ignores"): the fast model
// serves whole transfers in order where FR-FCFS interleaves their bursts, models ACTs as a rate
// server rather than a tFAW window, and does not model the tail of each transfer's last
// row; each is worth a few ns per transfer per PC, i.e. < 5% once transfers are >= 4 KiB.

TEST(HbmFast, AgreesWithReferenceOnSequentialStreams) {
  for (const char* preset : {"hbm2e", "hbm3"}) {
    const HbmConfig c = HbmPreset(preset);  // 2 stacks, refresh on
    for (std::uint64_t bytes : {4ull << 10, 64ull << 10, 1ull << 20, 8ull << 20}) {
      const Comparison r = Compare(c, {{0, 0, bytes, false}});
      EXPECT_NEAR(r.makespan_ratio, 1.0, 0.05) << preset << " " << bytes;
    }
  }
  const HbmConfig c = HbmPreset("hbm2e");
  // A stream of 64 KiB descriptors arriving back to back, reads then writes.
  std::vector<HbmRequest> reqs;
  for (std::uint64_t i = 0; i < 32; ++i) reqs.push_back({0, i << 16, 1 << 16, i >= 16});
  EXPECT_NEAR(Compare(c, reqs).makespan_ratio, 1.0, 0.05);
}

TEST(HbmFast, AgreesWithReferenceOnStridedTiles) {
  const HbmConfig c = HbmPreset("hbm2e");
  struct Tile {
    std::uint64_t chunk, stride, count;
  };
  // A 128 x 512 B tile of an 8 KiB-wide matrix; 64 x 2 KiB of a 1 MiB-wide one; 256
  // rows of 128 B (a narrow column block).
  for (const Tile& t : {Tile{512, 8192, 128}, Tile{2048, 1 << 20, 64}, Tile{128, 4096, 256}}) {
    std::vector<HbmRequest> reqs;
    for (std::uint64_t i = 0; i < t.count; ++i) reqs.push_back({0, i * t.stride, t.chunk});
    const Comparison r = Compare(c, reqs);
    EXPECT_NEAR(r.makespan_ratio, 1.0, 0.05) << t.chunk << "x" << t.count;
  }
}

TEST(HbmFast, AgreesWithReferenceOnRandomSixtyFourByteReads) {
  const HbmConfig c = HbmPreset("hbm2e");
  std::mt19937_64 rng(3);
  std::vector<HbmRequest> saturated;
  std::vector<HbmRequest> spaced;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    saturated.push_back({0, rng() % (c.CapacityBytes() / 64) * 64, 64});
  }
  for (std::uint64_t i = 0; i < 2000; ++i) {
    spaced.push_back({i * 20000, rng() % (c.CapacityBytes() / 64) * 64, 64});
  }
  // Saturated: both activation-bound at 64 B per 7.5 ns per PC, but in the reference
  // requests to a bank with a chain of row conflicts (one ACT per tRC = 48 ns) collect in
  // the 64-entry queue and leave fewer banks to activate; the fast model's activation
  // server ignores that and is up to ~8% faster on the most loaded PC. Bound: 10%.
  EXPECT_NEAR(Compare(c, saturated).makespan_ratio, 1.0, 0.10);
  // 20 ns apart over 32 PCs: no queueing, every latency a row miss (31.25 or 45.25 ns).
  EXPECT_NEAR(Compare(c, spaced).mean_latency_ratio, 1.0, 0.05);
}

TEST(HbmFast, AgreesWithReferenceOnTwoConcurrentStreams) {
  // Two DMA queues, each with 16 x 64 KiB descriptors, interleaved in call order, into
  // different regions (so they also conflict on banks: region B is 256 MiB away = same
  // PCs and banks, other rows).
  const HbmConfig c = HbmPreset("hbm2e");
  std::vector<HbmRequest> reqs;
  for (std::uint64_t i = 0; i < 16; ++i) {
    reqs.push_back({0, i << 16, 1 << 16, false});
    reqs.push_back({0, (256ull << 20) + (i << 16), 1 << 16, true});
  }
  const Comparison r = Compare(c, reqs);
  EXPECT_NEAR(r.makespan_ratio, 1.0, 0.05);
}

TEST(HbmFast, AgreesWithReferenceWithPerBankRefresh) {
  // The same bounds as with all-bank refresh: 5% on streams and strided tiles, and on the
  // mean latency of spaced random reads; 10% on saturated random 64 B reads.
  for (const char* preset : {"hbm2e", "hbm3"}) {
    HbmConfig c = HbmPreset(preset);  // 2 stacks, refresh on
    c.refresh_mode = HbmRefreshMode::kPerBank;
    for (std::uint64_t bytes : {4ull << 10, 64ull << 10, 1ull << 20, 8ull << 20}) {
      EXPECT_NEAR(Compare(c, {{0, 0, bytes, false}}).makespan_ratio, 1.0, 0.05)
          << preset << " " << bytes;
    }
    std::vector<HbmRequest> stream;  // 64 KiB descriptors back to back, reads then writes
    for (std::uint64_t i = 0; i < 32; ++i) stream.push_back({0, i << 16, 1 << 16, i >= 16});
    EXPECT_NEAR(Compare(c, stream).makespan_ratio, 1.0, 0.05) << preset;
    struct Tile {
      std::uint64_t chunk, stride, count;
    };
    for (const Tile& t : {Tile{512, 8192, 128}, Tile{2048, 1 << 20, 64}, Tile{128, 4096, 256}}) {
      std::vector<HbmRequest> reqs;
      for (std::uint64_t i = 0; i < t.count; ++i) reqs.push_back({0, i * t.stride, t.chunk});
      EXPECT_NEAR(Compare(c, reqs).makespan_ratio, 1.0, 0.05)
          << preset << " " << t.chunk << "x" << t.count;
    }
    std::mt19937_64 rng(3);
    std::vector<HbmRequest> saturated;
    std::vector<HbmRequest> spaced;
    for (std::uint64_t i = 0; i < 20000; ++i) {
      saturated.push_back({0, rng() % (c.CapacityBytes() / 64) * 64, 64});
    }
    for (std::uint64_t i = 0; i < 2000; ++i) {
      spaced.push_back({i * 20000, rng() % (c.CapacityBytes() / 64) * 64, 64});
    }
    EXPECT_NEAR(Compare(c, saturated).makespan_ratio, 1.0, 0.10) << preset;
    EXPECT_NEAR(Compare(c, spaced).mean_latency_ratio, 1.0, 0.05) << preset;
  }
}

// ---- the TLM-2.0 target --------------------------------------------------------------

struct Transfer {
  std::uint64_t address, bytes;
  bool write;
};

// A minimal DMA-like initiator: issues its transfers one after the other, waiting for each.
class TestInitiator : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(TestInitiator);
  tlm_utils::simple_initiator_socket<TestInitiator> socket;
  std::vector<Transfer> program;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> issued;  // (arrival, done) ps
  std::vector<tlm::tlm_response_status> status;
  sc_core::sc_time initial_offset = sc_core::SC_ZERO_TIME;
  std::vector<HbmChunk> chunks;  // when set, the first transfer carries them

  explicit TestInitiator(sc_core::sc_module_name n) : sc_core::sc_module(n), socket("socket") {
    SC_THREAD(Run);
  }

  void Run() {
    static const sc_core::sc_time kPs(1, sc_core::SC_PS);
    for (std::size_t i = 0; i < program.size(); ++i) {
      const Transfer& t = program[i];
      tlm::tlm_generic_payload p;
      p.set_command(t.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
      p.set_address(t.address);
      p.set_data_length(static_cast<unsigned>(t.bytes));
      p.set_streaming_width(static_cast<unsigned>(t.bytes));
      p.set_data_ptr(&dummy_);
      HbmChunksExtension ext;
      if (i == 0 && !chunks.empty()) {
        ext.chunks = chunks;
        p.set_extension(&ext);
      }
      sc_core::sc_time delay = i == 0 ? initial_offset : sc_core::SC_ZERO_TIME;
      const auto arrival = static_cast<std::uint64_t>((sc_core::sc_time_stamp() + delay) / kPs);
      socket->b_transport(p, delay);
      if (i == 0 && !chunks.empty()) p.clear_extension(&ext);
      status.push_back(p.get_response_status());
      issued.push_back(
          {arrival, static_cast<std::uint64_t>((sc_core::sc_time_stamp() + delay) / kPs)});
      wait(delay);
    }
  }

 private:
  unsigned char dummy_ = 0;
};

TEST(Hbm, BTransportAnnotatesTheCompletionDelay) {
  SimContext context;
  Hbm hbm("hbm", OnePc());
  TestInitiator dma("dma");
  dma.socket.bind(hbm.socket);
  dma.initial_offset = sc_core::sc_time(10, sc_core::SC_NS);  // LT local time offset
  dma.program = {{0, 32, false}, {32, 32, false}, {1ull << 40, 32, false}};
  sc_core::sc_start();
  ASSERT_EQ(dma.issued.size(), 3u);
  // Issued at 10 ns on a closed bank: done at 10 + 29.25 ns.
  EXPECT_EQ(dma.issued[0].first, 10000u);
  EXPECT_EQ(dma.issued[0].second, 39250u);
  // Next one issued when the first completed: a row hit, tCL + burst = 15.25 ns later.
  EXPECT_EQ(dma.issued[1].second - dma.issued[1].first, 15250u);
  EXPECT_EQ(dma.status[0], tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(dma.status[2], tlm::TLM_ADDRESS_ERROR_RESPONSE);  // 1 TiB > 512 MiB
  EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::sc_time(54.5, sc_core::SC_NS));
  const HbmStats s = hbm.stats();
  EXPECT_EQ(s.bytes_read, 64u);
  EXPECT_EQ(s.activations, 1u);
  EXPECT_EQ(s.row_hits, 1u);
}

TEST(Hbm, ChunkExtensionTimesAStridedTileAsOneTransaction) {
  const HbmConfig c = HbmPreset("hbm2e");
  const std::vector<HbmChunk> tile = HbmChunksExtension::Strided(0, 512, 8192, 128);
  HbmFastModel direct(c);
  const std::uint64_t expected = direct.AccessChunks(0, tile, false);
  SimContext context;
  Hbm hbm("hbm", c);
  TestInitiator dma("dma");
  dma.socket.bind(hbm.socket);
  dma.chunks = tile;
  dma.program = {{0, 512 * 128, false}};
  sc_core::sc_start();
  EXPECT_EQ(dma.issued[0].second, expected);
  EXPECT_EQ(hbm.stats().bytes_read, 512u * 128u);
}

TEST(HbmFast, ChunkListsTimeExactlyAsChunkByChunk) {
  // AccessChunks groups chunks per PC and folds runs of row hits (PcHitRun); the result must
  // be what taking the chunks one by one gives: completion times and every statistic.
  std::mt19937_64 rng(7);
  for (int mode = 0; mode < 3; ++mode) {
    for (bool write : {false, true}) {
      HbmConfig c = HbmPreset(mode == 2 ? "hbm3" : "hbm2e");
      c.refresh = mode != 0;
      c.refresh_mode = mode == 2 ? HbmRefreshMode::kPerBank : HbmRefreshMode::kAllBank;
      HbmFastModel by_chunk(c);
      HbmFastModel listed(c);
      std::uint64_t t = 0;
      for (int call = 0; call < 300; ++call) {
        const std::uint64_t chunk = (rng() % 2 == 0 ? 32 : 1) * (1 + rng() % 160);
        const std::uint64_t stride = chunk + (rng() % 3 == 0 ? 0 : (rng() % 64) * 256);
        const std::uint64_t count = 1 + rng() % 96;
        const std::uint64_t base = rng() % (1ull << 30);
        const std::vector<HbmChunk> chunks =
            HbmChunksExtension::Strided(base, chunk, stride, count);
        std::uint64_t expected = t;
        for (const HbmChunk& k : chunks) {
          expected = std::max(expected, by_chunk.Access(t, k.address, k.bytes, write));
        }
        ASSERT_EQ(listed.AccessChunks(t, chunks, write), expected) << mode << " call " << call;
        t += rng() % 3 == 0 ? 0 : rng() % 2000000;  // some calls at once, some apart
      }
      const HbmStats a = by_chunk.stats();
      const HbmStats b = listed.stats();
      EXPECT_EQ(a.bytes_read + a.bytes_written, b.bytes_read + b.bytes_written);
      EXPECT_EQ(a.bursts, b.bursts);
      EXPECT_EQ(a.activations, b.activations);
      EXPECT_EQ(a.row_hits, b.row_hits);
      EXPECT_EQ(a.refreshes, b.refreshes);
      EXPECT_EQ(a.busy_ps, b.busy_ps);
      EXPECT_EQ(a.last_completion_ps, b.last_completion_ps);
    }
  }
}

TEST(Hbm, TwoInitiatorsShareTheBandwidth) {
  // Each DMA queue streams 4 MiB as 64 x 64 KiB reads, one at a time. Alone, a queue pays
  // the ~28 ns first-access latency per descriptor on top of 64 KiB / 819.2 GB/s = 80 ns;
  // together the two overlap each other's gaps but share the 819.2 GB/s.
  const HbmConfig c = HbmPreset("hbm2e");
  auto program = [](std::uint64_t base) {
    std::vector<Transfer> p;
    for (std::uint64_t i = 0; i < 64; ++i) p.push_back({base + (i << 16), 1 << 16, false});
    return p;
  };
  std::uint64_t alone_ps = 0;
  {
    SimContext context;
    Hbm hbm("hbm", c);
    TestInitiator a("a");
    a.socket.bind(hbm.socket);
    a.program = program(0);
    sc_core::sc_start();
    alone_ps = a.issued.back().second;
  }
  std::vector<HbmRequest> trace;
  std::uint64_t together_ps = 0;
  {
    SimContext context;
    Hbm hbm("hbm", c);
    TestInitiator a("a");
    TestInitiator b("b");
    a.socket.bind(hbm.socket);
    b.socket.bind(hbm.socket);
    a.program = program(0);
    b.program = program(1ull << 30);
    sc_core::sc_start();
    together_ps = std::max(a.issued.back().second, b.issued.back().second);
    for (std::size_t i = 0; i < 64; ++i) {
      trace.push_back({a.issued[i].first, a.program[i].address, 1 << 16, false});
      trace.push_back({b.issued[i].first, b.program[i].address, 1 << 16, false});
    }
    EXPECT_EQ(hbm.stats().bytes_read, 8ull << 20);
  }
  const double bytes_ns = static_cast<double>(8ull << 20) / c.PeakGBps();  // 10240 ns
  EXPECT_GE(static_cast<double>(together_ps) / 1000.0, bytes_ns);          // never beats the peak
  EXPECT_LT(together_ps, 2 * alone_ps);                                    // the queues overlap
  EXPECT_GT(together_ps, alone_ps);                                        // and contend
  // The reference, fed the same arrival times, finishes within 5%.
  const HbmReferenceResult ref = HbmReference(c).Run(trace);
  EXPECT_NEAR(static_cast<double>(together_ps) / static_cast<double>(ref.stats.last_completion_ps),
              1.0, 0.05);
}

}  // namespace
}  // namespace systole
