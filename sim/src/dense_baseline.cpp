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
  d.attention.head_dim = 128;
  d.attention.num_heads = std::max<std::int64_t>(1, like.hidden_size / 128);
  d.attention.num_kv_heads = d.attention.num_heads % 8 == 0 ? 8 : d.attention.num_heads;
  if (d.attention.num_kv_heads == d.attention.num_heads) d.attention.kind = AttentionKind::mha;

  // Parameters are affine in the FFN width: count at two widths and solve.
  auto count = [&](std::int64_t intermediate) {
    d.ffn_intermediate_size = intermediate;
    const ModelAccount a = account_model(d);
    return match == ParamMatch::active ? a.active_params : a.total_params;
  };
  const double at_128 = count(128);
  const double per_unit = (count(256) - at_128) / 128.0;
  const double width = 128.0 + (target_params - at_128) / per_unit;
  if (width < 128.0)
    throw ConfigError("dense baseline", "target " + std::to_string(target_params) +
                                            " parameters is below the attention and embeddings alone");
  d.ffn_intermediate_size = std::max<std::int64_t>(128, 128 * std::llround(width / 128.0));
  return d;
}

}  // namespace frugal::sim
