#include <gtest/gtest.h>

#include "frugal/sim/dense_baseline.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::sim {
namespace {

TEST(DenseBaseline, MatchesActiveParametersOfDeepSeekV3) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  const double target = account_model(v3).active_params;
  const ModelConfig dense = dense_baseline(v3, target, ParamMatch::active, "dense");
  const ModelAccount a = account_model(dense);
  EXPECT_FALSE(dense.is_moe());
  EXPECT_EQ(dense.hidden_size, v3.hidden_size);
  EXPECT_EQ(dense.num_layers, v3.num_layers);
  EXPECT_EQ(dense.ffn_intermediate_size % 128, 0);
  // One step of 128 in FFN width moves 61 layers x 3 x 7168 x 128 = 168M parameters: half of
  // that is the closest a multiple of 128 can get.
  EXPECT_LE(std::abs(a.active_params - target), 0.5 * 61 * 3 * 7168 * 128.0);
}

TEST(DenseBaseline, MatchesTotalParameters) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  const ModelConfig dense = dense_baseline(v3, 671e9, ParamMatch::total, "dense-671b");
  EXPECT_NEAR(account_model(dense).total_params / 671e9, 1.0, 0.001);
}

TEST(DenseBaseline, RefusesATargetBelowAttentionAndEmbeddings) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  EXPECT_THROW((void)dense_baseline(v3, 1e9, ParamMatch::total, "too-small"), ConfigError);
}

}  // namespace
}  // namespace frugal::sim
