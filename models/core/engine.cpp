#include "models/core/engine.h"

#include <algorithm>

namespace systole {

Engine::Engine(sc_core::sc_module_name name, std::uint32_t slot, EngineCostModel& cost,
               const Program& program, std::vector<std::uint32_t> stream, CompletionBoard& board,
               std::uint32_t max_outstanding, bool record)
    : sc_core::sc_module(name),
      slot_(slot),
      cost_(cost),
      program_(program),
      stream_(std::move(stream)),
      board_(board),
      max_outstanding_(std::max<std::uint32_t>(1, max_outstanding)),
      record_(record) {
  board_.engine_event[slot_] = &completed_;
  if (record_) records_.reserve(stream_.size());
  SC_METHOD(Wake);
}

void Engine::Wake() {
  const sc_core::sc_time now = sc_core::sc_time_stamp();

  // 1. Retire what has completed.
  std::size_t retired = 0;
  while (retired < in_flight_.size() && in_flight_[retired].complete <= now) {
    board_.done[in_flight_[retired].id] = 1;
    ++retired;
  }
  if (retired > 0) {
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(retired));
    completed_.notify(sc_core::SC_ZERO_TIME);
  }

  // 2. Issue as long as the head is ready.
  sc_core::sc_event* blocked_on = nullptr;
  while (next_ < stream_.size() && free_at_ <= now && in_flight_.size() < max_outstanding_) {
    const std::uint32_t id = stream_[next_];
    const Instruction& in = program_.instructions[id];
    for (std::uint32_t w : in.waits) {
      if (!board_.done[w]) {
        blocked_on = board_.engine_event[board_.owner[w]];
        break;
      }
    }
    if (blocked_on != nullptr) break;
    const IssueTiming t = cost_.Issue(in);
    free_at_ = now + t.occupancy;
    busy_ += t.report_busy ? t.busy : t.occupancy;
    const sc_core::sc_time complete = now + std::max(t.latency, t.occupancy);
    if (complete > last_completion_) last_completion_ = complete;
    InFlight f{complete, id};
    in_flight_.insert(std::upper_bound(in_flight_.begin(), in_flight_.end(), f,
                                       [](const InFlight& a, const InFlight& b) {
                                         return a.complete < b.complete;
                                       }),
                      f);
    if (record_) records_.push_back({id, now, free_at_, complete});
    ++next_;
    if (complete == now) {  // zero-latency instruction: visible after this delta
      board_.done[id] = 1;
      in_flight_.erase(std::find_if(in_flight_.begin(), in_flight_.end(),
                                    [id](const InFlight& x) { return x.id == id; }));
      completed_.notify(sc_core::SC_ZERO_TIME);
    }
  }

  // 3. Sleep until the next thing that can change our state.
  sc_core::sc_time wake = sc_core::SC_ZERO_TIME;
  bool have_time = false;
  if (!in_flight_.empty()) {
    wake = in_flight_.front().complete;
    have_time = true;
  }
  if (next_ < stream_.size() && blocked_on == nullptr && free_at_ > now &&
      (!have_time || free_at_ < wake)) {
    wake = free_at_;
    have_time = true;
  }
  if (blocked_on != nullptr) {
    if (have_time) {
      next_trigger(wake - now, *blocked_on);
    } else {
      next_trigger(*blocked_on);
    }
  } else if (have_time) {
    next_trigger(wake - now);
  }
  // else: nothing in flight and nothing to issue (done, or waiting only on in_flight cap,
  // which implies in_flight_ is non-empty): no trigger.
}

}  // namespace systole
