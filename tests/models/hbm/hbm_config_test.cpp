#include "models/hbm/hbm_config.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "sim/config/arch_config.h"

namespace systole {
namespace {

TEST(HbmConfig, PeakBandwidthFollowsFromTheOrganisation) {
  // 2 stacks x 8 channels x 2 PCs x 64 bits x 3.2 Gbit/s / 8 = 819.2 GB/s.
  EXPECT_DOUBLE_EQ(HbmPreset("hbm2e").PeakGBps(), 819.2);
  // 2 stacks x 16 channels x 2 PCs x 32 bits x 6.4 Gbit/s / 8 = 1638.4 GB/s.
  EXPECT_DOUBLE_EQ(HbmPreset("hbm3").PeakGBps(), 1638.4);
  HbmConfig one = HbmPreset("hbm3");
  one.stacks = 1;
  EXPECT_DOUBLE_EQ(one.PeakGBps(), 819.2);  // JEDEC's 819 GB/s per HBM3 stack
}

TEST(HbmConfig, BurstSizeTimeAndCapacity) {
  for (const char* name : {"hbm2e", "hbm3"}) {
    const HbmConfig c = HbmPreset(name);
    // 64 bits x BL4 = 32 bits x BL8 = 32 B.
    EXPECT_EQ(c.BurstBytes(), 32u) << name;
    // BL4 / 3.2 Gbit/s = BL8 / 6.4 Gbit/s = 1.25 ns.
    EXPECT_EQ(ToTiming(c).burst, 1250u) << name;
  }
  // hbm2e: 32 PCs x 16 banks x 32768 rows x 1 KiB = 16 GiB (8 GiB per stack).
  EXPECT_EQ(HbmPreset("hbm2e").CapacityBytes(), 16ull << 30);
  // hbm3: 64 PCs x 16 banks x 32768 rows x 1 KiB = 32 GiB (16 GiB per stack).
  EXPECT_EQ(HbmPreset("hbm3").CapacityBytes(), 32ull << 30);
  EXPECT_EQ(ToTiming(HbmPreset("hbm2e")).rc, 48000u);  // tRAS 34 + tRP 14 ns
}

TEST(HbmConfig, AddressMapInterleavesPseudoChannelsThenWalksRows) {
  const HbmConfig c = HbmPreset("hbm2e");  // 32 PCs, 256 B granule, 1 KiB rows, 4x4 banks
  HbmLocation l = DecodeHbmAddress(c, 0);
  EXPECT_EQ(l.pc, 0u);
  EXPECT_EQ(l.local, 0u);
  l = DecodeHbmAddress(c, 256 + 5);  // second granule: next PC, same local offset 5
  EXPECT_EQ(l.pc, 1u);
  EXPECT_EQ(l.local, 5u);
  l = DecodeHbmAddress(c, 32 * 256);  // granule 32 wraps to PC 0, local 256
  EXPECT_EQ(l.pc, 0u);
  EXPECT_EQ(l.local, 256u);
  EXPECT_EQ(l.page, 0u);
  l = DecodeHbmAddress(c, 4 * 32 * 256);  // local 1024: page 1 -> bank group 1
  EXPECT_EQ(l.page, 1u);
  EXPECT_EQ(l.bank_group, 1u);
  EXPECT_EQ(l.row, 0u);
  l = DecodeHbmAddress(c, 16 * 4 * 32 * 256);  // local 16 KiB: page 16 -> bank 0, row 1
  EXPECT_EQ(l.page, 16u);
  EXPECT_EQ(l.bank, 0u);
  EXPECT_EQ(l.row, 1u);
}

TEST(HbmConfig, RegistryDefaultsAreTheHbm2ePresetWithTwoStacks) {
  const ArchConfig arch = LoadArchConfig("");
  const HbmConfig p = HbmPreset("hbm2e");
  const HbmConfig& h = arch.hbm;
  EXPECT_EQ(h.preset, "hbm2e");
  EXPECT_EQ(h.stacks, 2u);
  EXPECT_EQ(h.NumPcs(), p.NumPcs());
  EXPECT_EQ(h.BanksPerPc(), p.BanksPerPc());
  EXPECT_EQ(h.CapacityBytes(), p.CapacityBytes());
  EXPECT_EQ(h.burst_length, p.burst_length);
  EXPECT_EQ(h.interleave_bytes, p.interleave_bytes);
  EXPECT_EQ(h.queue_depth, p.queue_depth);
  EXPECT_EQ(h.refresh, p.refresh);
  EXPECT_DOUBLE_EQ(h.PeakGBps(), 819.2);
  const HbmTiming a = ToTiming(h);
  const HbmTiming b = ToTiming(p);
  const std::uint64_t HbmTiming::*fields[] = {
      &HbmTiming::rcd,   &HbmTiming::rp,    &HbmTiming::ras,   &HbmTiming::cl,    &HbmTiming::cwl,
      &HbmTiming::rrd_s, &HbmTiming::rrd_l, &HbmTiming::faw,   &HbmTiming::wr,    &HbmTiming::wtr_s,
      &HbmTiming::wtr_l, &HbmTiming::rtp,   &HbmTiming::ccd_s, &HbmTiming::ccd_l, &HbmTiming::burst,
      &HbmTiming::refi,  &HbmTiming::rfc};
  for (auto f : fields) EXPECT_EQ(a.*f, b.*f);
}

TEST(HbmConfig, PresetKeySetsDeviceFieldsAndExplicitKeysWin) {
  const ArchConfig arch = LoadArchConfig("", {"hbm.preset=hbm3", "hbm.trcd_ns=20"});
  EXPECT_EQ(arch.hbm.preset, "hbm3");
  EXPECT_EQ(arch.hbm.channels_per_stack, 16u);     // from the preset
  EXPECT_DOUBLE_EQ(arch.hbm.data_rate_gbps, 6.4);  // from the preset
  EXPECT_DOUBLE_EQ(arch.hbm.trfc_ns, 350);         // from the preset
  EXPECT_DOUBLE_EQ(arch.hbm.trcd_ns, 20);          // -p wins over the preset
  EXPECT_EQ(arch.hbm.stacks, 2u);                  // a design key: registry default
  // The resolved config shows what is simulated and why.
  EXPECT_EQ(arch.values.at("hbm.data_rate_gbps"), "6.4");
  EXPECT_EQ(arch.sources.at("hbm.data_rate_gbps"), "preset hbm3");
  EXPECT_EQ(arch.sources.at("hbm.trcd_ns"), "-p");
  EXPECT_EQ(arch.hbm.refresh_mode, HbmRefreshMode::kPerBank);  // HBM3 refreshes per bank
  EXPECT_EQ(arch.sources.at("hbm.refresh_mode"), "preset hbm3");
  EXPECT_EQ(LoadArchConfig("").hbm.refresh_mode, HbmRefreshMode::kAllBank);
  const ArchConfig all = LoadArchConfig("", {"hbm.preset=hbm3", "hbm.refresh_mode=all_bank"});
  EXPECT_EQ(all.hbm.refresh_mode, HbmRefreshMode::kAllBank);  // -p wins
}

TEST(HbmConfig, PerBankRefreshTiming) {
  HbmConfig c = HbmPreset("hbm3");
  const HbmTiming t = ToTiming(c);
  EXPECT_TRUE(t.per_bank);
  EXPECT_EQ(t.rfcpb, 160000u);
  EXPECT_EQ(t.refipb, 243750u);  // tREFI 3900 ns / 16 banks per PC
  EXPECT_EQ(t.RefreshIntervalPs(), 243750u);
  EXPECT_EQ(RefreshOffsetPs(c, t, 63), 243750u);  // PC 63 of 64: (63 + 1) x tREFIpb / 64
  c.refresh_mode = HbmRefreshMode::kAllBank;
  EXPECT_EQ(ToTiming(c).RefreshIntervalPs(), 3900000u);
}

TEST(HbmConfig, InconsistentValuesAreRejectedWithTheKey) {
  auto error = [](const std::vector<std::string>& overrides) -> std::string {
    try {
      LoadArchConfig("", overrides);
    } catch (const InputError& e) {
      return e.what();
    }
    return "<no error>";
  };
  EXPECT_EQ(error({"hbm.interleave_bytes=48"}),
            "hbm: hbm.interleave_bytes = 48 must be a multiple of the 32 B burst");
  EXPECT_EQ(error({"hbm.row_bytes=640"}),
            "hbm: hbm.row_bytes = 640 must be a multiple of hbm.interleave_bytes = 256");
  EXPECT_EQ(error({"hbm.tras_ns=10"}), "hbm: hbm.tras_ns = 10 must be at least hbm.trcd_ns = 14");
  EXPECT_EQ(error({"hbm.trfc_ns=5000"}), "hbm: hbm.trefi_ns = 3900 must exceed hbm.trfc_ns = 5000");
  EXPECT_EQ(error({"hbm.refresh=false", "hbm.trfc_ns=5000"}), "<no error>");
  EXPECT_EQ(error({"hbm.refresh_mode=per_bank", "hbm.trfc_ns=5000"}), "<no error>");
  EXPECT_EQ(error({"hbm.refresh_mode=per_bank", "hbm.trfcpb_ns=4000"}),
            "hbm: hbm.trefi_ns = 3900 must exceed hbm.trfcpb_ns = 4000");
  EXPECT_EQ(error({"hbm.preset=ddr4"}),
            "-p: hbm.preset = 'ddr4' is invalid: expected one of hbm2e, hbm3");
}

}  // namespace
}  // namespace systole
