#include "frugal/sim/adapters.hpp"

#include <utility>

#include "frugal/sim/layer_linears.hpp"
#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

std::vector<AdaptedLinear> adapted_linears(const ModelConfig& m, bool moe_layer, AdapterTargets targets) {
  // qv: the query projection(s) and the one producing values (MLA's W_UKV makes keys and values).
  auto adapted = [&](LinearRole role) {
    switch (role) {
      case LinearRole::query:
      case LinearRole::value:
        return true;
      case LinearRole::query_down:
      case LinearRole::kv_down:
      case LinearRole::key:
      case LinearRole::attention_output:
        return targets != AdapterTargets::qv;
      case LinearRole::ffn:
      case LinearRole::routed_expert:
      case LinearRole::shared_expert:
        return targets == AdapterTargets::all_linear;
    }
    return false;
  };
  std::vector<AdaptedLinear> out;
  for (const LayerLinear& l : layer_linears(m, moe_layer))
    if (adapted(l.role)) out.push_back({l.in, l.out, l.copies_per_token, l.stored});
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
