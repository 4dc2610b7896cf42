#include "models/core/engine.h"

#include <algorithm>

namespace systole {

Engine::Engine(sc_core::sc_module_name name, EngineCostModel& cost, const Program& program,
               std::vector<std::uint32_t> stream, CompletionBoard& board,
               std::uint32_t max_outstanding, bool record)
    : sc_core::sc_module(name),
      cost_(cost),
      program_(program),
      stream_(std::move(stream)),
      board_(board),
      max_outstanding_(std::max<std::uint32_t>(1, max_outstanding)),
      record_(record) {
  if (record_) records_.reserve(stream_.size());
  SC_METHOD(Wake);
  sensitive << wake_;  // and it runs once at initialisation
}

void Engine::DependencyIssued(sc_core::sc_time now, sc_core::sc_time complete_at) {
  wake_.notify(std::max(complete_at, not_before_) - now);
}

void Engine::Wake() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();

  // 1. Forget completed instructions (they only count against max_outstanding).
  std::size_t retired = 0;
  while (retired < in_flight_.size() && in_flight_[retired] <= now) ++retired;
  if (retired > 0) {
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(retired));
  }

  // 2. Issue as long as the head is ready; otherwise find the earliest time it could be.
  while (next_ < stream_.size()) {
    sc_core::sc_time ready = free_at_;  // the engine is free again
    if (in_flight_.size() >= max_outstanding_) ready = std::max(ready, in_flight_.front());
    CompletionBoard::Entry* blocked_on = nullptr;  // a dependency not issued yet
    const std::uint32_t id = stream_[next_];
    const Instruction& instr = program_.instructions[id];
    for (const std::uint32_t w : instr.waits) {
      CompletionBoard::Entry& dep = board_.entries[w];
      if (!dep.issued()) {
        blocked_on = &dep;  // the last one listed: usually the last to issue
      } else if (dep.complete_at > ready) {
        ready = dep.complete_at;
      }
    }
    if (blocked_on != nullptr) {
      // 3a. Sleep until the owner issues it (it wakes us at its completion, or later).
      not_before_ = ready;
      next_waiter_ = blocked_on->waiters;
      blocked_on->waiters = this;
      return;
    }
    if (ready > now) {
      // 3b. Sleep until every known condition holds.
      wake_.notify(ready - now);
      return;
    }

    const IssueTiming t = cost_.Issue(instr);
    if (next_ + 2 < stream_.size()) {  // later instructions are likely far away in memory
      const char* next = reinterpret_cast<const char*>(&program_.instructions[stream_[next_ + 2]]);
      for (std::size_t b = 0; b < sizeof(Instruction); b += 64) __builtin_prefetch(next + b);
    }
    free_at_ = now + t.occupancy;
    busy_ += t.report_busy ? t.busy : t.occupancy;
    const sc_core::sc_time complete = now + std::max(t.latency, t.occupancy);
    if (complete > last_completion_) last_completion_ = complete;
    CompletionBoard::Entry& self = board_.entries[id];
    self.complete_at = complete;
    for (Engine* w = self.waiters; w != nullptr;) {
      Engine* after = w->next_waiter_;
      w->next_waiter_ = nullptr;
      w->DependencyIssued(now, complete);
      w = after;
    }
    self.waiters = nullptr;
    if (complete > now) {
      in_flight_.insert(std::upper_bound(in_flight_.begin(), in_flight_.end(), complete), complete);
    }
    if (record_) records_.push_back({id, now, free_at_, complete});
    ++next_;
  }
  // Done: completions need no event.
}

}  // namespace systole
