// Decoding with a KV cache (Transformer::decode_step) against the full forward pass (infer): at
// every position the cached step's logits are the full pass's row for that position, for GQA and
// MLA (with YaRN), dense and MoE layers, tied and untied heads.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "frugal/core/distillation.hpp"
#include "frugal/core/model.hpp"
#include "frugal/core/random.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {

ModelConfig gqa_model() {
  ModelConfig c = testing::test_moe_model();
  c.attention = AttentionConfig{};
  c.attention.kind = AttentionKind::gqa;
  c.attention.num_heads = 4;
  c.attention.num_kv_heads = 2;
  c.attention.head_dim = 8;
  return c;
}

ModelConfig mla_yarn_dense_tied() {
  ModelConfig c = testing::test_moe_model();
  c.moe = MoeConfig{};  // dense
  c.tie_embeddings = true;
  YarnConfig y;
  y.factor = 4.0;
  y.original_seq_len = 8;
  y.mscale = 0.707;
  c.attention.yarn = y;
  return c;
}

// Three sequences of `length` random tokens; the cached steps' logits against infer's rows.
void expect_decode_matches_infer(const ModelConfig& config) {
  Transformer<double> model(config, RouterOptions{});
  model.init(5, 0.3);
  const Index batch = 3, length = 9;
  Rng rng(6);
  std::vector<int> tokens(static_cast<std::size_t>(batch * length));
  for (int& t : tokens) t = static_cast<int>(rng.below(static_cast<std::uint64_t>(config.vocab_size)));
  const Matrix<double> full = model.infer(tokens, batch, length);
  std::vector<KvCache<double>> caches = model.new_kv_caches(length);
  for (Index p = 0; p < length; ++p) {
    std::vector<int> step;
    for (Index b = 0; b < batch; ++b) step.push_back(tokens[static_cast<std::size_t>(b * length + p)]);
    const Matrix<double>& logits = model.decode_step(step, p, caches);
    ASSERT_EQ(logits.rows(), batch);
    for (Index b = 0; b < batch; ++b)
      EXPECT_LT((logits.row(b) - full.row(b * length + p)).cwiseAbs().maxCoeff(), 1e-12) << "sequence " << b << " position " << p;
  }
}

TEST(KvCache, GqaMoeDecodingEqualsTheFullForward) { expect_decode_matches_infer(gqa_model()); }
TEST(KvCache, MlaMoeDecodingEqualsTheFullForward) { expect_decode_matches_infer(testing::test_moe_model()); }
TEST(KvCache, MlaWithYarnDenseTiedDecodingEqualsTheFullForward) { expect_decode_matches_infer(mla_yarn_dense_tied()); }

// A token-dropping router decides drops over the whole batch at once, so one token at a time is
// not the same model: refused, and the sampler reruns the prefixes instead.
TEST(KvCache, ATokenDroppingRouterIsRefused) {
  RouterOptions dropping;
  dropping.capacity_factor = 1.0;
  Transformer<double> model(testing::test_moe_model(), dropping);
  model.init(5, 0.3);
  std::vector<KvCache<double>> caches = model.new_kv_caches(4);
  EXPECT_TRUE(model.drops_tokens());
  EXPECT_THROW(model.decode_step({1, 2}, 0, caches), std::invalid_argument);
}

// Past the cache's length, or with the wrong number of layer caches: refused, not overrun.
TEST(KvCache, PositionsOutsideTheCacheAreRefused) {
  Transformer<double> model(testing::test_moe_model(), RouterOptions{});
  model.init(5, 0.3);
  std::vector<KvCache<double>> caches = model.new_kv_caches(2);
  model.decode_step({1}, 0, caches);
  model.decode_step({2}, 1, caches);
  EXPECT_THROW(model.decode_step({3}, 2, caches), std::invalid_argument);
  std::vector<KvCache<double>> too_few(1);
  EXPECT_THROW(model.decode_step({3}, 0, too_few), std::invalid_argument);
}

// The cached sampler writes, token for token, what the uncached one (every prefix rerun through
// infer) writes with the same random numbers, at τ = 1 and τ = 0.5; and it costs ~length/2 times
// fewer matmul FLOPs.
TEST(KvCache, CachedSamplingWritesWhatRerunningThePrefixesWrites) {
  Transformer<float> model(testing::test_moe_model(), RouterOptions{});
  model.init(7, 0.3);
  const std::vector<int> first{1, 5, 9, 2, 30};
  const Index length = 16;
  for (const double temperature : {1.0, 0.5}) {
    Rng a(11), b(11);
    MatmulMeter& meter = matmul_meter();
    const double before = meter.flops;
    const std::vector<int> cached = sample_sequences(model, first, length, temperature, a);
    const double cached_flops = meter.flops - before;
    // The uncached reference: all sequences advance together, each step rerunning every prefix.
    const double rerun_before = meter.flops;
    std::vector<std::vector<int>> sequences;
    for (const int f : first) sequences.push_back({f});
    for (Index t = 1; t < length; ++t) {
      std::vector<int> inputs;
      for (const auto& s : sequences) inputs.insert(inputs.end(), s.begin(), s.end());
      const Matrix<float>& logits = model.infer(inputs, static_cast<Index>(first.size()), t);
      for (std::size_t s = 0; s < sequences.size(); ++s)
        sequences[s].push_back(sample_token(logits.row(static_cast<Index>(s) * t + t - 1), temperature, b));
    }
    const double rerun_flops = meter.flops - rerun_before;
    std::vector<int> rerun;
    for (const auto& s : sequences) rerun.insert(rerun.end(), s.begin(), s.end());
    EXPECT_EQ(cached, rerun) << "temperature " << temperature;
    EXPECT_LT(cached_flops * 4, rerun_flops) << "temperature " << temperature;
  }
}

}  // namespace
}  // namespace frugal::core
