// The fused losses' host side on the CPU: MTP's shifted targets, hand-checked, and the count and
// mean over the rows that are not ignored.
#include <gtest/gtest.h>

#include <stdexcept>

#include "frugal/kernels/loss_targets.hpp"

namespace frugal::kernels {
namespace {

constexpr int I = kIgnoreIndex;

// Two sequences of 4: targets t_{i+1} = 10·b + i + 1. Depth 1 predicts t_{i+2}: each sequence moves
// one place left and loses its last position; depth 3 keeps only position 0.
TEST(LossTargets, MtpShiftsWithinEachSequence) {
  const std::vector<int> targets{1, 2, 3, 4, 11, 12, 13, 14};
  EXPECT_EQ(mtp_shifted_targets(targets, 2, 4, 0), targets);
  EXPECT_EQ(mtp_shifted_targets(targets, 2, 4, 1), (std::vector<int>{2, 3, 4, I, 12, 13, 14, I}));
  EXPECT_EQ(mtp_shifted_targets(targets, 2, 4, 3), (std::vector<int>{4, I, I, I, 14, I, I, I}));
  EXPECT_EQ(mtp_shifted_targets(targets, 2, 4, 4), std::vector<int>(8, I));
  EXPECT_THROW(mtp_shifted_targets(targets, 3, 4, 1), std::invalid_argument);
}

TEST(LossTargets, CountAndMeanOverValidRows) {
  EXPECT_EQ(count_valid_targets({5, I, 0, I, 7}), 3);
  EXPECT_DOUBLE_EQ(mean_over_valid({1.0f, 0.0f, 2.0f, 0.0f, 3.0f}, 3), 2.0);
  EXPECT_EQ(mean_over_valid({0.0f, 0.0f}, 0), 0.0);
}

}  // namespace
}  // namespace frugal::kernels
