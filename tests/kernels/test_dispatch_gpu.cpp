// Dispatch and combine on the GPU against the host plan and plain loops that restate core's
// LocalExperts (moe.cpp): counts, token-ordered rows, permute, the weighted combine, and the
// backward of both, on DeepSeek-V3's routing shape, for every version of kDispatchVersions. Outputs
// poisoned first. Skipped without a GPU; the refusal of a hidden size a version cannot take runs
// everywhere.
#include <gtest/gtest.h>

#include "frugal/core/random.hpp"
#include "frugal/kernels/dispatch.hpp"
#include "frugal/kernels/moe_layout.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;
using testing::relative_error;

constexpr int kTokens = 600, kTopK = 8, kHidden = 96;

// One version's permute, combine and their backward passes (counts and positions are v1's for all).
void check_dispatch(const DispatchVersion& version) {
  const int tokens = kTokens, k = kTopK, experts = 256, hidden = kHidden, tile = 128, copies = tokens * k;
  core::Rng rng(4);
  std::vector<int> chosen;
  for (int t = 0; t < tokens; ++t) {  // k distinct experts per token
    std::vector<int> mine;
    while (static_cast<int>(mine.size()) < k) {
      const int e = static_cast<int>(rng.below(experts));
      if (std::find(mine.begin(), mine.end(), e) == mine.end()) mine.push_back(e);
    }
    chosen.insert(chosen.end(), mine.begin(), mine.end());
  }
  auto random_vector = [&](std::size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(2.0 * rng.uniform() - 1.0);
    return v;
  };
  const std::vector<float> x = random_vector(static_cast<std::size_t>(tokens) * hidden),
                           weights = random_vector(static_cast<std::size_t>(copies)),
                           dout = random_vector(static_cast<std::size_t>(tokens) * hidden);
  const DispatchPlan plan = plan_dispatch(chosen, experts, tile);
  const std::vector<int> position = dispatch_positions(chosen, plan);
  const std::size_t rows = static_cast<std::size_t>(plan.padded_rows()) * hidden;
  const std::vector<float> y = random_vector(rows), drows = random_vector(rows);  // stand-ins for the experts' outputs and gradients

  DeviceBuffer<int> d_chosen(chosen), d_offsets(plan.offsets), d_counts(static_cast<std::size_t>(experts)),
      d_positions(static_cast<std::size_t>(copies));
  count_experts_v1(copies, experts, d_chosen.get(), d_counts.get());
  dispatch_positions_v1(copies, experts, d_chosen.get(), d_offsets.get(), d_positions.get());
  EXPECT_EQ(d_counts.host(), plan.counts);
  EXPECT_EQ(d_positions.host(), position);

  // Permute: each copy's row holds its token's x; padding rows are left as they were (zero here).
  DeviceBuffer<float> d_x(x), d_rows(rows);
  d_rows.zero();
  version.permute(tokens, k, hidden, d_x.get(), d_positions.get(), d_rows.get(), nullptr);
  std::vector<float> expected_rows(rows, 0.0f);
  for (int c = 0; c < copies; ++c)
    for (int h = 0; h < hidden; ++h)
      expected_rows[static_cast<std::size_t>(position[static_cast<std::size_t>(c)]) * hidden + h] = x[static_cast<std::size_t>(c / k) * hidden + h];
  EXPECT_EQ(d_rows.host(), expected_rows);

  // Combine and the backward of both.
  DeviceBuffer<float> d_y(y), d_weights(weights), d_out(static_cast<std::size_t>(tokens) * hidden), d_dout(dout),
      d_dy(rows), d_dweights(static_cast<std::size_t>(copies)), d_drows(drows), d_dx(static_cast<std::size_t>(tokens) * hidden);
  version.combine(tokens, k, hidden, d_y.get(), d_positions.get(), d_weights.get(), d_out.get(), nullptr);
  d_dy.zero();
  version.combine_backward(tokens, k, hidden, d_dout.get(), d_y.get(), d_positions.get(), d_weights.get(), d_dy.get(), d_dweights.get(), nullptr);
  version.permute_backward(tokens, k, hidden, d_drows.get(), d_positions.get(), d_dx.get(), nullptr);
  testing::expect_no_cuda_error();

  std::vector<float> out(static_cast<std::size_t>(tokens) * hidden, 0.0f), dx(out.size(), 0.0f), dy(rows, 0.0f),
      dweights(static_cast<std::size_t>(copies), 0.0f);
  for (int c = 0; c < copies; ++c) {
    const std::size_t t = static_cast<std::size_t>(c / k), row = static_cast<std::size_t>(position[static_cast<std::size_t>(c)]);
    for (int h = 0; h < hidden; ++h) {
      out[t * hidden + h] += weights[static_cast<std::size_t>(c)] * y[row * hidden + h];
      dx[t * hidden + h] += drows[row * hidden + h];
      dy[row * hidden + h] = weights[static_cast<std::size_t>(c)] * dout[t * hidden + h];
      dweights[static_cast<std::size_t>(c)] += dout[t * hidden + h] * y[row * hidden + h];
    }
  }
  EXPECT_LT(relative_error(d_out.host(), out), 1e-5);
  EXPECT_LT(relative_error(d_dx.host(), dx), 1e-5);
  EXPECT_LT(relative_error(d_dy.host(), dy), 1e-5);
  EXPECT_LT(relative_error(d_dweights.host(), dweights), 1e-5);
}

class DispatchGpuVersion : public ::testing::TestWithParam<DispatchVersion> {};

TEST_P(DispatchGpuVersion, MatchesTheHostPlanAndLoops) {
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (DispatchShape{kTokens, kTopK, kHidden}));
  check_dispatch(GetParam());
}

// A hidden size that breaks the version's float4 rows is refused by each of its four functions,
// before anything touches the GPU: runs without one.
TEST_P(DispatchGpuVersion, RefusesAHiddenSizeItCannotTake) {
  const DispatchVersion& v = GetParam();
  if (v.hidden_multiple == 1) GTEST_SKIP() << v.name << " takes any hidden size";
  const int hidden = 24 * v.hidden_multiple + 1;
  EXPECT_NE(shape_error(v, DispatchShape{4, 2, hidden}), "");
  EXPECT_THROW(v.permute(4, 2, hidden, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(v.combine(4, 2, hidden, nullptr, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(v.permute_backward(4, 2, hidden, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
  EXPECT_THROW(v.combine_backward(4, 2, hidden, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(, DispatchGpuVersion, ::testing::ValuesIn(kDispatchVersions), testing::VersionTestName{});

}  // namespace
}  // namespace frugal::kernels
