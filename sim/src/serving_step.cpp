// One engine iteration on one serving instance, layer by layer. Each kernel family is its own
// roofline, max(FLOPs / (peak x efficiency), bytes / (HBM x efficiency)), and a layer is their sum:
// projections and dense FFNs on the tokens of one attention-data-parallel rank, attention scores
// over its sequences' KV cache, the routed experts of the busiest GPU, then the expert dispatch and
// combine, which two micro-batches overlap with that computation (V3 report §3.4; deepseek-ai/
// profile-data README: "decoding also leverages two micro-batches for overlapping computation and
// all-to-all communication").
#include <algorithm>
#include <cmath>

#include "frugal/sim/communication.hpp"
#include "frugal/sim/expert_placement.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/serving.hpp"

namespace frugal::sim {

double expected_experts_touched(const ModelConfig& m, double tokens) {
  if (!m.is_moe() || tokens <= 0) return 0.0;
  const double e = static_cast<double>(m.moe.routed_experts);
  const double k = static_cast<double>(m.moe.top_k);
  return e * (1.0 - std::pow(1.0 - k / e, tokens));
}

double tokens_per_decode_step(const ServingDeployment& d) { return 1.0 + std::max(0.0, d.mtp_acceptance); }

double rows_per_decode_step(const ServingDeployment& d) { return d.mtp_acceptance > 0 ? 2.0 : 1.0; }

double low_latency_all_to_all_s(const ModelConfig& m, const ServingDeployment& d, std::int64_t ep, double tokens,
                                double bytes_per_copy, const EfficiencyConstants& c) {
  if (ep <= 1 || tokens <= 0) return 0.0;
  const double e = static_cast<double>(ep);
  const double per_node = static_cast<double>(std::min<std::int64_t>(ep, d.gpu.gpus_per_node));
  const double copy_bytes = tokens * static_cast<double>(m.moe.top_k) * bytes_per_copy;
  const double nvlink = d.gpu.nvlink_bandwidth * c.nvlink, nic = d.gpu.scaleout_bandwidth * c.decode_all_to_all;
  if (!d.low_latency_nvlink) return copy_bytes * (e - 1.0) / e / nic;  // pure RDMA: all that leaves the GPU
  // time = max(copies to the node's other GPUs / NVLink, copies to other nodes / NIC)
  return std::max(copy_bytes * (per_node - 1.0) / e / nvlink, copy_bytes * (e - per_node) / e / nic);
}

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

// The GEMMs an engine launches for a layer's linears: a linear fused with the one before it
// (same input) widens that GEMM's output.
std::vector<LayerLinear> as_launched(const std::vector<LayerLinear>& linears) {
  std::vector<LayerLinear> gemms;
  for (const LayerLinear& l : linears) {
    if (l.fused_with_previous && !gemms.empty())
      gemms.back().out += l.out;
    else
      gemms.push_back(l);
  }
  return gemms;
}

}  // namespace

IterationModel::IterationModel(const ModelConfig& m, const ServingDeployment& d, const EfficiencyConstants& c)
    : m_(m), d_(d), c_(c) {
  const ModelAccount a = account_model(m);
  attention_weights_ = attention_params(m);
  moe_layers_ = static_cast<double>(m.moe_layer_count());
  dense_layers_ = static_cast<double>(m.num_layers) - moe_layers_;
  dense_ffn_ = ffn_params(m, m.ffn_intermediate_size);
  if (m.is_moe()) {
    expert_ = ffn_params(m, m.moe.expert_intermediate_size);
    shared_ = static_cast<double>(m.moe.shared_experts) * ffn_params(m, shared_expert_width(m)) +
              static_cast<double>(m.hidden_size * m.moe.routed_experts);  // + the router
  }
  // Embedding and output head (once when tied), kept in BF16 (DeepSeek-V3 inference/model.py:
  // ParallelEmbedding and ColumnParallelLinear(..., dtype=torch.get_default_dtype())).
  vocab_weights_ = a.component("embedding").params + a.component("output_head").params;
  kv_bytes_per_layer_ = kv_cache_bytes_per_token_per_layer(m, d.kv_dtype);
  local_moe_layers_ = static_cast<double>(m.moe_local_layer_count());
  local_dense_layers_ = static_cast<double>(m.local_layer_count()) - local_moe_layers_;
  dense_linears_ = as_launched(layer_linears(m, false));
  if (m.is_moe()) {
    moe_linears_ = as_launched(layer_linears(m, true));
    placement_imbalance_ = placement_imbalance(m.moe.routed_experts, d.ep, d.redundant_experts, c.expert_load_cv, d.eplb);
  }
}

double IterationModel::kv_capacity_tokens(std::int64_t gpus, std::int64_t context) const {
  const double weight_bytes = d_.fp8_weights ? 1.0 : 2.0;
  const double ep = static_cast<double>(std::min(d_.ep, gpus));
  const double slots = m_.is_moe() ? static_cast<double>(m_.moe.routed_experts + d_.redundant_experts) : 0.0;
  const double replicated = static_cast<double>(m_.num_layers) * attention_weights_ + dense_layers_ * dense_ffn_ +
                            moe_layers_ * shared_;
  const double tp = static_cast<double>(d_.tp);
  const double per_gpu_weights =
      (replicated / tp + moe_layers_ * slots * expert_ / ep) * weight_bytes + vocab_weights_ / tp * 2.0;
  const double free = d_.gpu.hbm_bytes * (1.0 - c_.memory_reserve_fraction) - per_gpu_weights;
  if (free <= 0) return 0.0;
  // MLA's latent is shared by all heads, so tensor-parallel ranks each keep all of it; GQA's KV
  // heads split over TP up to their number.
  const AttentionConfig& a = m_.attention;
  const double replication = a.kind == AttentionKind::mla
                                 ? static_cast<double>(d_.tp)
                                 : std::max(1.0, static_cast<double>(d_.tp) / static_cast<double>(a.num_kv_heads));
  return free * static_cast<double>(gpus) / (kv_cache_bytes_per_token(m_, d_.kv_dtype, context) * replication);
}

// The busiest GPU's routed copies over the mean: the placement's (expert_placement.hpp: the
// experts' loads spread as expert_load_cv says, EPLB placing the redundant slots) plus what a
// batch of `copies_per_gpu` copies a GPU adds by chance.
double IterationModel::expert_imbalance(std::int64_t gpus, double copies_per_gpu) const {
  if (!m_.is_moe()) return 1.0;
  const std::int64_t ep = std::min(d_.ep, gpus);
  const double placement = ep == d_.ep ? placement_imbalance_
                                       : placement_imbalance(m_.moe.routed_experts, ep, d_.redundant_experts, c_.expert_load_cv, d_.eplb);
  return placement + sampling_excess(ep, copies_per_gpu);
}

IterationBreakdown IterationModel::breakdown(std::int64_t gpus, const IterationLoad& load) const {
  const ModelConfig& m = m_;
  const ServingDeployment& d = d_;
  const EfficiencyConstants& c = c_;
  IterationBreakdown b;
  b.overhead_s = c.serving_iteration_overhead_s;
  const double g = static_cast<double>(gpus);
  const double dp_ranks = g / static_cast<double>(d.tp);
  const double verify = rows_per_decode_step(d);
  const double decode_tokens = load.decode_sequences * verify;
  const double tokens = decode_tokens + load.prefill_tokens;
  if (tokens <= 0) {
    b.total_s = b.overhead_s;
    return b;
  }
  const bool fp8 = d.fp8_weights && d.gpu.fp8_flops > 0;
  const double weight_bytes = fp8 ? 1.0 : 2.0;
  const double hbm = d.gpu.hbm_bandwidth * c.decode_hbm;
  // Attention scores on BF16 Tensor Cores, or FP8 ones with FP8 queries and KV cache (fp8_attention).
  const double attention_peak = d.fp8_attention && d.gpu.fp8_flops > 0 ? d.gpu.fp8_flops : d.gpu.bf16_flops;
  // A GEMM of `rows` tokens (per group) against `groups` weight matrices of in x out: the GEMM
  // model's compute roofline (gemm_model.hpp: wave quantisation and K) at the serving kernel's
  // base efficiency (FP8: DeepGEMM's, efficiency.hpp), or streaming the weights, its rows and its
  // output at a memory-bound GEMM's share of the bandwidth (serving_gemm_time), the slower.
  // The output head stays in BF16 whatever the weights (DeepSeek-V3 inference/model.py builds it
  // as ColumnParallelLinear(args.dim, args.vocab_size, dtype=torch.get_default_dtype())).
  const double fp8_base = c.gemm_fp8_deepgemm;
  const double bf16_base = gemm_base_efficiency(GemmPrecision::bf16, d.gpu, c);
  auto gemm = [&](double rows, double in, double out, double groups, bool bf16) {
    const bool low = fp8 && !bf16;
    return serving_gemm_time({rows, out, in, groups}, low ? d.gpu.fp8_flops : d.gpu.bf16_flops, low ? fp8_base : bf16_base,
                             low ? 1.0 : 2.0, d.gpu, c);
  };
  // Every linear of a layer but the routed experts, on the rows of one attention-data-parallel
  // rank, split over its tensor-parallel group as Megatron splits them (layer_linears.hpp).
  auto replicated_linears = [&](double rows, bool moe) {
    const double tp = static_cast<double>(d.tp);
    double t = 0;
    for (const LayerLinear& l : moe ? moe_linears_ : dense_linears_) {
      if (l.role == LinearRole::routed_expert) continue;
      t += gemm(rows, l.split == TensorSplit::input ? l.in / tp : l.in, l.split == TensorSplit::output ? l.out / tp : l.out, 1,
                false);
    }
    // The router, in BF16 (V3 report §3.3.1), on every token.
    if (moe) t += gemm(rows, static_cast<double>(m.hidden_size), static_cast<double>(m.moe.routed_experts), 1, true);
    return t;
  };

  // One layer on one GPU for `layer_tokens` tokens of the instance, `prefill_rows` of them prompt
  // tokens attending to `prefill_keys` keys in all, the rest decoding sequences whose caches hold
  // `decode_context` keys in all, each with `queries` query tokens. Returns computation; adds MoE
  // layers' all-to-all to `comm`.
  double comm = 0;
  // The busiest rank's prompt tokens over a rank's even share (IterationLoad::prefill_busiest_rank).
  const double prefill_spread = load.prefill_tokens / dp_ranks;
  const double busiest_rank =
      prefill_spread > 0 ? std::max(1.0, load.prefill_busiest_rank / prefill_spread) : 1.0;
  auto layer = [&](double layer_tokens, double prefill_rows, double queries, double decode_context, double prefill_keys,
                   bool moe) {
    // Per rank: its share of the decoding rows and the busiest rank's prompt rows.
    const double rows = (layer_tokens - prefill_rows) / dp_ranks + prefill_rows / dp_ranks * busiest_rank;
    double dense = replicated_linears(rows, moe);
    // Attention scores, heads split over TP, sequences over the DP ranks: decode (FlashMLA-class,
    // reading each sequence's cache) and prefill (FlashAttention-class, compute-bound).
    const double decode_flops = attention_flops_per_key(m, true) * decode_context * queries / g;
    const double decode_bytes = decode_context * kv_bytes_per_layer_ / dp_ranks;  // read once per step
    const double attention = std::max(decode_flops / (attention_peak * c.decode_attention), decode_bytes / hbm) +
                             attention_flops_per_key(m, false) * prefill_keys * busiest_rank / g /
                                 (attention_peak * c.attention_fwd);
    double experts = 0;
    if (moe) {
      // Routed experts: the instance's tokens x top-k copies spread over its GPUs, the busiest
      // carrying expert_imbalance times the mean, on slots / EP local experts of which the batch
      // touches E (1 - (1 - k/E)^T) / E (each EP group serves gpus / EP of the instance's tokens):
      // one grouped GEMM per expert matrix, the rows shared among the local experts touched.
      const double ep = static_cast<double>(std::min(d.ep, gpus));
      const double k = static_cast<double>(m.moe.top_k);
      const double imbalance = expert_imbalance(gpus, layer_tokens * k / g);
      const double routed_rows = layer_tokens * k / g * imbalance;
      const double slots = static_cast<double>(m.moe.routed_experts + d.redundant_experts) / ep;
      const double touched = expected_experts_touched(m, layer_tokens * ep / g) / static_cast<double>(m.moe.routed_experts);
      const double local = std::max(1.0, slots * touched);
      for (const LayerLinear& l : moe_linears_)
        if (l.role == LinearRole::routed_expert) experts += gemm(routed_rows / local, l.in, l.out, local, false);
      if (d.ep > 1) {
        // Dispatch (FP8 with FP8 weights) and combine (BF16). Decode tokens go through DeepEP's
        // low-latency kernels: every top-k copy that leaves the GPU, those for the node's GPUs over
        // NVLink and the rest over RDMA (low_latency_all_to_all_s). Prefill tokens go through the
        // normal kernels: one copy per remote node over RDMA, forwarded inside the node over NVLink
        // (node-limited routing, communication.hpp), the slower link setting the pace.
        const double decode_share = (layer_tokens - prefill_rows) / g;
        const double prefill_share = prefill_rows / g * busiest_rank;  // the busiest rank sends its prompts' copies
        const double pass_bytes = weight_bytes + 2.0;
        const double ll = low_latency_all_to_all_s(m, d, std::min(d.ep, gpus), decode_share,
                                                   static_cast<double>(m.hidden_size) * pass_bytes, c);
        const AllToAllBytes normal = all_to_all_bytes_per_token(m, d.ep, d.gpu.gpus_per_node, pass_bytes);
        const double nl = prefill_share * std::max(normal.scaleout / (d.gpu.scaleout_bandwidth * c.scaleout),
                                                   normal.nvlink / (d.gpu.nvlink_bandwidth * c.nvlink));
        // Every GPU waits for the busiest one to receive and return its copies: the transfer takes
        // its share, expert_imbalance times the mean (LMSYS's decode profile: dispatch and
        // combine 'busy-waiting for data'; as in training, training_step.cpp).
        comm += imbalance * (ll + nl) + 2.0 * c.collective_latency_s;
      }
    }
    b.dense_s += dense;
    b.attention_s += attention;
    b.experts_s += experts;
    return dense + attention + experts;
  };

  // Layers of one kind cost the same: one of each kind, times its count.
  double compute = 0, exposed = 0;
  auto add_layers = [&](double count, double layer_tokens, double prefill_rows, double queries, double decode_context,
                        double prefill_keys, bool moe) {
    if (count <= 0) return;
    const IterationBreakdown parts_before = b;
    const double comm_before = comm;
    const double work = layer(layer_tokens, prefill_rows, queries, decode_context, prefill_keys, moe);
    const double layer_comm = comm - comm_before;
    b.attention_s = parts_before.attention_s + count * (b.attention_s - parts_before.attention_s);
    b.experts_s = parts_before.experts_s + count * (b.experts_s - parts_before.experts_s);
    b.dense_s = parts_before.dense_s + count * (b.dense_s - parts_before.dense_s);
    comm = comm_before + count * layer_comm;
    compute += count * work;
    // Two micro-batches: one's dispatch and combine run beside the other's computation, and, as
    // in training, the overlap hides less than the schedule allows: of the part it could hide,
    // overlap_shortfall still costs the iteration (efficiency.hpp; LMSYS's decode profile shows
    // DeepEP's kernels busy-waiting, and its prefill profile slower kernels under overlap). A
    // single sequence per rank cannot be split and waits for its own; without the overlap every
    // layer waits for its own.
    const bool two_micro_batches = d.two_batch_overlap && layer_tokens / dp_ranks >= 2.0;
    exposed += count * (two_micro_batches ? overlap_cost(layer_comm, std::max(0.0, layer_comm - work), c.overlap_shortfall)
                                          : layer_comm);
  };
  // Local layers (sliding window or chunk of W) read at most W keys per query and keep at most W
  // per sequence; only the totals are known here, so a batch's keys are capped at W per sequence
  // (decode) or per prompt token (prefill): exact when every sequence is past W.
  const double w = static_cast<double>(m.attention.window);
  const double local_decode = std::min(load.decode_context, load.decode_sequences * w);
  const double local_prefill = std::min(load.prefill_context, load.prefill_tokens * w);
  add_layers(dense_layers_ - local_dense_layers_, tokens, load.prefill_tokens, verify, load.decode_context, load.prefill_context, false);
  add_layers(local_dense_layers_, tokens, load.prefill_tokens, verify, local_decode, local_prefill, false);
  add_layers(moe_layers_ - local_moe_layers_, tokens, load.prefill_tokens, verify, load.decode_context, load.prefill_context, true);
  add_layers(local_moe_layers_, tokens, load.prefill_tokens, verify, local_decode, local_prefill, true);
  // MTP speculative decoding: the draft module, one more block on one token per sequence.
  if (d.mtp_acceptance > 0 && m.mtp_depth > 0 && load.decode_sequences > 0)
    add_layers(1, load.decode_sequences, 0, 1.0, load.decode_context, 0, m.is_moe());
  // Output head on the decoded tokens (prefill needs only each prompt's last).
  const double head = gemm(decode_tokens / dp_ranks, static_cast<double>(m.hidden_size),
                           static_cast<double>(m.vocab_size) / static_cast<double>(d.tp), 1, true);
  b.dense_s += head;
  compute += head;
  b.comm_s = comm;
  b.exposed_comm_s = exposed;
  b.total_s = compute + exposed + b.overhead_s;
  return b;
}

double kv_capacity_tokens(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus, const EfficiencyConstants& c,
                          std::int64_t context) {
  return IterationModel(m, d, c).kv_capacity_tokens(gpus, context);
}

double iteration_time(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus, const IterationLoad& load,
                      const EfficiencyConstants& c) {
  return IterationModel(m, d, c).time(gpus, load);
}

}  // namespace frugal::sim
