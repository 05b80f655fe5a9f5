// Writes, as JSON on stdout, core's MLA attention block run forward in double on seeded random
// weights and inputs: for each case its shape, RoPE/YaRN settings, every weight (core's layout,
// y = x·W with W of in × out), the input and the output. tests/python/reference_equivalence_mla.py
// feeds the same weights to a numpy port of DeepSeek-V3's inference/model.py MLA and compares.
// Cases: plain RoPE, and YaRN with a fractional ramp and a non-trivial mscale. q_lora_rank > 0, so
// q_norm and kv_norm are both exercised, with gains drawn away from 1.
#include <cstdint>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/core/attention.hpp"

namespace {
using frugal::AttentionConfig;
using frugal::AttentionKind;
using frugal::YarnConfig;
using frugal::core::Index;
using frugal::core::Matrix;

nlohmann::json rows_of(const Matrix<double>& m) {
  nlohmann::json out = nlohmann::json::array();
  for (Index r = 0; r < m.rows(); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (Index c = 0; c < m.cols(); ++c) row.push_back(m(r, c));
    out.push_back(row);
  }
  return out;
}

nlohmann::json run_case(const std::string& name, const AttentionConfig& config, std::int64_t max_seq_len,
                        std::uint64_t seed) {
  const Index hidden = 12, batch = 2, seq_len = 5;
  frugal::core::Parameters<double> params;
  frugal::core::AttentionBlock<double> block(config, hidden, params, "attn", 2);
  params.allocate();
  frugal::core::Rng rng(seed);
  block.init(params, rng, 0.4);
  for (int id = 0; id < static_cast<int>(params.tensors().size()); ++id)
    if (params.info(id).name.ends_with("norm")) {
      Matrix<double> noise(1, params.info(id).cols);
      frugal::core::fill_normal(noise, rng, 0.3);
      params.mutable_value(id) += noise;
    }
  Matrix<double> x(batch * seq_len, hidden), out;
  frugal::core::fill_normal(x, rng, 1.0);
  block.forward(out, x, batch, seq_len, params);

  nlohmann::json j;
  j["name"] = name;
  j["batch"] = batch;
  j["seq_len"] = seq_len;
  j["hidden"] = hidden;
  j["n_heads"] = config.num_heads;
  j["q_lora_rank"] = config.q_lora_rank;
  j["kv_lora_rank"] = config.kv_lora_rank;
  j["qk_nope_head_dim"] = config.qk_nope_head_dim;
  j["qk_rope_head_dim"] = config.qk_rope_head_dim;
  j["v_head_dim"] = config.v_head_dim;
  j["rope_theta"] = config.rope_theta;
  j["max_seq_len"] = max_seq_len;
  if (config.yarn) {
    j["yarn"] = {{"rope_factor", config.yarn->factor}, {"original_seq_len", config.yarn->original_seq_len},
                 {"beta_fast", config.yarn->beta_fast}, {"beta_slow", config.yarn->beta_slow},
                 {"mscale", config.yarn->mscale}};
  } else {
    j["yarn"] = nullptr;
  }
  for (int id = 0; id < static_cast<int>(params.tensors().size()); ++id)
    j["weights"][params.info(id).name] = rows_of(Matrix<double>(params.value(id)));
  j["x"] = rows_of(x);
  j["out"] = rows_of(out);
  return j;
}
}  // namespace

int main() {
  AttentionConfig c;
  c.kind = AttentionKind::mla;
  c.num_heads = 3;
  c.q_lora_rank = 7;
  c.kv_lora_rank = 6;
  c.qk_nope_head_dim = 4;
  c.qk_rope_head_dim = 16;
  c.v_head_dim = 5;
  nlohmann::json cases = nlohmann::json::array();
  cases.push_back(run_case("plain RoPE", c, 4096, 31));

  // dim 16, base 100, original 512, beta 32/1: correction dims 1.62 and 7.64 → low 1, high 8, so
  // the ramp (i − 1)/7 is fractional on pairs 2…7; max_seq_len 1024 > 512 turns YaRN on in model.py.
  c.rope_theta = 100.0;
  YarnConfig y;
  y.factor = 4.0;
  y.original_seq_len = 512;
  y.mscale = 0.707;
  c.yarn = y;
  cases.push_back(run_case("YaRN", c, 1024, 32));
  std::cout << nlohmann::json{{"cases", cases}}.dump() << "\n";
  return 0;
}
