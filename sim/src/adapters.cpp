#include "frugal/sim/adapters.hpp"

#include <utility>

#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

std::vector<AdaptedLinear> adapted_linears(const ModelConfig& m, bool moe_layer, AdapterTargets targets) {
  const AttentionConfig& a = m.attention;
  const double d = static_cast<double>(m.hidden_size);
  const double h = static_cast<double>(a.num_heads);
  std::vector<AdaptedLinear> out;
  const bool all_attention = targets != AdapterTargets::qv;
  if (a.kind == AttentionKind::mla) {
    const double qk = static_cast<double>(a.qk_head_dim());
    if (a.q_lora_rank > 0) {
      if (all_attention) out.push_back({d, static_cast<double>(a.q_lora_rank)});
      out.push_back({static_cast<double>(a.q_lora_rank), h * qk});
    } else {
      out.push_back({d, h * qk});
    }
    if (all_attention) out.push_back({d, static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim)});
    out.push_back({static_cast<double>(a.kv_lora_rank), h * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim)});
    if (all_attention) out.push_back({h * static_cast<double>(a.v_head_dim), d});
  } else {
    const double q = h * static_cast<double>(a.head_dim);
    const double kv = static_cast<double>(a.num_kv_heads * a.head_dim);
    out.push_back({d, q});
    if (all_attention) out.push_back({d, kv});
    out.push_back({d, kv});
    if (all_attention) out.push_back({q, d});
  }
  if (targets != AdapterTargets::all_linear) return out;
  const bool gated = m.ffn_activation == FfnActivation::swiglu;
  auto add_ffn = [&](double width, double copies, double stored) {
    for (int i = 0; i < (gated ? 2 : 1); ++i) out.push_back({d, width, copies, stored});
    out.push_back({width, d, copies, stored});
  };
  if (!moe_layer) {
    add_ffn(static_cast<double>(m.ffn_intermediate_size), 1, 1);
    return out;
  }
  const MoeConfig& e = m.moe;
  add_ffn(static_cast<double>(e.expert_intermediate_size), static_cast<double>(e.top_k), static_cast<double>(e.routed_experts));
  for (std::int64_t s = 0; s < e.shared_experts; ++s) add_ffn(static_cast<double>(shared_expert_width(m)), 1, 1);
  return out;
}

AdapterParameters adapter_parameters(const ModelConfig& m, const Adapters& adapters) {
  AdapterParameters p;
  if (!adapters.frozen_base()) return p;
  const double r = static_cast<double>(adapters.rank);
  const double moe_layers = static_cast<double>(m.moe_layer_count());
  const double dense_layers = static_cast<double>(m.num_layers) - moe_layers;
  for (const auto& [moe, layers] : {std::pair{false, dense_layers}, std::pair{true, moe_layers}}) {
    if (layers <= 0) continue;
    for (const AdaptedLinear& l : adapted_linears(m, moe, adapters.targets)) {
      const double params = layers * r * (l.in + l.out) * l.stored;
      p.total += params;
      if (l.stored > 1) p.routed += params;
    }
  }
  return p;
}

double quantized_base_parameters(const ModelConfig& m) {
  const ModelAccount a = account_model(m);
  // Biases and QK-norm weights, counted with their layers, stay in 16 bits too; they are too few
  // to matter and are counted here as quantized.
  const double kept = a.component("embedding").params + a.component("norms").params + a.component("output_head").params;
  return a.total_params - kept;
}

}  // namespace frugal::sim
