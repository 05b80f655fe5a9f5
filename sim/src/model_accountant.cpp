#include "frugal/sim/model_accountant.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace frugal::sim {

std::int64_t shared_expert_width(const ModelConfig& m) {
  return m.moe.shared_expert_intermediate_size > 0 ? m.moe.shared_expert_intermediate_size : m.moe.expert_intermediate_size;
}

double kv_dtype_bytes(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::fp32: return 4.0;
    case KvDtype::bf16: return 2.0;
    case KvDtype::fp16: return 2.0;
    case KvDtype::fp8: return 1.0;
  }
  return 2.0;
}

const char* to_string(KvDtype dtype) {
  switch (dtype) {
    case KvDtype::fp32: return "fp32";
    case KvDtype::bf16: return "bf16";
    case KvDtype::fp16: return "fp16";
    case KvDtype::fp8: return "fp8";
  }
  return "?";
}

const char* to_string(AttentionFlops convention) { return convention == AttentionFlops::causal ? "causal" : "full"; }

const ComponentCount& ModelAccount::component(const std::string& name) const {
  for (const auto& c : breakdown)
    if (c.component == name) return c;
  throw std::out_of_range("no component " + name);
}

double attention_params(const ModelConfig& m) {
  const AttentionConfig& a = m.attention;
  const double d = static_cast<double>(m.hidden_size);
  const double h = static_cast<double>(a.num_heads);
  if (a.kind == AttentionKind::mla) {
    // V3 report §2.1.1: q = W_UQ W_DQ h (eq. 6-7), or W_Q h without query compression;
    // [c_KV ; k^R] = [W_DKV ; W_KR] h (eq. 1, 3); [k^C ; v^C] = [W_UK ; W_UV] c_KV (eq. 2, 5);
    // u = W_O [o_1 ... o_h] (eq. 11).
    const double qk = static_cast<double>(a.qk_nope_head_dim + a.qk_rope_head_dim);
    const double q = a.q_lora_rank > 0 ? d * a.q_lora_rank + a.q_lora_rank * h * qk : d * h * qk;
    const double kv_down = d * static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim);
    const double kv_up = a.kv_lora_rank * h * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim);
    const double out = h * a.v_head_dim * d + (a.out_bias ? d : 0.0);
    return q + kv_down + kv_up + out;
  }
  const double q_dim = h * a.head_dim;
  const double kv_dim = static_cast<double>(a.num_kv_heads * a.head_dim);
  const double qkv = d * (q_dim + 2 * kv_dim) + (a.qkv_bias ? q_dim + 2 * kv_dim : 0.0);
  const double out = q_dim * d + (a.out_bias ? d : 0.0);
  const double sinks = a.sinks ? h : 0.0;  // gpt-oss: one logit per head
  return qkv + out + sinks;
}

double attention_keys_per_query(const ModelConfig& m, std::int64_t seq_len, AttentionFlops convention, bool local) {
  const double s = static_cast<double>(seq_len);
  const AttentionConfig& a = m.attention;
  if (!local || a.local == LocalAttention::none || a.window >= seq_len)
    return convention == AttentionFlops::causal ? (s + 1.0) / 2.0 : s;
  const double w = static_cast<double>(a.window);
  if (convention == AttentionFlops::full) return w;
  if (a.local == LocalAttention::sliding) {
    // Query i (1-based) sees min(i, W) keys: sum = W(W+1)/2 + (S - W) W.
    return (w * (w + 1.0) / 2.0 + (s - w) * w) / s;
  }
  // Chunked: query i sees ((i - 1) mod W) + 1 keys; S = n W + r.
  const double n = std::floor(s / w), r = s - n * w;
  return (n * w * (w + 1.0) / 2.0 + r * (r + 1.0) / 2.0) / s;
}

double kv_tokens_kept(const ModelConfig& m, double context, bool local) {
  const AttentionConfig& a = m.attention;
  if (!local || a.local == LocalAttention::none) return context;
  // Sliding: the last W keys; chunked: the current chunk, up to W (on average W/2 at long context,
  // but a cache must hold the full chunk before it is dropped).
  return std::min(context, static_cast<double>(a.window));
}

double attention_score_flops_forward(const ModelConfig& m, std::int64_t seq_len, AttentionFlops convention, bool local) {
  // Per query: QK^T costs 2 * d_qk per key and head, AV costs 2 * d_v per key and head.
  // A causal query at position i (1-based) sees i keys: (S+1)/2 on average over the sequence;
  // fewer in a local layer (attention_keys_per_query).
  const double keys = attention_keys_per_query(m, seq_len, convention, local);
  const AttentionConfig& a = m.attention;
  return 2.0 * static_cast<double>(a.num_heads) * static_cast<double>(a.qk_head_dim() + a.value_head_dim()) * keys;
}

double ffn_params(const ModelConfig& m, std::int64_t intermediate) {
  const double d = static_cast<double>(m.hidden_size);
  const double i = static_cast<double>(intermediate);
  if (m.ffn_activation == FfnActivation::swiglu)  // W_gate, W_up: d x I; W_down: I x d
    return 3.0 * d * i + (m.mlp_bias ? 2.0 * i + d : 0.0);
  return 2.0 * d * i + (m.mlp_bias ? i + d : 0.0);  // W_up, W_down
}

double kv_cache_bytes_per_token_per_layer(const ModelConfig& m, KvDtype dtype) {
  const AttentionConfig& a = m.attention;
  const double per_layer = a.kind == AttentionKind::mla
                               ? static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim)  // c_KV and k^R
                               : 2.0 * static_cast<double>(a.num_kv_heads * a.head_dim);    // K and V
  return per_layer * kv_dtype_bytes(dtype);
}

double kv_cache_bytes_per_token(const ModelConfig& m, KvDtype dtype, std::int64_t context) {
  // Global layers keep every token; local layers at most `window` of a `context`-token sequence.
  const double global = static_cast<double>(m.num_layers - m.local_layer_count());
  const double local = static_cast<double>(m.local_layer_count());
  const double ctx = static_cast<double>(std::max<std::int64_t>(context, 1));
  const double local_share = context <= 0 ? 1.0 : kv_tokens_kept(m, ctx, true) / ctx;
  return kv_cache_bytes_per_token_per_layer(m, dtype) * (global + local * local_share);
}

namespace {

// What one component contributes: stored parameters, parameters a token uses, the subset of
// those that are matmul weights (2 FLOPs each per token forward), and attention-score FLOPs.
struct Tally {
  double params = 0;
  double active = 0;
  double matmul_active = 0;
  double score_flops_forward = 0;

  void add_all_active(double p, double matmul) {
    params += p;
    active += p;
    matmul_active += matmul;
  }
  ComponentCount to_component(const std::string& name) const {
    const double forward = 2.0 * matmul_active + score_flops_forward;
    return {name, params, active, 3.0 * forward, forward};
  }
};

double norm_params(const ModelConfig& m) {
  return m.norm == NormKind::layernorm ? 2.0 * static_cast<double>(m.hidden_size)
                                       : static_cast<double>(m.hidden_size);
}

// Norms inside one transformer layer: before attention, before the FFN (and after each, Gemma),
// MLA's latent norms and QK-norms.
double layer_norm_params(const ModelConfig& m) {
  const AttentionConfig& a = m.attention;
  double p = (m.post_norms ? 4.0 : 2.0) * norm_params(m);
  if (a.kind == AttentionKind::mla) p += static_cast<double>(a.q_lora_rank + a.kv_lora_rank);
  if (a.qk_norm == QkNorm::per_head) p += 2.0 * static_cast<double>(a.qk_head_dim());
  if (a.qk_norm == QkNorm::full_width)
    p += static_cast<double>((a.num_heads + std::max<std::int64_t>(a.num_kv_heads, 1)) * a.qk_head_dim());
  return p;
}

double attention_matmul_params(const ModelConfig& m) {
  ModelConfig no_bias = m;
  no_bias.attention.qkv_bias = false;
  no_bias.attention.out_bias = false;
  no_bias.attention.sinks = false;
  return attention_params(no_bias);
}

double ffn_matmul_params(const ModelConfig& m, std::int64_t intermediate) {
  ModelConfig no_bias = m;
  no_bias.mlp_bias = false;
  return ffn_params(no_bias, intermediate);
}

// One MoE FFN block: shared experts, routed experts and the router.
void add_moe_block(const ModelConfig& m, Tally& shared, Tally& routed, Tally& router) {
  const MoeConfig& e = m.moe;
  const double expert = ffn_params(m, e.expert_intermediate_size);
  const double expert_matmul = ffn_matmul_params(m, e.expert_intermediate_size);
  const std::int64_t shared_width = shared_expert_width(m);
  const double gate = e.shared_expert_gate ? static_cast<double>(m.hidden_size) : 0.0;  // Qwen2-MoE: W_g, d x 1
  shared.add_all_active(e.shared_experts * ffn_params(m, shared_width) + gate,
                        e.shared_experts * ffn_matmul_params(m, shared_width) + gate);
  routed.params += e.routed_experts * expert;
  routed.active += e.top_k * expert;
  routed.matmul_active += e.top_k * expert_matmul;
  // Affinity u_t^T e_i for every expert (V3 eq. 15), plus V3's per-expert selection bias b_i
  // (eq. 16), which is a parameter but no matmul.
  const double centroids = static_cast<double>(e.routed_experts * m.hidden_size);
  const bool has_bias = (e.score_func == ScoreFunc::sigmoid && e.selection_bias) || e.router_bias;
  const double bias = has_bias ? static_cast<double>(e.routed_experts) : 0.0;
  router.params += centroids + bias;
  router.active += centroids + bias;
  router.matmul_active += centroids;
}

}  // namespace

ModelAccount account_model(const ModelConfig& m, const AccountingOptions& options) {
  const double d = static_cast<double>(m.hidden_size);
  const double vocab_by_d = static_cast<double>(m.vocab_size) * d;
  const double score_flops = attention_score_flops_forward(m, options.seq_len, options.attention_flops, false);
  const double local_score_flops = attention_score_flops_forward(m, options.seq_len, options.attention_flops, true);

  Tally embedding, attention, dense_ffn, shared, routed, router, norms, head, mtp;

  // Token embedding: a lookup, no FLOPs; learned absolute positions add S_max x d (GPT-3).
  embedding.params = vocab_by_d;
  if (m.position_embedding == PositionEmbedding::learned) embedding.params += static_cast<double>(m.max_seq_len) * d;

  // Every layer has the same attention and norms (local layers score fewer keys); the FFN is an
  // MoE block on moe_layer_count() layers and dense on the rest. Counted per kind, not per layer.
  const double layers = static_cast<double>(m.num_layers);
  const double local_layers = static_cast<double>(m.local_layer_count());
  const double moe_layers = static_cast<double>(m.moe_layer_count());
  attention.add_all_active(layers * attention_params(m), layers * attention_matmul_params(m));
  attention.score_flops_forward += (layers - local_layers) * score_flops + local_layers * local_score_flops;
  norms.add_all_active(layers * layer_norm_params(m), 0.0);
  if (moe_layers > 0) {
    Tally s, r, g;
    add_moe_block(m, s, r, g);
    for (auto [into, one] : {std::pair{&shared, &s}, std::pair{&routed, &r}, std::pair{&router, &g}}) {
      into->params += moe_layers * one->params;
      into->active += moe_layers * one->active;
      into->matmul_active += moe_layers * one->matmul_active;
    }
  }
  dense_ffn.add_all_active((layers - moe_layers) * ffn_params(m, m.ffn_intermediate_size),
                           (layers - moe_layers) * ffn_matmul_params(m, m.ffn_intermediate_size));
  norms.add_all_active(norm_params(m), 0.0);  // final norm before the head

  // Output head: its own matrix, or the embedding's when tied; a matmul either way.
  head.params = m.tie_embeddings ? 0.0 : vocab_by_d;
  head.active = vocab_by_d;
  head.matmul_active = vocab_by_d;

  // MTP module k (V3 report §2.2, eq. 21-23): h' = M_k [RMSNorm(h) ; RMSNorm(Emb(t))], one
  // transformer block TRM_k, then the shared output head. Embedding and head are shared with
  // the main model (README_WEIGHTS.md), so only M_k (d x 2d), the two input norms, the block and
  // the head's norm are new parameters; the head's matmul is executed again.
  for (std::int64_t k = 0; k < m.mtp_depth; ++k) {
    mtp.add_all_active(2.0 * d * d + 3.0 * norm_params(m), 2.0 * d * d);
    mtp.add_all_active(attention_params(m) + layer_norm_params(m), attention_matmul_params(m));
    mtp.score_flops_forward += score_flops;
    if (m.is_moe()) {
      Tally s, r, g;
      add_moe_block(m, s, r, g);
      mtp.params += s.params + r.params + g.params;
      mtp.active += s.active + r.active + g.active;
      mtp.matmul_active += s.matmul_active + r.matmul_active + g.matmul_active;
    } else {
      mtp.add_all_active(ffn_params(m, m.ffn_intermediate_size), ffn_matmul_params(m, m.ffn_intermediate_size));
    }
    mtp.active += vocab_by_d;
    mtp.matmul_active += vocab_by_d;
  }

  ModelAccount out;
  out.breakdown = {embedding.to_component("embedding"), attention.to_component("attention"),
                   dense_ffn.to_component("dense_ffn"),  shared.to_component("shared_experts"),
                   routed.to_component("routed_experts"), router.to_component("router"),
                   norms.to_component("norms"),          head.to_component("output_head"),
                   mtp.to_component("mtp_module")};
  // The embedding lookup is not "active" in DeepSeek's convention; record it only in the variant.
  out.breakdown[0].active_params = 0.0;
  for (const auto& c : out.breakdown) {
    if (c.component == "mtp_module") continue;
    out.total_params += c.params;
    out.active_params += c.active_params;
    out.train_flops_per_token += c.train_flops_per_token;
    out.inference_flops_per_token += c.inference_flops_per_token;
  }
  const ComponentCount& mtp_count = out.breakdown.back();
  out.total_params_with_mtp = out.total_params + mtp_count.params;
  // A tied head is the embedding matrix itself: already counted among the active parameters.
  out.active_params_with_embedding = out.active_params + (m.tie_embeddings ? 0.0 : vocab_by_d);
  out.train_flops_per_token_with_mtp = out.train_flops_per_token + mtp_count.train_flops_per_token;
  out.kv_cache_bytes_per_token = kv_cache_bytes_per_token(m, options.kv_dtype, options.seq_len);
  return out;
}

}  // namespace frugal::sim
