#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "models/core/program.h"

namespace systole {
namespace {

// WaitList against std::vector as the oracle, across the in-place / heap boundary.
TEST(WaitList, BehavesLikeAVectorInPlaceAndOnTheHeap) {
  for (std::uint32_t n = 0; n <= 3 * WaitList::kInline; ++n) {
    std::vector<std::uint32_t> expected;
    WaitList w;
    for (std::uint32_t i = 0; i < n; ++i) {
      w.push_back(7 * i + 1);
      expected.push_back(7 * i + 1);
    }
    EXPECT_EQ(w, expected);
    EXPECT_EQ(w.size(), n);
    EXPECT_EQ(w.empty(), n == 0);
    EXPECT_EQ(w.ToVector(), expected);
    WaitList copy = w;
    EXPECT_EQ(copy, w);
    WaitList moved = std::move(copy);
    EXPECT_EQ(moved, expected);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    WaitList assigned{99};
    assigned = moved;
    EXPECT_EQ(assigned, expected);
    WaitList move_assigned{1, 2, 3, 4, 5, 6};
    move_assigned = std::move(assigned);
    EXPECT_EQ(move_assigned, expected);
    move_assigned.assign(expected.begin(), expected.end());
    EXPECT_EQ(move_assigned, expected);
    move_assigned.clear();
    EXPECT_TRUE(move_assigned.empty());
    move_assigned = {3, 4};
    EXPECT_EQ(move_assigned, (std::vector<std::uint32_t>{3, 4}));
    if (n > 0) {
      EXPECT_NE(w, (std::vector<std::uint32_t>{}));
      EXPECT_EQ(w[n - 1], expected[n - 1]);
    }
  }
}

}  // namespace
}  // namespace systole
