// Gating on the GPU against core's router (kernels/gating.hpp): every version of kGatingVersions,
// fresh random logits, with a bias and without one, outputs poisoned first. Scores within 1e-5 of
// the CPU's sigmoid/softmax; the chosen experts equal core's route_top_k on the GPU's own scores
// (so a last-bit difference in exp cannot flip a near-tie and make the test flaky); weights within
// 1e-5. Then a hand-made token on which DeepSeek-V3's two group rules (model.py: the max of s
// without a bias, the top-2 sum of s + b with one) keep different groups. Skipped without a GPU;
// the refusal of a shape beyond GatingShape's limits runs everywhere.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/random.hpp"
#include "frugal/core/router.hpp"
#include "frugal/kernels/gating.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;
using testing::relative_error;

// with_bias: a random bias b; otherwise bias = nullptr (and core's route_top_k gets nullptr too).
void check_gating(GatingLauncher gating, const GatingShape& shape, std::uint64_t seed, bool with_bias) {
  core::Rng rng(seed);
  std::vector<float> logits(static_cast<std::size_t>(shape.tokens) * shape.experts), bias(static_cast<std::size_t>(shape.experts));
  for (float& v : logits) v = static_cast<float>(4.0 * rng.uniform() - 2.0);
  for (float& v : bias) v = static_cast<float>(0.2 * rng.uniform() - 0.1);
  DeviceBuffer<float> d_logits(logits), d_bias(bias), d_scores(logits.size()),
      d_weights(static_cast<std::size_t>(shape.tokens) * shape.top_k);
  DeviceBuffer<int> d_chosen(static_cast<std::size_t>(shape.tokens) * shape.top_k);
  gating(shape, d_logits.get(), with_bias ? d_bias.get() : nullptr, d_scores.get(), d_chosen.get(), d_weights.get(), nullptr);
  testing::expect_no_cuda_error();
  const std::vector<float> scores = d_scores.host(), weights = d_weights.host();
  const std::vector<int> chosen = d_chosen.host();

  // Scores: core's formulas (router.cpp) in double.
  std::vector<float> expected(scores.size());
  for (int t = 0; t < shape.tokens; ++t) {
    const float* row = &logits[static_cast<std::size_t>(t) * shape.experts];
    double top = -1e30, sum = 0;
    for (int i = 0; i < shape.experts; ++i) top = std::max(top, static_cast<double>(row[i]));
    for (int i = 0; i < shape.experts; ++i) sum += std::exp(row[i] - top);
    for (int i = 0; i < shape.experts; ++i)
      expected[static_cast<std::size_t>(t) * shape.experts + i] =
          static_cast<float>(shape.sigmoid ? 1.0 / (1.0 + std::exp(-row[i])) : std::exp(row[i] - top) / sum);
  }
  EXPECT_LT(relative_error(scores, expected), 1e-5);

  // Choices and weights: core's route_top_k and gate formula on the same scores.
  MoeConfig moe;
  moe.routed_experts = shape.experts;
  moe.groups = shape.groups;
  moe.groups_per_token = shape.groups_per_token;
  moe.top_k = shape.top_k;
  std::vector<float> expected_weights(weights.size());
  int mismatches = 0;
  for (int t = 0; t < shape.tokens; ++t) {
    const float* s = &scores[static_cast<std::size_t>(t) * shape.experts];
    std::vector<int> c(static_cast<std::size_t>(shape.top_k));
    core::route_top_k(s, with_bias ? bias.data() : nullptr, moe, c.data());
    float sum = 0;
    for (int j = 0; j < shape.top_k; ++j) sum += s[c[static_cast<std::size_t>(j)]];
    for (int j = 0; j < shape.top_k; ++j) {
      const std::size_t at = static_cast<std::size_t>(t) * shape.top_k + j;
      if (chosen[at] != c[static_cast<std::size_t>(j)]) ++mismatches;
      expected_weights[at] = shape.route_scale * s[c[static_cast<std::size_t>(j)]] / (shape.normalize ? sum : 1.0f);
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(relative_error(weights, expected_weights), 1e-5);
}

struct Case {
  const char* name;
  GatingShape shape;
};
// DeepSeek-V3 (256 experts, 8 groups, keep 4, top-8, scale 2.5), a softmax router without groups
// (V2-Lite-like: 64 experts, top-6, not normalised), and single-expert groups.
const Case kCases[] = {
    {"deepseek-v3", {1000, 256, 8, 4, 8, true, true, 2.5f}},
    {"softmax-64", {777, 64, 1, 1, 6, false, false, 1.0f}},
    {"groups-of-one", {300, 16, 16, 4, 2, true, true, 1.0f}},
};

class GatingGpuVersion : public ::testing::TestWithParam<GatingVersion> {};

TEST_P(GatingGpuVersion, MatchesTheCpuRouter) {
  for (const Case& c : kCases) {
    FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), c.shape);
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(::testing::Message() << c.name << (with_bias ? ", with a bias" : ", without a bias"));
      check_gating(GetParam().launch, c.shape, static_cast<std::uint64_t>(GetParam().number), with_bias);
    }
  }
}

// One token, 4 experts in 2 groups of 2, keep 1 group, top-1, sigmoid scores
//   s = (0.9, 0.1 | 0.6, 0.6):  group maxima 0.9 | 0.6, group top-2 sums 1.0 | 1.2.
// model.py (Gate.forward): without a bias, group_scores = scores.amax(dim=-1) keeps group 0 and
// the token goes to expert 0; with a bias (of zeros here), group_scores =
// scores.topk(2, dim=-1)[0].sum(dim=-1) keeps group 1, and the tie 0.6 = 0.6 goes to the lower
// index, expert 2. Either way the one weight is route_scale · s / s = 1.
TEST_P(GatingGpuVersion, GroupScoreIsTheMaxWithoutBiasAndTheTopTwoSumWithOne) {
  const GatingShape shape{1, 4, 2, 1, 1, true, true, 1.0f};
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), shape);
  auto logit = [](double p) { return static_cast<float>(std::log(p / (1 - p))); };  // sigmoid⁻¹
  DeviceBuffer<float> d_logits(std::vector<float>{logit(0.9), logit(0.1), logit(0.6), logit(0.6)}), d_zero_bias(std::vector<float>(4, 0.0f)),
      d_scores(4), d_weights(1);
  DeviceBuffer<int> d_chosen(1);
  GetParam().launch(shape, d_logits.get(), nullptr, d_scores.get(), d_chosen.get(), d_weights.get(), nullptr);
  testing::expect_no_cuda_error();
  EXPECT_EQ(d_chosen.host(), std::vector<int>{0}) << "without a bias: the group with the largest s";
  EXPECT_EQ(d_weights.host(), std::vector<float>{1.0f});
  GetParam().launch(shape, d_logits.get(), d_zero_bias.get(), d_scores.get(), d_chosen.get(), d_weights.get(), nullptr);
  testing::expect_no_cuda_error();
  EXPECT_EQ(d_chosen.host(), std::vector<int>{2}) << "with a bias: the group with the largest top-2 sum of s + b";
  EXPECT_EQ(d_weights.host(), std::vector<float>{1.0f});
}

// A shape beyond GatingShape's limits is refused by name before anything touches the GPU: runs
// without one.
TEST_P(GatingGpuVersion, RefusesAShapeBeyondItsLimits) {
  for (const GatingShape& shape : {GatingShape{8, 2048, 8, 4, 8}, GatingShape{8, 256, 64, 4, 8}, GatingShape{8, 256, 8, 4, 33},
                                   GatingShape{8, 256, 8, 1, 40}}) {
    EXPECT_NE(shape_error(GetParam(), shape), "");
    EXPECT_THROW(GetParam().launch(shape, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
  }
}

INSTANTIATE_TEST_SUITE_P(, GatingGpuVersion, ::testing::ValuesIn(kGatingVersions), testing::VersionTestName{});

// The bias update against core's Router::update_bias on the same load.
TEST(GatingGpu, BiasUpdateMatchesTheCpuRouter) {
  FRUGAL_SKIP_WITHOUT_GPU();
  MoeConfig moe;
  moe.routed_experts = 256;
  moe.top_k = 8;
  moe.expert_intermediate_size = 1;
  core::Parameters<float> params;
  core::Router<float> router(moe, core::RouterOptions{}, 4, params, "r");
  core::Rng rng(3);
  std::vector<int> load(256);
  for (int i = 0; i < 256; ++i) {
    load[static_cast<std::size_t>(i)] = static_cast<int>(rng.below(200));
    router.bias()[static_cast<std::size_t>(i)] = static_cast<float>(rng.uniform() - 0.5);
  }
  load[7] = 0;
  std::vector<float> bias = router.bias();
  router.mutable_load().tokens_per_expert.assign(load.begin(), load.end());
  router.update_bias();
  DeviceBuffer<int> d_load(load);
  DeviceBuffer<float> d_bias(bias);
  bias_update(256, d_load.get(), static_cast<float>(core::RouterOptions{}.bias_update_speed), d_bias.get());
  EXPECT_EQ(d_bias.host(), router.bias());
}

}  // namespace
}  // namespace frugal::kernels
