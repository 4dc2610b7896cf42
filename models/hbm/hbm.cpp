#include "models/hbm/hbm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace systole {

// ---- HbmChunksExtension ------------------------------------------------------------------

std::vector<HbmChunk> HbmChunksExtension::Strided(std::uint64_t base, std::uint64_t chunk_bytes,
                                                  std::uint64_t stride_bytes, std::uint64_t count) {
  std::vector<HbmChunk> out;
  out.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) out.push_back({base + i * stride_bytes, chunk_bytes});
  return out;
}

tlm::tlm_extension_base* HbmChunksExtension::clone() const {
  auto* copy = new HbmChunksExtension;
  copy->chunks = chunks;
  return copy;
}

void HbmChunksExtension::copy_from(const tlm::tlm_extension_base& other) {
  chunks = static_cast<const HbmChunksExtension&>(other).chunks;
}

// ---- HbmFastModel ------------------------------------------------------------------------

HbmFastModel::HbmFastModel(const HbmConfig& config)
    : config_(config),
      t_(ToTiming(config)),
      burst_bytes_(config.BurstBytes()),
      banks_(config.BanksPerPc()),
      burst_div_(config.BurstBytes()),
      row_div_(config.row_bytes),
      banks_div_(config.BanksPerPc()),
      groups_div_(config.bank_groups),
      gran_div_(config.interleave_bytes),
      pcs_div_(config.NumPcs()) {
  config_.Validate();
  // Activation server: one ACT per tRRD_S, four per tFAW, one per tRC per bank.
  act_interval_ps_ = std::max({t_.rrd_s, (t_.faw + 3) / 4, t_.rc / config_.BanksPerPc()});
  all_bank_refresh_ = t_.refresh && !t_.per_bank;
  per_bank_refresh_ = t_.refresh && t_.per_bank;
  pcs_.resize(config_.NumPcs());
  for (Pc& pc : pcs_) {
    pc.banks.resize(config_.BanksPerPc());
    pc.refreshed.assign(config_.BanksPerPc(), 0);
  }
  for (std::uint64_t i = 0; i < pcs_.size(); ++i) {
    refresh_offset_ps_.push_back(RefreshOffsetPs(config_, t_, i));
    pcs_[i].next_refpb_ps = refresh_offset_ps_[i];
  }
  stats_.busy_ps.assign(pcs_.size(), 0);
}

// Windows started by time t on a PC (window k starts at offset + k x tREFI). Each PC
// caches the span between two window starts it was last asked about, so the usual query
// is two comparisons; a division happens once per window crossed.
std::uint64_t HbmFastModel::RefreshesStarted(std::uint64_t pc, std::uint64_t t) {
  if (!all_bank_refresh_) return 0;
  Span& span = pcs_[pc].span;
  if (t >= span.from && t < span.to) return span.started;
  const std::uint64_t off = refresh_offset_ps_[pc];
  span.started = t < off ? 0 : (t - off) / t_.refi + 1;
  span.from = span.started == 0 ? 0 : off + (span.started - 1) * t_.refi;
  span.to = off + span.started * t_.refi;
  span.quiet_from = span.started == 0 ? 0 : span.from + t_.rp + t_.rfc;
  return span.started;
}

// Refresh blocks a PC for tRP (close rows) + tRFC from each window start.
std::uint64_t HbmFastModel::AfterBlackout(std::uint64_t pc, std::uint64_t t) {
  if (RefreshesStarted(pc, t) == 0) return t;
  return std::max(t, pcs_[pc].span.quiet_from);  // the span now holds t
}

// End of `dur` ps of work starting at `start`, skipping refresh windows: a window met
// inside the work costs tRP + tRFC (close rows, refresh) + reopen_ps (for data: tRCD + tCL
// to reopen the row and refill the read pipeline; for activations: nothing).
std::uint64_t HbmFastModel::Stretch(std::uint64_t pc, std::uint64_t start, std::uint64_t dur,
                                    std::uint64_t reopen) {
  if (!all_bank_refresh_) return start + dur;
  const std::uint64_t started = RefreshesStarted(pc, start);
  const Span& span = pcs_[pc].span;
  if (start >= span.quiet_from && start + dur <= span.to) return start + dur;  // no window
  const std::uint64_t blackout = t_.rp + t_.rfc;
  const std::uint64_t off = refresh_offset_ps_[pc];
  std::uint64_t t = start;
  std::uint64_t rem = dur;
  std::uint64_t i = started == 0 ? 0 : started - 1;
  for (;;) {
    const std::uint64_t ws = off + i * t_.refi;
    if (ws <= t) {
      if (t < ws + blackout) t = ws + blackout + reopen;  // starts inside the window
      ++i;
      continue;
    }
    if (ws >= t + rem) return t + rem;
    rem -= ws - t;
    t = ws + blackout + reopen;
    ++i;
  }
}

// Per-bank refresh, the reference's rule (hbm_config.h): each REFsb due by `until` takes a bank
// not yet refreshed in its round, preferring one the coming transfer does not want, then the
// most recently used; the bank closes and cannot activate until tRFCpb after its PRE.
void HbmFastModel::RefreshBanks(std::uint64_t pc_index, std::uint64_t until,
                                std::uint64_t first_bank, std::uint64_t count) {
  Pc& pc = pcs_[pc_index];
  const std::uint64_t banks = banks_;
  const std::uint64_t round_ps = t_.refipb * banks;
  // Banks ahead of the coming transfer's first bank; ties go to the bank furthest ahead, i.e.
  // just behind a forward stream, needed again last.
  auto ahead = [&](std::uint64_t b) { return (b + banks - first_bank) % banks; };
  while (pc.next_refpb_ps <= until) {
    if (pc.round_slot == 0 && until >= pc.next_refpb_ps + 2 * round_ps) {
      // Whole rounds long before `until`: every bank refreshed (closed), nothing to wait for.
      const std::uint64_t rounds = (until - pc.next_refpb_ps) / round_ps - 1;
      pc.next_refpb_ps += rounds * round_ps;
      for (Bank& b : pc.banks) b.open = false;
    }
    std::uint64_t pick = banks;
    for (std::uint64_t i = 0; i < banks; ++i) {
      if (pc.refreshed[i]) continue;
      if (pick == banks) {
        pick = i;
        continue;
      }
      const bool w = ahead(i) < count;
      const bool pw = ahead(pick) < count;
      const std::uint64_t u = pc.banks[i].last_use_ps;
      const std::uint64_t pu = pc.banks[pick].last_use_ps;
      if (w != pw ? !w : u != pu ? u > pu : ahead(i) > ahead(pick)) pick = i;
    }
    Bank& b = pc.banks[pick];
    const std::uint64_t start =
        std::max(pc.next_refpb_ps, b.open ? b.pre_ready_ps + t_.rp : b.next_act_ps);
    b.open = false;
    b.next_act_ps = std::max(b.next_act_ps, start + t_.rfcpb);
    pc.refreshed[pick] = 1;
    if (++pc.round_slot == banks) {
      pc.round_slot = 0;
      std::fill(pc.refreshed.begin(), pc.refreshed.end(), 0);
    }
    pc.next_refpb_ps += t_.refipb;
  }
}

std::uint64_t HbmFastModel::PcAccess(std::uint64_t pc_index, std::uint64_t t0, std::uint64_t lo,
                                     std::uint64_t hi, bool is_write) {
  Pc& pc = pcs_[pc_index];
  const std::uint64_t seen = RefreshesStarted(pc_index, t0);
  if (seen > pc.refreshes_seen) {  // a refresh since the last access closed every row
    for (Bank& b : pc.banks) b.open = false;
    pc.refreshes_seen = seen;
  }
  const std::uint64_t bb = burst_bytes_;
  // No refresh window near [t, t + dur): the common case, two comparisons.
  const Span& span = pc.span;
  auto quiet = [&](std::uint64_t t, std::uint64_t dur) {
    return !all_bank_refresh_ ||
           (t >= span.quiet_from && t + std::max<std::uint64_t>(dur, 1) <= span.to);
  };
  const std::uint64_t n = burst_div_.Div(hi + bb - 1) - burst_div_.Div(lo);
  const std::uint64_t first = row_div_.Div(lo);
  const std::uint64_t last = row_div_.Div(hi - 1);
  const std::uint64_t pages = last - first + 1;
  const std::uint64_t last_page_bursts =
      burst_div_.Div(hi + bb - 1) - burst_div_.Div(std::max(lo, last * config_.row_bytes));
  const std::uint64_t banks = banks_;
  const std::uint64_t row0 = banks_div_.Div(first);
  const std::uint64_t b0 = first - row0 * banks;
  const std::uint64_t bg0 = groups_div_.Mod(b0);
  if (per_bank_refresh_) {
    const std::uint64_t until = std::max({t0, pc.act_clock_ps, pc.bus_clock_ps});
    if (until >= pc.next_refpb_ps) RefreshBanks(pc_index, until, b0, std::min(pages, banks));
  }
  Bank& bank0 = pc.banks[b0];
  const bool hit = bank0.open && bank0.row == row0;
  const std::uint64_t acts = pages - (hit ? 1 : 0);
  std::uint64_t slot = std::max(pc.act_clock_ps, t0);
  if (!quiet(slot, 0)) slot = AfterBlackout(pc_index, slot);
  const std::uint64_t lat = is_write ? t_.cwl : t_.cl;

  // Earliest column command: with the bank's own limits, and ignoring them (for the bus).
  std::uint64_t act_base = slot;
  std::uint64_t first_col = 0;
  std::uint64_t free_col = 0;  // the same PC-wide, without this bank's conflicts
  if (hit) {
    first_col = std::max(t0, bank0.col_ready_ps);
    free_col = first_col;
  } else {
    const std::uint64_t ready =
        bank0.open ? std::max(t0, bank0.pre_ready_ps) + t_.rp : std::max(t0, bank0.next_act_ps);
    act_base = std::max(ready, slot);
    if (!quiet(act_base, 0)) act_base = AfterBlackout(pc_index, act_base);
    first_col = act_base + t_.rcd;
    free_col = slot + t_.rcd;
  }
  std::uint64_t turnaround = 0;  // earliest column command after the other direction
  if (is_write && pc.read) {
    turnaround =
        pc.last_rd_end_ps + t_.rtw_gap > t_.cwl ? pc.last_rd_end_ps + t_.rtw_gap - t_.cwl : 0;
  } else if (!is_write && pc.wrote) {
    turnaround = pc.last_wr_end_ps + (pc.last_wr_bank_group == bg0 ? t_.wtr_l : t_.wtr_s);
  }
  first_col = std::max(first_col, turnaround);
  free_col = std::max(free_col, turnaround);
  const std::uint64_t first_data = first_col + lat;

  std::uint64_t own = pages == 1 ? t_.burst + (n - 1) * std::max(t_.burst, t_.ccd_l) : n * t_.burst;
  if (acts >= 1 && pages >= 2) {  // the last page cannot start before its ACT + tRCD
    const std::uint64_t last_act = act_base + (acts - 1) * act_interval_ps_;
    const std::uint64_t last_end = last_act + t_.rcd + lat + last_page_bursts * t_.burst;
    if (last_end > first_data + own) own = last_end - first_data;
  }
  // Refresh stops the activation server for tRP + tRFC, plus tRAS (the banks opened last
  // must stay open tRAS before the precharge) and tRCD (rows opened within tRCD of the
  // refresh lose their ACT before any column command).
  if (acts > 0) {
    const std::uint64_t work = acts * act_interval_ps_;
    pc.act_clock_ps =
        quiet(slot, work) ? slot + work : Stretch(pc_index, slot, work, t_.ras + t_.rcd);
  }

  const std::uint64_t data_start = std::max(pc.bus_clock_ps, free_col + lat);
  const std::uint64_t reopen = t_.rcd + t_.cl;
  const std::uint64_t work = n * t_.burst;
  pc.bus_clock_ps =
      quiet(data_start, work) ? data_start + work : Stretch(pc_index, data_start, work, reopen);
  const std::uint64_t own_end =
      quiet(first_data, own) ? first_data + own : Stretch(pc_index, first_data, own, reopen);
  const std::uint64_t done = std::max(pc.bus_clock_ps, own_end);

  // Row state: the last page of each bank touched stays open.
  const std::uint64_t from = pages > banks ? last - banks + 1 : first;
  const std::uint64_t pre_after =
      is_write ? done + t_.wr
               : std::max<std::uint64_t>(done, lat + t_.burst) - lat - t_.burst + t_.rtp;
  std::uint64_t bank = from == first ? b0 : banks_div_.Mod(b0 + (from - first));
  std::uint64_t row = from == first ? row0 : banks_div_.Div(from);
  for (std::uint64_t q = from; q <= last; ++q) {
    Bank& b = pc.banks[bank];
    if (q == first && hit) {
      b.pre_ready_ps = std::max(b.pre_ready_ps, pre_after);
      b.last_use_ps = std::max(b.last_use_ps, first_col);
    } else {
      const std::uint64_t act = act_base + (q - first - (hit ? 1 : 0)) * act_interval_ps_;
      b.open = true;
      b.row = row;
      b.col_ready_ps = act + t_.rcd;
      b.pre_ready_ps = std::max(act + t_.ras, pre_after);
      b.next_act_ps = act + t_.rc;
      b.last_use_ps = act;
    }
    if (++bank == banks) {
      bank = 0;
      ++row;
    }
  }
  if (is_write) {
    pc.wrote = true;
    pc.last_wr_end_ps = std::max(pc.last_wr_end_ps, done);
    pc.last_wr_bank_group = groups_div_.Mod(banks_div_.Mod(bank + banks - 1));  // last page
  } else {
    pc.read = true;
    pc.last_rd_end_ps = std::max(pc.last_rd_end_ps, done);
  }
  if (all_bank_refresh_) {
    const std::uint64_t seen_by_done =
        done >= span.from && done < span.to ? span.started : RefreshesStarted(pc_index, done);
    pc.refreshes_seen = std::max(pc.refreshes_seen, seen_by_done);
  }
  pc.last_done_ps = std::max(pc.last_done_ps, done);

  stats_.bursts += n;
  stats_.activations += acts;
  stats_.row_misses += acts;
  stats_.row_hits += n - acts;
  stats_.busy_ps[pc_index] += n * t_.burst;
  return done;
}

template <typename Fn>
void HbmFastModel::ForEachPcRange(std::uint64_t address, std::uint64_t bytes, Fn&& fn) const {
  const std::uint64_t gran = config_.interleave_bytes;
  const std::uint64_t pcs = pcs_.size();
  const std::uint64_t end = address + bytes - 1;  // last byte
  const std::uint64_t g0 = gran_div_.Div(address);
  const std::uint64_t g1 = gran_div_.Div(end);
  // Granule g lives on PC g % pcs at PC-local granule g / pcs.
  const std::uint64_t local0 = pcs_div_.Div(g0);
  const std::uint64_t pc0 = g0 - local0 * pcs;
  const std::uint64_t local1 = pcs_div_.Div(g1);
  const std::uint64_t pc1 = g1 - local1 * pcs;
  const std::uint64_t touched = std::min(pcs, g1 - g0 + 1);
  std::uint64_t pc = pc0;
  std::uint64_t first_local = local0;  // this PC's first granule in the range
  for (std::uint64_t k = 0; k < touched; ++k) {
    const std::uint64_t last_local = pc <= pc1 ? local1 : local1 - 1;
    const std::uint64_t lo = first_local * gran + (k == 0 ? gran_div_.Mod(address) : 0);
    const std::uint64_t hi =
        last_local * gran + (last_local == local1 && pc == pc1 ? gran_div_.Mod(end) + 1 : gran);
    fn(pc, lo, hi);
    if (++pc == pcs) {
      pc = 0;
      ++first_local;
    }
  }
}

std::uint64_t HbmFastModel::Range(std::uint64_t arrival_ps, std::uint64_t address,
                                  std::uint64_t bytes, bool is_write) {
  if (bytes == 0) return arrival_ps;
  std::uint64_t done = arrival_ps;
  ForEachPcRange(address, bytes, [&](std::uint64_t pc, std::uint64_t lo, std::uint64_t hi) {
    done = std::max(done, PcAccess(pc, arrival_ps, lo, hi, is_write));
  });
  (is_write ? stats_.bytes_written : stats_.bytes_read) += bytes;
  return done;
}

bool HbmFastModel::PcHitRun(std::uint64_t pc_index, std::uint64_t t0, const std::uint64_t* bursts,
                            std::uint64_t count, std::uint64_t page, bool is_write,
                            std::uint64_t& done) {
  Pc& pc = pcs_[pc_index];
  const std::uint64_t b = banks_div_.Mod(page);
  Bank& bank = pc.banks[b];
  if (!bank.open || bank.row != banks_div_.Div(page)) return false;
  // PcAccess on a hit: the column command, hence first data FD, is the same for every call
  // (col_ready and the other direction's data end do not change), the bus clock advances
  // from max(bus, FD) by each call's bursts, and a call ends at max(bus, FD + own).
  const std::uint64_t lat = is_write ? t_.cwl : t_.cl;
  std::uint64_t first_col = std::max(t0, bank.col_ready_ps);
  if (is_write && pc.read) {
    const std::uint64_t rd = pc.last_rd_end_ps + t_.rtw_gap;
    first_col = std::max(first_col, rd > t_.cwl ? rd - t_.cwl : 0);
  } else if (!is_write && pc.wrote) {
    first_col = std::max(
        first_col,
        pc.last_wr_end_ps + (pc.last_wr_bank_group == groups_div_.Mod(b) ? t_.wtr_l : t_.wtr_s));
  }
  const std::uint64_t first_data = first_col + lat;
  std::uint64_t n_total = 0;
  std::uint64_t n_max = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    n_total += bursts[i];
    n_max = std::max(n_max, bursts[i]);
  }
  const std::uint64_t data_start = std::max(pc.bus_clock_ps, first_data);
  const std::uint64_t bus_end = data_start + n_total * t_.burst;
  const std::uint64_t own_end = first_data + t_.burst + (n_max - 1) * std::max(t_.burst, t_.ccd_l);
  // No refresh may act: no all-bank window in either interval, no REFsb due before the end.
  if (all_bank_refresh_) {
    RefreshesStarted(pc_index, data_start);
    if (data_start < pc.span.quiet_from || bus_end > pc.span.to) return false;
    RefreshesStarted(pc_index, first_data);
    if (first_data < pc.span.quiet_from || own_end > pc.span.to) return false;
  }
  if (per_bank_refresh_ && std::max({t0, pc.act_clock_ps, bus_end}) >= pc.next_refpb_ps) {
    return false;
  }
  done = std::max(bus_end, own_end);
  pc.bus_clock_ps = bus_end;
  const std::uint64_t pre_after =
      is_write ? done + t_.wr
               : std::max<std::uint64_t>(done, lat + t_.burst) - lat - t_.burst + t_.rtp;
  bank.pre_ready_ps = std::max(bank.pre_ready_ps, pre_after);
  bank.last_use_ps = std::max(bank.last_use_ps, first_col);
  if (is_write) {
    pc.wrote = true;
    pc.last_wr_end_ps = std::max(pc.last_wr_end_ps, done);
    pc.last_wr_bank_group = groups_div_.Mod(b);
  } else {
    pc.read = true;
    pc.last_rd_end_ps = std::max(pc.last_rd_end_ps, done);
  }
  if (all_bank_refresh_) {
    pc.refreshes_seen = std::max(pc.refreshes_seen, RefreshesStarted(pc_index, done));
  }
  pc.last_done_ps = std::max(pc.last_done_ps, done);
  stats_.bursts += n_total;
  stats_.row_hits += n_total;
  stats_.busy_ps[pc_index] += n_total * t_.burst;
  return true;
}

bool HbmFastModel::InRange(std::uint64_t address, std::uint64_t bytes) const {
  return address + bytes >= address && address + bytes <= config_.CapacityBytes();
}

std::uint64_t HbmFastModel::Finish(std::uint64_t arrival_ps, std::uint64_t done) {
  ++stats_.requests;
  stats_.first_arrival_ps = std::min(stats_.first_arrival_ps, arrival_ps);
  stats_.last_completion_ps = std::max(stats_.last_completion_ps, done);
  return done;
}

std::uint64_t HbmFastModel::Access(std::uint64_t arrival_ps, std::uint64_t address,
                                   std::uint64_t bytes, bool is_write) {
  if (!InRange(address, bytes)) throw std::out_of_range("HBM access beyond capacity");
  return Finish(arrival_ps, Range(arrival_ps, address, bytes, is_write));
}

std::uint64_t HbmFastModel::AccessChunks(std::uint64_t arrival_ps,
                                         const std::vector<HbmChunk>& chunks, bool is_write) {
  for (const HbmChunk& c : chunks) {  // check every chunk before changing any state
    if (!InRange(c.address, c.bytes)) throw std::out_of_range("HBM access beyond capacity");
  }
  std::uint64_t done = arrival_ps;
  if (chunks.size() <= 1) {
    for (const HbmChunk& c : chunks) {
      done = std::max(done, Range(arrival_ps, c.address, c.bytes, is_write));
    }
    return Finish(arrival_ps, done);
  }
  // PCs share no state, so each PC's share of every chunk is taken in chunk order, one PC
  // after the other: the same PcAccess calls as chunk by chunk. On a PC, a run of
  // single-page reads of the page the previous call left open (the rows of a strided tile
  // narrower than a page) is one O(1) PcHitRun instead of a PcAccess per chunk.
  if (per_pc_.empty()) per_pc_.resize(pcs_.size());
  touched_pcs_.clear();
  std::uint64_t bytes = 0;
  for (const HbmChunk& c : chunks) {
    if (c.bytes == 0) continue;
    bytes += c.bytes;
    ForEachPcRange(c.address, c.bytes, [&](std::uint64_t pc, std::uint64_t lo, std::uint64_t hi) {
      if (per_pc_[pc].empty()) touched_pcs_.push_back(pc);
      per_pc_[pc].emplace_back(lo, hi);
    });
  }
  const std::uint64_t bb = burst_bytes_;
  for (const std::uint64_t pc : touched_pcs_) {
    auto& ranges = per_pc_[pc];
    for (std::size_t i = 0; i < ranges.size();) {
      done = std::max(done, PcAccess(pc, arrival_ps, ranges[i].first, ranges[i].second, is_write));
      const std::uint64_t page = row_div_.Div(ranges[i].second - 1);  // left open
      std::size_t j = i + 1;
      run_bursts_.clear();
      while (j < ranges.size() && row_div_.Div(ranges[j].first) == page &&
             row_div_.Div(ranges[j].second - 1) == page) {
        run_bursts_.push_back(burst_div_.Div(ranges[j].second + bb - 1) -
                              burst_div_.Div(ranges[j].first));
        ++j;
      }
      std::uint64_t run_done = 0;
      if (!run_bursts_.empty() && PcHitRun(pc, arrival_ps, run_bursts_.data(), run_bursts_.size(),
                                           page, is_write, run_done)) {
        done = std::max(done, run_done);
      } else {
        for (std::size_t k = i + 1; k < j; ++k) {
          done =
              std::max(done, PcAccess(pc, arrival_ps, ranges[k].first, ranges[k].second, is_write));
        }
      }
      i = j;
    }
    ranges.clear();
  }
  (is_write ? stats_.bytes_written : stats_.bytes_read) += bytes;
  return Finish(arrival_ps, done);
}

HbmStats HbmFastModel::stats() const {
  HbmStats s = stats_;
  s.refreshes = 0;
  for (std::uint64_t i = 0; i < pcs_.size(); ++i) {
    const std::uint64_t off = refresh_offset_ps_[i];
    const std::uint64_t t = pcs_[i].last_done_ps;
    if (t_.refresh && t > 0 && t >= off) s.refreshes += (t - off) / t_.RefreshIntervalPs() + 1;
  }
  return s;
}

// ---- Hbm (TLM-2.0 target) ----------------------------------------------------------------

Hbm::Hbm(sc_core::sc_module_name name, const HbmConfig& config)
    : sc_core::sc_module(name), socket("socket"), model_(config) {
  socket.register_b_transport(this, &Hbm::BTransport);
  socket.register_transport_dbg(this, &Hbm::TransportDbg);
}

void Hbm::BTransport(int /*initiator*/, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  static const sc_core::sc_time kPs(1, sc_core::SC_PS);
  const tlm::tlm_command cmd = trans.get_command();
  if (cmd == tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  const bool is_write = cmd == tlm::TLM_WRITE_COMMAND;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const auto now_ps = static_cast<std::uint64_t>(std::llround(now / kPs));
  const std::uint64_t arrival_ps = now_ps + static_cast<std::uint64_t>(std::llround(delay / kPs));
  std::vector<HbmChunk>& chunks = chunks_scratch_;  // no copy of an extension's list
  const std::vector<HbmChunk>* list = &chunks;
  chunks.clear();
  if (const auto* ext = trans.get_extension<HbmChunksExtension>()) {
    list = &ext->chunks;
  } else {
    const std::uint64_t length = trans.get_data_length();
    const std::uint64_t width = trans.get_streaming_width();
    if (width == 0 || width >= length) {
      chunks.push_back({trans.get_address(), length});
    } else {  // TLM streaming: the same `width` bytes again and again
      for (std::uint64_t done = 0; done < length; done += width) {
        chunks.push_back({trans.get_address(), std::min(width, length - done)});
      }
    }
  }
  std::uint64_t done_ps = arrival_ps;
  try {
    done_ps = model_.AccessChunks(arrival_ps, *list, is_write);
  } catch (const std::out_of_range&) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  delay = sc_core::sc_time(static_cast<double>(done_ps - now_ps), sc_core::SC_PS);
  trans.set_dmi_allowed(false);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int Hbm::TransportDbg(int /*initiator*/, tlm::tlm_generic_payload& /*trans*/) { return 0; }

}  // namespace systole
