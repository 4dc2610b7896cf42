// HBM configuration: organisation, JEDEC-style timing, address mapping, presets.
//
// What it describes
//   A memory system of `stacks` HBM stacks. Each stack has `channels_per_stack` channels,
//   each split into `pseudo_channels` independent pseudo-channels (PCs) with their own
//   `pc_width_bits`-wide data bus, bank groups, banks and row buffers. A PC is the unit of
//   scheduling in both timing models (hbm_reference.h, hbm.h): PCs share nothing but the
//   address map. A burst moves pc_width_bits/8 x burst_length bytes (32 B for both
//   presets) in burst_length / data_rate_gbps ns.
//
// Peak bandwidth (GB/s = 1e9 B/s)
//   stacks x channels_per_stack x pseudo_channels x pc_width_bits x data_rate_gbps / 8.
//   hbm2e: 8 x 2 x 64 x 3.2 / 8 = 409.6 GB/s per stack; hbm3: 16 x 2 x 32 x 6.4 / 8 =
//   819.2 GB/s per stack. The baseline design uses 2 hbm2e stacks = 819.2 GB/s, the class of
//   TPU v5e (819 GB/s; Google Cloud "TPU v5e", https://cloud.google.com/tpu/docs/v5e) and
//   Trainium (820 GB/s; AWS Neuron "Trainium Architecture", aws-neuron-sdk trainium.rst,
//   https://awsdocs-neuron.readthedocs-hosted.com).
//
// Address mapping (documented once, used by both models)
//   Physical byte address A (must be < capacity):
//     granule = A / interleave_bytes                 (consecutive granules rotate over PCs)
//     pc      = granule % num_pcs                    (pc = (stack, channel, pseudo-channel))
//     local   = (granule / num_pcs) * interleave_bytes + A % interleave_bytes
//     column  = local % row_bytes;  page = local / row_bytes
//     bank_group = page % bank_groups
//     bank       = (page / bank_groups) % banks_per_group
//     row        = page / (bank_groups * banks_per_group)
//   i.e. row:bank:bankgroup:column within a PC, with PC interleaving every
//   interleave_bytes. A sequential stream therefore spreads over all PCs, walks each PC's
//   local space in order, and consecutive pages of a PC land in different bank groups
//   (activations alternate bank groups: tRRD_S, and tCCD_L is hidden by interleaving).
//
// Refresh (hbm.refresh_mode)
//   all_bank: every tREFI each PC precharges all banks and is blocked for tRFC (REFab).
//   per_bank: every tREFIpb = tREFI / banks-per-PC each PC refreshes one bank for tRFCpb
//     (REFsb/REFpb) while the other banks keep serving. REFsb names its bank (JESD235/238;
//     Ramulator2's REFsb is bank-scoped), so the controller picks it: each bank once per
//     round of banks-per-PC commands (one tREFI, as LPDDR4/5 per-bank refresh requires),
//     preferring a bank no queued request wants, the most recently used first (in a
//     sequential stream the bank just left, which is needed again last). A bank the
//     traffic never leaves is refreshed in the round's last slot and blocks it.
//   Refresh commands are staggered over the PCs: PC i's k-th is due at
//   (i + 1) x interval / num_pcs + k x interval, interval = tREFI or tREFIpb.
//
// What it ignores
//   Stack IDs (SID) of 12/16-high stacks (more banks would only help random access),
//   the command slot and tRREFD (8 ns REFsb -> ACT of another bank) of per-bank refresh,
//   ECC, power-down, temperature-dependent tREFI.
//
// Parameters (units in the names): see HbmConfig below and `systole params` (hbm.*).
#pragma once

#include <cstdint>
#include <string>

namespace systole {

struct ArchConfig;

// The preset hbm.preset names by default (its device keys are the registry defaults).
inline constexpr const char* kDefaultHbmPreset = "hbm2e";

enum class HbmRefreshMode { kAllBank, kPerBank };

struct HbmConfig {
  std::string preset = "hbm2e";  // where the device fields came from
  // Organisation
  std::uint64_t stacks = 2;
  std::uint64_t channels_per_stack = 8;
  std::uint64_t pseudo_channels = 2;  // per channel
  std::uint64_t pc_width_bits = 64;   // data bus width of one pseudo-channel, bits
  double data_rate_gbps = 3.2;        // per data pin, Gbit/s
  std::uint64_t bank_groups = 4;      // per pseudo-channel
  std::uint64_t banks_per_group = 4;
  std::uint64_t row_bytes = 1024;        // row buffer (page) of one bank of one PC, bytes
  std::uint64_t rows_per_bank = 32768;   // rows
  std::uint64_t burst_length = 4;        // beats per column command
  std::uint64_t interleave_bytes = 256;  // PC interleaving granule, bytes
  // Timing, ns
  double trcd_ns = 14;     // ACT -> RD/WR
  double trp_ns = 14;      // PRE -> ACT
  double tras_ns = 34;     // ACT -> PRE
  double tcl_ns = 14;      // RD -> first read data
  double tcwl_ns = 4;      // WR -> first write data
  double trrd_s_ns = 4;    // ACT -> ACT, different bank group
  double trrd_l_ns = 6;    // ACT -> ACT, same bank group
  double tfaw_ns = 30;     // window holding at most four ACTs (per PC)
  double twr_ns = 16;      // end of write data -> PRE
  double twtr_s_ns = 6;    // end of write data -> RD, different bank group
  double twtr_l_ns = 8;    // end of write data -> RD, same bank group
  double trtp_ns = 4;      // RD -> PRE
  double tccd_s_ns = 1;    // column -> column, different bank group
  double tccd_l_ns = 2;    // column -> column, same bank group
  double trefi_ns = 3900;  // all-bank refresh interval per PC
  double trfc_ns = 260;    // all-bank refresh cycle
  double trfcpb_ns = 160;  // per-bank refresh cycle (tRFCpb / tRFCSB)
  bool refresh = true;     // model refresh
  HbmRefreshMode refresh_mode = HbmRefreshMode::kAllBank;
  // Controller queue entries (bursts) per PC, reference model only. 64 = two rows of 32 B
  // bursts, so two bank groups can interleave and hide tCCD_L (2 ns) > burst (1.25 ns); with
  // 32 a sequential stream stalls on tCCD_L and reaches only 90% of peak.
  std::uint64_t queue_depth = 64;

  std::uint64_t NumPcs() const { return stacks * channels_per_stack * pseudo_channels; }
  std::uint64_t BanksPerPc() const { return bank_groups * banks_per_group; }
  std::uint64_t BurstBytes() const { return pc_width_bits / 8 * burst_length; }
  std::uint64_t CapacityBytes() const {
    return NumPcs() * BanksPerPc() * rows_per_bank * row_bytes;
  }
  double PeakGBps() const {
    return static_cast<double>(NumPcs() * pc_width_bits) * data_rate_gbps / 8.0;
  }
  // Throws InputError naming the field when the configuration is inconsistent.
  void Validate() const;
};

// "all_bank" / "per_bank" (hbm.refresh_mode); throws InputError for anything else.
HbmRefreshMode ParseHbmRefreshMode(const std::string& name);
const char* HbmRefreshModeName(HbmRefreshMode mode);

// "hbm2e" or "hbm3"; throws InputError for anything else.
HbmConfig HbmPreset(const std::string& name);

// Fills arch.hbm from arch.values: the device fields come from the hbm.preset preset
// unless the key was set explicitly (file or -p), which wins. Keys taken from a non-default
// preset are rewritten in arch.values with the source "preset <name>", so the resolved
// config shows what was simulated. Validates the result.
void LoadHbmConfig(ArchConfig& arch);

// Timing converted once to integer picoseconds (both timing models work in ps).
struct HbmTiming {
  std::uint64_t rcd, rp, ras, rc, cl, cwl, rrd_s, rrd_l, faw, wr, wtr_s, wtr_l, rtp, ccd_s, ccd_l;
  std::uint64_t burst;    // data-bus time of one burst
  std::uint64_t rtw_gap;  // bus turnaround read data -> write data: 2 beats' clocks (2 tCK)
  std::uint64_t refi, rfc;
  std::uint64_t refipb, rfcpb;  // per-bank: tREFI / banks per PC, tRFCpb
  bool refresh;
  bool per_bank;  // refresh_mode == per_bank
  // Spacing of one PC's refresh commands: tREFI (all-bank) or tREFIpb (per-bank).
  std::uint64_t RefreshIntervalPs() const { return per_bank ? refipb : refi; }
};
HbmTiming ToTiming(const HbmConfig& c);

// One decoded address (see the mapping above).
struct HbmLocation {
  std::uint64_t pc = 0;     // global pseudo-channel index
  std::uint64_t local = 0;  // byte address inside the PC
  std::uint64_t page = 0;   // local / row_bytes
  std::uint64_t bank = 0;   // bank index inside the PC: bank_group + bank_groups * bank
  std::uint64_t bank_group = 0;
  std::uint64_t row = 0;
};
HbmLocation DecodeHbmAddress(const HbmConfig& c, std::uint64_t address);
// Bank / bank group / row of a PC-local page (same mapping).
inline std::uint64_t PageBank(const HbmConfig& c, std::uint64_t page) {
  return page % c.BanksPerPc();
}
inline std::uint64_t PageRow(const HbmConfig& c, std::uint64_t page) {
  return page / c.BanksPerPc();
}
// Due time of a PC's first refresh command: refreshes are staggered over the PCs, PC i
// refreshing at (i + 1) * interval / num_pcs + k * interval, k = 0, 1, ..., where
// interval = t.RefreshIntervalPs() (tREFI all-bank, tREFIpb per-bank).
std::uint64_t RefreshOffsetPs(const HbmConfig& c, const HbmTiming& t, std::uint64_t pc);

}  // namespace systole
