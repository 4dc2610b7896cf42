// The ofmap write buffer of the fast SCALE-Sim engine (scalesim_fast.cpp).
#pragma once

#include <algorithm>
#include <deque>
#include <utility>

#include "base/checked_math.h"
#include "workloads/scalesim/scalesim_fast_internal.h"

namespace systole::scalesim::fast {

// Write buffer (memory/write_buffer.py) with bulk stores; pending lines kept as runs.
class FastWriteBuffer {
 public:
  FastWriteBuffer(u64 size_words, u64 bw)
      : active_(static_cast<i64>((size_words + 1) / 2)),
        drain_lines_(CeilDiv(size_words - (size_words + 1) / 2, bw)),
        bw_(bw),
        free_(static_cast<i64>(size_words)) {}

  i64 free_space() const { return free_; }
  i64 active() const { return active_; }
  i64 drain_end() const { return drain_end_; }

  void Store(u64 n) {
    if (n == 0) return;
    free_ -= static_cast<i64>(n);
    const u64 total = line_fill_ + n;
    if (total < bw_) {
      line_fill_ = total;
      return;
    }
    const u64 full = total / bw_;
    line_fill_ = total % bw_;
    Push(bw_, full);
  }

  // One demand row of n writes arriving at `cycle`; returns the served cycle.
  i64 Row(u64 n, i64 cycle) {
    i64 cur = cycle;
    while (n > 0) {
      if (cur < drain_end_) {
        const u64 safe = free_ > 1 ? static_cast<u64>(free_ - 1) : 0;
        if (n <= safe) {
          Store(n);
          return cur;
        }
        Store(safe + 1);
        n -= safe + 1;
        cur = drain_end_;
      } else {
        const u64 safe = free_ > active_ ? static_cast<u64>(free_ - active_) : 0;
        if (n <= safe) {
          Store(n);
          return cur;
        }
        Store(safe + 1);
        n -= safe + 1;
        drain_end_ = Drain(cur);
      }
    }
    return cur;
  }

  void Finish(i64 cycle) {
    CloseLine();
    while (pending_lines_ > 0) {
      drain_end_ = Drain(cycle);
      cycle = drain_end_ + 1;
    }
  }

  i64 dram_start() const { return dram_start_; }
  i64 dram_stop() const { return dram_stop_; }
  u64 accesses() const { return accesses_; }

 private:
  void Push(u64 fill, u64 count) {
    if (count == 0) return;
    if (!runs_.empty() && runs_.back().first == fill) {
      runs_.back().second += count;
    } else {
      runs_.emplace_back(fill, count);
    }
    pending_lines_ += count;
  }
  void CloseLine() {
    if (line_fill_ != 0) {
      Push(line_fill_, 1);
      line_fill_ = 0;
    }
  }
  i64 Drain(i64 start) {
    CloseLine();
    const u64 take = std::min(drain_lines_, pending_lines_);
    if (take == 0) throw std::logic_error("write buffer drain with no data");
    u64 left = take;
    u64 last_fill = 0;
    while (left > 0) {
      auto& run = runs_.front();
      const u64 k = std::min(left, run.second);
      last_fill = run.first;
      run.second -= k;
      left -= k;
      if (run.second == 0) runs_.pop_front();
    }
    pending_lines_ -= take;
    const u64 data = take * bw_ - (bw_ - last_fill);
    accesses_ += data;
    free_ += static_cast<i64>(data);
    const i64 end = start + static_cast<i64>(take) - 1;
    if (!drained_) {
      drained_ = true;
      dram_start_ = start;
    }
    dram_stop_ = end;
    return end;
  }

  i64 active_;
  u64 drain_lines_, bw_;
  i64 free_;
  u64 line_fill_ = 0;
  std::deque<std::pair<u64, u64>> runs_;  // (fill, line count)
  u64 pending_lines_ = 0;
  i64 drain_end_ = 0;
  u64 accesses_ = 0;
  bool drained_ = false;
  i64 dram_start_ = 0, dram_stop_ = 0;
};

}  // namespace systole::scalesim::fast
