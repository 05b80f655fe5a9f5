// The CPU reference and the simulator read one ModelConfig; their parameter counts must agree
// exactly. The simulator's accountant counts the router's selection bias b_i (a tensor in
// DeepSeek-V3's checkpoint, e_score_correction_bias); the CPU reference keeps b_i as router state
// updated by the balancing rule, not as a trained parameter.
#include <gtest/gtest.h>

#include "frugal/core/experiments.hpp"
#include "frugal/core/model.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::core {
namespace {

void expect_counts_agree(const ModelConfig& config) {
  const Transformer<float> model(config, RouterOptions{});
  const sim::ModelAccount account = sim::account_model(config);
  const Index router_bias = config.moe_layer_count() * config.moe.routed_experts;
  EXPECT_EQ(static_cast<double>(model.parameter_count() + router_bias), account.total_params) << config.name;
  EXPECT_EQ(static_cast<double>(model.activated_parameter_count() + router_bias), account.active_params) << config.name;
}

TEST(SimAgreement, TinyDeepSeekV3ParameterCounts) { expect_counts_agree(frugal::preset_model("deepseek-v3-tiny")); }

TEST(SimAgreement, DenseCounterpartParameterCounts) {
  expect_counts_agree(dense_counterpart(frugal::preset_model("deepseek-v3-tiny")));
}

}  // namespace
}  // namespace frugal::core
