// ReservationCalendar (first-fit booking of a shared resource) against a brute-force oracle
// that keeps every booking and tries every candidate start.
#include "models/memory/reservation_calendar.h"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

namespace systole {
namespace {

sc_core::sc_time Ps(std::uint64_t ps) { return sc_core::sc_time::from_value(ps); }

TEST(ReservationCalendar, BooksTheFirstGapThatFits) {
  ReservationCalendar c;
  const auto now = Ps(0);
  EXPECT_EQ(c.Reserve(Ps(100), Ps(50), now), Ps(100));  // [100, 150)
  EXPECT_EQ(c.Reserve(Ps(0), Ps(60), now), Ps(0));      // [0, 60): fits before it
  EXPECT_EQ(c.Reserve(Ps(40), Ps(50), now), Ps(150));   // [60, 100) is 40 long: after 150
  EXPECT_EQ(c.Reserve(Ps(60), Ps(40), now), Ps(60));    // exactly fills [60, 100)
  EXPECT_EQ(c.bookings(), 4u);                          // [0, 200) is now all booked
  EXPECT_EQ(c.Reserve(Ps(300), Ps(10), Ps(250)), Ps(300));
  EXPECT_EQ(c.bookings(), 1u);  // everything that ended by 250 is forgotten
}

TEST(ReservationCalendar, MatchesBruteForceFirstFit) {
  std::mt19937_64 rng(11);
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 50; ++trial) {
    ReservationCalendar c;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> all;  // every booking, never forgotten
    std::uint64_t now = 0;
    for (int op = 0; op < 400; ++op) {
      now += pick(0, 20);
      const std::uint64_t earliest = now + pick(0, 200);
      const std::uint64_t duration = pick(0, 3) == 0 ? 0 : pick(1, 60);
      // The smallest start >= earliest that overlaps no booking: earliest itself or the end
      // of a booking (a zero-length request only moves out of a booking's interior).
      std::vector<std::uint64_t> candidates = {earliest};
      for (const auto& b : all) {
        if (b.second > earliest) candidates.push_back(b.second);
      }
      std::uint64_t expected = ~std::uint64_t{0};
      for (const std::uint64_t s : candidates) {
        bool free = true;
        for (const auto& b : all) free = free && !(b.first < s + duration && s < b.second);
        if (free) expected = std::min(expected, s);
      }
      ASSERT_EQ(c.Reserve(Ps(earliest), Ps(duration), Ps(now)), Ps(expected))
          << "trial " << trial << " op " << op;
      if (duration > 0) all.push_back({expected, expected + duration});
    }
  }
}

}  // namespace
}  // namespace systole
