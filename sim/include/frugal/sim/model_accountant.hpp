// The model accountant: parameters, FLOPs per token and KV-cache bytes per token of a ModelConfig,
// in total and by component. Every number is counted from the shapes; nothing is fitted.
//
// Conventions (printed with every report):
//  - total_params: the main model, embeddings and output head included, MTP modules excluded
//    (DeepSeek's "671B"; the MTP module is reported on its own, README_WEIGHTS.md).
//  - active_params: parameters a token passes through, excluding the input-embedding lookup and
//    including the output head (DeepSeek's "36.6B incl. the 0.9B output head", README_WEIGHTS.md).
//    active_params_with_embedding adds the embedding (the convention of e.g. Mixtral's "12.9B");
//    with tied embeddings the head is that matrix, so the two are equal.
//  - FLOPs: a multiply-add is 2 FLOPs. Forward = 2 x (matmul parameters a token uses) + attention
//    scores (QK^T and AV). Training = 3 x forward (backward = 2 x forward). Causal attention
//    averages (S+1)/2 keys per query; full attention S. MLA is counted in its training form
//    (latents up-projected per head), norms and element-wise work are not counted.
//  - train_flops_per_token excludes the MTP module (it is the convention of ISCA25 Table 2 and of
//    published MFU); train_flops_per_token_with_mtp is what a training step really executes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/config/model_config.hpp"

namespace frugal::sim {

enum class AttentionFlops { causal, full };

// Bytes of one cached element.
enum class KvDtype { fp32, bf16, fp16, fp8 };
double kv_dtype_bytes(KvDtype dtype);
const char* to_string(KvDtype dtype);
const char* to_string(AttentionFlops convention);

struct AccountingOptions {
  std::int64_t seq_len = 4096;
  AttentionFlops attention_flops = AttentionFlops::causal;
  KvDtype kv_dtype = KvDtype::bf16;
};

struct ComponentCount {
  std::string component;  // embedding, attention, dense_ffn, shared_experts, routed_experts, router,
                          // norms, output_head, mtp_module
  double params = 0;           // stored parameters
  double active_params = 0;    // parameters one token passes through
  double train_flops_per_token = 0;
  double inference_flops_per_token = 0;
};

struct ModelAccount {
  double total_params = 0;
  double total_params_with_mtp = 0;
  double active_params = 0;
  double active_params_with_embedding = 0;
  double train_flops_per_token = 0;
  double train_flops_per_token_with_mtp = 0;
  double inference_flops_per_token = 0;
  double kv_cache_bytes_per_token = 0;
  std::vector<ComponentCount> breakdown;

  const ComponentCount& component(const std::string& name) const;
};

// Parameters of one transformer layer's attention block (projections and biases, no norms).
double attention_params(const ModelConfig& m);
// Keys one query of a seq_len-token sequence reads on average: (S+1)/2 causal, S full; in a local
// layer (ModelConfig::is_local_layer) a sliding window W gives [W(W+1)/2 + (S-W)W]/S and a chunk of
// W gives [n W(W+1)/2 + r(r+1)/2]/S for S = nW + r (full: W), from the masks in model_config.hpp.
double attention_keys_per_query(const ModelConfig& m, std::int64_t seq_len, AttentionFlops convention, bool local);
// Forward FLOPs of the attention scores (QK^T and AV) for one token in one (local or global) layer.
double attention_score_flops_forward(const ModelConfig& m, std::int64_t seq_len, AttentionFlops convention,
                                     bool local = false);
// Tokens of a `context`-token sequence a layer keeps in its cache: all of them in a global layer,
// at most the window in a local one.
double kv_tokens_kept(const ModelConfig& m, double context, bool local);
// Width of one shared expert (Qwen2-MoE's are wider than its routed experts).
std::int64_t shared_expert_width(const ModelConfig& m);
// Parameters of one FFN (dense layer or one expert) of intermediate size `intermediate`.
double ffn_params(const ModelConfig& m, std::int64_t intermediate);
// KV-cache bytes per token and layer: MLA caches c_KV and the RoPE key (V3 report §2.1.1);
// MHA/GQA cache K and V for every KV head.
double kv_cache_bytes_per_token_per_layer(const ModelConfig& m, KvDtype dtype);
// KV-cache bytes per token of a `context`-token sequence, all layers: local layers keep at most
// their window, so past it they cost less per token (context <= 0: every layer keeps every token).
double kv_cache_bytes_per_token(const ModelConfig& m, KvDtype dtype, std::int64_t context = 0);

ModelAccount account_model(const ModelConfig& m, const AccountingOptions& options = {});

}  // namespace frugal::sim
