// Reading a ModelConfig from JSON, in either of two spellings:
//  - FrugalLM's own keys (see config/models/*.json and docs in README), nested as
//    {"attention": {...}, "ffn": {...}, "moe": {...}};
//  - a Hugging Face config.json, unchanged, for the families hf_model.hpp lists.
// A Hugging Face config is recognised by its "num_hidden_layers" key (or, for a multimodal
// checkpoint, by a "text_config" that has one).
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/hf_model.hpp"
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
  f.window = p("attention.window");
  f.local_from = p("attention.local_from");
  f.global_every = p("attention.global_every");
  f.shared_expert_intermediate_size = p("moe.shared_expert_intermediate_size");
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
  c.post_norms = r.boolean("post_norms", false);

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
    at.qk_norm = a.choice<QkNorm>("qk_norm", {{"none", QkNorm::none}, {"per_head", QkNorm::per_head}, {"full_width", QkNorm::full_width}},
                                  QkNorm::none);
    at.sinks = a.boolean("sinks", false);
    at.local = a.choice<LocalAttention>(
        "local", {{"none", LocalAttention::none}, {"sliding", LocalAttention::sliding}, {"chunked", LocalAttention::chunked}},
        LocalAttention::none);
    if (at.local != LocalAttention::none) {
      at.window = a.integer("window");
      at.local_from = a.integer("local_from", 0);
      at.global_every = a.integer("global_every", 0);
    }
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
    mc.layer_phase = m.integer("layer_phase", 0);
    mc.shared_expert_intermediate_size = m.integer("shared_expert_intermediate_size", 0);
    mc.shared_expert_gate = m.boolean("shared_expert_gate", false);
    mc.router_bias = m.boolean("router_bias", false);
    mc.selection_bias = m.boolean("selection_bias", true);
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

}  // namespace detail

// The model object at `path` in either spelling (see the top of this file).
inline ModelConfig parse_model_config(const nlohmann::json& model, const std::string& path) {
  if (is_hf_config(model)) return parse_hf_model(model, path);
  return detail::parse_native_model(model, path);
}

}  // namespace frugal
