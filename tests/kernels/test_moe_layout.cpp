// The host side of the MoE kernels (kernels/moe_layout.hpp): tile padding, per-expert offsets,
// the token-ordered row of every copy, and the grouped GEMM's launch shape — on hand-worked cases.
#include <gtest/gtest.h>

#include <stdexcept>

#include "frugal/kernels/moe_layout.hpp"

namespace frugal::kernels {
namespace {

TEST(MoeLayout, RoundUpToTheTile) {
  EXPECT_EQ(round_up(0, 128), 0);
  EXPECT_EQ(round_up(1, 128), 128);
  EXPECT_EQ(round_up(128, 128), 128);
  EXPECT_EQ(round_up(129, 128), 256);
  EXPECT_EQ(round_up(5, 1), 5);
  EXPECT_THROW(round_up(5, 0), std::invalid_argument);
}

// 4 tokens, top-2, 3 experts, tile 4:
//   token 0 → {2, 0}, token 1 → {0, 1}, token 2 → {2, 1}, token 3 → {0, 2}
//   counts {3, 2, 3} → segments of 4, 4, 4 → offsets {0, 4, 8, 12}
//   expert 0 gets copies (0,1), (1,0), (3,0) in token order → rows 0, 1, 2
//   expert 1 gets (1,1), (2,1) → rows 4, 5;  expert 2 gets (0,0), (2,0), (3,1) → rows 8, 9, 10
TEST(MoeLayout, PlanAndPositionsOfAHandWorkedBatch) {
  const std::vector<int> chosen{2, 0, 0, 1, 2, 1, 0, 2};
  const DispatchPlan plan = plan_dispatch(chosen, 3, 4);
  EXPECT_EQ(plan.counts, (std::vector<int>{3, 2, 3}));
  EXPECT_EQ(plan.offsets, (std::vector<int>{0, 4, 8, 12}));
  EXPECT_EQ(plan.padded_rows(), 12);
  EXPECT_EQ(dispatch_positions(chosen, plan), (std::vector<int>{8, 0, 1, 4, 9, 5, 2, 10}));
  // Without padding the rows are dense: 0 … 7.
  EXPECT_EQ(dispatch_positions(chosen, plan_dispatch(chosen, 3, 1)), (std::vector<int>{5, 0, 1, 3, 6, 4, 2, 7}));
}

TEST(MoeLayout, EmptyExpertsTakeNoRowsAndLaunchNothing) {
  const std::vector<int> chosen{3, 3, 0, 3};
  const DispatchPlan plan = plan_dispatch(chosen, 5, 128);
  EXPECT_EQ(plan.offsets, (std::vector<int>{0, 128, 128, 128, 256, 256}));
  // Tiles of 128 × 64 over N = 200 columns: ⌈200/64⌉ = 4 column tiles for each of the 2 busy experts.
  EXPECT_EQ(grouped_gemm_blocks(plan, 128, 200, 64), 8);
  EXPECT_THROW(plan_dispatch({0, 7}, 5, 128), std::invalid_argument);
}

// DeepSeek-V3's shape: 256 experts, 4096 tokens × top-8 = 32,768 copies, tile 128: at most
// 256 · 127 rows of padding, every segment a multiple of the tile, every copy in its expert's segment.
TEST(MoeLayout, DeepSeekV3ShapeProperties) {
  std::vector<int> chosen;
  for (int t = 0; t < 4096; ++t)
    for (int j = 0; j < 8; ++j) chosen.push_back((t * 37 + j * 101) % 256);
  const DispatchPlan plan = plan_dispatch(chosen, 256, 128);
  EXPECT_LE(plan.padded_rows(), 32768 + 256 * 127);
  const std::vector<int> position = dispatch_positions(chosen, plan);
  std::vector<char> used(static_cast<std::size_t>(plan.padded_rows()), 0);
  for (std::size_t c = 0; c < chosen.size(); ++c) {
    const int e = chosen[c];
    EXPECT_GE(position[c], plan.offsets[static_cast<std::size_t>(e)]);
    EXPECT_LT(position[c], plan.offsets[static_cast<std::size_t>(e)] + plan.counts[static_cast<std::size_t>(e)]);
    EXPECT_FALSE(used[static_cast<std::size_t>(position[c])]) << "row used twice";
    used[static_cast<std::size_t>(position[c])] = 1;
  }
  for (int e = 0; e <= 256; ++e) EXPECT_EQ(plan.offsets[static_cast<std::size_t>(e)] % 128, 0);
}

}  // namespace
}  // namespace frugal::kernels
