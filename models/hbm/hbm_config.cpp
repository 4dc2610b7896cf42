#include "models/hbm/hbm_config.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "base/error.h"
#include "models/chip/arch_config.h"

namespace systole {

namespace {

HbmConfig Hbm2ePreset() {
  HbmConfig c;
  c.preset = "hbm2e";
  // Organisation: JEDEC JESD235D (HBM2E) public summary: 8 channels of 128 bits per stack,
  // pseudo-channel mode splits each into 2 x 64-bit pseudo-channels with BL4 (32 B bursts)
  // and a 1 KB page. 4 bank groups x 4 banks per PC as in the public simulators' HBM2
  // configurations (DRAMsim3 configs/HBM2_8Gb_x128.ini; Ramulator2 HBM2 org presets).
  c.channels_per_stack = 8;
  c.pseudo_channels = 2;
  c.pc_width_bits = 64;
  c.burst_length = 4;
  c.row_bytes = 1024;
  c.bank_groups = 4;
  c.banks_per_group = 4;
  c.rows_per_bank = 32768;  // 16 banks x 32 Ki rows x 1 KiB x 16 PCs = 8 GiB per stack
  // 3.2 Gbit/s per pin: Samsung HBM2E "Flashbolt" (press release Feb 2020: 3.2 Gbps,
  // 410 GB/s per stack); SK hynix HBM2E reaches 3.6. 3.2 is also JESD235D's top bin.
  c.data_rate_gbps = 3.2;
  // Timing: DRAMsim3 configs/HBM2_8Gb_x128.ini (Li et al., "DRAMsim3", IEEE CAL 2020),
  // given there at tCK = 1 ns: CL 14, CWL 4, tRCD 14, tRP 14, tRAS 34, tRRD_S 4, tRRD_L 6,
  // tFAW 30, tWR 16, tWTR_S 6, tWTR_L 8, tRTP_S 4, tCCD_L 2, tRFC 260, tREFI 3900. Array
  // timings are fixed in ns by the DRAM core, so they carry over to 3.2 Gbit/s in ns.
  c.trcd_ns = 14;
  c.trp_ns = 14;
  c.tras_ns = 34;
  c.tcl_ns = 14;
  c.tcwl_ns = 4;
  c.trrd_s_ns = 4;
  c.trrd_l_ns = 6;
  c.tfaw_ns = 30;
  c.twr_ns = 16;
  c.twtr_s_ns = 6;
  c.twtr_l_ns = 8;
  c.trtp_ns = 4;
  c.tccd_s_ns = 1.25;  // one BL4 burst at 3.2 Gbit/s (tCCD_S = BL/2 clocks)
  c.tccd_l_ns = 2;
  c.trefi_ns = 3900;  // 3.9 us, the JEDEC all-bank refresh interval below 85 C
  c.trfc_ns = 260;
  // Per-bank (single-bank, REFSB) refresh: tRFCSB 160 ns and tRREFD 8 ns in Ramulator2's HBM2
  // and HBM3 timing presets (src/dram/impl/HBM2.cpp, HBM3.cpp: nRFCSB 160, nRREFD 8 at
  // tCK 1 ns); its tREFISB table (4875 / 2438 x 0.1 ns for 8 / 16 banks) is tREFI / banks,
  // which is how tREFIpb follows from tREFI here. HBM2E FPGA controllers refresh all banks
  // by default (Intel HBM2 IP "Controller Refresh All"; AMD PG313 lists single-bank refresh
  // as an option), so the preset keeps all-bank refresh: 91.5% of peak on a long stream.
  c.trfcpb_ns = 160;
  c.refresh_mode = HbmRefreshMode::kAllBank;
  return c;
}

HbmConfig Hbm3Preset() {
  HbmConfig c = Hbm2ePreset();
  c.preset = "hbm3";
  // Organisation: JEDEC JESD238 (HBM3, Jan 2022) public summary / JEDEC press release
  // "JEDEC Publishes HBM3 Update" (27 Jan 2022): 16 channels of 64 bits per stack, each two
  // 32-bit pseudo-channels (32 per stack), BL8 (32 B bursts), up to 6.4 Gbit/s per pin =
  // 819 GB/s per stack. 4 bank groups x 4 banks per PC as in Ramulator2's HBM3 presets.
  c.channels_per_stack = 16;
  c.pseudo_channels = 2;
  c.pc_width_bits = 32;
  c.burst_length = 8;
  c.data_rate_gbps = 6.4;
  c.rows_per_bank = 32768;  // 16 banks x 32 Ki rows x 1 KiB x 32 PCs = 16 GiB per stack
  // Array timings are not published outside the standard; like Ramulator2 (whose HBM3
  // timing preset repeats its HBM2 one) we keep the HBM2E figures in ns: estimates.
  c.tccd_s_ns = 1.25;  // one BL8 burst at 6.4 Gbit/s
  // tRFC of the denser HBM3 dies: 350 ns (Ramulator2 HBM3 tRFC table, 8 Gb entry).
  c.trfc_ns = 350;
  // Per-bank refresh: HBM3 controllers schedule single-bank refreshes to keep bandwidth
  // (e.g. an HBM3 memory controller in the ai-pim.org IP catalogue: "dynamic per-bank /
  // all-bank refresh switching, opportunistic advanced per-bank refresh"); all-bank refresh
  // at this tRFC would cost (tRP + tRFC + tRCD + tCL) / tREFI = 392 / 3900 = 10% of a busy
  // PC and leave a long stream at 89% of peak. tRFCpb 160 ns: Ramulator2 HBM3 preset
  // (nRFCSB), see hbm2e; no public JEDEC JESD238 figure was found, so it is an estimate.
  c.trfcpb_ns = 160;
  c.refresh_mode = HbmRefreshMode::kPerBank;
  return c;
}

struct IntField {
  const char* key;
  std::uint64_t HbmConfig::*member;
  bool device;  // taken from the preset unless set explicitly
};
struct FloatField {
  const char* key;
  double HbmConfig::*member;
};

const std::vector<IntField>& IntFields() {
  static const std::vector<IntField> fields = {
      {"hbm.stacks", &HbmConfig::stacks, false},
      {"hbm.channels_per_stack", &HbmConfig::channels_per_stack, true},
      {"hbm.pseudo_channels", &HbmConfig::pseudo_channels, true},
      {"hbm.pc_width_bits", &HbmConfig::pc_width_bits, true},
      {"hbm.bank_groups", &HbmConfig::bank_groups, true},
      {"hbm.banks_per_group", &HbmConfig::banks_per_group, true},
      {"hbm.row_bytes", &HbmConfig::row_bytes, true},
      {"hbm.rows_per_bank", &HbmConfig::rows_per_bank, true},
      {"hbm.burst_length", &HbmConfig::burst_length, true},
      {"hbm.interleave_bytes", &HbmConfig::interleave_bytes, false},
      {"hbm.queue_depth", &HbmConfig::queue_depth, false},
  };
  return fields;
}

const std::vector<FloatField>& FloatFields() {
  static const std::vector<FloatField> fields = {
      {"hbm.data_rate_gbps", &HbmConfig::data_rate_gbps},
      {"hbm.trcd_ns", &HbmConfig::trcd_ns},
      {"hbm.trp_ns", &HbmConfig::trp_ns},
      {"hbm.tras_ns", &HbmConfig::tras_ns},
      {"hbm.tcl_ns", &HbmConfig::tcl_ns},
      {"hbm.tcwl_ns", &HbmConfig::tcwl_ns},
      {"hbm.trrd_s_ns", &HbmConfig::trrd_s_ns},
      {"hbm.trrd_l_ns", &HbmConfig::trrd_l_ns},
      {"hbm.tfaw_ns", &HbmConfig::tfaw_ns},
      {"hbm.twr_ns", &HbmConfig::twr_ns},
      {"hbm.twtr_s_ns", &HbmConfig::twtr_s_ns},
      {"hbm.twtr_l_ns", &HbmConfig::twtr_l_ns},
      {"hbm.trtp_ns", &HbmConfig::trtp_ns},
      {"hbm.tccd_s_ns", &HbmConfig::tccd_s_ns},
      {"hbm.tccd_l_ns", &HbmConfig::tccd_l_ns},
      {"hbm.trefi_ns", &HbmConfig::trefi_ns},
      {"hbm.trfc_ns", &HbmConfig::trfc_ns},
      {"hbm.trfcpb_ns", &HbmConfig::trfcpb_ns},
  };
  return fields;
}

std::uint64_t Ps(double ns) { return static_cast<std::uint64_t>(std::llround(ns * 1000.0)); }

}  // namespace

HbmRefreshMode ParseHbmRefreshMode(const std::string& name) {
  if (name == "all_bank") return HbmRefreshMode::kAllBank;
  if (name == "per_bank") return HbmRefreshMode::kPerBank;
  throw InputError(
      fmt::format("hbm.refresh_mode = '{}' is invalid: expected one of all_bank, per_bank", name));
}

const char* HbmRefreshModeName(HbmRefreshMode mode) {
  return mode == HbmRefreshMode::kPerBank ? "per_bank" : "all_bank";
}

HbmConfig HbmPreset(const std::string& name) {
  if (name == "hbm2e") return Hbm2ePreset();
  if (name == "hbm3") return Hbm3Preset();
  throw InputError(fmt::format("hbm.preset = '{}' is invalid: expected one of hbm2e, hbm3", name));
}

void HbmConfig::Validate() const {
  auto bad = [](const std::string& what) { return InputError("hbm: " + what); };
  if (stacks == 0 || channels_per_stack == 0 || pseudo_channels == 0 || bank_groups == 0 ||
      banks_per_group == 0 || rows_per_bank == 0 || burst_length == 0 || queue_depth == 0) {
    throw bad(
        "stacks, channels, pseudo-channels, bank groups, banks, rows, burst length and "
        "queue depth must all be at least 1");
  }
  if (pc_width_bits == 0 || pc_width_bits % 8 != 0) {
    throw bad(
        fmt::format("hbm.pc_width_bits = {} must be a positive multiple of 8", pc_width_bits));
  }
  const std::uint64_t burst = BurstBytes();
  if (interleave_bytes == 0 || interleave_bytes % burst != 0) {
    throw bad(fmt::format("hbm.interleave_bytes = {} must be a multiple of the {} B burst",
                          interleave_bytes, burst));
  }
  if (row_bytes % interleave_bytes != 0) {
    throw bad(fmt::format("hbm.row_bytes = {} must be a multiple of hbm.interleave_bytes = {}",
                          row_bytes, interleave_bytes));
  }
  if (!(data_rate_gbps > 0)) throw bad("hbm.data_rate_gbps must be positive");
  if (tras_ns < trcd_ns) {
    throw bad(fmt::format("hbm.tras_ns = {} must be at least hbm.trcd_ns = {}", tras_ns, trcd_ns));
  }
  if (refresh && refresh_mode == HbmRefreshMode::kAllBank && !(trefi_ns > trfc_ns)) {
    throw bad(fmt::format("hbm.trefi_ns = {} must exceed hbm.trfc_ns = {}", trefi_ns, trfc_ns));
  }
  if (refresh && refresh_mode == HbmRefreshMode::kPerBank && !(trefi_ns > trfcpb_ns)) {
    throw bad(fmt::format("hbm.trefi_ns = {} must exceed hbm.trfcpb_ns = {}", trefi_ns, trfcpb_ns));
  }
  if (refresh && refresh_mode == HbmRefreshMode::kPerBank &&
      trefi_ns * 1000.0 < static_cast<double>(BanksPerPc())) {
    throw bad("hbm.trefi_ns / banks per pseudo-channel must be at least 1 ps");
  }
  const double capacity = static_cast<double>(NumPcs()) * static_cast<double>(BanksPerPc()) *
                          static_cast<double>(rows_per_bank) * static_cast<double>(row_bytes);
  if (capacity >= 9.0e18) throw bad("capacity overflows 64 bits; reduce the organisation");
}

void LoadHbmConfig(ArchConfig& arch) {
  auto& values = arch.values;
  auto& sources = arch.sources;
  const std::string preset_name = values.at("hbm.preset");
  HbmConfig c = HbmPreset(preset_name);
  const bool other_preset = preset_name != kDefaultHbmPreset;
  auto is_default = [&](const char* key) { return sources.at(key) == "default"; };
  for (const IntField& f : IntFields()) {
    if (f.device && is_default(f.key)) {
      if (other_preset) {
        values[f.key] = std::to_string(c.*f.member);
        sources[f.key] = "preset " + preset_name;
      }
    } else {
      c.*f.member = std::strtoull(values.at(f.key).c_str(), nullptr, 10);
    }
  }
  for (const FloatField& f : FloatFields()) {
    if (is_default(f.key)) {
      if (other_preset) {
        values[f.key] = fmt::format("{}", c.*f.member);
        sources[f.key] = "preset " + preset_name;
      }
    } else {
      c.*f.member = std::strtod(values.at(f.key).c_str(), nullptr);
    }
  }
  c.refresh = values.at("hbm.refresh") == "true";
  if (is_default("hbm.refresh_mode")) {
    if (other_preset) {
      values["hbm.refresh_mode"] = HbmRefreshModeName(c.refresh_mode);
      sources["hbm.refresh_mode"] = "preset " + preset_name;
    }
  } else {
    c.refresh_mode = ParseHbmRefreshMode(values.at("hbm.refresh_mode"));
  }
  c.Validate();
  arch.hbm = c;
}

HbmTiming ToTiming(const HbmConfig& c) {
  HbmTiming t{};
  t.rcd = Ps(c.trcd_ns);
  t.rp = Ps(c.trp_ns);
  t.ras = Ps(c.tras_ns);
  t.rc = t.ras + t.rp;
  t.cl = Ps(c.tcl_ns);
  t.cwl = Ps(c.tcwl_ns);
  t.rrd_s = Ps(c.trrd_s_ns);
  t.rrd_l = Ps(c.trrd_l_ns);
  t.faw = Ps(c.tfaw_ns);
  t.wr = Ps(c.twr_ns);
  t.wtr_s = Ps(c.twtr_s_ns);
  t.wtr_l = Ps(c.twtr_l_ns);
  t.rtp = Ps(c.trtp_ns);
  t.ccd_s = Ps(c.tccd_s_ns);
  t.ccd_l = Ps(c.tccd_l_ns);
  t.burst = Ps(static_cast<double>(c.burst_length) / c.data_rate_gbps);  // beats / (beats/ns)
  t.rtw_gap = Ps(2.0 * 2.0 / c.data_rate_gbps);  // 2 tCK, tCK = 2 beats (DDR)
  t.refi = Ps(c.trefi_ns);
  t.rfc = Ps(c.trfc_ns);
  t.refipb = t.refi / c.BanksPerPc();
  t.rfcpb = Ps(c.trfcpb_ns);
  t.refresh = c.refresh;
  t.per_bank = c.refresh_mode == HbmRefreshMode::kPerBank;
  return t;
}

HbmLocation DecodeHbmAddress(const HbmConfig& c, std::uint64_t address) {
  HbmLocation l;
  const std::uint64_t granule = address / c.interleave_bytes;
  const std::uint64_t pcs = c.NumPcs();
  l.pc = granule % pcs;
  l.local = (granule / pcs) * c.interleave_bytes + address % c.interleave_bytes;
  l.page = l.local / c.row_bytes;
  l.bank = PageBank(c, l.page);
  l.bank_group = l.bank % c.bank_groups;
  l.row = PageRow(c, l.page);
  return l;
}

std::uint64_t RefreshOffsetPs(const HbmConfig& c, const HbmTiming& t, std::uint64_t pc) {
  return t.RefreshIntervalPs() * (pc + 1) / c.NumPcs();
}

}  // namespace systole
