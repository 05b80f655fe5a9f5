// Reading a ModelConfig from JSON, in either of two spellings:
//  - FrugalLM's own keys (see config/models/*.json and docs in README), nested as
//    {"attention": {...}, "ffn": {...}, "moe": {...}};
//  - a Hugging Face config.json, unchanged, for the Llama / Mistral / Qwen2 (dense, GQA),
//    Mixtral (MoE) and DeepSeek / DeepSeek-V2 / DeepSeek-V3 (MHA or MLA, DeepSeekMoE) families.
// A Hugging Face config is recognised by its "num_hidden_layers" key.
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/json_reader.hpp"
#include "frugal/config/model_config.hpp"

namespace frugal {

namespace detail {

inline ModelFieldPaths native_field_paths(const std::string& m) {
  auto p = [&](const char* key) { return m.empty() ? std::string(key) : m + "." + key; };
  ModelFieldPaths f;
  f.vocab_size = p("vocab_size");
  f.hidden_size = p("hidden_size");
  f.num_layers = p("num_layers");
  f.max_seq_len = p("max_seq_len");
  f.mtp_depth = p("mtp_depth");
  f.num_heads = p("attention.num_heads");
  f.num_kv_heads = p("attention.num_kv_heads");
  f.head_dim = p("attention.head_dim");
  f.q_lora_rank = p("attention.q_lora_rank");
  f.kv_lora_rank = p("attention.kv_lora_rank");
  f.qk_nope_head_dim = p("attention.qk_nope_head_dim");
  f.qk_rope_head_dim = p("attention.qk_rope_head_dim");
  f.v_head_dim = p("attention.v_head_dim");
  f.ffn_intermediate_size = p("ffn.intermediate_size");
  f.routed_experts = p("moe.routed_experts");
  f.shared_experts = p("moe.shared_experts");
  f.top_k = p("moe.top_k");
  f.expert_intermediate_size = p("moe.expert_intermediate_size");
  f.first_dense_layers = p("moe.first_dense_layers");
  f.layer_freq = p("moe.layer_freq");
  f.groups = p("moe.groups");
  f.groups_per_token = p("moe.groups_per_token");
  f.route_scale = p("moe.route_scale");
  f.rope_theta = p("attention.rope_theta");
  f.yarn = p("attention.yarn");
  f.yarn_factor = p("attention.yarn.factor");
  f.yarn_original_seq_len = p("attention.yarn.original_seq_len");
  f.yarn_beta_fast = p("attention.yarn.beta_fast");
  f.yarn_beta_slow = p("attention.yarn.beta_slow");
  f.yarn_mscale = p("attention.yarn.mscale");
  return f;
}

inline ModelConfig parse_native_model(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  ModelConfig c;
  c.name = r.string("name", std::string("custom"));
  c.source = r.string("source", std::string());
  r.ignore({"description"});
  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer("hidden_size");
  c.num_layers = r.integer("num_layers");
  c.max_seq_len = r.integer("max_seq_len", 4096);
  c.mtp_depth = r.integer("mtp_depth", 0);
  c.tie_embeddings = r.boolean("tie_embeddings", false);
  c.position_embedding = r.choice<PositionEmbedding>(
      "position_embedding", {{"rope", PositionEmbedding::rope}, {"learned", PositionEmbedding::learned}},
      PositionEmbedding::rope);
  c.norm = r.choice<NormKind>("norm", {{"rmsnorm", NormKind::rmsnorm}, {"layernorm", NormKind::layernorm}},
                              NormKind::rmsnorm);

  const nlohmann::json* attention = r.object("attention");
  if (!attention) throw ConfigError(r.path_of("attention"), "missing (required)");
  {
    JsonObjectReader a(*attention, r.path_of("attention"));
    AttentionConfig& at = c.attention;
    at.kind = a.choice<AttentionKind>(
        "kind", {{"mha", AttentionKind::mha}, {"gqa", AttentionKind::gqa}, {"mla", AttentionKind::mla}});
    at.num_heads = a.integer("num_heads");
    at.qkv_bias = a.boolean("qkv_bias", false);
    at.out_bias = a.boolean("out_bias", false);
    at.rope_theta = a.number("rope_theta", 10000.0);
    if (const nlohmann::json* yarn = a.object("yarn")) {
      // model.py's names and defaults (ModelArgs: rope_factor, original_seq_len, beta_fast, beta_slow, mscale).
      JsonObjectReader y(*yarn, a.path_of("yarn"));
      YarnConfig yc;
      yc.factor = y.number("factor");
      yc.original_seq_len = y.integer("original_seq_len");
      yc.beta_fast = y.number("beta_fast", 32.0);
      yc.beta_slow = y.number("beta_slow", 1.0);
      yc.mscale = y.number("mscale", 1.0);
      y.finish();
      at.yarn = yc;
    }
    if (at.kind == AttentionKind::mla) {
      at.q_lora_rank = a.integer("q_lora_rank", 0);
      at.kv_lora_rank = a.integer("kv_lora_rank");
      at.qk_nope_head_dim = a.integer("qk_nope_head_dim");
      at.qk_rope_head_dim = a.integer("qk_rope_head_dim");
      at.v_head_dim = a.integer("v_head_dim");
    } else {
      at.num_kv_heads = at.kind == AttentionKind::gqa ? a.integer("num_kv_heads") : a.integer("num_kv_heads", at.num_heads);
      if (at.kind == AttentionKind::mha && at.num_kv_heads != at.num_heads)
        throw ConfigError(a.path_of("num_kv_heads"), "must equal num_heads for kind \"mha\" (use \"gqa\")");
      at.head_dim = a.integer("head_dim", at.num_heads > 0 ? c.hidden_size / at.num_heads : 0);
    }
    a.finish();
  }

  if (const nlohmann::json* moe = r.object("moe")) {
    JsonObjectReader m(*moe, r.path_of("moe"));
    MoeConfig& mc = c.moe;
    mc.routed_experts = m.integer("routed_experts");
    mc.shared_experts = m.integer("shared_experts", 0);
    mc.top_k = m.integer("top_k");
    mc.expert_intermediate_size = m.integer("expert_intermediate_size");
    mc.first_dense_layers = m.integer("first_dense_layers", 0);
    mc.layer_freq = m.integer("layer_freq", 1);
    mc.groups = m.integer("groups", 1);
    mc.groups_per_token = m.integer("groups_per_token", mc.groups);
    mc.score_func = m.choice<ScoreFunc>("score_func", {{"softmax", ScoreFunc::softmax}, {"sigmoid", ScoreFunc::sigmoid}},
                                        ScoreFunc::softmax);
    mc.route_scale = m.number("route_scale", 1.0);
    mc.normalize_top_k = m.boolean("normalize_top_k", mc.score_func == ScoreFunc::sigmoid);
    m.finish();
  }

  const nlohmann::json* ffn = r.object("ffn");
  const bool needs_dense_ffn = !c.is_moe() || c.moe.first_dense_layers > 0 || c.moe.layer_freq > 1;
  if (ffn) {
    JsonObjectReader f(*ffn, r.path_of("ffn"));
    c.ffn_intermediate_size = needs_dense_ffn ? f.integer("intermediate_size") : f.integer("intermediate_size", 0);
    c.ffn_activation = f.choice<FfnActivation>("activation", {{"swiglu", FfnActivation::swiglu}, {"gelu", FfnActivation::gelu}},
                                               FfnActivation::swiglu);
    c.mlp_bias = f.boolean("bias", false);
    f.finish();
  } else if (needs_dense_ffn) {
    throw ConfigError(r.path_of("ffn"), "missing (required: the model has dense FFN layers)");
  }
  r.finish();
  validate_model_config(c, native_field_paths(path));
  drop_yarn_within_original_length(c);
  return c;
}

// Hugging Face keys that do not change parameters, FLOPs or KV-cache size.
inline void ignore_hf_bookkeeping_keys(JsonObjectReader& r) {
  r.ignore({"architectures", "auto_map", "_name_or_path", "transformers_version", "torch_dtype", "dtype",
            "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "rms_norm_eps", "layer_norm_eps",
            "rope_interleave", "attention_dropout", "hidden_dropout", "use_cache",
            "pretraining_tp", "quantization_config", "hidden_act", "output_router_logits", "router_aux_loss_coef",
            "router_jitter_noise", "aux_loss_alpha", "seq_aux", "ep_size", "topk_method", "sliding_window",
            "use_sliding_window", "max_window_layers", "layer_types", "tokenizer_class", "qk_head_dim",
            "use_mla", "return_dict", "output_attentions", "output_hidden_states", "is_encoder_decoder"});
}

// Hugging Face's "rope_scaling" of a DeepSeek-V2/V3 config, read as transformers reads it
// (modeling_rope_utils.py _compute_yarn_parameters; modeling_deepseek_v3.py):
//   beta_fast = rope_scaling.get("beta_fast") or 32;  beta_slow = ... or 1
//   original_max_position_embeddings, falling back to max_position_embeddings
//   softmax: "mscale_all_dim = self.config.rope_scaling.get("mscale_all_dim", 0) ...
//             self.scaling = self.scaling * mscale * mscale"  with mscale = yarn_get_mscale(factor, mscale_all_dim)
//   cos/sin: "if attention_factor is None: if mscale and mscale_all_dim: attention_factor = get_mscale(factor, mscale) /
//             get_mscale(factor, mscale_all_dim) else: attention_factor = get_mscale(factor)"
// V2's and V3's configs set mscale == mscale_all_dim, so their cos/sin factor is 1, as in model.py.
inline double yarn_get_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}
inline YarnConfig read_hf_yarn(const nlohmann::json& j, const std::string& path, std::int64_t max_position_embeddings) {
  JsonObjectReader s(j, path);
  const std::string type = s.has("rope_type") ? s.string("rope_type") : s.string("type");
  s.ignore({"type", "rope_type"});
  if (type != "yarn") throw ConfigError(s.path_of(s.has("rope_type") ? "rope_type" : "type"),
                                        "unsupported \"" + type + "\" for MLA (known: yarn)");
  YarnConfig y;
  y.factor = s.number("factor");
  y.original_seq_len = s.integer("original_max_position_embeddings", max_position_embeddings);
  y.beta_fast = s.number("beta_fast", 32.0);
  y.beta_slow = s.number("beta_slow", 1.0);
  const double mscale = s.number("mscale", 0.0), mscale_all_dim = s.number("mscale_all_dim", 0.0);
  y.mscale = mscale_all_dim;
  y.rope_attention_factor = s.has("attention_factor") ? s.number("attention_factor")
                            : mscale != 0.0 && mscale_all_dim != 0.0
                                ? yarn_get_mscale(y.factor, mscale) / yarn_get_mscale(y.factor, mscale_all_dim)
                                : yarn_get_mscale(y.factor, 1.0);
  s.finish();
  return y;
}

inline ModelConfig parse_hf_model(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  ignore_hf_bookkeeping_keys(r);
  ModelConfig c;
  const std::string model_type = r.string("model_type");
  const bool llama_like = model_type == "llama" || model_type == "mistral" || model_type == "qwen2";
  const bool mixtral = model_type == "mixtral";
  const bool deepseek = model_type == "deepseek" || model_type == "deepseek_v2" || model_type == "deepseek_v3";
  if (!llama_like && !mixtral && !deepseek)
    throw ConfigError(r.path_of("model_type"), "unsupported \"" + model_type +
                                                   "\" (known: llama, mistral, qwen2, mixtral, deepseek, deepseek_v2, "
                                                   "deepseek_v3)");
  c.name = r.string("name", model_type);
  c.source = "Hugging Face config.json (model_type " + model_type + ")";
  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer("hidden_size");
  c.num_layers = r.integer("num_hidden_layers");
  c.max_seq_len = r.integer("max_position_embeddings", 4096);
  c.tie_embeddings = r.boolean("tie_word_embeddings", false);
  c.ffn_activation = FfnActivation::swiglu;  // every supported family uses a gated SiLU FFN
  c.mlp_bias = r.boolean("mlp_bias", false);

  AttentionConfig& a = c.attention;
  a.num_heads = r.integer("num_attention_heads");
  const bool bias = r.boolean("attention_bias", false);
  a.qkv_bias = bias || model_type == "qwen2";  // Qwen2 always has Q/K/V biases (modeling_qwen2.py)
  a.out_bias = bias;
  a.rope_theta = r.number("rope_theta", 10000.0);
  const bool mla = model_type == "deepseek_v2" || model_type == "deepseek_v3";
  if (mla) {
    a.kind = AttentionKind::mla;
    r.ignore({"num_key_value_heads", "head_dim"});  // MLA has no per-head KV cache
    a.q_lora_rank = r.integer("q_lora_rank", 0);
    a.kv_lora_rank = r.integer("kv_lora_rank");
    a.qk_nope_head_dim = r.integer("qk_nope_head_dim");
    a.qk_rope_head_dim = r.integer("qk_rope_head_dim");
    a.v_head_dim = r.integer("v_head_dim");
    if (const nlohmann::json* scaling = r.object("rope_scaling")) a.yarn = read_hf_yarn(*scaling, r.path_of("rope_scaling"), c.max_seq_len);
  } else {
    r.ignore({"rope_scaling"});  // Llama 3's "llama3" and the like: not modelled (these families only feed the simulator)
    a.num_kv_heads = r.integer("num_key_value_heads", a.num_heads);
    a.kind = a.num_kv_heads == a.num_heads ? AttentionKind::mha : AttentionKind::gqa;
    a.head_dim = r.integer("head_dim", a.num_heads > 0 ? c.hidden_size / a.num_heads : 0);
  }

  MoeConfig& m = c.moe;
  if (mixtral) {
    // Mixtral: every layer's FFN is replaced by num_local_experts experts of intermediate_size,
    // a softmax router and renormalised top-k weights (Mixtral paper arXiv 2401.04088, §2.1).
    m.routed_experts = r.integer("num_local_experts");
    m.top_k = r.integer("num_experts_per_tok");
    m.expert_intermediate_size = r.integer("intermediate_size");
    m.score_func = ScoreFunc::softmax;
    m.normalize_top_k = true;
  } else {
    c.ffn_intermediate_size = r.integer("intermediate_size");
  }
  if (deepseek) {
    m.routed_experts = r.integer("n_routed_experts", 0);
    if (m.routed_experts > 0) {
      m.shared_experts = r.integer("n_shared_experts", 0);
      m.top_k = r.integer("num_experts_per_tok");
      m.expert_intermediate_size = r.integer("moe_intermediate_size");
      m.first_dense_layers = r.integer("first_k_dense_replace", 0);
      m.layer_freq = r.integer("moe_layer_freq", 1);
      m.groups = r.integer("n_group", 1);
      m.groups_per_token = r.integer("topk_group", m.groups);
      m.score_func = r.choice<ScoreFunc>("scoring_func", {{"softmax", ScoreFunc::softmax}, {"sigmoid", ScoreFunc::sigmoid}},
                                         ScoreFunc::softmax);
      m.route_scale = r.number("routed_scaling_factor", 1.0);
      m.normalize_top_k = r.boolean("norm_topk_prob", false);
    } else {
      r.ignore({"n_shared_experts", "num_experts_per_tok", "moe_intermediate_size", "first_k_dense_replace",
                "moe_layer_freq", "n_group", "topk_group", "scoring_func", "routed_scaling_factor", "norm_topk_prob"});
    }
    c.mtp_depth = r.integer("num_nextn_predict_layers", 0);
  }
  r.finish();

  auto p = [&](const char* key) { return r.path_of(key); };
  ModelFieldPaths f;
  f.vocab_size = p("vocab_size");
  f.hidden_size = p("hidden_size");
  f.num_layers = p("num_hidden_layers");
  f.max_seq_len = p("max_position_embeddings");
  f.mtp_depth = p("num_nextn_predict_layers");
  f.num_heads = p("num_attention_heads");
  f.num_kv_heads = p("num_key_value_heads");
  f.head_dim = p("head_dim");
  f.q_lora_rank = p("q_lora_rank");
  f.kv_lora_rank = p("kv_lora_rank");
  f.qk_nope_head_dim = p("qk_nope_head_dim");
  f.qk_rope_head_dim = p("qk_rope_head_dim");
  f.v_head_dim = p("v_head_dim");
  f.ffn_intermediate_size = p("intermediate_size");
  f.routed_experts = p(mixtral ? "num_local_experts" : "n_routed_experts");
  f.shared_experts = p("n_shared_experts");
  f.top_k = p("num_experts_per_tok");
  f.expert_intermediate_size = p(mixtral ? "intermediate_size" : "moe_intermediate_size");
  f.first_dense_layers = p("first_k_dense_replace");
  f.layer_freq = p("moe_layer_freq");
  f.groups = p("n_group");
  f.groups_per_token = p("topk_group");
  f.route_scale = p("routed_scaling_factor");
  f.rope_theta = p("rope_theta");
  f.yarn = p("rope_scaling");
  f.yarn_factor = p("rope_scaling.factor");
  f.yarn_original_seq_len = p("rope_scaling.original_max_position_embeddings");
  f.yarn_beta_fast = p("rope_scaling.beta_fast");
  f.yarn_beta_slow = p("rope_scaling.beta_slow");
  f.yarn_mscale = p("rope_scaling.mscale_all_dim");
  validate_model_config(c, f);
  drop_yarn_within_original_length(c);
  return c;
}

}  // namespace detail

// The model object at `path` in either spelling (see the top of this file).
inline ModelConfig parse_model_config(const nlohmann::json& model, const std::string& path) {
  if (model.is_object() && model.contains("num_hidden_layers")) return detail::parse_hf_model(model, path);
  return detail::parse_native_model(model, path);
}

}  // namespace frugal
