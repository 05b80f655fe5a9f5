// The router against hand-computed cases: group-limited top-k (group scored by the max without a
// bias, by the top-2 sum with one, as inference/model.py's Gate), the bias that selects but never
// weights, the bias update rule, MaxVio, capacity dropping and the balance loss's value.
#include <gtest/gtest.h>

#include "frugal/core/layers.hpp"
#include "frugal/core/router.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {

MoeConfig eight_experts_in_four_groups() {
  MoeConfig m = testing::eight_experts_in_four_groups(4);
  m.shared_experts = 0;
  m.route_scale = 1.0;
  return m;
}

TEST(RouteTopK, KeepsTheGroupsWithTheBestTopTwoSum) {
  // Groups {0,1} {2,3} {4,5} {6,7}. Top-2 sums: 0.9+0.1 = 1.0, 0.5+0.5 = 1.0, 0.95+0.0 = 0.95,
  // 0.6+0.45 = 1.05. Kept: group 3 (1.05) and group 0 (1.0, tie with group 1 → lower index).
  // Plain top-2 would take experts 4 (0.95) and 0 (0.9); group-limited takes 0 (0.9) and 6 (0.6).
  // The top-2 sum is the group score when there is a selection bias (here all zero, as V3's
  // Gate has one: inference/model.py); without one the group score is the max (next test).
  const std::vector<double> s{0.9, 0.1, 0.5, 0.5, 0.95, 0.0, 0.6, 0.45};
  const std::vector<double> zero_bias(8, 0.0);
  int chosen[2];
  route_top_k(s.data(), zero_bias.data(), eight_experts_in_four_groups(), chosen);
  EXPECT_EQ(chosen[0], 0);
  EXPECT_EQ(chosen[1], 6);

  MoeConfig ungrouped = eight_experts_in_four_groups();
  ungrouped.groups = 1;
  ungrouped.groups_per_token = 1;
  route_top_k(s.data(), static_cast<const double*>(nullptr), ungrouped, chosen);
  EXPECT_EQ(chosen[0], 4);
  EXPECT_EQ(chosen[1], 0);
}

// inference/model.py Gate.forward: "group_scores = scores.amax(dim=-1)" when self.bias is None,
// "scores.topk(2, dim=-1)[0].sum(dim=-1)" otherwise. The same scores, the two rules, different groups.
TEST(RouteTopK, WithoutABiasAGroupScoresTheMaxOfItsScores) {
  // Groups {0,1} {2,3} {4,5} {6,7}: maxes 0.9, 0.5, 0.95, 0.6 → groups 2 and 0 kept, experts 4 and 0
  // (the top-2 sums 1.0, 1.0, 0.95, 1.05 would keep groups 3 and 0: experts 0 and 6).
  const std::vector<double> s{0.9, 0.1, 0.5, 0.5, 0.95, 0.0, 0.6, 0.45};
  const MoeConfig moe = eight_experts_in_four_groups();
  double group_score[4];
  group_scores(s.data(), static_cast<const double*>(nullptr), moe, group_score);
  EXPECT_EQ(std::vector<double>(group_score, group_score + 4), (std::vector<double>{0.9, 0.5, 0.95, 0.6}));
  int kept[2];
  kept_groups(group_score, moe, kept);
  EXPECT_EQ(kept[0], 2);
  EXPECT_EQ(kept[1], 0);
  int chosen[2];
  route_top_k(s.data(), static_cast<const double*>(nullptr), moe, chosen);
  EXPECT_EQ(chosen[0], 4);
  EXPECT_EQ(chosen[1], 0);
}

TEST(RouteTopK, WithABiasAGroupScoresTheSumOfItsTopTwoBiasedScores) {
  // b = −1 everywhere: every s + b is negative, {−0.1, −0.9, −0.5, −0.5, −0.05, −1.0, −0.4, −0.55}.
  // Top-2 sums −1.0, −1.0, −1.05, −0.95 → groups 3 and 0 (0 and 1 tie: the lower index), experts 0
  // (−0.1) and 6 (−0.4). The max of s + b would keep groups 2 (−0.05) and 0 (−0.1): experts 4 and 0.
  const std::vector<double> s{0.9, 0.1, 0.5, 0.5, 0.95, 0.0, 0.6, 0.45};
  const std::vector<double> bias(8, -1.0);
  const MoeConfig moe = eight_experts_in_four_groups();
  double group_score[4];
  group_scores(s.data(), bias.data(), moe, group_score);
  EXPECT_DOUBLE_EQ(group_score[0], -1.0);
  EXPECT_DOUBLE_EQ(group_score[1], -1.0);
  EXPECT_DOUBLE_EQ(group_score[2], -1.05);
  EXPECT_DOUBLE_EQ(group_score[3], -0.95);
  int chosen[2];
  route_top_k(s.data(), bias.data(), moe, chosen);
  EXPECT_EQ(chosen[0], 0);
  EXPECT_EQ(chosen[1], 6);
}

TEST(RouteTopK, BiasChangesTheChoice) {
  const std::vector<double> s{0.9, 0.1, 0.5, 0.5, 0.95, 0.0, 0.6, 0.45};
  std::vector<double> bias(8, 0.0);
  bias[0] = -1.0;  // expert 0 overloaded: pushed out
  MoeConfig ungrouped = eight_experts_in_four_groups();
  ungrouped.groups = 1;
  ungrouped.groups_per_token = 1;
  int chosen[2];
  route_top_k(s.data(), bias.data(), ungrouped, chosen);
  EXPECT_EQ(chosen[0], 4);
  EXPECT_EQ(chosen[1], 6);
}

// A router whose gate we set by hand: W_gate = I (hidden = experts), so the logits are x itself.
struct HandRouter {
  Parameters<double> params;
  std::unique_ptr<Router<double>> router;
  HandRouter(const MoeConfig& moe, const RouterOptions& options) {
    router = std::make_unique<Router<double>>(moe, options, moe.routed_experts, params, "r");
    params.allocate();
    params.mutable_value(0).setIdentity();
  }
};

double logit(double p) { return std::log(p / (1 - p)); }

TEST(Router, BiasSelectsButTheGateValueIsTheAffinity) {
  MoeConfig moe = eight_experts_in_four_groups();
  moe.groups = 1;
  moe.groups_per_token = 1;
  moe.route_scale = 2.5;
  HandRouter h(moe, RouterOptions{});
  h.router->bias()[0] = -1.0;
  const std::vector<double> s{0.9, 0.1, 0.5, 0.5, 0.95, 0.05, 0.6, 0.45};
  Matrix<double> x(1, 8);
  for (int i = 0; i < 8; ++i) x(0, i) = logit(s[static_cast<std::size_t>(i)]);
  h.router->forward(x, 1, 1, h.params);
  ASSERT_EQ(h.router->chosen()[0], 4);
  ASSERT_EQ(h.router->chosen()[1], 6);
  // g = route_scale · s / (s_4 + s_6), V3 eq. 13 — the bias appears nowhere.
  EXPECT_NEAR(h.router->weights()(0, 0), 2.5 * 0.95 / (0.95 + 0.6), 1e-12);
  EXPECT_NEAR(h.router->weights()(0, 1), 2.5 * 0.6 / (0.95 + 0.6), 1e-12);
}

// The router passes its bias only with aux-loss-free balancing, so its groups are scored by the
// top-2 sum then and by the max otherwise (inference/model.py: V3's Gate has a bias, V2's none).
TEST(Router, ScoresGroupsByMaxWithoutBiasAndTopTwoSumWithIt) {
  const MoeConfig moe = eight_experts_in_four_groups();
  const std::vector<double> s{0.9, 0.2, 0.5, 0.45, 0.95, 0.05, 0.6, 0.55};
  Matrix<double> x(1, 8);
  for (int i = 0; i < 8; ++i) x(0, i) = logit(s[static_cast<std::size_t>(i)]);
  RouterOptions with_bias;  // aux_free, b = 0
  HandRouter biased(moe, with_bias);
  biased.router->forward(x, 1, 1, biased.params);
  EXPECT_EQ(biased.router->chosen(), (std::vector<int>{0, 6}));  // top-2 sums 1.1, 0.95, 1.0, 1.15
  RouterOptions without_bias;
  without_bias.balancing = Balancing::aux_loss;
  HandRouter unbiased(moe, without_bias);
  unbiased.router->forward(x, 1, 1, unbiased.params);
  EXPECT_EQ(unbiased.router->chosen(), (std::vector<int>{4, 0}));  // maxes 0.9, 0.5, 0.95, 0.6
  EXPECT_EQ(unbiased.router->chosen_ids()(0, 0), 4);
  EXPECT_EQ(unbiased.router->chosen_ids()(0, 1), 0);
}

TEST(Router, BiasUpdateMovesAgainstTheLoad) {
  MoeConfig moe = eight_experts_in_four_groups();
  moe.groups = 1;
  moe.groups_per_token = 1;
  RouterOptions options;
  options.bias_update_speed = 0.01;
  HandRouter h(moe, options);
  // 4 tokens, all preferring experts 0 and 1: loads 4, 4, 0, …: mean = 8/8 = 1.
  Matrix<double> x = Matrix<double>::Constant(4, 8, -2.0);
  x.col(0).setConstant(2.0);
  x.col(1).setConstant(1.0);
  h.router->forward(x, 1, 4, h.params);
  const std::vector<std::int64_t> expected_load{4, 4, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(h.router->load().tokens_per_expert, expected_load);
  EXPECT_NEAR(h.router->load().max_violation(), 4.0 / 1.0 - 1.0, 1e-12);
  h.router->update_bias();
  EXPECT_DOUBLE_EQ(h.router->bias()[0], -0.01);  // overloaded
  EXPECT_DOUBLE_EQ(h.router->bias()[1], -0.01);
  EXPECT_DOUBLE_EQ(h.router->bias()[2], +0.01);  // underloaded
}

TEST(Router, BiasIsOnlyUpdatedWithAuxLossFreeBalancing) {
  MoeConfig moe = eight_experts_in_four_groups();
  RouterOptions options;
  options.balancing = Balancing::aux_loss;
  HandRouter h(moe, options);
  Matrix<double> x = Matrix<double>::Constant(2, 8, 0.0);
  x(0, 0) = 3;
  h.router->forward(x, 1, 2, h.params);
  h.router->update_bias();
  for (double b : h.router->bias()) EXPECT_EQ(b, 0.0);
}

TEST(Router, CapacityFactorDropsTokensBeyondCapacityInTokenOrder) {
  MoeConfig moe = eight_experts_in_four_groups();
  moe.groups = 1;
  moe.groups_per_token = 1;
  moe.top_k = 1;
  RouterOptions options;
  options.balancing = Balancing::aux_loss;
  options.capacity_factor = 2.0;  // capacity = ceil(2 · 8·1 / 8) = 2 tokens per expert
  HandRouter h(moe, options);
  Matrix<double> x = Matrix<double>::Constant(8, 8, -2.0);
  x.topRows(5).col(3).setConstant(2.0);  // 5 tokens want expert 3
  for (int t = 5; t < 8; ++t) x(t, t) = 2.0;
  h.router->forward(x, 1, 8, h.params);
  EXPECT_EQ(h.router->load().dropped, 3);
  EXPECT_EQ(h.router->load().tokens_per_expert[3], 2);
  const std::vector<char> kept_expected{1, 1, 0, 0, 0, 1, 1, 1};
  EXPECT_EQ(h.router->kept(), kept_expected);
}

TEST(Router, BalanceLossIsAlphaWhenPerfectlyBalanced) {
  // E = 4, k = 1, T = 4 tokens, token t strongly prefers expert t: f_i = E/(kT)·1 = 1, and with
  // symmetric scores P_i = 1/E, so L = α Σ f_i P_i = α (V3 eq. 17–20).
  MoeConfig moe;
  moe.routed_experts = 4;
  moe.top_k = 1;
  moe.score_func = ScoreFunc::sigmoid;
  moe.expert_intermediate_size = 2;
  RouterOptions options;
  options.sequence_balance_alpha = 0.25;
  HandRouter h(moe, options);
  Matrix<double> x = Matrix<double>::Constant(4, 4, -1.0);
  for (int t = 0; t < 4; ++t) x(t, t) = 1.0;
  EXPECT_NEAR(h.router->forward(x, 1, 4, h.params), 0.25, 1e-12);
  // All tokens on expert 0 with the same symmetric rows: f_0 = 4, P_0 = s0/Σs → L = α·4·P_0.
  Matrix<double> y = Matrix<double>::Constant(4, 4, -1.0);
  y.col(0).setConstant(1.0);
  const double s1 = 1 / (1 + std::exp(-1.0)), s0 = 1 / (1 + std::exp(1.0));
  EXPECT_NEAR(h.router->forward(y, 1, 4, h.params), 0.25 * 4 * s1 / (s1 + 3 * s0), 1e-12);
}

TEST(LoadStats, MaxViolationOfAnEvenLoadIsZero) {
  LoadStats even{{3, 3, 3, 3}, 0};
  EXPECT_DOUBLE_EQ(even.max_violation(), 0.0);
  LoadStats skewed{{6, 2, 2, 2}, 0};
  EXPECT_DOUBLE_EQ(skewed.max_violation(), 6.0 / 3.0 - 1.0);
}

}  // namespace
}  // namespace frugal::core
