// One engine iteration on one serving instance, from rooflines: the slower of compute (prefill)
// and memory (weights of the experts the batch touches, and the KV cache it reads), or the expert
// all-to-all when it is longer (two micro-batches overlap it with compute, V3 report §3.4).
#include <algorithm>
#include <cmath>

#include "frugal/sim/communication.hpp"
#include "frugal/sim/serving.hpp"

namespace frugal::sim {

double expected_experts_touched(const ModelConfig& m, double tokens) {
  if (!m.is_moe() || tokens <= 0) return 0.0;
  const double e = static_cast<double>(m.moe.routed_experts);
  const double k = static_cast<double>(m.moe.top_k);
  return e * (1.0 - std::pow(1.0 - k / e, tokens));
}

double tokens_per_decode_step(const ServingDeployment& d) { return 1.0 + std::max(0.0, d.mtp_acceptance); }

namespace {

// Attention FLOPs per key for one token in one layer. Decode with MLA multiplies the query into
// the latent (V3 report §2.1.1, absorbed W_UK / W_UV): 2 h (2 d_c + d_R) per key; otherwise
// 2 h (d_qk + d_v).
double attention_flops_per_key(const ModelConfig& m, bool decode) {
  const AttentionConfig& a = m.attention;
  const double h = static_cast<double>(a.num_heads);
  if (decode && a.kind == AttentionKind::mla)
    return 2.0 * h * static_cast<double>(2 * a.kv_lora_rank + a.qk_rope_head_dim);
  return 2.0 * h * static_cast<double>(a.qk_head_dim() + a.value_head_dim());
}

}  // namespace

IterationModel::IterationModel(const ModelConfig& m, const ServingDeployment& d, const EfficiencyConstants& c)
    : m_(m), d_(d), c_(c) {
  const ModelAccount a = account_model(m);
  moe_layers_ = static_cast<double>(m.moe_layer_count());
  const double routed = a.component("routed_experts").params;
  routed_per_layer_ = moe_layers_ > 0 ? routed / moe_layers_ : 0.0;
  replicated_ = a.total_params - routed - a.component("embedding").params;
  // Forward FLOPs = 2 x matmul weights + attention scores (model_accountant.hpp).
  const double scores = static_cast<double>(m.num_layers) * attention_score_flops_forward(m, 4096, AttentionFlops::causal);
  matmul_active_ = (a.inference_flops_per_token - scores) / 2.0;
  kv_bytes_ = kv_cache_bytes_per_token(m, d.kv_dtype);
}

double IterationModel::kv_capacity_tokens(std::int64_t gpus) const {
  const double weight_bytes = d_.fp8_weights ? 1.0 : 2.0;
  const double ep = static_cast<double>(std::min(d_.ep, gpus));
  const double per_gpu_weights = (replicated_ / static_cast<double>(d_.tp) + routed_per_layer_ * moe_layers_ / ep) * weight_bytes;
  const double free = d_.gpu.hbm_bytes * (1.0 - c_.memory_reserve_fraction) - per_gpu_weights;
  if (free <= 0) return 0.0;
  // MLA's latent is shared by all heads, so tensor-parallel ranks each keep all of it; GQA's KV
  // heads split over TP up to their number.
  const AttentionConfig& a = m_.attention;
  const double replication = a.kind == AttentionKind::mla
                                 ? static_cast<double>(d_.tp)
                                 : std::max(1.0, static_cast<double>(d_.tp) / static_cast<double>(a.num_kv_heads));
  return free * static_cast<double>(gpus) / (kv_bytes_ * replication);
}

double IterationModel::time(std::int64_t gpus, const IterationLoad& load) const {
  const ModelConfig& m = m_;
  const ServingDeployment& d = d_;
  const EfficiencyConstants& c = c_;
  const double g = static_cast<double>(gpus);
  const double dp_ranks = g / static_cast<double>(d.tp);
  const double verify = d.mtp_acceptance > 0 ? 2.0 : 1.0;  // the draft token is verified alongside
  const double decode_tokens = load.decode_sequences * verify;
  const double tokens = decode_tokens + load.prefill_tokens;
  if (tokens <= 0) return c.serving_iteration_overhead_s;

  // Compute, spread evenly over the instance.
  const double flops = 2.0 * matmul_active_ * tokens +
                       static_cast<double>(m.num_layers) *
                           (attention_flops_per_key(m, true) * load.decode_context * verify +
                            attention_flops_per_key(m, false) * load.prefill_context);
  const bool fp8 = d.fp8_weights && d.gpu.fp8_flops > 0;
  const double compute = flops / g / ((fp8 ? d.gpu.fp8_flops : d.gpu.bf16_flops) * (fp8 ? c.gemm_fp8 : c.gemm_bf16));

  // Memory: each GPU reads its replicated weights, its share of the experts the batch touches, and
  // its sequences' KV cache.
  const double weight_bytes = d.fp8_weights ? 1.0 : 2.0;
  const double ep = static_cast<double>(std::min(d.ep, gpus));
  const double touched = m.is_moe() ? expected_experts_touched(m, tokens) / static_cast<double>(m.moe.routed_experts) : 0.0;
  const double weights = (replicated_ / static_cast<double>(d.tp) + routed_per_layer_ * moe_layers_ * touched / ep) * weight_bytes;
  const double kv = load.decode_context * kv_bytes_ / dp_ranks;
  const double memory = (weights + kv) / (d.gpu.hbm_bandwidth * c.decode_hbm);

  // Expert all-to-all: every top-k copy travels (low-latency kernels send straight to the expert's
  // GPU), dispatch in FP8 with FP8 weights, combine in BF16, once per MoE layer.
  double all_to_all = 0;
  if (m.is_moe() && d.ep > 1) {
    const bool cross_node = d.ep > d.gpu.gpus_per_node;
    const double link = cross_node ? d.gpu.scaleout_bandwidth * c.scaleout : d.gpu.nvlink_bandwidth * c.nvlink;
    const double remote = 1.0 - 1.0 / ep;
    const double bytes = tokens / g * static_cast<double>(m.moe.top_k) * remote * static_cast<double>(m.hidden_size) *
                         (weight_bytes + 2.0);
    all_to_all = moe_layers_ * (bytes / link + 2.0 * c.collective_latency_s);
  }
  return std::max({compute, memory, all_to_all}) + c.serving_iteration_overhead_s;
}

double kv_capacity_tokens(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus, const EfficiencyConstants& c) {
  return IterationModel(m, d, c).kv_capacity_tokens(gpus);
}

double iteration_time(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus, const IterationLoad& load,
                      const EfficiencyConstants& c) {
  return IterationModel(m, d, c).time(gpus, load);
}

}  // namespace frugal::sim
