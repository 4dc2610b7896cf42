// A calendar of busy intervals for one shared resource (a memory bank, a data path).
//
// Loosely-timed initiators reserve the resource for a duration starting no earlier than
// a requested time, which may lie in the future (a DMA reserves its data phase after its
// setup latency). Reserve() books the earliest gap that fits, so a later call asking for
// an earlier time can use idle time before an existing future booking: the order of calls
// does not create phantom contention. Intervals that ended before `now` are dropped, so
// the calendar stays as small as the number of bookings still ahead.
#pragma once

#include <algorithm>
#include <systemc>
#include <vector>

namespace systole {

class ReservationCalendar {
 public:
  // Books [start, start + duration) with start >= earliest at the first gap that fits;
  // returns start.
  sc_core::sc_time Reserve(sc_core::sc_time earliest, sc_core::sc_time duration,
                           sc_core::sc_time now) {
    // Drop bookings that are over.
    std::size_t drop = 0;
    while (drop < busy_.size() && busy_[drop].second <= now) ++drop;
    if (drop > 0) busy_.erase(busy_.begin(), busy_.begin() + static_cast<std::ptrdiff_t>(drop));
    sc_core::sc_time start = earliest;
    std::size_t at = 0;
    for (; at < busy_.size(); ++at) {
      if (busy_[at].second <= start) continue;         // ends before we start
      if (busy_[at].first >= start + duration) break;  // gap before it fits
      start = busy_[at].second;                        // overlap: try after it
    }
    if (duration > sc_core::SC_ZERO_TIME) {
      busy_.insert(busy_.begin() + static_cast<std::ptrdiff_t>(at), {start, start + duration});
    }
    return start;
  }
  std::size_t bookings() const { return busy_.size(); }

 private:
  std::vector<std::pair<sc_core::sc_time, sc_core::sc_time>> busy_;  // sorted, disjoint
};

}  // namespace systole
