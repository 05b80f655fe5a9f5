// A published checkpoint's Hugging Face config.json, passed unchanged, counts exactly like the
// equivalent preset (tests/data/hf/README.md lists the repositories).
#include <gtest/gtest.h>

#include <string>

#include "frugal/config/config_file.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::sim {
namespace {

std::string hf_file(const std::string& name) { return std::string(FRUGAL_TEST_DATA_DIR) + "/hf/" + name + ".json"; }

class HfConfigMatchesPreset : public ::testing::TestWithParam<const char*> {};

TEST_P(HfConfigMatchesPreset, SameCounts) {
  const std::string name = GetParam();
  const ModelConfig hf = load_model_config_file(hf_file(name));
  const ModelConfig preset = preset_model(name);
  for (const AccountingOptions& options : {AccountingOptions{}, AccountingOptions{.seq_len = 32768}}) {
    const ModelAccount a = account_model(hf, options);
    const ModelAccount b = account_model(preset, options);
    EXPECT_EQ(a.total_params, b.total_params);
    EXPECT_EQ(a.total_params_with_mtp, b.total_params_with_mtp);
    EXPECT_EQ(a.active_params, b.active_params);
    EXPECT_EQ(a.train_flops_per_token, b.train_flops_per_token);
    EXPECT_EQ(a.train_flops_per_token_with_mtp, b.train_flops_per_token_with_mtp);
    EXPECT_EQ(a.inference_flops_per_token, b.inference_flops_per_token);
    EXPECT_EQ(a.kv_cache_bytes_per_token, b.kv_cache_bytes_per_token);
    ASSERT_EQ(a.breakdown.size(), b.breakdown.size());
    for (std::size_t i = 0; i < a.breakdown.size(); ++i)
      EXPECT_EQ(a.breakdown[i].params, b.breakdown[i].params) << a.breakdown[i].component;
  }
  // Routing details that the cost does not show but the CPU reference will use.
  EXPECT_EQ(hf.moe.groups, preset.moe.groups);
  EXPECT_EQ(hf.moe.groups_per_token, preset.moe.groups_per_token);
  EXPECT_EQ(hf.moe.score_func, preset.moe.score_func);
  EXPECT_EQ(hf.moe.route_scale, preset.moe.route_scale);
  EXPECT_EQ(hf.moe.normalize_top_k, preset.moe.normalize_top_k);
  EXPECT_EQ(hf.mtp_depth, preset.mtp_depth);
}

INSTANTIATE_TEST_SUITE_P(PublishedCheckpoints, HfConfigMatchesPreset,
                         ::testing::Values("deepseek-v3", "deepseek-v2", "deepseek-v2-lite", "deepseek-moe-16b",
                                           "deepseek-67b", "llama-3.1-405b", "llama-3.1-8b", "mixtral-8x7b"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-' || c == '.') c = '_';
                           return n;
                         });

TEST(HfConfig, DeepSeekV3IsMlaWithSigmoidGroupLimitedRouting) {
  const ModelConfig m = load_model_config_file(hf_file("deepseek-v3"));
  EXPECT_EQ(m.attention.kind, AttentionKind::mla);
  EXPECT_EQ(m.moe.score_func, ScoreFunc::sigmoid);
  EXPECT_EQ(m.moe.groups, 8);
  EXPECT_EQ(m.moe.groups_per_token, 4);
  EXPECT_EQ(m.moe.first_dense_layers, 3);
  EXPECT_EQ(m.mtp_depth, 1);
}

TEST(HfConfig, NullQueryRankMeansNoQueryCompression) {
  const ModelConfig m = load_model_config_file(hf_file("deepseek-v2-lite"));
  EXPECT_EQ(m.attention.q_lora_rank, 0);
}

TEST(HfConfig, Qwen2HasQkvBiasesOnly) {
  const ModelConfig m = load_model_config_file(hf_file("qwen2-7b"));
  EXPECT_EQ(m.attention.kind, AttentionKind::gqa);
  EXPECT_TRUE(m.attention.qkv_bias);
  EXPECT_FALSE(m.attention.out_bias);
  // Per layer: W_Q 3584^2, W_K and W_V 3584 x 512 (4 KV heads of 128), W_O 3584^2, and biases of
  // 3584 + 2 x 512 on Q, K, V (modeling_qwen2.py).
  const double d = 3584, kv = 512;
  EXPECT_DOUBLE_EQ(attention_params(m), 2 * d * d + 2 * d * kv + d + 2 * kv);
  // Hugging Face lists Qwen2-7B at 7.62B parameters (safetensors metadata of Qwen/Qwen2-7B).
  EXPECT_NEAR(account_model(m).total_params / 7.62e9, 1.0, 0.01);
}

TEST(HfConfig, MixtralIsAllMoeWithoutDenseLayers) {
  const ModelConfig m = load_model_config_file(hf_file("mixtral-8x7b"));
  EXPECT_EQ(m.moe.routed_experts, 8);
  EXPECT_EQ(m.moe.top_k, 2);
  EXPECT_EQ(m.moe_layer_count(), 32);
  EXPECT_EQ(account_model(m).component("dense_ffn").params, 0.0);
}

TEST(HfConfig, SectionedDocumentAcceptsHfKeysInItsModelSection) {
  const nlohmann::json hf = read_json_file(hf_file("llama-3.1-8b"));
  const ModelConfig a = model_from_document(nlohmann::json{{"model", hf}});
  const ModelConfig b = model_from_document(hf);
  EXPECT_EQ(account_model(a).total_params, account_model(b).total_params);
}

}  // namespace
}  // namespace frugal::sim
