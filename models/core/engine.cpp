#include "models/core/engine.h"

#include <algorithm>

namespace systole {

Engine::Engine(sc_core::sc_module_name name, std::uint32_t slot, EngineCostModel& cost,
               const Program& program, EngineStream stream, CompletionBoard& board,
               std::uint32_t max_outstanding, bool record)
    : sc_core::sc_module(name),
      slot_(slot),
      cost_(cost),
      program_(program),
      stream_(std::move(stream.ids)),
      wait_begin_(std::move(stream.wait_begin)),
      waits_(std::move(stream.waits)),
      board_(board),
      max_outstanding_(std::max<std::uint32_t>(1, max_outstanding)),
      record_(record) {
  board_.engine_event[slot_] = &issued_;
  if (record_) records_.reserve(stream_.size());
  SC_METHOD(Wake);
}

void Engine::Wake() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();

  // 1. Forget completed instructions (they only count against max_outstanding).
  std::size_t retired = 0;
  while (retired < in_flight_.size() && in_flight_[retired] <= now) ++retired;
  if (retired > 0) {
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(retired));
  }

  // 2. Issue as long as the head is ready.
  sc_core::sc_event* blocked_on = nullptr;             // a dependency not issued yet
  sc_core::sc_time dep_ready = sc_core::SC_ZERO_TIME;  // a dependency completing later
  bool issued_any = false;
  while (next_ < stream_.size() && free_at_ <= now && in_flight_.size() < max_outstanding_) {
    const std::uint32_t id = stream_[next_];
    for (std::uint32_t k = wait_begin_[next_], end = wait_begin_[next_ + 1]; k < end; ++k) {
      CompletionBoard::Entry& dep = board_.entries[waits_[k]];
      if (!dep.issued) {
        if (dep.waiter == nullptr || dep.waiter == &wake_) {
          dep.waiter = &wake_;
          blocked_on = &wake_;
        } else {
          blocked_on = board_.engine_event[dep.owner];
        }
        break;
      }
      if (dep.complete_at > now) dep_ready = std::max(dep_ready, dep.complete_at);
    }
    if (blocked_on != nullptr || dep_ready > now) break;
    const IssueTiming t = cost_.Issue(program_.instructions[id]);
    if (next_ + 1 < stream_.size()) {  // the next instruction is likely far away in memory
      const char* next = reinterpret_cast<const char*>(&program_.instructions[stream_[next_ + 1]]);
      for (std::size_t b = 0; b < sizeof(Instruction); b += 64) __builtin_prefetch(next + b);
    }
    free_at_ = now + t.occupancy;
    busy_ += t.report_busy ? t.busy : t.occupancy;
    const sc_core::sc_time complete = now + std::max(t.latency, t.occupancy);
    if (complete > last_completion_) last_completion_ = complete;
    CompletionBoard::Entry& self = board_.entries[id];
    self.issued = true;
    self.complete_at = complete;
    if (self.waiter != nullptr) {
      self.waiter->notify(sc_core::SC_ZERO_TIME);
      self.waiter = nullptr;
    }
    issued_any = true;
    if (complete > now) {
      in_flight_.insert(std::upper_bound(in_flight_.begin(), in_flight_.end(), complete), complete);
    }
    if (record_) records_.push_back({id, now, free_at_, complete});
    ++next_;
  }
  if (issued_any) issued_.notify(sc_core::SC_ZERO_TIME);

  // 3. Sleep until the next thing that can let the head issue.
  if (next_ == stream_.size()) return;  // done: completions need no event
  sc_core::sc_time wake = sc_core::SC_ZERO_TIME;
  bool have_time = false;
  auto consider = [&](sc_core::sc_time t) {
    if (t > now && (!have_time || t < wake)) {
      wake = t;
      have_time = true;
    }
  };
  consider(free_at_);
  if (in_flight_.size() >= max_outstanding_) consider(in_flight_.front());
  consider(dep_ready);
  if (blocked_on != nullptr) {
    if (have_time) {
      next_trigger(wake - now, *blocked_on);
    } else {
      next_trigger(*blocked_on);
    }
  } else if (have_time) {
    next_trigger(wake - now);
  }
}

}  // namespace systole
