// ModelConfig: the one model description that flows everywhere (docs/ARCHITECTURE.md, "The one idea").
//
// The CPU reference trains a tiny instance of it, the kernels run its hot operations, and the
// simulator prices a frontier-scale instance of it. It is deliberately plain data: every field is
// a number or an enum, and `validate_model_config` is the single place that says which
// combinations make sense.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/config/bounds.hpp"
#include "frugal/config/config_error.hpp"

namespace frugal {

// How a layer mixes tokens.
//   mha: every head has its own K and V (Vaswani et al. 2017).
//   gqa: groups of query heads share one K/V head (Ainslie et al. 2023; Llama 3).
//   mla: keys and values are compressed jointly into a latent c_KV of rank d_c, with a
//        decoupled RoPE key of d_h^R dims shared by all heads (V3 report §2.1.1, eq. 1-11).
enum class AttentionKind { mha, gqa, mla };

// The position-wise feed-forward network of a dense layer or an expert.
//   swiglu: three matrices, W_down(silu(W_gate x) * W_up x) (Shazeer 2020; Llama, DeepSeek).
//   gelu:   two matrices, W_down(gelu(W_up x)) (GPT-2/3).
enum class FfnActivation { swiglu, gelu };

// Router affinity s_{i,t} = f(u_t^T e_i): softmax over experts (DeepSeek-V2, Mixtral) or
// sigmoid per expert (V3 report §2.1.2, eq. 15).
enum class ScoreFunc { softmax, sigmoid };

// Attention that sees only part of the context, in the layers that use it:
//   sliding: a query sees the last `window` keys, itself included (Mistral 7B, arXiv 2310.06825 §2;
//            transformers masking_utils.py sliding_window_overlay: "kv_idx > q_idx - sliding_window").
//   chunked: a query sees the keys of its own chunk of `window` tokens up to itself (Llama 4,
//            masking_utils.py chunked_overlay: "kv_idx // chunk_size == q_idx // chunk_size").
// Either bounds the keys a query reads (FLOPs) and the keys a layer must keep (KV cache) by `window`.
enum class LocalAttention { none, sliding, chunked };

// Normalisation of queries and keys before RoPE:
//   per_head:   an RMSNorm of head_dim on each head's q and k (Qwen3, modeling_qwen3.py q_norm/k_norm;
//               Gemma 3), 2 x head_dim weights per layer;
//   full_width: an RMSNorm over all query heads together and all key heads together (OLMoE,
//               modeling_olmoe.py: q_norm of num_heads x head_dim, k_norm of num_kv_heads x head_dim).
enum class QkNorm { none, per_head, full_width };

enum class PositionEmbedding { rope, learned };
enum class NormKind { rmsnorm, layernorm };

// YaRN context extension of RoPE (Peng et al. 2023, arXiv 2309.00071) as DeepSeek-V3's
// inference/model.py applies it to MLA's decoupled RoPE dims (precompute_freqs_cis, MLA.__init__).
// V3's released configs: factor 40, original length 4096, beta 32/1, mscale 1.0 (model.py ModelArgs
// defaults; Hugging Face config.json "rope_scaling", tests/data/hf/deepseek-v3.json).
struct YarnConfig {
  double factor = 1.0;                // s, model.py rope_factor; 1 leaves RoPE unchanged
  std::int64_t original_seq_len = 0;  // the pre-training context (HF original_max_position_embeddings)
  double beta_fast = 32.0;            // rotations that bound the ramp of corrected frequencies
  double beta_slow = 1.0;
  double mscale = 1.0;                // softmax scale × (0.1·mscale·ln s + 1)² (HF: mscale_all_dim)
  double rope_attention_factor = 1.0;  // multiplies cos/sin of the RoPE dims: HF's attention_factor; 1 in model.py
};

struct AttentionConfig {
  AttentionKind kind = AttentionKind::mha;
  std::int64_t num_heads = 0;
  // MHA / GQA
  std::int64_t num_kv_heads = 0;  // == num_heads for MHA
  std::int64_t head_dim = 0;      // per-head dimension of Q, K and V
  // MLA (V3 report §2.1.1)
  std::int64_t q_lora_rank = 0;   // d'_c; 0 means queries are not compressed (DeepSeek-V2-Lite)
  std::int64_t kv_lora_rank = 0;  // d_c
  std::int64_t qk_nope_head_dim = 0;  // d_h
  std::int64_t qk_rope_head_dim = 0;  // d_h^R
  std::int64_t v_head_dim = 0;
  // Biases on the Q/K/V projections (Qwen2) and on the output projection (GPT-3).
  bool qkv_bias = false;
  bool out_bias = false;
  double rope_theta = 10000.0;     // RoPE base (model.py ModelArgs rope_theta; HF rope_theta)
  std::optional<YarnConfig> yarn = std::nullopt;  // MLA only; absent = plain RoPE
  QkNorm qk_norm = QkNorm::none;
  bool sinks = false;  // one learned logit per head joins each softmax (gpt-oss, modeling_gpt_oss.py "sinks")
  // Local attention (see LocalAttention) in every layer from `local_from` on, except that when
  // global_every > 0 each global_every-th layer is global: layer l is global when (l + 1) % global_every == 0
  // (Gemma 2: 2, Gemma 3: 6, gpt-oss: 2, Llama 4: 4; Mistral 7B and Phi-3: 0, every layer local).
  LocalAttention local = LocalAttention::none;
  std::int64_t window = 0;
  std::int64_t local_from = 0;
  std::int64_t global_every = 0;

  // Dimension of one query/key head and one value head, whatever the kind.
  std::int64_t qk_head_dim() const {
    return kind == AttentionKind::mla ? qk_nope_head_dim + qk_rope_head_dim : head_dim;
  }
  std::int64_t value_head_dim() const { return kind == AttentionKind::mla ? v_head_dim : head_dim; }
};

// DeepSeekMoE (V3 report §2.1.2; DeepSeekMoE arXiv 2401.06066): shared experts that see every
// token plus fine-grained routed experts of which each token picks top_k.
struct MoeConfig {
  std::int64_t routed_experts = 0;  // 0 means a dense model
  std::int64_t shared_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t expert_intermediate_size = 0;
  std::int64_t first_dense_layers = 0;  // the first k layers keep a dense FFN (first_k_dense_replace)
  std::int64_t layer_freq = 1;          // after those, every layer_freq-th layer is MoE:
  std::int64_t layer_phase = 0;         // those with layer % layer_freq == layer_phase (DeepSeek 0;
                                        // Qwen2/3-MoE and Llama 4 layer_freq - 1, "(layer_idx + 1) % step == 0")
  // Shared experts of their own width (Qwen2-MoE: one of shared_expert_intermediate_size); 0: as the routed.
  std::int64_t shared_expert_intermediate_size = 0;
  bool shared_expert_gate = false;  // Qwen2-MoE: sigmoid(W_g x) scales the shared expert, W_g: d x 1
  bool router_bias = false;         // gpt-oss: the router is Linear(d, experts, bias=True)
  bool selection_bias = true;       // a sigmoid router's per-expert selection bias b_i (V3 eq. 16); Llama 4 has none
  // Group-limited routing: experts in `groups` groups, each token keeps `groups_per_token`
  // groups (V3: 8 groups, 4 kept = node-limited routing with M = 4, §2.1.2 and §4.2).
  std::int64_t groups = 1;
  std::int64_t groups_per_token = 1;
  ScoreFunc score_func = ScoreFunc::softmax;
  double route_scale = 1.0;        // V3 config_671B.json route_scale = 2.5
  bool normalize_top_k = false;    // normalise the chosen affinities to sum to 1 (V3 eq. 13)
};

struct ModelConfig {
  std::string name;
  std::string source;  // where the shape comes from (paper table or repository file)
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 0;
  AttentionConfig attention;
  std::int64_t ffn_intermediate_size = 0;  // dense FFN layers
  FfnActivation ffn_activation = FfnActivation::swiglu;
  bool mlp_bias = false;
  MoeConfig moe;
  std::int64_t mtp_depth = 0;  // Multi-Token Prediction modules (V3 report §2.2)
  bool tie_embeddings = false;
  PositionEmbedding position_embedding = PositionEmbedding::rope;
  NormKind norm = NormKind::rmsnorm;
  bool post_norms = false;  // norms after attention and after the FFN too (Gemma 2/3: four per layer)
  std::int64_t max_seq_len = 4096;
  // Keys of the source file that were read and do not change any cost (tokenizer ids, dropout,
  // norm epsilon...), for programs to list once; empty for presets.
  std::vector<std::string> ignored_keys;

  bool is_moe() const { return moe.routed_experts > 0; }

  // Whether transformer layer `layer` (0-based) carries an MoE FFN (DeepSeek's
  // first_k_dense_replace and moe_layer_freq rule, modeling_deepseek.py; the phase for Qwen/Llama 4).
  bool is_moe_layer(std::int64_t layer) const {
    return is_moe() && layer >= moe.first_dense_layers && layer % moe.layer_freq == moe.layer_phase;
  }

  // Whether layer `layer` attends locally (see AttentionConfig::local).
  bool is_local_layer(std::int64_t layer) const {
    const AttentionConfig& a = attention;
    if (a.local == LocalAttention::none || layer < a.local_from) return false;
    return a.global_every <= 0 || (layer + 1) % a.global_every != 0;
  }

  // Counted in closed form so that no caller walks the layers: layers in [from, num_layers) with
  // layer % period == phase.
  static std::int64_t count_in_residue(std::int64_t from, std::int64_t to, std::int64_t period, std::int64_t phase) {
    if (from >= to || period <= 0) return 0;
    auto upto = [&](std::int64_t n) { return n <= phase ? std::int64_t{0} : (n - phase - 1) / period + 1; };  // in [0, n)
    return upto(to) - upto(from);
  }
  std::int64_t moe_layer_count() const {
    if (!is_moe()) return 0;
    return count_in_residue(std::min(moe.first_dense_layers, num_layers), num_layers, moe.layer_freq, moe.layer_phase);
  }
  std::int64_t local_layer_count() const {
    const AttentionConfig& a = attention;
    if (a.local == LocalAttention::none) return 0;
    const std::int64_t from = std::min(std::max<std::int64_t>(a.local_from, 0), num_layers);
    const std::int64_t span = num_layers - from;
    if (a.global_every <= 0) return span;
    return span - count_in_residue(from, num_layers, a.global_every, a.global_every - 1);
  }
  // Layers that are both MoE and local: the four layer kinds are {moe, dense} x {local, global}.
  std::int64_t moe_local_layer_count() const {
    std::int64_t n = 0;
    if (!is_moe() || attention.local == LocalAttention::none) return 0;
    // Both rules are periodic; one period of their least common multiple, times the periods, plus the rest.
    const std::int64_t from = std::max(moe.first_dense_layers, attention.local_from);
    if (from >= num_layers) return 0;
    const std::int64_t p1 = moe.layer_freq, p2 = attention.global_every > 0 ? attention.global_every : 1;
    std::int64_t period = p1;
    while (period % p2 != 0) period += p1;  // lcm; both bounded (see validate_model_config)
    const std::int64_t span = num_layers - from;
    const std::int64_t whole = span / period;
    std::int64_t in_period = 0, tail = 0;
    for (std::int64_t l = from; l < from + std::min(period, span); ++l) {
      const bool both = is_moe_layer(l) && is_local_layer(l);
      in_period += both ? 1 : 0;
      if (l - from < span % period) tail += both ? 1 : 0;
    }
    n = whole * in_period + tail;
    return n;
  }
};

// The names the user wrote for each field that validation can complain about, so that an error
// names "model.moe.top_k" in a FrugalLM config and "num_experts_per_tok" in a Hugging Face one.
struct ModelFieldPaths {
  std::string vocab_size, hidden_size, num_layers;
  std::string num_heads, num_kv_heads, head_dim;
  std::string q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
  std::string ffn_intermediate_size;
  std::string routed_experts, shared_experts, top_k, expert_intermediate_size;
  std::string first_dense_layers, layer_freq, groups, groups_per_token, route_scale;
  std::string mtp_depth, max_seq_len;
  std::string window, local_from, global_every, shared_expert_intermediate_size;
  std::string rope_theta, yarn, yarn_factor, yarn_original_seq_len, yarn_beta_fast, yarn_beta_slow, yarn_mscale;
};

inline const char* to_string(AttentionKind k) {
  switch (k) {
    case AttentionKind::mha: return "mha";
    case AttentionKind::gqa: return "gqa";
    case AttentionKind::mla: return "mla";
  }
  return "?";
}
inline const char* to_string(FfnActivation a) { return a == FfnActivation::swiglu ? "swiglu" : "gelu"; }
inline const char* to_string(ScoreFunc s) { return s == ScoreFunc::softmax ? "softmax" : "sigmoid"; }
inline const char* to_string(PositionEmbedding p) { return p == PositionEmbedding::rope ? "rope" : "learned"; }
inline const char* to_string(NormKind n) { return n == NormKind::rmsnorm ? "rmsnorm" : "layernorm"; }

namespace detail {
inline void require_positive(std::int64_t v, const std::string& path) {
  if (v <= 0) throw ConfigError(path, "must be a positive integer, got " + std::to_string(v));
}
inline void require_non_negative(std::int64_t v, const std::string& path) {
  if (v < 0) throw ConfigError(path, "must not be negative, got " + std::to_string(v));
}
}  // namespace detail

// Refuses a config whose fields are missing (zero), negative, outside their documented range
// (bounds.hpp) or contradict each other. Throws ConfigError naming the field as the user wrote it.
inline void validate_model_config(const ModelConfig& c, const ModelFieldPaths& p) {
  using detail::require_non_negative;
  using detail::require_positive;
  using bounds::require_in;
  require_positive(c.vocab_size, p.vocab_size);
  require_in(c.vocab_size, bounds::vocab, p.vocab_size);
  require_positive(c.hidden_size, p.hidden_size);
  require_in(c.hidden_size, bounds::hidden, p.hidden_size);
  require_positive(c.num_layers, p.num_layers);
  require_in(c.num_layers, bounds::layers, p.num_layers);
  require_positive(c.max_seq_len, p.max_seq_len);
  require_in(c.max_seq_len, bounds::sequence, p.max_seq_len);
  const AttentionConfig& a = c.attention;
  require_positive(a.num_heads, p.num_heads);
  require_in(a.num_heads, bounds::heads, p.num_heads);
  if (a.kind == AttentionKind::mla) {
    require_non_negative(a.q_lora_rank, p.q_lora_rank);
    require_in(a.q_lora_rank, bounds::latent_rank, p.q_lora_rank);
    require_positive(a.kv_lora_rank, p.kv_lora_rank);
    require_in(a.kv_lora_rank, bounds::latent_rank, p.kv_lora_rank);
    require_positive(a.qk_nope_head_dim, p.qk_nope_head_dim);
    require_in(a.qk_nope_head_dim, bounds::head_dim, p.qk_nope_head_dim);
    require_non_negative(a.qk_rope_head_dim, p.qk_rope_head_dim);
    require_in(a.qk_rope_head_dim, bounds::head_dim, p.qk_rope_head_dim);
    require_positive(a.v_head_dim, p.v_head_dim);
    require_in(a.v_head_dim, bounds::head_dim, p.v_head_dim);
  } else {
    require_positive(a.num_kv_heads, p.num_kv_heads);
    require_positive(a.head_dim, p.head_dim);
    require_in(a.head_dim, bounds::head_dim, p.head_dim);
    if (a.num_kv_heads > a.num_heads)
      throw ConfigError(p.num_kv_heads, std::to_string(a.num_kv_heads) + " exceeds the number of attention heads (" +
                                            std::to_string(a.num_heads) + ")");
    if (a.num_heads % a.num_kv_heads != 0)
      throw ConfigError(p.num_kv_heads, std::to_string(a.num_kv_heads) + " does not divide the number of attention heads (" +
                                            std::to_string(a.num_heads) + ")");
  }
  if (!(a.rope_theta > 1.0)) throw ConfigError(p.rope_theta, "must exceed 1, got " + std::to_string(a.rope_theta));
  if (const auto& y = a.yarn) {
    if (a.kind != AttentionKind::mla) throw ConfigError(p.yarn, "YaRN is implemented for MLA's RoPE dims only");
    if (!(y->factor >= 1.0 && y->factor <= 1.0e6))
      throw ConfigError(p.yarn_factor, "must be between 1 and 1e6, got " + std::to_string(y->factor));
    require_positive(y->original_seq_len, p.yarn_original_seq_len);
    require_in(y->original_seq_len, bounds::sequence, p.yarn_original_seq_len);
    if (!(y->beta_slow > 0.0 && y->beta_slow < 1.0e6))
      throw ConfigError(p.yarn_beta_slow, "must be positive and below 1e6, got " + std::to_string(y->beta_slow));
    // Equal betas are allowed: model.py's linear_ramp_factor widens an empty ramp ("if min == max: max += 0.001");
    // Kimi K2's config sets both to 1.
    if (!(y->beta_fast >= y->beta_slow && y->beta_fast < 1.0e6))
      throw ConfigError(p.yarn_beta_fast, "must be at least " + p.yarn_beta_slow + " (" + std::to_string(y->beta_slow) +
                                              ") and below 1e6, got " + std::to_string(y->beta_fast));
    if (!(y->mscale >= 0.0 && y->mscale < 1.0e6))
      throw ConfigError(p.yarn_mscale, "must be between 0 and 1e6, got " + std::to_string(y->mscale));
  }
  if (a.local != LocalAttention::none) {
    require_positive(a.window, p.window);
    require_in(a.window, bounds::sequence, p.window);
    require_in(a.local_from, {0, bounds::layers.max, "a layer index"}, p.local_from);
    require_in(a.global_every, {0, bounds::layer_period.max, bounds::layer_period.largest_published}, p.global_every);
  }
  // Each MTP module is one more transformer block (V3 report §2.2).
  require_non_negative(c.mtp_depth, p.mtp_depth);
  require_in(c.mtp_depth, bounds::mtp_depth, p.mtp_depth);

  const MoeConfig& m = c.moe;
  require_non_negative(m.routed_experts, p.routed_experts);
  require_in(m.routed_experts, bounds::experts, p.routed_experts);
  require_non_negative(m.shared_experts, p.shared_experts);
  require_in(m.shared_experts, bounds::shared_experts, p.shared_experts);
  require_non_negative(m.first_dense_layers, p.first_dense_layers);
  const bool has_dense_layers = !c.is_moe() || m.first_dense_layers > 0 || m.layer_freq > 1;
  if (has_dense_layers) require_positive(c.ffn_intermediate_size, p.ffn_intermediate_size);
  else require_non_negative(c.ffn_intermediate_size, p.ffn_intermediate_size);
  require_in(c.ffn_intermediate_size, bounds::intermediate, p.ffn_intermediate_size);
  if (!c.is_moe()) {
    if (m.shared_experts > 0)
      throw ConfigError(p.shared_experts, "shared experts need routed experts (" + p.routed_experts + " is 0)");
    return;
  }
  require_positive(m.top_k, p.top_k);
  require_positive(m.expert_intermediate_size, p.expert_intermediate_size);
  require_in(m.expert_intermediate_size, bounds::intermediate, p.expert_intermediate_size);
  require_non_negative(m.shared_expert_intermediate_size, p.shared_expert_intermediate_size);
  require_in(m.shared_expert_intermediate_size, bounds::intermediate, p.shared_expert_intermediate_size);
  require_positive(m.layer_freq, p.layer_freq);
  require_in(m.layer_freq, bounds::layer_period, p.layer_freq);
  if (m.layer_phase < 0 || m.layer_phase >= m.layer_freq)
    throw ConfigError(p.layer_freq, "the MoE layer phase " + std::to_string(m.layer_phase) + " must be below the period " +
                                        std::to_string(m.layer_freq));
  require_positive(m.groups, p.groups);
  require_positive(m.groups_per_token, p.groups_per_token);
  if (m.top_k > m.routed_experts)
    throw ConfigError(p.top_k, std::to_string(m.top_k) + " exceeds the number of routed experts (" +
                                   std::to_string(m.routed_experts) + ")");
  if (m.routed_experts % m.groups != 0)
    throw ConfigError(p.groups, std::to_string(m.groups) + " groups do not divide the " +
                                    std::to_string(m.routed_experts) + " routed experts");
  if (m.groups_per_token > m.groups)
    throw ConfigError(p.groups_per_token, std::to_string(m.groups_per_token) + " exceeds the number of groups (" +
                                              std::to_string(m.groups) + ")");
  const std::int64_t reachable = m.groups_per_token * (m.routed_experts / m.groups);
  if (m.top_k > reachable)
    throw ConfigError(p.top_k, std::to_string(m.top_k) + " exceeds the " + std::to_string(reachable) +
                                   " experts in the groups a token may use");
  if (m.first_dense_layers >= c.num_layers)
    throw ConfigError(p.first_dense_layers, std::to_string(m.first_dense_layers) +
                                                " leaves no MoE layer in a model of " + std::to_string(c.num_layers) +
                                                " layers");
  if (c.moe_layer_count() == 0)
    throw ConfigError(p.layer_freq, "leaves no MoE layer in a model of " + std::to_string(c.num_layers) + " layers");
  if (!(m.route_scale > 0.0 && m.route_scale < 1.0e6))
    throw ConfigError(p.route_scale, "must be positive (and below 1e6), got " + std::to_string(m.route_scale));
}

// YaRN only where the model runs beyond its pre-training context, as DeepSeek-V3's model.py does:
//   precompute_freqs_cis: "if seqlen > args.original_seq_len:" (seqlen = args.max_seq_len)
//   MLA.__init__:         "if args.max_seq_len > args.original_seq_len:"
// Hugging Face applies rope_scaling whatever max_position_embeddings is; the two agree on every
// released DeepSeek config (163840 > 4096). model.py is this project's reference, so it wins.
inline void drop_yarn_within_original_length(ModelConfig& c) {
  if (c.attention.yarn && c.max_seq_len <= c.attention.yarn->original_seq_len) c.attention.yarn.reset();
}

}  // namespace frugal
