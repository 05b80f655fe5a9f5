#include "frugal/sim/model_report.hpp"

#include <fmt/format.h>

#include "frugal/sim/format.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

std::string describe_shape(const ModelConfig& m) {
  const AttentionConfig& a = m.attention;
  std::string s = fmt::format("{} layers, hidden {}, vocab {}, ", m.num_layers, m.hidden_size, m.vocab_size);
  if (a.kind == AttentionKind::mla) {
    s += fmt::format("MLA ({} heads, q rank {}, kv rank {}, rope {}, v {})", a.num_heads,
                     a.q_lora_rank > 0 ? std::to_string(a.q_lora_rank) : std::string("none"), a.kv_lora_rank,
                     a.qk_rope_head_dim, a.v_head_dim);
  } else {
    s += fmt::format("{} ({} heads, {} KV heads, head dim {})", a.kind == AttentionKind::mha ? "MHA" : "GQA",
                     a.num_heads, a.num_kv_heads, a.head_dim);
  }
  if (a.local != LocalAttention::none)
    s += fmt::format(", {} of {} tokens in {} of {} layers", a.local == LocalAttention::sliding ? "sliding window" : "chunks",
                     a.window, m.local_layer_count(), m.num_layers);
  const std::int64_t moe_layers = m.moe_layer_count();
  const std::int64_t dense_layers = m.num_layers - moe_layers;
  if (dense_layers > 0)
    s += fmt::format(", {} dense FFN {} in {} layer{}", to_string(m.ffn_activation), m.ffn_intermediate_size,
                     dense_layers, dense_layers == 1 ? "" : "s");
  if (m.is_moe()) {
    const MoeConfig& e = m.moe;
    const std::int64_t shared_width = e.shared_expert_intermediate_size > 0 ? e.shared_expert_intermediate_size : e.expert_intermediate_size;
    s += fmt::format(", MoE in {} layers: {}{} routed experts of {}, top-{}", moe_layers,
                     e.shared_experts == 0 ? std::string()
                     : shared_width == e.expert_intermediate_size ? fmt::format("{} shared + ", e.shared_experts)
                                                                  : fmt::format("{} shared of {} + ", e.shared_experts, shared_width),
                     e.routed_experts, e.expert_intermediate_size, e.top_k);
    if (e.groups > 1) s += fmt::format(" in {} of {} groups", e.groups_per_token, e.groups);
    s += fmt::format(" ({})", to_string(e.score_func));
  }
  if (m.mtp_depth > 0) s += fmt::format(", MTP depth {}", m.mtp_depth);
  return s;
}

std::string accounting_conventions(const AccountingOptions& o) {
  return fmt::format(
      "conventions: sequence {} tokens; attention FLOPs {} ({}); training = 3 x forward; a multiply-add = 2 FLOPs; "
      "activated parameters exclude the input-embedding lookup and include the output head; totals exclude the MTP "
      "module; KV cache in {}",
      o.seq_len, to_string(o.attention_flops),
      o.attention_flops == AttentionFlops::causal ? "a query sees (S+1)/2 keys on average" : "every query sees S keys",
      to_string(o.kv_dtype));
}

nlohmann::json model_config_json(const ModelConfig& m) {
  const AttentionConfig& a = m.attention;
  nlohmann::json attention = {{"kind", to_string(a.kind)}, {"num_heads", a.num_heads}};
  if (a.kind == AttentionKind::mla) {
    attention.update({{"q_lora_rank", a.q_lora_rank}, {"kv_lora_rank", a.kv_lora_rank},
                      {"qk_nope_head_dim", a.qk_nope_head_dim}, {"qk_rope_head_dim", a.qk_rope_head_dim},
                      {"v_head_dim", a.v_head_dim}});
  } else {
    attention.update({{"num_kv_heads", a.num_kv_heads}, {"head_dim", a.head_dim}});
  }
  attention.update({{"qkv_bias", a.qkv_bias}, {"out_bias", a.out_bias}});
  nlohmann::json j = {{"name", m.name},
                      {"source", m.source},
                      {"vocab_size", m.vocab_size},
                      {"hidden_size", m.hidden_size},
                      {"num_layers", m.num_layers},
                      {"max_seq_len", m.max_seq_len},
                      {"mtp_depth", m.mtp_depth},
                      {"tie_embeddings", m.tie_embeddings},
                      {"position_embedding", to_string(m.position_embedding)},
                      {"norm", to_string(m.norm)},
                      {"attention", attention},
                      {"ffn",
                       {{"intermediate_size", m.ffn_intermediate_size},
                        {"activation", to_string(m.ffn_activation)},
                        {"bias", m.mlp_bias}}}};
  if (m.is_moe()) {
    const MoeConfig& e = m.moe;
    j["moe"] = {{"routed_experts", e.routed_experts},
                {"shared_experts", e.shared_experts},
                {"top_k", e.top_k},
                {"expert_intermediate_size", e.expert_intermediate_size},
                {"first_dense_layers", e.first_dense_layers},
                {"layer_freq", e.layer_freq},
                {"groups", e.groups},
                {"groups_per_token", e.groups_per_token},
                {"score_func", to_string(e.score_func)},
                {"route_scale", e.route_scale},
                {"normalize_top_k", e.normalize_top_k}};
  }
  return j;
}

nlohmann::json model_report_json(const ModelConfig& m, const ModelAccount& a, const AccountingOptions& o) {
  nlohmann::json breakdown = nlohmann::json::array();
  for (const ComponentCount& c : a.breakdown)
    breakdown.push_back({{"component", c.component},
                         {"params", c.params},
                         {"active_params", c.active_params},
                         {"train_flops_per_token", c.train_flops_per_token},
                         {"inference_flops_per_token", c.inference_flops_per_token}});
  return {{"model", model_config_json(m)},
          {"seq_len", o.seq_len},
          {"attention_flops", to_string(o.attention_flops)},
          {"kv_dtype", to_string(o.kv_dtype)},
          {"conventions", accounting_conventions(o)},
          {"total_params", a.total_params},
          {"total_params_with_mtp", a.total_params_with_mtp},
          {"active_params", a.active_params},
          {"active_params_with_embedding", a.active_params_with_embedding},
          {"train_flops_per_token", a.train_flops_per_token},
          {"train_flops_per_token_with_mtp", a.train_flops_per_token_with_mtp},
          {"inference_flops_per_token", a.inference_flops_per_token},
          {"kv_cache_bytes_per_token", a.kv_cache_bytes_per_token},
          {"breakdown", breakdown}};
}

std::string model_report_table(const ModelConfig& m, const ModelAccount& a, const AccountingOptions& o) {
  std::string out = fmt::format("{}\n  {}\n", m.name, describe_shape(m));
  if (!m.source.empty()) out += fmt::format("  source: {}\n", m.source);
  out += "\n";
  TextTable summary({"quantity", "value", "note"});
  summary.set_left_aligned({2});
  summary.add_row({"total parameters", format_count(a.total_params),
                   m.mtp_depth > 0 ? fmt::format("main model; {} with the MTP module", format_count(a.total_params_with_mtp))
                                   : std::string("embeddings and head included")});
  summary.add_row({"activated parameters / token", format_count(a.active_params),
                   fmt::format("{} with the input embedding", format_count(a.active_params_with_embedding))});
  summary.add_row({"training FLOPs / token", format_flops(a.train_flops_per_token),
                   m.mtp_depth > 0 ? fmt::format("{} with the MTP module", format_flops(a.train_flops_per_token_with_mtp))
                                   : std::string("forward + backward")});
  summary.add_row({"inference FLOPs / token", format_flops(a.inference_flops_per_token), "forward pass"});
  summary.add_row({"KV cache / token", format_bytes(a.kv_cache_bytes_per_token), to_string(o.kv_dtype)});
  out += summary.render() + "\n";

  TextTable parts({"component", "params", "active", "train FLOP/token", "share", "inference FLOP/token"});
  for (const ComponentCount& c : a.breakdown) {
    if (c.params == 0 && c.active_params == 0 && c.train_flops_per_token == 0 && c.component != "output_head") continue;
    const double share = c.train_flops_per_token / a.train_flops_per_token;
    parts.add_row({c.component, format_count(c.params), format_count(c.active_params), format_flops(c.train_flops_per_token),
                   c.component == "mtp_module" ? "(extra)" : fmt::format("{:.1f}%", 100.0 * share),
                   format_flops(c.inference_flops_per_token)});
  }
  out += parts.render() + "\n  " + accounting_conventions(o) + "\n";
  return out;
}

std::string model_report_csv(const ModelAccount& a) {
  // One row per component and a total; the KV cache belongs to attention.
  std::string out = "component,params,active_params,train_flops_per_token,inference_flops_per_token,kv_cache_bytes_per_token\n";
  auto row = [&](const std::string& name, double p, double act, double train, double infer, double kv) {
    out += fmt::format("{},{:.0f},{:.0f},{:.6g},{:.6g},{:.0f}\n", name, p, act, train, infer, kv);
  };
  for (const ComponentCount& c : a.breakdown)
    row(c.component, c.params, c.active_params, c.train_flops_per_token, c.inference_flops_per_token,
        c.component == "attention" ? a.kv_cache_bytes_per_token : 0.0);
  row("total", a.total_params, a.active_params, a.train_flops_per_token, a.inference_flops_per_token,
      a.kv_cache_bytes_per_token);
  return out;
}

}  // namespace frugal::sim
