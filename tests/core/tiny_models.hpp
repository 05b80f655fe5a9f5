// Small configurations for training tests: the deepseek-v3-tiny shape, narrowed so that a test
// trains in well under a second (and a few seconds under the sanitizers).
#pragma once

#include "frugal/config/model_config.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::core::testing {

// 1 shared + 8 routed experts of `width`, top-2 inside 2 of 4 groups, sigmoid gate, normalised.
inline MoeConfig eight_experts_in_four_groups(std::int64_t width) {
  MoeConfig m;
  m.routed_experts = 8;
  m.shared_experts = 1;
  m.top_k = 2;
  m.expert_intermediate_size = width;
  m.groups = 4;
  m.groups_per_token = 2;
  m.score_func = ScoreFunc::sigmoid;
  m.normalize_top_k = true;
  return m;
}

inline ModelConfig test_moe_model() {
  ModelConfig c;
  c.name = "test-moe";
  c.vocab_size = 32;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.max_seq_len = 32;
  c.attention.kind = AttentionKind::mla;
  c.attention.num_heads = 2;
  c.attention.q_lora_rank = 16;
  c.attention.kv_lora_rank = 8;
  c.attention.qk_nope_head_dim = 8;
  c.attention.qk_rope_head_dim = 4;
  c.attention.v_head_dim = 8;
  c.ffn_intermediate_size = 64;
  c.moe = eight_experts_in_four_groups(16);
  c.moe.first_dense_layers = 1;
  return c;
}

inline TrainOptions test_options(std::int64_t steps) {
  TrainOptions o;
  o.steps = steps;
  o.batch_size = 8;
  o.seq_len = 32;
  o.warmup_steps = 5;
  o.learning_rate = 1e-2;
  o.eval_every = 0;
  o.eval_batches = 2;
  o.data.markov = MarkovOptions{16, 1, 3, 7};
  return o;
}

}  // namespace frugal::core::testing
