// Attention blocks (MHA, GQA, MLA), the MoE layer with its gate, and the whole transformer:
// every parameter tensor and the input gradient against central finite differences in double
// precision (relative error < 1e-4).
#include <gtest/gtest.h>

#include "frugal/core/attention.hpp"
#include "frugal/core/model.hpp"
#include "frugal/core/moe.hpp"
#include "gradient_check.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::expect_all_parameter_gradients;
using testing::expect_gradient;
using testing::project;
using testing::random_matrix;


void check_attention_block(const AttentionConfig& config) {
  const Index hidden = 12, batch = 2, seq_len = 5;
  Parameters<double> params;
  AttentionBlock<double> block(config, hidden, params, "attn", 2);
  params.allocate();
  Rng rng(11);
  block.init(params, rng, 0.3);
  Matrix<double> x = random_matrix(batch * seq_len, hidden, rng), r = random_matrix(batch * seq_len, hidden, rng);
  Matrix<double> out, dx;
  auto loss = [&] {
    block.forward(out, x, batch, seq_len, params);
    return project(out, r);
  };
  loss();
  params.zero_grad();
  block.backward(dx, r, params);
  expect_all_parameter_gradients(params, loss);
  expect_gradient("x", loss, x.data(), dx.data(), x.size());
}

TEST(BlockGradients, MultiHeadAttention) {
  AttentionConfig c;
  c.kind = AttentionKind::mha;
  c.num_heads = c.num_kv_heads = 3;
  c.head_dim = 4;
  check_attention_block(c);
}

TEST(BlockGradients, GroupedQueryAttention) {
  AttentionConfig c;
  c.kind = AttentionKind::gqa;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 4;
  check_attention_block(c);
}

AttentionConfig mla(Index q_lora_rank) {
  AttentionConfig c;
  c.kind = AttentionKind::mla;
  c.num_heads = 3;
  c.q_lora_rank = q_lora_rank;
  c.kv_lora_rank = 6;
  c.qk_nope_head_dim = 4;
  c.qk_rope_head_dim = 2;
  c.v_head_dim = 3;
  return c;
}
TEST(BlockGradients, MultiHeadLatentAttention) { check_attention_block(mla(5)); }
TEST(BlockGradients, MultiHeadLatentAttentionWithoutQueryCompression) { check_attention_block(mla(0)); }

MoeConfig small_moe() {
  MoeConfig m = testing::eight_experts_in_four_groups(5);
  m.route_scale = 2.5;
  return m;
}

// The MoE layer's output and balance loss, through the gate's normalised top-k weights.
void check_moe_layer(const MoeConfig& moe, const RouterOptions& options) {
  const Index hidden = 6, batch = 2, seq_len = 6;
  Parameters<double> params;
  MoeLayer<double> layer(moe, options, hidden, params, "moe");
  params.allocate();
  Rng rng(12);
  layer.init(params, rng, 0.5, 2);
  for (auto& b : layer.router().bias()) b = 0.05 * rng.normal();  // the bias changes choices, not gradients
  Matrix<double> x = random_matrix(batch * seq_len, hidden, rng), r = random_matrix(batch * seq_len, hidden, rng);
  Matrix<double> out, dx;
  auto loss_unit = [&] {
    const double balance = layer.forward(out, x, batch, seq_len, params);
    return project(out, r) + balance;
  };
  loss_unit();
  params.zero_grad();
  layer.backward(dx, r, params);
  expect_all_parameter_gradients(params, loss_unit);
  expect_gradient("x", loss_unit, x.data(), dx.data(), x.size());
}

TEST(BlockGradients, DeepSeekMoeSigmoidGroupLimitedAuxFree) {
  RouterOptions o;
  o.balancing = Balancing::aux_free;
  o.sequence_balance_alpha = 0.3;  // large, so that the balance loss's gradient is visible in the check
  check_moe_layer(small_moe(), o);
}

TEST(BlockGradients, ClassicSoftmaxRouterWithAuxLossAndCapacityDropping) {
  MoeConfig m = small_moe();
  m.score_func = ScoreFunc::softmax;
  m.normalize_top_k = false;
  m.groups = 1;
  m.groups_per_token = 1;
  m.route_scale = 1.0;
  RouterOptions o;
  o.balancing = Balancing::aux_loss;
  o.aux_loss_alpha = 0.5;
  o.capacity_factor = 0.75;  // tight: some assignments are dropped
  check_moe_layer(m, o);
}

TEST(BlockGradients, SoftmaxRouterWithNormalisedWeightsAndNoBalancing) {
  MoeConfig m = small_moe();
  m.score_func = ScoreFunc::softmax;
  RouterOptions o;
  o.balancing = Balancing::none;
  check_moe_layer(m, o);
}

ModelConfig tiny_model(AttentionKind kind) {
  ModelConfig c;
  c.vocab_size = 11;
  c.hidden_size = 8;
  c.num_layers = 2;
  c.max_seq_len = 8;
  c.attention.kind = kind;
  c.attention.num_heads = 2;
  c.attention.num_kv_heads = 2;
  c.attention.head_dim = 4;
  if (kind == AttentionKind::mla) c.attention = mla(4);
  c.ffn_intermediate_size = 6;
  c.moe = small_moe();
  c.moe.first_dense_layers = 1;
  return c;
}

// With `distil`, the main loss is logit distillation (T = 2, α = 0.6) against fixed random
// teacher logits.
void check_transformer(const ModelConfig& config, double mtp_weight = 0.0, bool distil = false) {
  RouterOptions o;
  o.sequence_balance_alpha = 0.1;
  Transformer<double> model(config, o, std::nullopt, mtp_weight);
  model.init(21, 0.3);
  const Index batch = 2, seq_len = 5;
  Rng rng(22);
  std::vector<int> inputs, targets;
  for (Index i = 0; i < batch * seq_len; ++i) {
    inputs.push_back(static_cast<int>(rng.below(11)));
    targets.push_back(static_cast<int>(rng.below(11)));
  }
  Matrix<double> teacher_logits(batch * seq_len, config.vocab_size);
  fill_normal(teacher_logits, rng, 2.0);
  const SoftTargets<double> soft{&teacher_logits, 2.0, 0.6};
  auto loss = [&] { return model.forward(inputs, targets, batch, seq_len, distil ? &soft : nullptr).total(); };
  loss();
  model.params().zero_grad();
  model.backward();
  expect_all_parameter_gradients(model.params(), loss, 6);
}

TEST(ModelGradients, MlaTransformerWithDeepSeekMoe) { check_transformer(tiny_model(AttentionKind::mla)); }

// Two MTP depths (V3 §2.2): the gradient reaches the main model through h^0, the shared
// embedding and head, and depth 1 through depth 2's input.
TEST(ModelGradients, MultiTokenPredictionTwoDepths) {
  ModelConfig c = tiny_model(AttentionKind::mla);
  c.mtp_depth = 2;
  check_transformer(c, 0.7);
}
// Logit distillation replaces the main model's loss; its gradient must reach every weight, MTP
// (hard labels) included.
TEST(ModelGradients, LogitDistillationThroughTheWholeModel) {
  ModelConfig c = tiny_model(AttentionKind::mla);
  c.mtp_depth = 1;
  check_transformer(c, 0.3, true);
}
TEST(ModelGradients, MhaTransformerWithDeepSeekMoe) { check_transformer(tiny_model(AttentionKind::mha)); }
TEST(ModelGradients, DenseTransformerWithTiedEmbeddings) {
  ModelConfig c = tiny_model(AttentionKind::mha);
  c.moe = MoeConfig{};
  c.tie_embeddings = true;
  check_transformer(c);
}

}  // namespace
}  // namespace frugal::core

namespace frugal::core {
namespace {

// The float backward that training uses, against the double backward that the finite differences
// above verify, on the same weights and tokens. Float tolerance: 1e-4 relative per tensor (the
// measured worst is printed; about 1e-6 here). Finite differences themselves are not run in float:
// with 24-bit mantissas the step that balances truncation against rounding (ε ≈ 5e-3) leaves
// errors near 1e-3, too coarse to catch a wrong term.
TEST(ModelGradients, FloatBackwardMatchesTheVerifiedDoubleBackward) {
  ModelConfig config = tiny_model(AttentionKind::mla);
  RouterOptions o;
  o.sequence_balance_alpha = 0.1;
  Transformer<float> f(config, o);
  Transformer<double> d(config, o);
  f.init(31, 0.3);
  const auto& fv = f.params().values();
  d.params().values().assign(fv.begin(), fv.end());
  const Index batch = 2, seq_len = 6;
  Rng rng(32);
  std::vector<int> inputs, targets;
  for (Index i = 0; i < batch * seq_len; ++i) {
    inputs.push_back(static_cast<int>(rng.below(11)));
    targets.push_back(static_cast<int>(rng.below(11)));
  }
  f.forward(inputs, targets, batch, seq_len);
  d.forward(inputs, targets, batch, seq_len);
  f.params().zero_grad();
  d.params().zero_grad();
  f.backward();
  d.backward();
  double worst = 0;
  for (int id = 0; id < static_cast<int>(d.params().tensors().size()); ++id) {
    const auto gd = d.params().grad(id);
    const Matrix<double> gf = f.params().grad(id).cast<double>();
    if (gd.norm() == 0) continue;
    const double error = (gf - gd).norm() / gd.norm();
    worst = std::max(worst, error);
    EXPECT_LT(error, 1e-4) << d.params().info(id).name;
  }
  std::printf("float vs double backward: worst relative error %.2e\n", worst);
}

}  // namespace
}  // namespace frugal::core
