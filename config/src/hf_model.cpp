// Hugging Face config.json readers, one per family, each with the semantics of its transformers
// modeling file (transformers/src/transformers/models/<family>/modeling_<family>.py and
// configuration_<family>.py), quoted where a rule is read from it.
#include "frugal/config/hf_model.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "frugal/config/bounds.hpp"
#include "frugal/config/json_reader.hpp"
#include "frugal/config/model_config.hpp"

namespace frugal {

namespace {

enum class Family {
  llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3,                               // dense
  mixtral, qwen2_moe, qwen3_moe, olmoe, gpt_oss, llama4, deepseek, deepseek_mla, glm4_moe  // MoE
};

struct KnownType {
  const char* model_type;
  Family family;
};

// kimi_k2 is DeepSeek-V3's architecture (Kimi K2's config.json: "architectures": ["DeepseekV3ForCausalLM"]).
constexpr KnownType kKnownTypes[] = {
    {"llama", Family::llama},         {"mistral", Family::mistral},     {"qwen2", Family::qwen2},
    {"qwen3", Family::qwen3},         {"phi3", Family::phi3},           {"gemma2", Family::gemma2},
    {"gemma3_text", Family::gemma3},  {"gemma3", Family::gemma3},       {"mixtral", Family::mixtral},
    {"qwen2_moe", Family::qwen2_moe}, {"qwen3_moe", Family::qwen3_moe}, {"olmoe", Family::olmoe},
    {"gpt_oss", Family::gpt_oss},     {"llama4_text", Family::llama4},  {"llama4", Family::llama4},
    {"deepseek", Family::deepseek},   {"deepseek_v2", Family::deepseek_mla}, {"deepseek_v3", Family::deepseek_mla},
    {"kimi_k2", Family::deepseek_mla}, {"glm4_moe", Family::glm4_moe},
};

std::string known_types() {
  std::string s;
  for (const auto& k : kKnownTypes) s += (s.empty() ? "" : ", ") + std::string(k.model_type);
  return s;
}

// Keys that change no parameter, FLOP or cached byte: identifiers, dtypes, initialisation, norm
// epsilons, dropout, auxiliary-loss weights, logit soft-capping, score scales, activation choice
// (every family here has a gated FFN of three matrices), RoPE variants (element-wise, no weights).
void ignore_cost_free_keys(JsonObjectReader& r) {
  r.ignore({"architectures", "auto_map", "_name_or_path", "transformers_version", "torch_dtype", "dtype",
            "bos_token_id", "eos_token_id", "pad_token_id", "initializer_range", "rms_norm_eps", "layer_norm_eps",
            "rope_interleave", "attention_dropout", "hidden_dropout", "use_cache", "embd_pdrop", "resid_pdrop",
            "pretraining_tp", "quantization_config", "hidden_act", "hidden_activation", "output_router_logits",
            "router_aux_loss_coef", "router_jitter_noise", "aux_loss_alpha", "seq_aux", "ep_size", "topk_method",
            "tokenizer_class", "qk_head_dim", "use_mla", "return_dict", "output_attentions", "output_hidden_states",
            "is_encoder_decoder", "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar",
            "cache_implementation", "clip_qkv", "swiglu_limit", "initial_context_length", "partial_rotary_factor",
            "attn_temperature_tuning", "floor_scale", "attn_scale", "rope_local_base_freq", "rope_scaling",
            "original_max_position_embeddings", "use_qk_norm", "router_temperature", "for_llm_compressor"});
}

// Reads the keys every family spells alike.
void read_common(JsonObjectReader& r, ModelConfig& c, bool tied_by_default) {
  c.vocab_size = r.integer("vocab_size");
  c.hidden_size = r.integer("hidden_size");
  c.num_layers = r.integer("num_hidden_layers");
  bounds::require_in(c.num_layers, bounds::layers, r.path_of("num_hidden_layers"));  // before anything walks them
  c.max_seq_len = r.integer("max_position_embeddings", 4096);
  c.tie_embeddings = r.boolean("tie_word_embeddings", tied_by_default);
  c.ffn_activation = FfnActivation::swiglu;  // gated: SiLU, GELU-tanh (Gemma) or clamped SwiGLU (gpt-oss), three matrices
  c.mlp_bias = r.boolean("mlp_bias", false);
  AttentionConfig& a = c.attention;
  a.num_heads = r.integer("num_attention_heads");
  a.num_kv_heads = r.integer("num_key_value_heads", a.num_heads);
  a.kind = a.num_kv_heads == a.num_heads ? AttentionKind::mha : AttentionKind::gqa;
  a.head_dim = r.integer("head_dim", a.num_heads > 0 ? c.hidden_size / a.num_heads : 0);
  a.rope_theta = r.number("rope_theta", 10000.0);
  // transformers 5 moves the base into "rope_parameters": {"rope_theta": ..., "rope_type": ...}.
  if (const nlohmann::json* rope = r.object("rope_parameters")) {
    JsonObjectReader p(*rope, r.path_of("rope_parameters"));
    a.rope_theta = p.number("rope_theta", a.rope_theta);
    p.ignore({"rope_type", "factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "mscale",
              "mscale_all_dim", "low_freq_factor", "high_freq_factor", "attention_factor", "truncate"});
    p.finish();
  }
}

// "sliding_window": W on every layer from `local_from` on, every `global_every`-th layer global.
void set_sliding(ModelConfig& c, std::int64_t window, std::int64_t local_from, std::int64_t global_every) {
  c.attention.local = LocalAttention::sliding;
  c.attention.window = window;
  c.attention.local_from = local_from;
  c.attention.global_every = global_every;
}

// transformers' "layer_types" (one of "full_attention", "sliding_attention", "chunked_attention"
// per layer), when a config writes it, decides which layers are local. It must follow the rule
// ModelConfig can hold: local from some layer on, with every N-th layer global.
void read_layer_types(JsonObjectReader& r, ModelConfig& c, std::int64_t window) {
  const nlohmann::json* types = r.array("layer_types");
  if (!types) return;
  const std::string path = r.path_of("layer_types");
  if (static_cast<std::int64_t>(types->size()) != c.num_layers)
    throw ConfigError(path, "has " + std::to_string(types->size()) + " entries for " + std::to_string(c.num_layers) +
                                " layers");
  std::vector<bool> local;
  LocalAttention kind = LocalAttention::none;
  for (std::size_t l = 0; l < types->size(); ++l) {
    const nlohmann::json& t = (*types)[l];
    const std::string item = path + "[" + std::to_string(l) + "]";
    if (!t.is_string()) throw ConfigError(item, "must be a string, got " + t.dump());
    const std::string s = t.get<std::string>();
    LocalAttention k = LocalAttention::none;
    if (s == "sliding_attention") k = LocalAttention::sliding;
    else if (s == "chunked_attention") k = LocalAttention::chunked;
    else if (s != "full_attention")
      throw ConfigError(item, "unknown layer type \"" + s + "\" (known: full_attention, sliding_attention, chunked_attention)");
    if (k != LocalAttention::none && kind != LocalAttention::none && k != kind)
      throw ConfigError(item, "mixes sliding and chunked layers, which this simulator does not represent");
    if (k != LocalAttention::none) kind = k;
    local.push_back(k != LocalAttention::none);
  }
  if (kind == LocalAttention::none) {
    c.attention.local = LocalAttention::none;
    return;
  }
  if (window <= 0) throw ConfigError(path, "names local layers but the config gives no window (sliding_window / attention_chunk_size)");
  std::int64_t first = 0;
  while (!local[static_cast<std::size_t>(first)]) ++first;
  ModelConfig probe = c;
  probe.attention.local = kind;
  probe.attention.window = window;
  probe.attention.local_from = first;
  for (std::int64_t every = 0; every <= c.num_layers; every = every == 0 ? 2 : every + 1) {
    probe.attention.global_every = every;
    bool fits = true;
    for (std::int64_t l = 0; l < c.num_layers && fits; ++l) fits = probe.is_local_layer(l) == local[static_cast<std::size_t>(l)];
    if (fits) {
      c.attention = probe.attention;
      return;
    }
  }
  throw ConfigError(path, "this pattern of local and global layers is not one the simulator represents "
                          "(local from one layer on, every N-th of them global)");
}

// A list of layer indices that must be the first k layers (Qwen-MoE's "mlp_only_layers").
std::int64_t leading_run(JsonObjectReader& r, const char* key) {
  const nlohmann::json* list = r.array(key);
  if (!list) return 0;
  std::int64_t k = 0;
  for (const nlohmann::json& v : *list) {
    if (!v.is_number_integer() || v.get<std::int64_t>() != k)
      throw ConfigError(r.path_of(key), "only a leading run of layers (0, 1, ..., k-1) is supported, got " + list->dump());
    ++k;
  }
  return k;
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
double yarn_get_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}
YarnConfig read_hf_yarn(const nlohmann::json& j, const std::string& path, std::int64_t max_position_embeddings) {
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

// --- dense families -------------------------------------------------------------------------

// llama (modeling_llama.py), mistral (modeling_mistral.py), qwen2 (modeling_qwen2.py), qwen3
// (modeling_qwen3.py), phi3 (modeling_phi3.py): pre-norm blocks of GQA attention and a SwiGLU FFN.
void read_llama_like(JsonObjectReader& r, ModelConfig& c, Family f) {
  AttentionConfig& a = c.attention;
  // Llama: "self.q_proj = nn.Linear(..., bias=config.attention_bias)" ... "self.o_proj = nn.Linear(..., bias=config.attention_bias)".
  // Qwen2: "self.q_proj = nn.Linear(..., bias=True)" for q, k and v; "self.o_proj = nn.Linear(..., bias=False)".
  const bool bias = r.boolean("attention_bias", false);
  a.qkv_bias = f == Family::qwen2 ? r.boolean("qkv_bias", true) : bias;
  a.out_bias = f == Family::qwen2 ? false : bias;
  // Qwen3: "self.q_norm = Qwen3RMSNorm(self.head_dim ...)  # unlike olmo, only on the head dim!"
  if (f == Family::qwen3) a.qk_norm = QkNorm::per_head;
  c.ffn_intermediate_size = r.integer("intermediate_size");
  if (f == Family::mistral || f == Family::phi3) {
    // Mistral: every layer attends to the last sliding_window keys (Mistral 7B, arXiv 2310.06825 §2,
    // "each layer attends to the previous W tokens"); Phi-3 passes config.sliding_window to every layer.
    const std::int64_t w = r.integer("sliding_window", 0);
    if (w > 0) set_sliding(c, w, 0, 0);
    read_layer_types(r, c, w);
  } else if (f == Family::qwen2 || f == Family::qwen3) {
    // Qwen2/3: "sliding_attention" if self.sliding_window is not None and i >= self.max_window_layers,
    // where sliding_window is None unless use_sliding_window (configuration_qwen2.py).
    const bool use = r.boolean("use_sliding_window", false);
    const std::int64_t w = r.integer("sliding_window", 0);
    const std::int64_t from = r.integer("max_window_layers", 0);
    if (use && w > 0) set_sliding(c, w, std::max<std::int64_t>(0, from), 0);
    if (use) read_layer_types(r, c, w);
    else r.ignore({"layer_types"});  // transformers writes them all "full_attention" then
  } else {
    r.ignore({"sliding_window", "use_sliding_window", "max_window_layers"});
    read_layer_types(r, c, 0);
  }
}

// gemma2 (modeling_gemma2.py) and gemma3_text (modeling_gemma3.py): GQA with head_dim 256,
// "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
// "post_feedforward_layernorm" (four norms per layer), tied embeddings by default.
// Gemma 2: "self.sliding_window = config.sliding_window if not bool(layer_idx % 2) else None";
// Gemma 3: "self.is_sliding = bool((layer_idx + 1) % config.sliding_window_pattern)" and QK-norm of head_dim.
void read_gemma(JsonObjectReader& r, ModelConfig& c, const std::string& model_type) {
  const bool gemma3 = model_type != "gemma2";
  AttentionConfig& a = c.attention;
  const bool bias = r.boolean("attention_bias", false);
  a.qkv_bias = a.out_bias = bias;
  c.post_norms = true;
  if (gemma3) a.qk_norm = QkNorm::per_head;
  c.ffn_intermediate_size = r.integer("intermediate_size");
  const std::int64_t w = r.integer("sliding_window", gemma3 ? 4096 : 0);
  // Older Gemma 2 configs repeat the window as "sliding_window_size" (configuration_gemma2.py kept both).
  if (r.integer("sliding_window_size", w) != w)
    throw ConfigError(r.path_of("sliding_window_size"), "differs from sliding_window (" + std::to_string(w) + ")");
  const std::int64_t pattern = gemma3 ? r.integer("sliding_window_pattern", 6) : 2;
  if (w > 0) set_sliding(c, w, 0, pattern);
  read_layer_types(r, c, w);
}

// --- MoE families -----------------------------------------------------------------------------

// The keys Mixtral-style MoE configs share: "attention_bias" on every projection and
// `experts_key` experts of "intermediate_size", "num_experts_per_tok" of them per token.
void read_experts_of_intermediate_size(JsonObjectReader& r, ModelConfig& c, const char* experts_key) {
  const bool bias = r.boolean("attention_bias", false);
  c.attention.qkv_bias = c.attention.out_bias = bias;
  c.moe.routed_experts = r.integer(experts_key);
  c.moe.top_k = r.integer("num_experts_per_tok");
  c.moe.expert_intermediate_size = r.integer("intermediate_size");
}

// DeepSeekMoE's keys (modeling_deepseek.py; GLM-4.5 reuses them): "n_routed_experts" of
// "moe_intermediate_size", "n_shared_experts", "first_k_dense_replace" dense layers, then MoE where
// "layer_idx % config.moe_layer_freq == 0", group-limited routing, the scoring function.
void read_deepseek_moe(JsonObjectReader& r, MoeConfig& m, ScoreFunc default_score, bool default_normalize) {
  m.routed_experts = r.integer("n_routed_experts");
  m.shared_experts = r.integer("n_shared_experts", 0);
  m.top_k = r.integer("num_experts_per_tok");
  m.expert_intermediate_size = r.integer("moe_intermediate_size");
  m.first_dense_layers = r.integer("first_k_dense_replace", 0);
  m.layer_freq = r.integer("moe_layer_freq", 1);
  m.groups = r.integer("n_group", 1);
  m.groups_per_token = r.integer("topk_group", m.groups);
  m.score_func = r.choice<ScoreFunc>("scoring_func", {{"softmax", ScoreFunc::softmax}, {"sigmoid", ScoreFunc::sigmoid}},
                                     default_score);
  m.route_scale = r.number("routed_scaling_factor", 1.0);
  m.normalize_top_k = r.boolean("norm_topk_prob", default_normalize);
}

// mixtral (modeling_mixtral.py): every layer's FFN is num_local_experts experts of
// intermediate_size, a softmax router and renormalised top-k weights (arXiv 2401.04088 §2.1);
// every layer attends to the last sliding_window keys when one is given.
void read_mixtral(JsonObjectReader& r, ModelConfig& c) {
  read_experts_of_intermediate_size(r, c, "num_local_experts");
  MoeConfig& m = c.moe;
  m.score_func = ScoreFunc::softmax;
  m.normalize_top_k = true;
  const std::int64_t w = r.integer("sliding_window", 0);
  if (w > 0) set_sliding(c, w, 0, 0);
  read_layer_types(r, c, w);
}

// qwen2_moe (modeling_qwen2_moe.py) and qwen3_moe (modeling_qwen3_moe.py):
//   "if (layer_idx not in config.mlp_only_layers) and (config.num_experts > 0 and
//    (layer_idx + 1) % config.decoder_sparse_step == 0): self.mlp = ...SparseMoeBlock"
// Qwen2-MoE adds "self.shared_expert = Qwen2MoeMLP(config, intermediate_size=config.shared_expert_intermediate_size)"
// scaled by "F.sigmoid(self.shared_expert_gate(hidden_states))", shared_expert_gate = nn.Linear(hidden, 1, bias=False).
void read_qwen_moe(JsonObjectReader& r, ModelConfig& c, Family f) {
  read_llama_like(r, c, f == Family::qwen2_moe ? Family::qwen2 : Family::qwen3);
  MoeConfig& m = c.moe;
  m.routed_experts = r.integer("num_experts", 0);
  const std::int64_t dense_prefix = leading_run(r, "mlp_only_layers");
  if (m.routed_experts <= 0) {
    r.ignore({"num_experts_per_tok", "moe_intermediate_size", "decoder_sparse_step", "norm_topk_prob",
              "shared_expert_intermediate_size"});
    return;
  }
  m.top_k = r.integer("num_experts_per_tok");
  m.expert_intermediate_size = r.integer("moe_intermediate_size");
  m.layer_freq = r.integer("decoder_sparse_step", 1);
  m.layer_phase = m.layer_freq - 1;
  m.first_dense_layers = dense_prefix;
  m.score_func = ScoreFunc::softmax;
  m.normalize_top_k = r.boolean("norm_topk_prob", f == Family::qwen3_moe);
  if (f == Family::qwen2_moe) {
    const std::int64_t shared = r.integer("shared_expert_intermediate_size", 0);
    if (shared > 0) {
      m.shared_experts = 1;
      m.shared_expert_intermediate_size = shared;
      m.shared_expert_gate = true;
    }
  }
  if (c.moe.first_dense_layers == 0 && m.layer_freq == 1) c.ffn_intermediate_size = 0;  // no dense layer uses it
}

// olmoe (modeling_olmoe.py): every layer MoE (num_experts of intermediate_size, softmax top-k,
// "norm_topk_prob" default False), full-width QK-norm:
//   "self.q_norm = OlmoeRMSNorm(config.hidden_size ...)", "self.k_norm = OlmoeRMSNorm((config.hidden_size //
//    config.num_attention_heads) * config.num_key_value_heads ...)".
void read_olmoe(JsonObjectReader& r, ModelConfig& c) {
  read_experts_of_intermediate_size(r, c, "num_experts");
  c.attention.qk_norm = QkNorm::full_width;
  MoeConfig& m = c.moe;
  m.score_func = ScoreFunc::softmax;
  m.normalize_top_k = r.boolean("norm_topk_prob", false);
}

// gpt_oss (modeling_gpt_oss.py): every layer MoE: "self.router = GptOssTopKRouter" with
// "self.bias = nn.Parameter(torch.empty(self.num_experts))", experts with "gate_up_proj_bias" and
// "down_proj_bias"; attention with "bias=config.attention_bias" on q, k, v and o and
// "self.sinks = nn.Parameter(torch.empty(config.num_attention_heads))"; layer_types alternate
// "sliding_attention" (window sliding_window) and "full_attention".
void read_gpt_oss(JsonObjectReader& r, ModelConfig& c) {
  const bool bias = r.boolean("attention_bias", true);
  c.attention.qkv_bias = c.attention.out_bias = bias;
  c.attention.sinks = true;
  MoeConfig& m = c.moe;
  m.routed_experts = r.integer("num_local_experts");
  m.top_k = r.has("num_experts_per_tok") ? r.integer("num_experts_per_tok") : r.integer("experts_per_token");
  r.ignore({"experts_per_token", "num_experts_per_tok"});
  m.expert_intermediate_size = r.integer("intermediate_size");
  m.score_func = ScoreFunc::softmax;  // softmax over the chosen top-k logits
  m.normalize_top_k = true;
  m.router_bias = true;
  c.mlp_bias = true;
  const std::int64_t w = r.integer("sliding_window", 0);
  if (w > 0) set_sliding(c, w, 0, 2);
  read_layer_types(r, c, w);
}

// llama4 text model (modeling_llama4.py): "self.is_moe_layer = layer_idx in config.moe_layers" with
// moe_layers defaulting to "list(range(interleave_moe_layer_step - 1, num_hidden_layers, interleave_moe_layer_step))";
// an MoE layer is num_local_experts routed experts of intermediate_size, "self.shared_expert =
// Llama4TextMLP(config)" of the same width, a sigmoid router without bias; a dense layer is an MLP of
// intermediate_size_mlp. Attention: chunked (attention_chunk_size) where RoPE is used, global on
// the NoPE layers, "no_rope_layers" defaulting to "int((layer_idx + 1) % no_rope_layer_interval != 0)";
// QK-norm is an L2 norm without weights.
void read_llama4(JsonObjectReader& r, ModelConfig& c) {
  read_experts_of_intermediate_size(r, c, "num_local_experts");
  MoeConfig& m = c.moe;
  m.shared_experts = 1;
  m.layer_freq = r.integer("interleave_moe_layer_step", 1);
  m.layer_phase = m.layer_freq - 1;
  if (const nlohmann::json* listed = r.array("moe_layers")) {
    // An explicit list must be the interleaved default: layer_freq - 1, then every layer_freq-th layer.
    bool interleaved = m.layer_freq >= 1 && m.layer_freq <= c.num_layers;
    std::int64_t expected = m.layer_phase;
    for (const nlohmann::json& v : *listed) {
      interleaved = interleaved && v.is_number_integer() && v.get<std::int64_t>() == expected;
      expected += m.layer_freq;
    }
    // expected is now one step past the last listed layer: the list must end at the last MoE layer.
    if (!interleaved || expected < c.num_layers || expected >= c.num_layers + m.layer_freq)
      throw ConfigError(r.path_of("moe_layers"),
                        "only every interleave_moe_layer_step-th layer as MoE is supported, got " + listed->dump());
  }
  m.score_func = ScoreFunc::sigmoid;
  m.selection_bias = false;  // "self.router = nn.Linear(hidden_size, num_experts, bias=False)", no correction bias
  c.ffn_intermediate_size = r.integer("intermediate_size_mlp");
  const std::int64_t chunk = r.integer("attention_chunk_size", 0);
  std::int64_t interval = r.integer("no_rope_layer_interval", 4);
  if (const nlohmann::json* nope = r.array("no_rope_layers"); nope && !nope->empty()) {
    // An explicit list: 1 where RoPE (and chunked attention) is used, 0 on the global NoPE layers.
    interval = 0;
    for (std::int64_t every = 2; every <= c.num_layers && interval == 0; ++every) {
      bool fits = static_cast<std::int64_t>(nope->size()) == c.num_layers;
      for (std::int64_t l = 0; l < c.num_layers && fits; ++l) {
        const nlohmann::json& v = (*nope)[static_cast<std::size_t>(l)];
        fits = v.is_number_integer() && v.get<std::int64_t>() == ((l + 1) % every != 0 ? 1 : 0);
      }
      if (fits) interval = every;
    }
    if (interval == 0)
      throw ConfigError(r.path_of("no_rope_layers"), "only every N-th layer without RoPE is supported, got " + nope->dump());
  }
  if (chunk > 0) {
    c.attention.local = LocalAttention::chunked;
    c.attention.window = chunk;
    c.attention.global_every = interval;
  }
  read_layer_types(r, c, chunk);
}

// deepseek (modeling_deepseek.py, MHA), deepseek_v2 / deepseek_v3 / kimi_k2 (MLA, DeepSeekMoE):
// "first_k_dense_replace" dense layers, then MoE where "layer_idx % config.moe_layer_freq == 0".
void read_deepseek(JsonObjectReader& r, ModelConfig& c, bool mla) {
  AttentionConfig& a = c.attention;
  const bool bias = r.boolean("attention_bias", false);
  a.qkv_bias = a.out_bias = bias;
  c.ffn_intermediate_size = r.integer("intermediate_size");
  if (mla) {
    a.kind = AttentionKind::mla;
    a.num_kv_heads = 0;
    a.head_dim = 0;
    a.q_lora_rank = r.integer("q_lora_rank", 0);
    a.kv_lora_rank = r.integer("kv_lora_rank");
    a.qk_nope_head_dim = r.integer("qk_nope_head_dim");
    a.qk_rope_head_dim = r.integer("qk_rope_head_dim");
    a.v_head_dim = r.integer("v_head_dim");
    if (const nlohmann::json* scaling = r.object("rope_scaling"))
      a.yarn = read_hf_yarn(*scaling, r.path_of("rope_scaling"), c.max_seq_len);
  }
  if (r.integer("n_routed_experts", 0) != 0) {  // a negative count is refused by validate_model_config
    read_deepseek_moe(r, c.moe, ScoreFunc::softmax, false);
  } else {
    r.ignore({"n_shared_experts", "num_experts_per_tok", "moe_intermediate_size", "first_k_dense_replace",
              "moe_layer_freq", "n_group", "topk_group", "scoring_func", "routed_scaling_factor", "norm_topk_prob"});
  }
  c.mtp_depth = r.integer("num_nextn_predict_layers", 0);
}

// glm4_moe (modeling_glm4_moe.py): DeepSeek-V3's MoE (sigmoid router with a correction bias,
// "first_k_dense_replace", shared experts, groups) over GQA attention with
// "self.q_proj = nn.Linear(..., bias=config.attention_bias)" on q, k, v, "self.o_proj = nn.Linear(..., bias=False)",
// QK-norm of head_dim when "use_qk_norm", and num_nextn_predict_layers MTP layers.
void read_glm4_moe(JsonObjectReader& r, ModelConfig& c) {
  AttentionConfig& a = c.attention;
  a.qkv_bias = r.boolean("attention_bias", false);
  a.out_bias = false;
  if (r.boolean("use_qk_norm", false)) a.qk_norm = QkNorm::per_head;
  c.ffn_intermediate_size = r.integer("intermediate_size");
  read_deepseek_moe(r, c.moe, ScoreFunc::sigmoid, true);
  c.mtp_depth = r.integer("num_nextn_predict_layers", 0);
}

ModelFieldPaths hf_field_paths(const JsonObjectReader& r, Family f) {
  auto p = [&](const char* key) { return r.path_of(key); };
  const bool expert_width_is_intermediate = f == Family::mixtral || f == Family::olmoe || f == Family::gpt_oss || f == Family::llama4;
  ModelFieldPaths x;
  x.vocab_size = p("vocab_size");
  x.hidden_size = p("hidden_size");
  x.num_layers = p("num_hidden_layers");
  x.max_seq_len = p("max_position_embeddings");
  x.mtp_depth = p("num_nextn_predict_layers");
  x.num_heads = p("num_attention_heads");
  x.num_kv_heads = p("num_key_value_heads");
  x.head_dim = p("head_dim");
  x.q_lora_rank = p("q_lora_rank");
  x.kv_lora_rank = p("kv_lora_rank");
  x.qk_nope_head_dim = p("qk_nope_head_dim");
  x.qk_rope_head_dim = p("qk_rope_head_dim");
  x.v_head_dim = p("v_head_dim");
  x.ffn_intermediate_size = p(f == Family::llama4 ? "intermediate_size_mlp" : "intermediate_size");
  x.routed_experts = p(f == Family::mixtral || f == Family::gpt_oss || f == Family::llama4 ? "num_local_experts"
                       : f == Family::qwen2_moe || f == Family::qwen3_moe || f == Family::olmoe ? "num_experts"
                                                                                                : "n_routed_experts");
  x.shared_experts = p("n_shared_experts");
  x.top_k = p("num_experts_per_tok");
  x.expert_intermediate_size = p(expert_width_is_intermediate ? "intermediate_size" : "moe_intermediate_size");
  x.shared_expert_intermediate_size = p("shared_expert_intermediate_size");
  x.first_dense_layers = p(f == Family::qwen2_moe || f == Family::qwen3_moe ? "mlp_only_layers" : "first_k_dense_replace");
  x.layer_freq = p(f == Family::qwen2_moe || f == Family::qwen3_moe ? "decoder_sparse_step"
                   : f == Family::llama4                            ? "interleave_moe_layer_step"
                                                                    : "moe_layer_freq");
  x.groups = p("n_group");
  x.groups_per_token = p("topk_group");
  x.route_scale = p("routed_scaling_factor");
  x.rope_theta = p("rope_theta");
  x.yarn = p("rope_scaling");
  x.yarn_factor = p("rope_scaling.factor");
  x.yarn_original_seq_len = p("rope_scaling.original_max_position_embeddings");
  x.yarn_beta_fast = p("rope_scaling.beta_fast");
  x.yarn_beta_slow = p("rope_scaling.beta_slow");
  x.yarn_mscale = p("rope_scaling.mscale_all_dim");
  x.window = p(f == Family::llama4 ? "attention_chunk_size" : "sliding_window");
  x.local_from = p("max_window_layers");
  x.global_every = p(f == Family::llama4 ? "no_rope_layer_interval" : "sliding_window_pattern");
  return x;
}

ModelConfig parse_language_model(const nlohmann::json& j, const std::string& path, std::vector<std::string> outer_ignored) {
  JsonObjectReader r(j, path);
  ignore_cost_free_keys(r);
  const std::string model_type = r.string("model_type");
  const KnownType* known = nullptr;
  for (const auto& k : kKnownTypes)
    if (model_type == k.model_type) known = &k;
  if (!known) throw ConfigError(r.path_of("model_type"), "unsupported \"" + model_type + "\" (known: " + known_types() + ")");
  const Family f = known->family;
  ModelConfig c;
  c.name = r.string("name", model_type);
  c.source = "Hugging Face config.json (model_type " + model_type + ")";
  const bool gemma = f == Family::gemma2 || f == Family::gemma3;
  if (f == Family::gemma3 && !r.has("vocab_size")) {
    // A Gemma 3 checkpoint's text_config writes only what differs from Gemma3TextConfig's defaults
    // (configuration_gemma3.py: "vocab_size=262_208", "head_dim=256", "max_position_embeddings=131_072").
    c.vocab_size = 262208;
  }
  if (gemma) {
    c.vocab_size = r.integer("vocab_size", c.vocab_size > 0 ? std::optional<std::int64_t>(c.vocab_size) : std::nullopt);
    c.hidden_size = r.integer("hidden_size");
    c.num_layers = r.integer("num_hidden_layers");
    bounds::require_in(c.num_layers, bounds::layers, r.path_of("num_hidden_layers"));
    c.max_seq_len = r.integer("max_position_embeddings", f == Family::gemma3 ? 131072 : 8192);
    c.tie_embeddings = r.boolean("tie_word_embeddings", true);
    c.mlp_bias = false;
    AttentionConfig& a = c.attention;
    a.num_heads = r.integer("num_attention_heads");
    a.num_kv_heads = r.integer("num_key_value_heads", a.num_heads);
    a.kind = a.num_kv_heads == a.num_heads ? AttentionKind::mha : AttentionKind::gqa;
    a.head_dim = r.integer("head_dim", 256);
    a.rope_theta = r.number("rope_theta", f == Family::gemma3 ? 1000000.0 : 10000.0);
    read_gemma(r, c, model_type);
  } else {
    read_common(r, c, false);
    switch (f) {
      case Family::llama: case Family::mistral: case Family::qwen2: case Family::qwen3: case Family::phi3:
        read_llama_like(r, c, f);
        break;
      case Family::mixtral: read_mixtral(r, c); break;
      case Family::qwen2_moe: case Family::qwen3_moe: read_qwen_moe(r, c, f); break;
      case Family::olmoe: read_olmoe(r, c); break;
      case Family::gpt_oss: read_gpt_oss(r, c); break;
      case Family::llama4: read_llama4(r, c); break;
      case Family::deepseek: read_deepseek(r, c, false); break;
      case Family::deepseek_mla: read_deepseek(r, c, true); break;
      case Family::glm4_moe: read_glm4_moe(r, c); break;
      case Family::gemma2: case Family::gemma3: break;
    }
    if (c.attention.kind == AttentionKind::mla) r.ignore({"num_key_value_heads", "head_dim"});  // MLA has no per-head KV cache
  }
  r.finish();
  c.ignored_keys = std::move(outer_ignored);
  for (auto& k : r.ignored_present()) c.ignored_keys.push_back(std::move(k));
  validate_model_config(c, hf_field_paths(r, f));
  drop_yarn_within_original_length(c);
  return c;
}

}  // namespace

bool is_hf_config(const nlohmann::json& j) {
  if (!j.is_object()) return false;
  if (j.contains("num_hidden_layers")) return true;
  auto text = j.find("text_config");
  return text != j.end() && text->is_object() && text->contains("num_hidden_layers");
}

ModelConfig parse_hf_model(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader top(j, path);
  if (top.has("num_hidden_layers") || !top.has("text_config")) return parse_language_model(j, path, {});
  // A multimodal checkpoint (Llama4ForConditionalGeneration, Gemma3ForConditionalGeneration): the
  // language model is text_config; the vision encoder and projector are not priced, and say so.
  const std::string model_type = top.string("model_type");
  if (model_type != "llama4" && model_type != "gemma3")
    throw ConfigError(top.path_of("model_type"), "unsupported multimodal \"" + model_type + "\" (known: llama4, gemma3)");
  ignore_cost_free_keys(top);
  top.ignore({"vision_config", "boi_token_index", "eoi_token_index", "image_token_index", "mm_tokens_per_image",
              "tie_word_embeddings", "vision_feature_layer", "vision_feature_select_strategy"});
  const nlohmann::json* text = top.object("text_config");
  top.finish();
  std::vector<std::string> ignored = top.ignored_present();
  for (auto& k : ignored)
    if (k == top.path_of("vision_config")) k += " (the vision encoder is not priced)";
  ModelConfig c = parse_language_model(*text, top.path_of("text_config"), std::move(ignored));
  // The wrapper's tie_word_embeddings is the one transformers applies to the language model's head.
  if (const auto it = j.find("tie_word_embeddings"); it != j.end() && it->is_boolean()) c.tie_embeddings = it->get<bool>();
  return c;
}

}  // namespace frugal
