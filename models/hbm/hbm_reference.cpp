#include "models/hbm/hbm_reference.h"

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace systole {

namespace {

using Ps = std::int64_t;  // signed so that "never" minus a delay stays far in the past
constexpr Ps kNever = std::numeric_limits<Ps>::min() / 4;

struct Burst {
  Ps arrival;
  std::uint32_t request;
  std::uint32_t bank;
  std::uint32_t bank_group;
  std::uint64_t row;
  bool write;
};

struct Bank {
  bool open = false;
  std::uint64_t row = 0;
  Ps col_ready = kNever;    // ACT + tRCD
  Ps pre_ready = kNever;    // earliest PRE: tRAS, tRTP, tWR
  Ps next_act = 0;          // earliest ACT of a closed bank: PRE + tRP, end of refresh
  Ps last_use = kNever;     // last column command (per-bank refresh picks the latest)
  Ps refresh_end = kNever;  // end of the bank's last per-bank refresh
};

struct Entry {
  std::size_t index;  // into the PC's burst list
  Ps entry;           // time the burst entered the controller queue
};

// One pseudo-channel controller; PCs are independent, so each is simulated on its own.
class PcSim {
 public:
  PcSim(const HbmConfig& c, const HbmTiming& t, std::uint64_t pc, const std::vector<Burst>& bursts,
        std::vector<std::uint64_t>& completion, HbmStats& stats)
      : c_(c),
        t_(t),
        pc_(pc),
        bursts_(bursts),
        completion_(completion),
        stats_(stats),
        banks_(c.BanksPerPc()),
        last_act_bg_(c.bank_groups, kNever),
        last_col_bg_(c.bank_groups, kNever),
        last_wr_end_bg_(c.bank_groups, kNever),
        missed_(bursts.size(), 0),
        refreshed_(c.BanksPerPc(), 0),
        wanted_(c.BanksPerPc(), 0) {
    faw_.fill(kNever);
    next_ref_due_ = static_cast<Ps>(RefreshOffsetPs(c, t, pc));
  }

  void Run() {
    const std::size_t q = c_.queue_depth;
    std::deque<Ps> free_slots(q, kNever);
    std::vector<Entry> window;
    window.reserve(q);
    std::vector<char> pending(banks_.size());
    std::size_t next = 0;
    std::size_t served = 0;
    std::size_t head_bypass = 0;
    Ps now = kNever;
    while (served < bursts_.size()) {
      // Bursts enter the queue once they have arrived (by the last command issued, or the
      // next arrival when the queue is empty) and a slot is free.
      if (window.empty() && next < bursts_.size()) now = std::max(now, bursts_[next].arrival);
      while (window.size() < q && next < bursts_.size() && bursts_[next].arrival <= now) {
        window.push_back({next, std::max(bursts_[next].arrival, free_slots.front())});
        free_slots.pop_front();
        ++next;
      }
      const bool force = head_bypass >= 4 * q;  // the oldest burst waited long enough
      const std::size_t considered = force ? 1 : window.size();

      // Row commands: open the row of the oldest burst of each bank nobody else needs.
      std::fill(pending.begin(), pending.end(), 0);
      for (const Entry& e : window) {
        const Burst& b = bursts_[e.index];
        if (banks_[b.bank].open && banks_[b.bank].row == b.row) pending[b.bank] = 1;
      }
      // ACTs are planned in age order and each holds back the next (tRRD, tFAW), so a bank
      // still under per-bank refresh is skipped while any other burst can go ahead.
      bool refreshed = false;
      for (int pass = t_.per_bank && !force ? 0 : 1; pass < 2 && !refreshed; ++pass) {
        bool deferred = false;
        for (std::size_t i = 0; i < considered; ++i) {
          const Burst& b = bursts_[window[i].index];
          Bank& bank = banks_[b.bank];
          if (bank.open && bank.row == b.row) continue;
          if (pending[b.bank] && !force) continue;
          if (pass == 0 && !bank.open && bank.refresh_end > now) {
            deferred = true;
            continue;
          }
          const Ps act = ActTime(bank, b.bank_group, window[i].entry);
          if (t_.refresh && act >= next_ref_due_) {
            Refresh(window);
            refreshed = true;
            break;
          }
          Activate(bank, b, act);
          missed_[window[i].index] = 1;
          pending[b.bank] = 1;
        }
        if (pass == 0 && (!deferred || AnyOpenRowBurst(window, considered))) break;
      }
      if (refreshed) continue;

      // Column command: the open-row burst that can issue first, oldest on ties.
      std::size_t best = window.size();
      Ps best_t = 0;
      for (std::size_t i = 0; i < considered; ++i) {
        const Burst& b = bursts_[window[i].index];
        const Bank& bank = banks_[b.bank];
        if (!bank.open || bank.row != b.row) continue;
        const Ps col = ColTime(b, window[i].entry);
        if (best == window.size() || col < best_t) {
          best = i;
          best_t = col;
        }
      }
      if (best == window.size()) throw std::logic_error("HbmReference: no ready burst");
      if (t_.refresh && best_t >= next_ref_due_) {
        Refresh(window);
        continue;
      }
      Issue(bursts_[window[best].index], best_t);
      now = std::max(now, best_t);
      head_bypass = best == 0 ? 0 : head_bypass + 1;
      free_slots.push_back(best_t);
      window.erase(window.begin() + static_cast<std::ptrdiff_t>(best));
      ++served;
    }
    for (char m : missed_) stats_.row_misses += static_cast<std::uint64_t>(m);
  }

 private:
  bool AnyOpenRowBurst(const std::vector<Entry>& window, std::size_t considered) const {
    for (std::size_t i = 0; i < considered; ++i) {
      const Burst& b = bursts_[window[i].index];
      if (banks_[b.bank].open && banks_[b.bank].row == b.row) return true;
    }
    return false;
  }

  Ps ActTime(const Bank& bank, std::uint32_t bank_group, Ps not_before) const {
    Ps ready = bank.open ? std::max(bank.pre_ready, not_before) + P(t_.rp)
                         : std::max(bank.next_act, not_before);
    ready = std::max(ready, last_act_ + P(t_.rrd_s));
    ready = std::max(ready, last_act_bg_[bank_group] + P(t_.rrd_l));
    ready = std::max(ready, faw_[faw_pos_] + P(t_.faw));  // the 4th-last ACT
    return ready;
  }

  void Activate(Bank& bank, const Burst& b, Ps act) {
    bank.open = true;
    bank.row = b.row;
    bank.col_ready = act + P(t_.rcd);
    bank.pre_ready = act + P(t_.ras);
    last_act_ = act;
    last_act_bg_[b.bank_group] = act;
    faw_[faw_pos_] = act;
    faw_pos_ = (faw_pos_ + 1) % faw_.size();
    ++stats_.activations;
  }

  Ps ColTime(const Burst& b, Ps entry) const {
    const Bank& bank = banks_[b.bank];
    Ps t = std::max(entry, bank.col_ready);
    t = std::max(t, last_col_ + P(t_.ccd_s));
    t = std::max(t, last_col_bg_[b.bank_group] + P(t_.ccd_l));
    if (b.write) {
      t = std::max(t, bus_free_ - P(t_.cwl));
      t = std::max(t, last_rd_end_ + P(t_.rtw_gap) - P(t_.cwl));
    } else {
      t = std::max(t, bus_free_ - P(t_.cl));
      t = std::max(t, last_wr_end_ + P(t_.wtr_s));
      t = std::max(t, last_wr_end_bg_[b.bank_group] + P(t_.wtr_l));
    }
    return t;
  }

  void Issue(const Burst& b, Ps col) {
    Bank& bank = banks_[b.bank];
    const Ps data_end = col + P(b.write ? t_.cwl : t_.cl) + P(t_.burst);
    bus_free_ = data_end;
    last_col_ = col;
    last_col_bg_[b.bank_group] = col;
    bank.last_use = col;
    if (b.write) {
      last_wr_end_ = std::max(last_wr_end_, data_end);
      last_wr_end_bg_[b.bank_group] = std::max(last_wr_end_bg_[b.bank_group], data_end);
      bank.pre_ready = std::max(bank.pre_ready, data_end + P(t_.wr));
    } else {
      last_rd_end_ = std::max(last_rd_end_, data_end);
      bank.pre_ready = std::max(bank.pre_ready, col + P(t_.rtp));
    }
    std::uint64_t& done = completion_[b.request];
    done = std::max(done, static_cast<std::uint64_t>(data_end));
    stats_.last_completion_ps = std::max(stats_.last_completion_ps, done);
    stats_.busy_ps[pc_] += t_.burst;
  }

  void Refresh(const std::vector<Entry>& window) {
    if (t_.per_bank) {
      RefreshBank(window);
    } else {
      RefreshAll();
    }
  }

  // Per-bank refresh (REFsb): one bank not yet refreshed in this round of banks-per-PC
  // commands, preferring one no queued burst wants, then the most recently used (in a
  // stream, the bank just left), then the one furthest ahead of the oldest queued burst's;
  // it precharges and is blocked for tRFCpb, the others go on.
  void RefreshBank(const std::vector<Entry>& window) {
    std::fill(wanted_.begin(), wanted_.end(), 0);
    for (const Entry& e : window) wanted_[bursts_[e.index].bank] = 1;
    // Ties (e.g. banks never used) go to the bank furthest ahead of the oldest burst's.
    const std::size_t n = banks_.size();
    const std::size_t base = window.empty() ? 0 : bursts_[window.front().index].bank;
    auto ahead = [&](std::size_t b) { return (b + n - base) % n; };
    std::size_t pick = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (refreshed_[i]) continue;
      if (pick == n) {
        pick = i;
        continue;
      }
      const Ps u = banks_[i].last_use;
      const Ps pu = banks_[pick].last_use;
      if (wanted_[i] != wanted_[pick] ? wanted_[i] < wanted_[pick]
          : u != pu                   ? u > pu
                                      : ahead(i) > ahead(pick)) {
        pick = i;
      }
    }
    Bank& bank = banks_[pick];
    const Ps start = std::max(next_ref_due_, bank.open ? bank.pre_ready + P(t_.rp) : bank.next_act);
    bank.open = false;
    bank.next_act = start + P(t_.rfcpb);
    bank.refresh_end = bank.next_act;
    refreshed_[pick] = 1;
    if (++round_slot_ == banks_.size()) {
      round_slot_ = 0;
      std::fill(refreshed_.begin(), refreshed_.end(), 0);
    }
    next_ref_due_ += P(t_.refipb);
    ++stats_.refreshes;
  }

  // All-bank refresh: precharge every open bank, then block the PC for tRFC.
  void RefreshAll() {
    Ps start = next_ref_due_;
    for (const Bank& bank : banks_) {
      start = std::max(start, bank.open ? bank.pre_ready + P(t_.rp) : bank.next_act);
    }
    for (Bank& bank : banks_) {
      bank.open = false;
      bank.next_act = start + P(t_.rfc);
    }
    next_ref_due_ += P(t_.refi);
    ++stats_.refreshes;
  }

  static Ps P(std::uint64_t ps) { return static_cast<Ps>(ps); }

  const HbmConfig& c_;
  const HbmTiming& t_;
  std::uint64_t pc_;
  const std::vector<Burst>& bursts_;
  std::vector<std::uint64_t>& completion_;
  HbmStats& stats_;
  std::vector<Bank> banks_;
  Ps last_act_ = kNever;
  std::vector<Ps> last_act_bg_;
  std::array<Ps, 4> faw_{};
  std::size_t faw_pos_ = 0;
  Ps last_col_ = kNever;
  std::vector<Ps> last_col_bg_;
  Ps bus_free_ = kNever;
  Ps last_rd_end_ = kNever;
  Ps last_wr_end_ = kNever;
  std::vector<Ps> last_wr_end_bg_;
  Ps next_ref_due_ = 0;
  std::vector<char> missed_;
  std::vector<char> refreshed_;  // per-bank refresh: banks done in this round
  std::vector<char> wanted_;     // scratch: banks some queued burst wants
  std::size_t round_slot_ = 0;
};

}  // namespace

HbmReference::HbmReference(const HbmConfig& config) : config_(config), timing_(ToTiming(config)) {
  config_.Validate();
}

HbmReferenceResult HbmReference::Run(const std::vector<HbmRequest>& requests) const {
  HbmReferenceResult result;
  HbmStats& stats = result.stats;
  const std::uint64_t pcs = config_.NumPcs();
  stats.busy_ps.assign(pcs, 0);
  result.completion_ps.assign(requests.size(), 0);
  if (requests.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::logic_error("HbmReference: too many requests");
  }

  // Requests in arrival order (stable), each split into bursts in address order.
  std::vector<std::size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return requests[a].arrival_ps < requests[b].arrival_ps;
  });
  const std::uint64_t bb = config_.BurstBytes();
  std::vector<std::vector<Burst>> per_pc(pcs);
  for (std::size_t r : order) {
    const HbmRequest& req = requests[r];
    if (req.bytes == 0) {
      result.completion_ps[r] = req.arrival_ps;
      continue;
    }
    if (req.address + req.bytes > config_.CapacityBytes() ||
        req.address + req.bytes < req.address) {
      throw std::logic_error("HbmReference: request beyond capacity");
    }
    ++stats.requests;
    (req.is_write ? stats.bytes_written : stats.bytes_read) += req.bytes;
    stats.first_arrival_ps = std::min(stats.first_arrival_ps, req.arrival_ps);
    const std::uint64_t first = req.address / bb * bb;
    const std::uint64_t last = (req.address + req.bytes - 1) / bb * bb;
    for (std::uint64_t a = first; a <= last; a += bb) {
      const HbmLocation l = DecodeHbmAddress(config_, a);
      per_pc[l.pc].push_back({static_cast<Ps>(req.arrival_ps), static_cast<std::uint32_t>(r),
                              static_cast<std::uint32_t>(l.bank),
                              static_cast<std::uint32_t>(l.bank_group), l.row, req.is_write});
      ++stats.bursts;
    }
  }
  for (std::uint64_t pc = 0; pc < pcs; ++pc) {
    if (per_pc[pc].empty()) continue;
    PcSim sim(config_, timing_, pc, per_pc[pc], result.completion_ps, stats);
    sim.Run();
  }
  stats.row_hits = stats.bursts - stats.row_misses;
  return result;
}

}  // namespace systole
