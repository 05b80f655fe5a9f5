#include "frugal/sim/dense_baseline.hpp"

#include <algorithm>
#include <cmath>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

ModelConfig dense_baseline(const ModelConfig& like, double target_params, ParamMatch match, std::string name) {
  ModelConfig d;
  d.name = std::move(name);
  d.source = "FrugalLM dense baseline: width, depth and vocabulary of " + like.name +
             ", FFN width solved for the parameter count";
  d.vocab_size = like.vocab_size;
  d.hidden_size = like.hidden_size;
  d.num_layers = like.num_layers;
  d.max_seq_len = like.max_seq_len;
  d.attention.kind = AttentionKind::gqa;
  // 128-dimensional heads and FFN widths in steps of 128 (Llama 3); a model narrower than 128
  // (deepseek-v3-tiny) gets one head of its width and steps of its width.
  const std::int64_t granule = std::min<std::int64_t>(128, like.hidden_size);
  d.attention.head_dim = granule;
  d.attention.num_heads = std::max<std::int64_t>(1, like.hidden_size / granule);
  d.attention.num_kv_heads = d.attention.num_heads % 8 == 0 ? 8 : d.attention.num_heads;
  if (d.attention.num_kv_heads == d.attention.num_heads) d.attention.kind = AttentionKind::mha;

  // Parameters are affine in the FFN width: count at two widths and solve.
  auto count = [&](std::int64_t intermediate) {
    d.ffn_intermediate_size = intermediate;
    const ModelAccount a = account_model(d);
    return match == ParamMatch::active ? a.active_params : a.total_params;
  };
  const double g = static_cast<double>(granule);
  const double at_granule = count(granule);
  const double per_unit = (count(2 * granule) - at_granule) / g;
  const double width = g + (target_params - at_granule) / per_unit;
  if (width < 1.0)
    throw ConfigError("dense baseline", "target " + std::to_string(target_params) +
                                            " parameters is below the attention and embeddings alone");
  d.ffn_intermediate_size = std::max<std::int64_t>(granule, granule * std::llround(width / g));
  return d;
}

}  // namespace frugal::sim
