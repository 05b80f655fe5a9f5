// YaRN (Peng et al. 2023, arXiv 2309.00071) in MLA, as DeepSeek-V3's inference/model.py applies it:
// the corrected RoPE frequencies and the softmax mscale² against values worked out by hand from
// the formulas (written out again here, not taken from core), factor 1 against plain RoPE, the
// config readers (FrugalLM's "yarn" block and Hugging Face's "rope_scaling") with their refusals,
// and the MLA block's backward pass against finite differences with YaRN on.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "frugal/config/config_file.hpp"
#include "model_config_error.hpp"
#include "frugal/core/attention.hpp"
#include "frugal/core/layers.hpp"
#include "gradient_check.hpp"

namespace frugal::core {
namespace {
using testing::expect_gradient;
using testing::project;
using testing::random_matrix;

YarnConfig yarn(double factor, std::int64_t original, double mscale = 1.0) {
  YarnConfig y;
  y.factor = factor;
  y.original_seq_len = original;
  y.beta_fast = 32;
  y.beta_slow = 1;
  y.mscale = mscale;
  return y;
}

// dim 8, base 10000, factor 4, original length 16, beta 32/1. By hand, with
// correction_dim(r) = d·ln(L/(2πr)) / (2·ln base):
//   correction_dim(32) = 8·ln(16/201.06)/18.421 = 8·(−2.531)/18.421 = −1.099 → floor −2 → low  = max(−2, 0) = 0
//   correction_dim(1)  = 8·ln(16/6.2832)/18.421 = 8·0.9347/18.421 =  0.406 → ceil   1 → high = min(1, 7)  = 1
//   ramp_i = clamp((i − 0)/(1 − 0), 0, 1) = [0, 1, 1, 1], smooth = 1 − ramp = [1, 0, 0, 0]
//   ω_i = 10000^(−2i/8) = 10^(−i) = [1, 0.1, 0.01, 0.001]; pairs with smooth 0 are divided by 4.
TEST(YaRN, FrequenciesOfSmallConfigMatchHandComputation) {
  const std::vector<double> omega = rope_inverse_frequencies(8, 10000.0, yarn(4.0, 16));
  const std::vector<double> expected = {1.0, 0.1 / 4, 0.01 / 4, 0.001 / 4};
  ASSERT_EQ(omega.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(omega[i], expected[i], 1e-15) << "pair " << i;
}

// A ramp with fractional steps: dim 16, base 100, factor 4, original length 512, beta 32/1.
//   correction_dim(32) = 16·ln(512/201.06)/(2·ln 100) = 16·0.9347/9.2103 = 1.624 → floor 1 → low = 1
//   correction_dim(1)  = 16·ln(512/6.2832)/9.2103    = 16·4.4003/9.2103 = 7.644 → ceil  8 → high = min(8, 15) = 8
// (model.py clamps high to dim − 1 = 15, not to the last pair 7, so the ramp never reaches 1 here.)
//   ramp_i = clamp((i − 1)/7, 0, 1) = [0, 0, 1/7, 2/7, 3/7, 4/7, 5/7, 6/7]
//   ω_i = 100^(−2i/16)·(smooth + (1 − smooth)/4) = 10^(−i/4)·(1 − ramp_i + ramp_i/4) = 10^(−i/4)·(1 − 0.75·ramp_i)
TEST(YaRN, FrequenciesWithFractionalRampMatchHandComputation) {
  const std::vector<double> omega = rope_inverse_frequencies(16, 100.0, yarn(4.0, 512));
  const double ramp[8] = {0, 0, 1.0 / 7, 2.0 / 7, 3.0 / 7, 4.0 / 7, 5.0 / 7, 6.0 / 7};
  ASSERT_EQ(omega.size(), 8u);
  for (int i = 0; i < 8; ++i)
    EXPECT_NEAR(omega[static_cast<std::size_t>(i)], std::pow(10.0, -i / 4.0) * (1.0 - 0.75 * ramp[i]), 1e-15)
        << "pair " << i;
}

// mscale = 0.1·mscale·ln(s) + 1 (model.py MLA.__init__). V3: s = 40, mscale 1.0:
//   ln 40 = 3.6888794541, mscale = 1.36888794541, mscale² = 1.87385420709.
// V2 (tests/data/hf/deepseek-v2.json): mscale_all_dim 0.707 → (0.0707·3.6888794541 + 1)² = 1.26080...²
TEST(YaRN, SoftmaxScaleFactorIsMscaleSquared) {
  EXPECT_NEAR(yarn_softmax_scale_factor(yarn(40.0, 4096)), 1.8738542070926265, 1e-14);
  const double v2 = 0.0707 * 3.6888794541139363 + 1.0;
  EXPECT_NEAR(yarn_softmax_scale_factor(yarn(40.0, 4096, 0.707)), v2 * v2, 1e-14);
  EXPECT_EQ(yarn_softmax_scale_factor(yarn(1.0, 4096)), 1.0);  // ln 1 = 0
}

TEST(YaRN, PlainRopeFrequenciesAreBasePowers) {
  // ω_i = base^(−2i/d): d = 4, base 10000 → [1, 0.01].
  const std::vector<double> omega = rope_inverse_frequencies(4, 10000.0, std::nullopt);
  ASSERT_EQ(omega.size(), 2u);
  EXPECT_EQ(omega[0], 1.0);
  EXPECT_NEAR(omega[1], 0.01, 1e-17);
}

AttentionConfig small_mla() {
  AttentionConfig c;
  c.kind = AttentionKind::mla;
  c.num_heads = 2;
  c.q_lora_rank = 5;
  c.kv_lora_rank = 6;
  c.qk_nope_head_dim = 4;
  c.qk_rope_head_dim = 8;
  c.v_head_dim = 3;
  c.rope_theta = 100.0;
  return c;
}

Matrix<double> mla_output(const AttentionConfig& config, Index batch, Index seq_len) {
  const Index hidden = 10;
  Parameters<double> params;
  AttentionBlock<double> block(config, hidden, params, "attn", 2);
  params.allocate();
  Rng rng(21);
  block.init(params, rng, 0.4);
  const Matrix<double> x = random_matrix(batch * seq_len, hidden, rng);
  Matrix<double> out;
  block.forward(out, x, batch, seq_len, params);
  return out;
}

// Factor 1: ω/1·(1 − smooth) + ω·smooth = ω and mscale = 0.1·m·ln 1 + 1 = 1: plain RoPE, whatever the
// ramp. And YaRN with factor 4 does change the output (the comparison is not vacuous).
TEST(YaRN, FactorOneReproducesPlainRope) {
  const auto plain = rope_inverse_frequencies(16, 100.0, std::nullopt);
  const auto unit = rope_inverse_frequencies(16, 100.0, yarn(1.0, 512));
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(unit[i], plain[i], 1e-16 * std::max(1.0, plain[i]));

  AttentionConfig with_unit_yarn = small_mla();
  with_unit_yarn.yarn = yarn(1.0, 512, 0.707);
  const Matrix<double> a = mla_output(small_mla(), 2, 6), b = mla_output(with_unit_yarn, 2, 6);
  EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-14);
  AttentionConfig with_yarn = small_mla();
  with_yarn.yarn = yarn(4.0, 512);
  EXPECT_GT((a - mla_output(with_yarn, 2, 6)).cwiseAbs().maxCoeff(), 1e-3);
}

// Every parameter and the input against central differences, with a fractional ramp
// (dim 8, base 100, original 512: correction dims 0.81 and 3.82 → low 0, high 4, ramp = i/4), the V2
// mscale and a cos/sin factor ≠ 1 so that rope_backward's transpose is exercised.
TEST(YaRN, MlaGradientCheckWithYarn) {
  AttentionConfig config = small_mla();
  config.yarn = yarn(4.0, 512, 0.707);
  config.yarn->rope_attention_factor = 1.2;
  const Index hidden = 10, batch = 2, seq_len = 5;
  Parameters<double> params;
  AttentionBlock<double> block(config, hidden, params, "attn", 2);
  params.allocate();
  Rng rng(13);
  block.init(params, rng, 0.3);
  for (int id = 0; id < static_cast<int>(params.tensors().size()); ++id)  // gains away from 1: q_norm, kv_norm
    if (params.info(id).name.ends_with("norm")) params.mutable_value(id) += random_matrix(1, params.info(id).cols, rng, 0.2);
  Matrix<double> x = random_matrix(batch * seq_len, hidden, rng), r = random_matrix(batch * seq_len, hidden, rng);
  Matrix<double> out, dx;
  auto loss = [&] {
    block.forward(out, x, batch, seq_len, params);
    return project(out, r);
  };
  loss();
  params.zero_grad();
  block.backward(dx, r, params);
  testing::expect_all_parameter_gradients(params, loss);
  expect_gradient("x", loss, x.data(), dx.data(), x.size());
}

// ---- config ------------------------------------------------------------------------------------

std::string error_of(const nlohmann::json& doc) { return frugal::testing::model_config_error(doc); }

nlohmann::json native_with_yarn() {
  return nlohmann::json::parse(R"({"model": {
    "name": "t", "vocab_size": 64, "hidden_size": 32, "num_layers": 2, "max_seq_len": 1024,
    "attention": {"kind": "mla", "num_heads": 2, "q_lora_rank": 8, "kv_lora_rank": 8, "qk_nope_head_dim": 8,
                  "qk_rope_head_dim": 4, "v_head_dim": 8, "rope_theta": 500.0,
                  "yarn": {"factor": 4, "original_seq_len": 256, "beta_fast": 16, "beta_slow": 2, "mscale": 0.5}},
    "ffn": {"intermediate_size": 64}}})");
}

TEST(YaRN, NativeConfigIsRead) {
  const ModelConfig c = model_from_document(native_with_yarn());
  EXPECT_EQ(c.attention.rope_theta, 500.0);
  ASSERT_TRUE(c.attention.yarn.has_value());
  EXPECT_EQ(c.attention.yarn->factor, 4.0);
  EXPECT_EQ(c.attention.yarn->original_seq_len, 256);
  EXPECT_EQ(c.attention.yarn->beta_fast, 16.0);
  EXPECT_EQ(c.attention.yarn->beta_slow, 2.0);
  EXPECT_EQ(c.attention.yarn->mscale, 0.5);
  EXPECT_EQ(c.attention.yarn->rope_attention_factor, 1.0);

  // model.py's defaults when only factor and original length are given (ModelArgs: beta 32/1, mscale 1).
  auto doc = native_with_yarn();
  doc["model"]["attention"]["yarn"] = {{"factor", 40}, {"original_seq_len", 16}};
  const ModelConfig d = model_from_document(doc);
  ASSERT_TRUE(d.attention.yarn.has_value());
  EXPECT_EQ(d.attention.yarn->beta_fast, 32.0);
  EXPECT_EQ(d.attention.yarn->beta_slow, 1.0);
  EXPECT_EQ(d.attention.yarn->mscale, 1.0);

  // No block, no YaRN: the default RoPE base of model.py (rope_theta 10000.0).
  doc["model"]["attention"].erase("yarn");
  doc["model"]["attention"].erase("rope_theta");
  const ModelConfig e = model_from_document(doc);
  EXPECT_FALSE(e.attention.yarn.has_value());
  EXPECT_EQ(e.attention.rope_theta, 10000.0);
}

// model.py: "if args.max_seq_len > args.original_seq_len:" — within the original length, plain RoPE.
TEST(YaRN, WithinOriginalLengthRopeStaysPlain) {
  auto doc = native_with_yarn();
  doc["model"]["max_seq_len"] = 256;
  EXPECT_FALSE(model_from_document(doc).attention.yarn.has_value());
  doc["model"]["max_seq_len"] = 257;
  EXPECT_TRUE(model_from_document(doc).attention.yarn.has_value());
}

TEST(YaRN, NativeConfigErrorsNameTheField) {
  auto with = [](const char* key, const nlohmann::json& value) {
    auto doc = native_with_yarn();
    doc["model"]["attention"]["yarn"][key] = value;
    return error_of(doc);
  };
  EXPECT_EQ(with("factor", 0.5), "model.attention.yarn.factor: must be between 1 and 1e6, got 0.500000");
  EXPECT_EQ(with("original_seq_len", 0), "model.attention.yarn.original_seq_len: must be a positive integer, got 0");
  EXPECT_EQ(with("beta_slow", 0), "model.attention.yarn.beta_slow: must be positive and below 1e6, got 0.000000");
  EXPECT_EQ(with("beta_fast", 1.5),
            "model.attention.yarn.beta_fast: must be at least model.attention.yarn.beta_slow (2.000000) and below 1e6, got 1.500000");
  EXPECT_EQ(with("mscale", -1), "model.attention.yarn.mscale: must be between 0 and 1e6, got -1.000000");
  EXPECT_EQ(with("rope_factor", 40), "model.attention.yarn.rope_factor: unknown key");

  auto doc = native_with_yarn();
  doc["model"]["attention"]["rope_theta"] = 0;
  EXPECT_EQ(error_of(doc), "model.attention.rope_theta: must exceed 1, got 0.000000");

  auto gqa = native_with_yarn();
  gqa["model"]["attention"] = {{"kind", "gqa"}, {"num_heads", 4}, {"num_kv_heads", 2},
                               {"yarn", {{"factor", 4}, {"original_seq_len", 256}}}};
  EXPECT_EQ(error_of(gqa), "model.attention.yarn: YaRN is implemented for MLA's RoPE dims only");
}

TEST(YaRN, HuggingFaceDeepSeekV3ConfigIsRead) {
  const ModelConfig c = load_model_config_file(std::string(FRUGAL_HF_CONFIGS_DIR) + "/deepseek-v3.json");
  EXPECT_EQ(c.attention.rope_theta, 10000.0);
  ASSERT_TRUE(c.attention.yarn.has_value());  // max_position_embeddings 163840 > 4096
  EXPECT_EQ(c.attention.yarn->factor, 40.0);
  EXPECT_EQ(c.attention.yarn->original_seq_len, 4096);
  EXPECT_EQ(c.attention.yarn->beta_fast, 32.0);
  EXPECT_EQ(c.attention.yarn->beta_slow, 1.0);
  EXPECT_EQ(c.attention.yarn->mscale, 1.0);                 // mscale_all_dim
  EXPECT_EQ(c.attention.yarn->rope_attention_factor, 1.0);  // mscale == mscale_all_dim

  const ModelConfig v2 = load_model_config_file(std::string(FRUGAL_HF_CONFIGS_DIR) + "/deepseek-v2.json");
  ASSERT_TRUE(v2.attention.yarn.has_value());
  EXPECT_EQ(v2.attention.yarn->mscale, 0.707);
  EXPECT_EQ(v2.attention.yarn->rope_attention_factor, 1.0);

  const ModelConfig llama = load_model_config_file(std::string(FRUGAL_HF_CONFIGS_DIR) + "/llama-3.1-8b.json");
  EXPECT_EQ(llama.attention.rope_theta, 500000.0);
  EXPECT_FALSE(llama.attention.yarn.has_value());  // "llama3" scaling is not modelled
}

nlohmann::json small_hf() {
  return nlohmann::json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "q_lora_rank": 32, "kv_lora_rank": 16, "qk_nope_head_dim": 16,
    "qk_rope_head_dim": 8, "v_head_dim": 16, "intermediate_size": 128, "max_position_embeddings": 8192,
    "rope_theta": 10000,
    "rope_scaling": {"type": "yarn", "factor": 2, "original_max_position_embeddings": 4096}
  })");
}

// transformers' defaults: beta 32/1, original length = max_position_embeddings; without
// mscale/mscale_all_dim no softmax factor (mscale_all_dim 0) and cos/sin × get_mscale(factor).
TEST(YaRN, HuggingFaceDefaultsAndErrors) {
  const ModelConfig c = model_from_document(small_hf());
  ASSERT_TRUE(c.attention.yarn.has_value());
  EXPECT_EQ(c.attention.yarn->beta_fast, 32.0);
  EXPECT_EQ(c.attention.yarn->beta_slow, 1.0);
  EXPECT_EQ(c.attention.yarn->mscale, 0.0);
  EXPECT_NEAR(c.attention.yarn->rope_attention_factor, 0.1 * std::log(2.0) + 1.0, 1e-15);

  auto rope_type = small_hf();
  rope_type["rope_scaling"].erase("type");
  rope_type["rope_scaling"]["rope_type"] = "yarn";
  EXPECT_EQ(error_of(rope_type), "(accepted)");

  auto no_original = small_hf();
  no_original["rope_scaling"].erase("original_max_position_embeddings");
  EXPECT_FALSE(model_from_document(no_original).attention.yarn.has_value());  // 8192 is not > 8192

  auto linear = small_hf();
  linear["rope_scaling"]["type"] = "linear";
  EXPECT_EQ(error_of(linear), "rope_scaling.type: unsupported \"linear\" for MLA (known: yarn)");
  auto factor = small_hf();
  factor["rope_scaling"]["factor"] = 0.25;
  EXPECT_EQ(error_of(factor), "rope_scaling.factor: must be between 1 and 1e6, got 0.250000");
  auto beta = small_hf();
  beta["rope_scaling"]["beta_fast"] = 0.5;
  EXPECT_EQ(error_of(beta), "rope_scaling.beta_fast: must be at least rope_scaling.beta_slow (1.000000) and below 1e6, got 0.500000");
  auto original = small_hf();
  original["rope_scaling"]["original_max_position_embeddings"] = -1;
  EXPECT_EQ(error_of(original),
            "rope_scaling.original_max_position_embeddings: must be a positive integer, got -1");
}

}  // namespace
}  // namespace frugal::core
