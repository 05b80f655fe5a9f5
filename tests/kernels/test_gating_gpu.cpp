// Gating on the GPU against core's router (kernels/gating.hpp): every version, fresh random
// logits, outputs poisoned first. Scores within 1e-5 of the CPU's sigmoid/softmax; the chosen
// experts equal core's route_top_k on the GPU's own scores (so a last-bit difference in exp cannot
// flip a near-tie and make the test flaky); weights within 1e-5. Skipped without a GPU.
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

using GatingVersion = void (*)(const GatingShape&, const float*, const float*, float*, int*, float*, cudaStream_t);

void check_gating(GatingVersion gating, const GatingShape& shape, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<float> logits(static_cast<std::size_t>(shape.tokens) * shape.experts), bias(static_cast<std::size_t>(shape.experts));
  for (float& v : logits) v = static_cast<float>(4.0 * rng.uniform() - 2.0);
  for (float& v : bias) v = static_cast<float>(0.2 * rng.uniform() - 0.1);
  DeviceBuffer<float> d_logits(logits), d_bias(bias), d_scores(logits.size()),
      d_weights(static_cast<std::size_t>(shape.tokens) * shape.top_k);
  DeviceBuffer<int> d_chosen(static_cast<std::size_t>(shape.tokens) * shape.top_k);
  gating(shape, d_logits.get(), d_bias.get(), d_scores.get(), d_chosen.get(), d_weights.get(), nullptr);
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
    core::route_top_k(s, bias.data(), moe, c.data());
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

TEST(GatingGpu, V1MatchesTheCpuRouter) {
  FRUGAL_SKIP_WITHOUT_GPU();
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    check_gating(gating_v1, c.shape, 1);
  }
}

TEST(GatingGpu, V2FusedMatchesTheCpuRouter) {
  FRUGAL_SKIP_WITHOUT_GPU();
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    check_gating(gating_v2, c.shape, 2);
  }
}

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
