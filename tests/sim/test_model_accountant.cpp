// The model accountant against hand-computed small models and against published figures.
#include <gtest/gtest.h>

#include "frugal/sim/layer_linears.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::sim {
namespace {

// A dense GQA model small enough to count by hand:
// vocab 10, hidden 8, 2 layers, 2 heads of dim 4 sharing 1 KV head, SwiGLU FFN of 16.
ModelConfig tiny_dense() {
  ModelConfig m;
  m.name = "hand-dense";
  m.vocab_size = 10;
  m.hidden_size = 8;
  m.num_layers = 2;
  m.attention.kind = AttentionKind::gqa;
  m.attention.num_heads = 2;
  m.attention.num_kv_heads = 1;
  m.attention.head_dim = 4;
  m.ffn_intermediate_size = 16;
  return m;
}

TEST(ModelAccountant, HandCountedDenseGqaModel) {
  const ModelAccount a = account_model(tiny_dense(), {.seq_len = 3});
  // Per layer: W_Q 8x8 = 64, W_K 8x4 = 32, W_V 8x4 = 32, W_O 8x8 = 64 -> 192 attention;
  // SwiGLU 3 x 8 x 16 = 384; two RMSNorms 2 x 8 = 16.
  // Embedding 10 x 8 = 80, final norm 8, head 80.
  EXPECT_DOUBLE_EQ(a.component("attention").params, 2 * 192.0);
  EXPECT_DOUBLE_EQ(a.component("dense_ffn").params, 2 * 384.0);
  EXPECT_DOUBLE_EQ(a.component("norms").params, 2 * 16.0 + 8.0);
  EXPECT_DOUBLE_EQ(a.total_params, 80 + 2 * (192 + 384 + 16) + 8 + 80.0);  // 1352
  EXPECT_DOUBLE_EQ(a.active_params, 1352.0 - 80.0);
  EXPECT_DOUBLE_EQ(a.active_params_with_embedding, 1352.0);
  // Tied: the head is the embedding, 80 parameters counted once, in total and active alike.
  ModelConfig tied = tiny_dense();
  tied.tie_embeddings = true;
  const ModelAccount t = account_model(tied, {.seq_len = 3});
  EXPECT_DOUBLE_EQ(t.total_params, 1352.0 - 80.0);
  EXPECT_DOUBLE_EQ(t.active_params, 1352.0 - 80.0);
  EXPECT_DOUBLE_EQ(t.active_params_with_embedding, 1352.0 - 80.0);
  // Forward: 2 x matmul params = 2 x (2 x (192 + 384) + 80) = 2464; attention scores per layer:
  // 2 heads x 2 x (4 + 4) dims x (3 + 1) / 2 keys = 64, two layers = 128. Training = 3 x forward.
  EXPECT_DOUBLE_EQ(a.inference_flops_per_token, 2464.0 + 128.0);
  EXPECT_DOUBLE_EQ(a.train_flops_per_token, 3.0 * (2464.0 + 128.0));
  // KV cache: 2 (K and V) x 1 KV head x 4 dims x 2 layers x 2 bytes.
  EXPECT_DOUBLE_EQ(a.kv_cache_bytes_per_token, 32.0);
}

TEST(ModelAccountant, FullAttentionCountsEveryKey) {
  const ModelConfig m = tiny_dense();
  const double causal = attention_score_flops_forward(m, 4096, AttentionFlops::causal);
  const double full = attention_score_flops_forward(m, 4096, AttentionFlops::full);
  EXPECT_DOUBLE_EQ(full, 2.0 * 2 * (4 + 4) * 4096);
  EXPECT_DOUBLE_EQ(causal, full * (4096.0 + 1.0) / 2.0 / 4096.0);
}

TEST(ModelAccountant, HandCountedMlaAttention) {
  ModelConfig m = tiny_dense();
  m.attention = {};
  m.attention.kind = AttentionKind::mla;
  m.attention.num_heads = 2;
  m.attention.q_lora_rank = 4;
  m.attention.kv_lora_rank = 4;
  m.attention.qk_nope_head_dim = 2;
  m.attention.qk_rope_head_dim = 2;
  m.attention.v_head_dim = 3;
  // W_DQ 8x4 = 32, W_UQ 4 x 2 heads x (2+2) = 32; W_DKV+W_KR 8 x (4+2) = 48;
  // W_UK+W_UV 4 x 2 x (2+3) = 40; W_O 2 x 3 x 8 = 48.
  EXPECT_DOUBLE_EQ(attention_params(m), 32 + 32 + 48 + 40 + 48.0);
  // Without query compression W_Q is 8 x 2 x 4 = 64.
  m.attention.q_lora_rank = 0;
  EXPECT_DOUBLE_EQ(attention_params(m), 64 + 48 + 40 + 48.0);
  // The cache holds c_KV (4) and k^R (2) per layer: (4 + 2) x 2 layers x 1 byte in fp8.
  EXPECT_DOUBLE_EQ(kv_cache_bytes_per_token(m, KvDtype::fp8), 12.0);
  // Norms: 2 per layer plus MLA's kv latent norm (4) and no q norm without compression.
  EXPECT_DOUBLE_EQ(account_model(m).component("norms").params, 2 * (16 + 4) + 8.0);
}

TEST(ModelAccountant, HandCountedMoeLayer) {
  ModelConfig m = tiny_dense();
  m.moe.routed_experts = 4;
  m.moe.shared_experts = 1;
  m.moe.top_k = 2;
  m.moe.expert_intermediate_size = 2;
  m.moe.first_dense_layers = 1;
  m.moe.score_func = ScoreFunc::sigmoid;
  const ModelAccount a = account_model(m);
  // Layer 0 dense (384), layer 1 MoE: one expert is 3 x 8 x 2 = 48.
  EXPECT_DOUBLE_EQ(a.component("dense_ffn").params, 384.0);
  EXPECT_DOUBLE_EQ(a.component("shared_experts").params, 48.0);
  EXPECT_DOUBLE_EQ(a.component("routed_experts").params, 4 * 48.0);
  EXPECT_DOUBLE_EQ(a.component("routed_experts").active_params, 2 * 48.0);
  // Router: 4 centroids of 8, plus the 4 selection biases of a sigmoid gate (V3 eq. 16).
  EXPECT_DOUBLE_EQ(a.component("router").params, 32.0 + 4.0);
  EXPECT_DOUBLE_EQ(a.component("router").inference_flops_per_token, 2 * 32.0);
  EXPECT_DOUBLE_EQ(a.component("routed_experts").train_flops_per_token, 3 * 2 * (2 * 48.0));
}

TEST(ModelAccountant, DeepSeekV3LayerLayout) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  // V3 report §4.2: all FFNs except the first three layers are MoE.
  EXPECT_FALSE(v3.is_moe_layer(2));
  EXPECT_TRUE(v3.is_moe_layer(3));
  EXPECT_EQ(v3.moe_layer_count(), 58);
}

// DeepSeek-V3 against its published figures (docs/facts.md §1a, §2c).
TEST(ModelAccountant, DeepSeekV3MatchesPublishedCounts) {
  const ModelAccount a = account_model(preset_model("deepseek-v3"));
  EXPECT_NEAR(a.total_params / 671e9, 1.0, 0.01);  // V3 report, abstract
  // 36.6B "including 0.9B for the output head": deepseek-ai/DeepSeek-V3 README_WEIGHTS.md.
  EXPECT_NEAR(a.active_params / 36.6e9, 1.0, 0.01);
  // "37B" (abstract) is the same count rounded to two significant figures, i.e. 36.5B-37.5B.
  EXPECT_GE(a.active_params, 36.5e9);
  EXPECT_LT(a.active_params, 37.5e9);
  EXPECT_NEAR(a.train_flops_per_token / 250e9, 1.0, 0.05);  // ISCA25 Table 2, 4K sequence
  EXPECT_EQ(a.kv_cache_bytes_per_token, 70272.0);          // ISCA25 Table 1: (512 + 64) x 61 x 2
}

TEST(ModelAccountant, TrainingFlopsMatchIsca25Table2) {
  // ISCA25 (arXiv 2505.09343) Table 2, training GFLOP per token at sequence length 4096.
  EXPECT_NEAR(account_model(preset_model("deepseek-v2")).train_flops_per_token / 155e9, 1.0, 0.05);
  EXPECT_NEAR(account_model(preset_model("llama-3.1-405b")).train_flops_per_token / 2448e9, 1.0, 0.05);
}

TEST(ModelAccountant, MtpModuleIsOneMoeLayerPlusProjection) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  const ModelAccount a = account_model(v3);
  const double d = 7168;
  // One layer's attention, shared + routed experts and router, from the per-layer totals.
  const double attention_layer = a.component("attention").params / 61;
  const double moe_layer = (a.component("shared_experts").params + a.component("routed_experts").params +
                            a.component("router").params) / 58;
  // V3 report §2.2: M_k is d x 2d; RMSNorms: two inputs, the head's, and the block's 2 + MLA's 2.
  const double norms = 3 * d + 2 * d + 1536 + 512;
  EXPECT_NEAR(a.component("mtp_module").params, attention_layer + moe_layer + 2 * d * d + norms, 1.0);
  // README_WEIGHTS.md: 11.5B unique MTP parameters.
  EXPECT_NEAR(a.component("mtp_module").params / 11.5e9, 1.0, 0.01);
  EXPECT_GT(a.train_flops_per_token_with_mtp, a.train_flops_per_token);
  EXPECT_DOUBLE_EQ(a.total_params_with_mtp, a.total_params + a.component("mtp_module").params);
}

TEST(ModelAccountant, TiedEmbeddingsStoreTheHeadOnce) {
  const ModelAccount a = account_model(preset_model("gpt-3-175b"));
  EXPECT_EQ(a.component("output_head").params, 0.0);
  EXPECT_DOUBLE_EQ(a.component("output_head").active_params, 50257.0 * 12288);
  // Embedding: tokens plus 2048 learned positions.
  EXPECT_DOUBLE_EQ(a.component("embedding").params, (50257.0 + 2048) * 12288);
  EXPECT_NEAR(a.total_params / 175e9, 1.0, 0.01);  // GPT-3 paper Table 2.1
}

TEST(ModelAccountant, BreakdownSumsToTotals) {
  for (const Preset& p : model_presets()) {
    const ModelAccount a = account_model(preset_model(p.name));
    double params = 0, train = 0;
    for (const ComponentCount& c : a.breakdown) {
      if (c.component == "mtp_module") continue;
      params += c.params;
      train += c.train_flops_per_token;
    }
    EXPECT_NEAR(params, a.total_params, 1e-6 * a.total_params) << p.name;
    EXPECT_NEAR(train, a.train_flops_per_token, 1e-6 * a.train_flops_per_token) << p.name;
  }
}

TEST(ModelAccountant, KvDtypeScalesTheCache) {
  const ModelConfig v3 = preset_model("deepseek-v3");
  EXPECT_EQ(kv_cache_bytes_per_token(v3, KvDtype::fp8), 35136.0);
  EXPECT_EQ(kv_cache_bytes_per_token(v3, KvDtype::fp32), 140544.0);
}

}  // namespace
}  // namespace frugal::sim

namespace frugal::sim {
namespace {

// The linears a layer lists (layer_linears.hpp) hold its weights: their in x out x stored sums to
// the accountant's attention and FFN counts (biases and sinks aside), for MLA and GQA, dense and MoE.
TEST(LayerLinears, HoldTheLayersWeights) {
  for (const char* preset : {"deepseek-v3", "llama-3.1-8b"}) {
    const ModelConfig m = preset_model(preset);
    for (bool moe : {false, true}) {
      if (moe && !m.is_moe()) continue;
      double weights = 0;
      for (const LayerLinear& l : layer_linears(m, moe)) weights += l.in * l.out * l.stored;
      double expected = attention_params(m);
      if (!moe) {
        expected += ffn_params(m, m.ffn_intermediate_size);
      } else {
        expected += static_cast<double>(m.moe.routed_experts) * ffn_params(m, m.moe.expert_intermediate_size) +
                    static_cast<double>(m.moe.shared_experts) * ffn_params(m, shared_expert_width(m));
      }
      EXPECT_DOUBLE_EQ(weights, expected) << preset << (moe ? " MoE" : " dense");
    }
  }
  // Engines launch linears that read the same input as one GEMM: DeepSeek-V3's W_DQ and W_DKV
  // (DeepGEMM's table shape N = 2112 = 1536 + 576), and each FFN's gate and up.
  const std::vector<LayerLinear> v3 = layer_linears(preset_model("deepseek-v3"), true);
  ASSERT_GE(v3.size(), 2u);
  EXPECT_EQ(v3[0].role, LinearRole::query_down);
  EXPECT_TRUE(v3[1].fused_with_previous);
  EXPECT_DOUBLE_EQ(v3[0].out + v3[1].out, 2112.0);
  int fused = 0;
  for (const LayerLinear& l : v3) fused += l.fused_with_previous ? 1 : 0;
  EXPECT_EQ(fused, 3);  // W_DKV, the routed experts' up, the shared expert's up
}

}  // namespace
}  // namespace frugal::sim
