// Step time of one training stage: every operation of one micro-batch through the whole model on
// one GPU (tensor-parallel share), spread over the pipeline stages, then communication, overlap,
// pipeline bubble, data-parallel gradient traffic and the optimizer.
#include <algorithm>
#include <cmath>
#include <utility>

#include "frugal/sim/adapters.hpp"
#include "frugal/sim/communication.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/pipeline_layout.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

std::int64_t resolved_dp(const Parallelism& p, std::int64_t gpus) {
  return p.dp > 0 ? p.dp : gpus / std::max<std::int64_t>(1, p.tp * p.pp * p.cp);
}

std::int64_t gradient_group(const Parallelism& p, std::int64_t gpus) { return resolved_dp(p, gpus) * p.cp; }

std::int64_t expert_gradient_group(const Parallelism& p, std::int64_t gpus) {
  return std::max<std::int64_t>(1, resolved_dp(p, gpus) * p.tp * p.cp / std::max<std::int64_t>(1, p.ep));
}

AttentionEfficiency attention_efficiency(AttentionKernel kernel, const EfficiencyConstants& c) {
  switch (kernel) {
    case AttentionKernel::flash_attention_1:
      return {c.attention_fwd / c.flash_attention_2_speedup_over_1, c.attention_bwd / c.flash_attention_2_speedup_over_1};
    case AttentionKernel::flash_attention_2: return {c.attention_fwd, c.attention_bwd};
    case AttentionKernel::hopper_fused: return {c.attention_fwd_hopper, c.attention_bwd_hopper};
  }
  return {c.attention_fwd, c.attention_bwd};
}

namespace {

// Seconds one micro-batch costs one GPU, whole model (not yet divided among pipeline stages).
struct MicroBatchWork {
  double gemm_fwd = 0, gemm_bwd = 0, gemm_wgrad = 0;
  double attention_fwd = 0, attention_bwd = 0;
  double memory_fwd = 0;  // element-wise kernels; their backward costs twice the forward
  double quantize_fwd = 0, quantize_bwd = 0;  // FP8 casts around the FP8 GEMMs; QLoRA's NF4 dequantization
  double recompute = 0;
  double ep_fwd = 0, ep_bwd = 0;
  double tp_fwd = 0, tp_bwd = 0;      // exposed (all of it without tp_comm_overlap)
  double tp_before_overlap = 0;        // forward and backward, for the report
  double cp_fwd = 0, cp_bwd = 0;  // ring-attention K/V traffic, overlapped with the attention
  double moe_fixed = 0;  // MoE layers' fixed cost, forward (the backward pays it again)
};

// Every field of MicroBatchWork, for sums and scalings of whole records.
constexpr double MicroBatchWork::*kWorkFields[] = {
    &MicroBatchWork::gemm_fwd,     &MicroBatchWork::gemm_bwd,  &MicroBatchWork::gemm_wgrad,
    &MicroBatchWork::attention_fwd, &MicroBatchWork::attention_bwd, &MicroBatchWork::memory_fwd,
    &MicroBatchWork::quantize_fwd, &MicroBatchWork::quantize_bwd, &MicroBatchWork::recompute,
    &MicroBatchWork::ep_fwd,       &MicroBatchWork::ep_bwd,    &MicroBatchWork::tp_fwd,
    &MicroBatchWork::tp_bwd,       &MicroBatchWork::tp_before_overlap, &MicroBatchWork::cp_fwd,
    &MicroBatchWork::cp_bwd,       &MicroBatchWork::moe_fixed};

// a + k b, field by field.
MicroBatchWork plus_scaled(MicroBatchWork a, const MicroBatchWork& b, double k) {
  for (auto field : kWorkFields) a.*field += k * (b.*field);
  return a;
}

// One micro-batch's work in the parts a pipeline places on different ranks.
struct ModelWork {
  MicroBatchWork layers;  // every transformer layer
  MicroBatchWork head;    // the output layer and the cross-entropy
  MicroBatchWork mtp;     // all MTP modules (projection, block, the shared head each)
  MicroBatchWork total() const { return plus_scaled(plus_scaled(layers, head, 1.0), mtp, 1.0); }
};

class WorkCounter {
 public:
  WorkCounter(const TrainingRun& run, const TrainingStage& stage, const EfficiencyConstants& c)
      : run_(run), m_(run.model), gpu_(run.gpu), c_(c), tp_(static_cast<double>(run.parallel.tp)),
        tokens_(static_cast<double>(run.parallel.micro_batch * stage.seq_len) / static_cast<double>(run.parallel.cp)),
        seq_len_(stage.seq_len),
        linear_(run.precision == PrecisionRecipe::fp8 ? GemmPrecision::fp8 : GemmPrecision::bf16),
        frozen_(run.adapters.frozen_base()) {}

  ModelWork count() {
    // Layers of one kind cost the same: each kind once, times its count (model_config.hpp counts
    // them in closed form), so no work grows with a depth someone typed.
    ModelWork parts;
    const std::int64_t moe = m_.moe_layer_count(), local = m_.local_layer_count(), both = m_.moe_local_layer_count();
    add_layers(m_.num_layers - moe - local + both, false, false);
    add_layers(local - both, false, true);
    add_layers(moe - both, true, false);
    add_layers(both, true, true);
    parts.layers = std::exchange(w_, MicroBatchWork{});
    add_head();
    parts.head = std::exchange(w_, MicroBatchWork{});
    // MTP module k (V3 report §2.2): M_k projection, one transformer block, the shared head.
    for (std::int64_t k = 0; k < m_.mtp_depth; ++k) {
      add_gemm(tokens_, d(), 2 * d(), 1, linear_);
      add_layer(m_.is_moe(), false);
      add_head();
    }
    parts.mtp = std::exchange(w_, MicroBatchWork{});
    return parts;
  }

 private:
  double d() const { return static_cast<double>(m_.hidden_size); }

  // Forward GEMM [m x k] x [k x n]; backward: data gradient [m x n] x [n x k] and weight gradient
  // [n x m] x [m x k], each as many FLOPs as the forward. A frozen base weight (LoRA, QLoRA) needs
  // no weight gradient; the data gradient still flows through it to the layers below.
  void add_gemm(double m, double n, double k, double groups, GemmPrecision p, bool recompute_later = false) {
    add_weight_gemm(m, n, k, groups, p, recompute_later, !frozen_);
    if (run_.adapters.method == FinetuneMethod::qlora) add_nf4_dequantization(n * k * groups, recompute_later);
  }

  void add_weight_gemm(double m, double n, double k, double groups, GemmPrecision p, bool recompute_later, bool trained) {
    const double fwd = gemm_time({m, n, k, groups}, p, gpu_, c_);
    const double wgrad = trained ? gemm_time({n, k, m, groups}, p, gpu_, c_) : 0.0;
    w_.gemm_fwd += fwd;
    w_.gemm_bwd += gemm_time({m, k, n, groups}, p, gpu_, c_) + wgrad;
    w_.gemm_wgrad += wgrad;
    if (recompute_later) w_.recompute += fwd;
    if (p == GemmPrecision::fp8) add_fp8_casts(m * groups, n, k);
  }

  // QLoRA keeps the base in NF4 and dequantizes each weight to BF16 before its GEMM, forward and
  // again for the data gradient (QLoRA §3: "we dequantize the storage data type to the computation
  // data type to perform the forward and backward pass"): read 4.127 bits, write 2 bytes, per
  // parameter and pass; a recomputed forward dequantizes once more.
  void add_nf4_dequantization(double params, bool recompute_later) {
    const double pass = params * (kNf4BitsPerParameter / 8.0 + 2.0) / (gpu_.hbm_bandwidth * c_.hbm);
    w_.quantize_fwd += pass;
    w_.quantize_bwd += pass;
    if (recompute_later || run_.recompute == Recompute::full) w_.recompute += pass;
  }

  // Low-rank adapters on this layer's targeted linears: x -> A x (in -> r) -> B (A x) (r -> out),
  // trained, so each runs forward, data gradient and weight gradient (LoRA §4.1). Routed experts'
  // adapters see top_k copies of each token.
  void add_adapters(bool moe) {
    if (!frozen_) return;
    const double r = static_cast<double>(run_.adapters.rank);
    for (const AdaptedLinear& l : adapted_linears(m_, moe, run_.adapters.targets)) {
      const double rows = tokens_ * l.copies_per_token;
      add_weight_gemm(rows, r, l.in, 1, GemmPrecision::bf16, false, true);
      add_weight_gemm(rows, l.out, r, 1, GemmPrecision::bf16, false, true);
    }
  }

  // An FP8 GEMM's operands are quantized by a separate pass through HBM: "we need to read 128
  // BF16 activation values ... from HBM for quantization, and the quantized FP8 values are then
  // written back to HBM, only to be read again for MMA" (V3 report §3.5.2). Forward: the input
  // [rows x k], read in BF16 and written in FP8 (3 bytes an element). Backward: the output
  // gradient [rows x n] the same way, and the cached FP8 input read and written transposed for
  // the weight gradient (2 bytes an element; §3.5.2 describes this transpose too). Weights are
  // cast once per step, not per micro-batch, and are left out.
  void add_fp8_casts(double rows, double n, double k) {
    const double bandwidth = gpu_.hbm_bandwidth * c_.hbm;
    w_.quantize_fwd += 3.0 * rows * k / bandwidth;
    w_.quantize_bwd += (3.0 * rows * n + 2.0 * rows * k) / bandwidth;
  }

  // Element-wise work of `elements` 2-byte values read and written once, for the micro-batch.
  double memory_time(double elements_per_token, double tokens) const {
    return elements_per_token * 2.0 * tokens / (gpu_.hbm_bandwidth * c_.hbm);
  }

  void add_attention(bool local) {
    const AttentionConfig& a = m_.attention;
    const double h = static_cast<double>(a.num_heads);
    const bool selective = recomputes_selectively(run_.recompute);
    if (a.kind == AttentionKind::mla) {
      // V3 report §2.1.1; the up-projections are recomputed in backward under selective
      // recomputation (§3.2.3).
      const double qk = static_cast<double>(a.qk_head_dim());
      if (a.q_lora_rank > 0) {
        add_gemm(tokens_, static_cast<double>(a.q_lora_rank), d(), 1, linear_);
        add_gemm(tokens_, h * qk / tp_, static_cast<double>(a.q_lora_rank), 1, linear_, selective);
      } else {
        add_gemm(tokens_, h * qk / tp_, d(), 1, linear_);
      }
      add_gemm(tokens_, static_cast<double>(a.kv_lora_rank + a.qk_rope_head_dim), d(), 1, linear_);
      add_gemm(tokens_, h * static_cast<double>(a.qk_nope_head_dim + a.v_head_dim) / tp_,
               static_cast<double>(a.kv_lora_rank), 1, linear_, selective);
      add_gemm(tokens_, d(), h * static_cast<double>(a.v_head_dim) / tp_, 1, linear_);
    } else {
      const double qkv = (h + 2.0 * static_cast<double>(a.num_kv_heads)) * static_cast<double>(a.head_dim);
      add_gemm(tokens_, qkv / tp_, d(), 1, linear_);
      add_gemm(tokens_, d(), h * static_cast<double>(a.head_dim) / tp_, 1, linear_);
    }
    // Attention scores stay in BF16 (V3 report §3.3.1); FlashAttention-style kernels.
    const double flops = tokens_ * attention_score_flops_forward(m_, seq_len_, AttentionFlops::causal, local) / tp_;
    const AttentionEfficiency e = attention_efficiency(run_.attention_kernel, c_);
    const double attention_fwd = flops / (gpu_.bf16_flops * e.forward);
    const double attention_bwd = 2.0 * flops / (gpu_.bf16_flops * e.backward);
    w_.attention_fwd += attention_fwd;
    w_.attention_bwd += attention_bwd;
    add_context_parallel_traffic(attention_fwd, attention_bwd);
    // RoPE on queries and keys, read and written.
    const double rope = a.kind == AttentionKind::mla ? (h + 1.0) * static_cast<double>(a.qk_rope_head_dim)
                                                     : (h + static_cast<double>(a.num_kv_heads)) * static_cast<double>(a.head_dim);
    w_.memory_fwd += memory_time(2.0 * rope, tokens_ / tp_);
  }

  // SwiGLU reads gate and up, writes their product: 3 x I elements (GELU: 2 x I).
  double activation_elements(double intermediate) const {
    return (m_.ffn_activation == FfnActivation::swiglu ? 3.0 : 2.0) * intermediate;
  }

  void add_dense_ffn() {
    const double i = static_cast<double>(m_.ffn_intermediate_size);
    const double up = m_.ffn_activation == FfnActivation::swiglu ? 2.0 * i : i;
    add_gemm(tokens_, up / tp_, d(), 1, linear_);
    add_gemm(tokens_, d(), i / tp_, 1, linear_);
    const double act = memory_time(activation_elements(i) / tp_, tokens_);
    w_.memory_fwd += act;
    if (recomputes_selectively(run_.recompute)) w_.recompute += act;
  }

  void add_moe_ffn() {
    const MicroBatchWork before = w_;
    const MoeConfig& e = m_.moe;
    const Parallelism& p = run_.parallel;
    const double i = static_cast<double>(e.expert_intermediate_size);
    const double local_tokens = tokens_ / tp_;  // tokens are split across the tensor-parallel group
    const double top_k = static_cast<double>(e.top_k);
    const double up = m_.ffn_activation == FfnActivation::swiglu ? 2.0 * i : i;
    // Routed experts: E/EP local experts, each receiving the EP group's tokens x top_k / E on
    // average; the busiest GPU sets the pace (expert_load_imbalance).
    const double imbalance = expert_load_imbalance(run_, c_.moe_load_imbalance);
    const double local_experts = static_cast<double>(e.routed_experts / p.ep);
    const double per_expert = local_tokens * static_cast<double>(p.ep) * top_k / static_cast<double>(e.routed_experts) * imbalance;
    add_gemm(per_expert, up, d(), local_experts, linear_);
    add_gemm(per_expert, d(), i, local_experts, linear_);
    if (e.shared_experts > 0) {
      const double shared = static_cast<double>(e.shared_experts);
      const double width = static_cast<double>(shared_expert_width(m_));
      const double shared_up = m_.ffn_activation == FfnActivation::swiglu ? 2.0 * width : width;
      add_gemm(local_tokens, shared_up * shared, d(), 1, linear_);
      add_gemm(local_tokens, d(), width * shared, 1, linear_);
    }
    // The router stays in BF16 (V3 report §3.3.1).
    add_gemm(local_tokens, static_cast<double>(e.routed_experts), d(), 1, GemmPrecision::bf16);
    // Element-wise: activations of top-k + shared experts, gate scores, permute and unpermute of
    // the top-k copies, and the weighted combine.
    const double act = activation_elements(i) * top_k * imbalance +
                       activation_elements(static_cast<double>(shared_expert_width(m_))) * static_cast<double>(e.shared_experts);
    w_.memory_fwd += memory_time(act + 3.0 * static_cast<double>(e.routed_experts) + 5.0 * top_k * d(), local_tokens);
    const double act_time = memory_time(act, local_tokens);
    if (recomputes_selectively(run_.recompute)) w_.recompute += act_time;
    // An all-to-all ends when its busiest GPU has received its copies (dispatch) and sent them
    // back (combine): that GPU's share, imbalance times the mean, sets its length.
    add_all_to_all(local_tokens * imbalance);
    w_.moe_fixed += c_.moe_layer_fixed_s;
    if (run_.recompute == Recompute::moe) {
      // The block is replayed in backward from its input: its forward GEMMs and element-wise work
      // (the activations selective already counted are not counted twice), its dispatch and
      // combine, and its fixed cost.
      w_.recompute += (w_.gemm_fwd - before.gemm_fwd) + (w_.memory_fwd - before.memory_fwd) - act_time + c_.moe_layer_fixed_s;
      w_.ep_bwd += w_.ep_fwd - before.ep_fwd;
    }
  }

  // Dispatch and combine forward; their gradients backward (V3 report §3.3.3: dispatch in FP8,
  // combine and backward traffic in BF16).
  void add_all_to_all(double local_tokens) {
    const Parallelism& p = run_.parallel;
    if (p.ep <= 1) return;
    const double dispatch_bytes = run_.precision == PrecisionRecipe::fp8 ? 1.0 + 4.0 / 128.0 : 2.0;  // + 1x128 scales
    const AllToAllBytes one = all_to_all_bytes_per_token(m_, p.ep, gpu_.gpus_per_node, 1.0, p.ep_dispatcher);
    auto pass = [&](double bytes_per_element) {
      const double scaleout = local_tokens * one.scaleout * bytes_per_element / (gpu_.scaleout_bandwidth * c_.scaleout);
      const double nvlink = local_tokens * one.nvlink * bytes_per_element / (gpu_.nvlink_bandwidth * c_.nvlink);
      return std::max(scaleout, nvlink) + c_.collective_latency_s;
    };
    w_.ep_fwd += pass(dispatch_bytes) + pass(2.0);
    w_.ep_bwd += pass(2.0) + pass(2.0);
  }

  void add_layers(std::int64_t count, bool moe, bool local) {
    if (count <= 0) return;
    const MicroBatchWork before = w_;
    add_layer(moe, local);
    const double n = static_cast<double>(count);
    for (auto field : kWorkFields) w_.*field = before.*field + n * (w_.*field - before.*field);
  }

  void add_layer(bool moe, bool local) {
    // Two RMSNorms (read d, write d) and two residual adds (read 2d, write d), sequence-parallel.
    const double norms = memory_time(4.0 * d(), tokens_ / tp_);
    w_.memory_fwd += norms + memory_time(6.0 * d(), tokens_ / tp_);
    if (recomputes_selectively(run_.recompute)) w_.recompute += norms;
    const MicroBatchWork before = w_;
    add_attention(local);
    if (moe) add_moe_ffn();
    else add_dense_ffn();
    add_adapters(moe);
    if (run_.recompute == Recompute::full)  // replay the whole layer's forward in backward
      w_.recompute += (w_.gemm_fwd - before.gemm_fwd) + (w_.attention_fwd - before.attention_fwd) +
                      (w_.memory_fwd - before.memory_fwd) + norms;
    add_tensor_parallel_traffic(w_.gemm_fwd - before.gemm_fwd, w_.gemm_bwd - before.gemm_bwd);
  }

  // Ring attention (context parallelism): each GPU's keys and values visit the other cp - 1 GPUs
  // forward; backward sends them again with their gradients. It overlaps with the attention
  // computation, so only what exceeds it is exposed.
  void add_context_parallel_traffic(double attention_fwd, double attention_bwd) {
    const Parallelism& p = run_.parallel;
    if (p.cp <= 1) return;
    const AttentionConfig& a = m_.attention;
    const double kv_elements = a.kind == AttentionKind::mla
                                   ? static_cast<double>(a.num_heads * (a.qk_head_dim() + a.v_head_dim)) / tp_
                                   : 2.0 * static_cast<double>(a.num_kv_heads * a.head_dim) / std::min(tp_, static_cast<double>(a.num_kv_heads));
    const bool in_node = p.tp * p.cp <= gpu_.gpus_per_node;
    const double link = in_node ? gpu_.nvlink_bandwidth * c_.nvlink : gpu_.scaleout_bandwidth * c_.scaleout;
    const double one_pass = tokens_ * kv_elements * 2.0 * static_cast<double>(p.cp - 1) / link;
    w_.cp_fwd += overlap_cost(one_pass, overlapped_exposed_time(one_pass, attention_fwd), c_.overlap_shortfall);
    w_.cp_bwd += overlap_cost(2.0 * one_pass, overlapped_exposed_time(2.0 * one_pass, attention_bwd), c_.overlap_shortfall);
  }

  // Megatron-style TP with sequence parallelism: per layer, two all-gathers and two
  // reduce-scatters of the activations forward (the bytes of two all-reduces), the same backward.
  // With tp_comm_overlap each is pipelined with the layer's GEMMs in tp chunks; only what
  // pipelined_exposed_time leaves is counted in tp_fwd / tp_bwd.
  void add_tensor_parallel_traffic(double layer_gemm_fwd, double layer_gemm_bwd) {
    const std::int64_t tp = run_.parallel.tp;
    if (tp <= 1) return;
    const double bytes = tokens_ * d() * 2.0;
    const double t = 2.0 * (ring_all_reduce_time(bytes, tp, gpu_.nvlink_bandwidth * c_.nvlink) + c_.collective_latency_s);
    w_.tp_before_overlap += 2.0 * t;
    if (!run_.parallel.tp_comm_overlap) {
      w_.tp_fwd += t;
      w_.tp_bwd += t;
      return;
    }
    w_.tp_fwd += overlap_cost(t, pipelined_exposed_time(t, layer_gemm_fwd, tp), c_.overlap_shortfall);
    w_.tp_bwd += overlap_cost(t, pipelined_exposed_time(t, layer_gemm_bwd, tp), c_.overlap_shortfall);
  }

  // Output head (BF16, V3 report §3.3.1) and the cross-entropy over the vocabulary shard.
  void add_head() {
    const double vocab = static_cast<double>(m_.vocab_size) / tp_;
    add_weight_gemm(tokens_, vocab, d(), 1, GemmPrecision::bf16, false, !frozen_);  // QLoRA leaves it in BF16
    w_.memory_fwd += memory_time(3.0 * vocab, tokens_);
  }

  const TrainingRun& run_;
  const ModelConfig& m_;
  const GpuSpec& gpu_;
  const EfficiencyConstants& c_;
  double tp_;
  double tokens_;
  std::int64_t seq_len_;
  GemmPrecision linear_;
  bool frozen_;  // LoRA / QLoRA: base weights get no gradient
  MicroBatchWork w_;
};

// One micro-batch's time on a rank with no overlap, to find the busiest rank.
double serial_time(const MicroBatchWork& w) {
  return w.gemm_fwd + w.gemm_bwd + w.attention_fwd + w.attention_bwd + 3.0 * w.memory_fwd + w.quantize_fwd +
         w.quantize_bwd + w.recompute + 2.0 * w.moe_fixed + w.ep_fwd + w.ep_bwd + w.tp_fwd + w.tp_bwd + w.cp_fwd + w.cp_bwd;
}

// The work one micro-batch gives the busiest pipeline rank, which sets the pipeline's pace: its
// share of the layers (each costing the model's average layer), plus the output head and MTP
// modules where the layout puts them (pipeline_layout.hpp). DualPipe gives each rank two chunks
// from opposite ends of the model, so it is taken as balanced: the model's work over pp.
MicroBatchWork busiest_rank_work(const TrainingRun& run, const ModelWork& parts) {
  const Parallelism& p = run.parallel;
  const MicroBatchWork total = parts.total();
  if (p.pp <= 1) return total;
  if (p.schedule == PipelineSchedule::dualpipe) return plus_scaled(MicroBatchWork{}, total, 1.0 / static_cast<double>(p.pp));
  const ModelConfig& m = run.model;
  const double per_mtp = m.mtp_depth > 0 ? 1.0 / static_cast<double>(m.mtp_depth) : 0.0;
  MicroBatchWork busiest;
  double busiest_time = -1.0;
  for (const RankLoad& r : pipeline_rank_loads(p.pipeline_layout, m.num_layers, m.mtp_depth, p.pp,
                                               pipeline_chunks_per_rank(p), "parallelism.pipeline_layout")) {
    MicroBatchWork w = plus_scaled(MicroBatchWork{}, parts.layers, r.layers / static_cast<double>(m.num_layers));
    w = plus_scaled(plus_scaled(w, parts.head, r.heads), parts.mtp, r.mtp_modules * per_mtp);
    if (const double t = serial_time(w); t > busiest_time) {
      busiest = w;
      busiest_time = t;
    }
  }
  return busiest;
}

}  // namespace

ParametersPerGpu parameters_per_gpu(const TrainingRun& run) {
  const ModelConfig& model = run.model;
  const ModelAccount a = account_model(model);
  // Routed experts of the main model plus those of each MTP module's MoE block.
  const double routed_per_layer =
      model.is_moe() ? a.component("routed_experts").params / static_cast<double>(model.moe_layer_count()) : 0.0;
  const double routed = a.component("routed_experts").params + static_cast<double>(model.mtp_depth) * routed_per_layer;
  const double dense = a.total_params_with_mtp - routed;
  const Parallelism& p = run.parallel;
  const double copies = parameter_copies(p.schedule, p.pp);
  const double dense_share = copies / static_cast<double>(p.tp * p.pp), expert_share = copies / static_cast<double>(p.ep * p.pp);
  ParametersPerGpu out;
  out.dense = dense * dense_share;
  out.expert = routed * expert_share;
  out.trainable_dense = out.dense;
  out.trainable_expert = out.expert;
  out.weight_bytes_dense = 2.0 * out.dense;
  out.weight_bytes_expert = 2.0 * out.expert;
  if (run.adapters.frozen_base()) {
    const AdapterParameters adapters = adapter_parameters(model, run.adapters);
    out.trainable_dense = (adapters.total - adapters.routed) * dense_share;
    out.trainable_expert = adapters.routed * expert_share;
  }
  if (run.adapters.method == FinetuneMethod::qlora) {
    // Every routed expert is a linear layer, so quantized; of the rest, what is not embedding,
    // norms or head.
    const double nf4 = kNf4BitsPerParameter / 8.0;
    const double dense_quantized = quantized_base_parameters(model) - a.component("routed_experts").params;
    out.weight_bytes_dense = (2.0 * (dense - dense_quantized) + nf4 * dense_quantized) * dense_share;
    out.weight_bytes_expert = nf4 * out.expert;
  }
  return out;
}

StepBreakdown step_time(const TrainingRun& run, const TrainingStage& stage, const EfficiencyConstants& c) {
  const Parallelism& p = run.parallel;
  const GpuSpec& gpu = run.gpu;
  const std::int64_t dp = resolved_dp(p, run.gpus);
  const MicroBatchWork w = busiest_rank_work(run, WorkCounter(run, stage, c).count());

  StepBreakdown s;
  s.micro_batches = stage.global_batch / (p.micro_batch * dp);
  const double m = static_cast<double>(s.micro_batches);

  // One micro-batch on the busiest rank.
  const double fwd_compute = w.gemm_fwd + w.attention_fwd + w.memory_fwd + w.quantize_fwd + w.moe_fixed;
  const double bwd_compute = w.gemm_bwd + w.attention_bwd + 2.0 * w.memory_fwd + w.quantize_bwd + w.recompute + w.moe_fixed;
  const double wgrad = w.gemm_wgrad;
  // Activations to the next stage forward, gradients back, across nodes once the cluster spans them.
  const bool multi_node = run.gpus > gpu.gpus_per_node;
  const double pp_link = multi_node ? gpu.scaleout_bandwidth * c.scaleout : gpu.nvlink_bandwidth * c.nvlink;
  const double pp_one = p.pp > 1 ? static_cast<double>(p.micro_batch * stage.seq_len) * static_cast<double>(run.model.hidden_size) * 2.0 /
                                           static_cast<double>(p.tp * p.cp) / pp_link + c.collective_latency_s
                                 : 0.0;
  const double ep_fwd = w.ep_fwd, ep_bwd = w.ep_bwd;
  const double tp_fwd = w.tp_fwd + w.cp_fwd, tp_bwd = w.tp_bwd + w.cp_bwd;

  double f = 0, b = 0, wg = 0;
  if (p.schedule == PipelineSchedule::dualpipe) {
    // Computation loses the SMs given to communication; all-to-all and PP traffic hide behind it.
    const double slow = static_cast<double>(gpu.sms) / (static_cast<double>(gpu.sms) - c.dualpipe_comm_sms);
    f = fwd_compute * slow + std::max(0.0, ep_fwd + pp_one - fwd_compute * slow) + tp_fwd;
    b = bwd_compute * slow + std::max(0.0, ep_bwd + pp_one - bwd_compute * slow) + tp_bwd;
    wg = wgrad * slow;
  } else if (p.ep_comm_overlap && ep_fwd + ep_bwd > 0) {
    // One micro-batch's forward runs beside another's backward: the all-to-all of each hides
    // behind the other's computation; what outlasts it shows, and the overlap's shortfall of the
    // rest (efficiency.hpp), as for the other overlaps.
    const double ep = ep_fwd + ep_bwd, compute = fwd_compute + bwd_compute;
    const double ep_cost = overlap_cost(ep, overlapped_exposed_time(ep, compute), c.overlap_shortfall);
    f = fwd_compute + ep_cost * ep_fwd / ep + tp_fwd + pp_one;
    b = bwd_compute + ep_cost * ep_bwd / ep + tp_bwd + pp_one;
    wg = wgrad;
  } else {
    f = fwd_compute + ep_fwd + tp_fwd + pp_one;
    b = bwd_compute + ep_bwd + tp_bwd + pp_one;
    wg = wgrad;
  }
  s.forward_s = f;
  s.backward_s = b;
  s.weight_grad_s = wg;
  s.gemm_s = m * (w.gemm_fwd + w.gemm_bwd);
  s.attention_s = m * (w.attention_fwd + w.attention_bwd);
  s.memory_bound_s = m * (3.0 * w.memory_fwd + w.quantize_fwd + w.quantize_bwd);
  s.recompute_s = m * w.recompute;
  s.ep_comm_s = m * (ep_fwd + ep_bwd);
  s.tp_comm_s = m * w.tp_before_overlap;
  s.cp_comm_s = m * (w.cp_fwd + w.cp_bwd);
  s.pp_comm_s = m * 2.0 * pp_one;
  s.compute_s = m * (fwd_compute + bwd_compute);
  s.bubble_s = bubble_time(p.schedule, p.pp, p.virtual_stages, f, b, wg);

  // Data parallelism: gradients in the run's reduction precision (training.gradient_reduce: BF16,
  // or FP32 as Megatron-LM reduces them), parameters gathered in BF16 (an all-reduce without ZeRO
  // moves the bytes of a reduce-scatter plus an all-gather). Non-expert parameters over the DP
  // group, expert parameters over the expert-DP group (dp x tp / ep). Megatron orders ranks TP, CP, EP, DP, PP
  // (fastest first), so a DP group has gpus_per_node / TP members in each node (an expert-DP
  // group gpus_per_node / EP) and uses that many NICs per node.
  const ParametersPerGpu params = parameters_per_gpu(run);
  const double nvlink = gpu.nvlink_bandwidth * c.nvlink, scaleout = gpu.scaleout_bandwidth * c.scaleout;
  const std::int64_t expert_dp = expert_gradient_group(p, run.gpus);
  const std::int64_t replicas = gradient_group(p, run.gpus);
  const std::int64_t per_node = std::max<std::int64_t>(1, gpu.gpus_per_node / p.tp);
  const std::int64_t expert_per_node = std::max<std::int64_t>(1, gpu.gpus_per_node / p.ep);
  // One pass over some bytes per parameter: the trained parameters' gradients, their updated BF16
  // weights, or the stored weights, which ZeRO-3 gathers (the same bytes as the updated weights
  // unless the base is frozen).
  auto pass_of = [&](double dense_bytes, double expert_bytes) {
    return node_aware_reduce_scatter_time(dense_bytes, replicas, per_node, nvlink, scaleout) +
           node_aware_reduce_scatter_time(expert_bytes, expert_dp, expert_per_node, nvlink, scaleout);
  };
  const double gradient_bytes = run.gradient_reduce == GradientReduce::fp32 ? 4.0 : 2.0;
  const double gradient_pass = pass_of(params.trainable_dense * gradient_bytes, params.trainable_expert * gradient_bytes);
  const double updated_pass = pass_of(params.trainable_dense * 2.0, params.trainable_expert * 2.0);
  const double gather_pass = pass_of(params.weight_bytes_dense, params.weight_bytes_expert);
  double dp_exposed = 0;
  if (p.zero_stage == 3) {
    // FSDP / ZeRO-3: every micro-batch gathers the parameters forward and again backward and
    // reduce-scatters its gradients; each layer's gather is prefetched behind the previous
    // layer's computation, so per micro-batch only what outlasts its forward and backward shows.
    const double per_micro_batch = 2.0 * gather_pass + gradient_pass;
    s.dp_comm_s = m * per_micro_batch;
    dp_exposed = m * overlap_cost(per_micro_batch, overlapped_exposed_time(per_micro_batch, f + b), c.overlap_shortfall);
  } else {
    // ZeRO-0/1/2: one gradient reduce-scatter and one parameter all-gather per step, behind the
    // last micro-batch's backward and the next step's first forward.
    s.dp_comm_s = gradient_pass + updated_pass;
    dp_exposed = overlap_cost(s.dp_comm_s, overlapped_exposed_time(s.dp_comm_s, f + b), c.overlap_shortfall);
  }

  // AdamW touches, per parameter: master weight (r+w 8 B), two moments (r+w), gradient (4 B read)
  // and the BF16 weight (2 B write); ZeRO-1+ spreads it over the DP group.
  const double moment_bytes = run.optimizer_states == OptimizerStates::bf16 ? 2.0 : 4.0;
  const double touched = 8.0 + 4.0 * moment_bytes + 4.0 + 2.0;
  const double shard_dense = p.zero_stage >= 1 ? static_cast<double>(replicas) : 1.0;
  const double shard_expert = p.zero_stage >= 1 ? static_cast<double>(expert_dp) : 1.0;
  s.optimizer_s = (params.trainable_dense / shard_dense + params.trainable_expert / shard_expert) * touched / (gpu.hbm_bandwidth * c.hbm);

  const double pipeline = m * (f + b) + s.bubble_s;
  // Whatever the pipeline takes beyond its computation is communication left exposed (under
  // DualPipe: the SMs lent to communication).
  s.exposed_comm_s = m * (f + b) - s.compute_s + dp_exposed;
  s.step_s = pipeline + dp_exposed + s.optimizer_s;
  return s;
}

}  // namespace frugal::sim
