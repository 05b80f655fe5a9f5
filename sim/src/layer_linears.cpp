#include "frugal/sim/layer_linears.hpp"

#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

std::vector<LayerLinear> layer_linears(const ModelConfig& m, bool moe_layer) {
  const AttentionConfig& a = m.attention;
  const double d = static_cast<double>(m.hidden_size);
  const double h = static_cast<double>(a.num_heads);
  using R = LinearRole;
  using S = TensorSplit;
  std::vector<LayerLinear> out;
  if (a.kind == AttentionKind::mla) {
    const double qk = static_cast<double>(a.qk_head_dim());
    // The two down-projections first: both read the layer's input.
    if (a.q_lora_rank > 0) out.push_back({d, static_cast<double>(a.q_lora_rank), R::query_down, S::none});
    out.push_back({d, static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim), R::kv_down, S::none, 1, 1,
                   a.q_lora_rank > 0});
    out.push_back({a.q_lora_rank > 0 ? static_cast<double>(a.q_lora_rank) : d, h * qk, R::query, S::output});
    out.push_back({static_cast<double>(a.kv_lora_rank), h * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim), R::value,
                   S::output});
    out.push_back({h * static_cast<double>(a.v_head_dim), d, R::attention_output, S::input});
  } else {
    const double q = h * static_cast<double>(a.head_dim);
    const double kv = static_cast<double>(a.num_kv_heads * a.head_dim);
    out.push_back({d, q, R::query, S::output});
    out.push_back({d, kv, R::key, S::output, 1, 1, true});
    out.push_back({d, kv, R::value, S::output, 1, 1, true});
    out.push_back({q, d, R::attention_output, S::input});
  }
  const bool gated = m.ffn_activation == FfnActivation::swiglu;
  auto add_ffn = [&](double width, LinearRole role, double copies, double stored) {
    for (int i = 0; i < (gated ? 2 : 1); ++i) out.push_back({d, width, role, S::output, copies, stored, i == 1});
    out.push_back({width, d, role, S::input, copies, stored});
  };
  if (!moe_layer) {
    add_ffn(static_cast<double>(m.ffn_intermediate_size), R::ffn, 1, 1);
    return out;
  }
  const MoeConfig& e = m.moe;
  add_ffn(static_cast<double>(e.expert_intermediate_size), R::routed_expert, static_cast<double>(e.top_k),
          static_cast<double>(e.routed_experts));
  for (std::int64_t s = 0; s < e.shared_experts; ++s) add_ffn(static_cast<double>(shared_expert_width(m)), R::shared_expert, 1, 1);
  return out;
}

}  // namespace frugal::sim
