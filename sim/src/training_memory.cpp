// Memory per GPU: weights, gradients, optimizer states, activations and MoE buffers.
#include <algorithm>
#include <utility>

#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

namespace {

// Activation elements one token keeps for backward in one layer, split into GEMM inputs (cached
// in FP8 by the fp8 recipe, V3 report §3.3.3) and the rest (BF16).
struct ActivationElements {
  double gemm_inputs = 0;
  double other = 0;
};

// The FFN width a token passes through in one layer: the dense FFN's, or its top-k experts' (times
// the busiest GPU's imbalance) and the shared experts'.
double ffn_width_per_token(const ModelConfig& m, bool moe, double imbalance) {
  if (!moe) return static_cast<double>(m.ffn_intermediate_size);
  const MoeConfig& x = m.moe;
  return static_cast<double>(x.expert_intermediate_size) * static_cast<double>(x.top_k) * imbalance +
         static_cast<double>(shared_expert_width(m)) * static_cast<double>(x.shared_experts);
}

// Recompute::full is handled by the caller: a layer then keeps only its input.
ActivationElements layer_activations(const ModelConfig& m, bool moe, Recompute recompute, double imbalance) {
  const double d = static_cast<double>(m.hidden_size);
  const bool keep_all = recompute == Recompute::none;
  const AttentionConfig& a = m.attention;
  const double h = static_cast<double>(a.num_heads);
  ActivationElements e;
  // Attention: layer input, normed input, Q, K, V (recomputed from the latents under selective
  // recomputation for MLA, V3 report §3.2.3), attention output, softmax statistics.
  e.other += d + h;
  if (keep_all) e.gemm_inputs += d;
  e.gemm_inputs += h * static_cast<double>(a.value_head_dim());
  if (a.kind == AttentionKind::mla) {
    e.gemm_inputs += static_cast<double>(a.q_lora_rank + a.kv_lora_rank + a.qk_rope_head_dim);
    if (keep_all) e.other += h * (2.0 * static_cast<double>(a.qk_head_dim()) + static_cast<double>(a.v_head_dim));
  } else {
    e.other += (h + 2.0 * static_cast<double>(a.num_kv_heads)) * static_cast<double>(a.head_dim);
  }
  // FFN: residual input, normed input, gate/up outputs (recomputed under selective), activation.
  const bool gated = m.ffn_activation == FfnActivation::swiglu;
  if (moe && recompute == Recompute::moe) {  // the MoE block keeps only its input
    e.other += d;
    return e;
  }
  const double width = ffn_width_per_token(m, moe, imbalance);
  if (moe) {
    e.gemm_inputs += static_cast<double>(m.moe.top_k) * imbalance * d;  // dispatched tokens
    e.other += static_cast<double>(m.moe.routed_experts);  // gate scores
  }
  e.other += d;
  if (keep_all) e.gemm_inputs += d;
  e.gemm_inputs += width;
  if (keep_all) e.other += (gated ? 2.0 : 1.0) * width;
  return e;
}

// Elements (2 bytes each) one token keeps for backward in one layer of plain PyTorch modules, as
// Lit-GPT writes a Llama block and PyTorch 2.1's autograd saves for it (each line measured with
// saved_tensors_hooks on that block, scripts/measure_eager_activations.py; for Llama 2 7B with LoRA
// on query and value the list gives 176.8 KB a token a layer against 177.3 KB measured there, with
// CUDA's one-byte dropout mask):
//   RMSNorm by hand, x·rsqrt(mean(x²)): x, and x² (mean keeps its input)          2d per norm
//     and x·rsqrt when the norm's weight trains                                    + d per norm
//   attention: q, k, v come out of one fused projection; SDPA keeps v, a view into that buffer,
//     so all of it stays (q + k + v widths), with roped q, roped k and the output (the output
//     projection's input shares the output's storage), and FlashAttention's fp32 log-sum-exp;
//     with fewer KV heads than query heads k and v are expanded and copied instead: q, k, v, out
//     each at the query width
//   SwiGLU: silu's input, silu's output and the up projection's output             3 x width
//   Linear inputs, only where the weight trains (PyTorch skips saving the others) or where the
//     Linear is bitsandbytes' 4-bit one (MatMul4Bit saves its input whenever it needs a gradient):
//     the two normed inputs and the down projection's input                        2d + width
//   LoRA adapters (Lit-GPT's lora_dropout 0.05): each adapted input's dropout output and its
//     one-byte mask (1.5 x the input width); on the fused QKV projection with some of q, k, v left
//     out, the zero-padded index_copy keeps its source (the adapted widths)
// Selective and MoE recomputation are Megatron's: plain PyTorch modules keep this list whatever
// they are set to (full recomputation, which the caller handles, keeps only the layer's input).
ActivationElements eager_layer_activations(const ModelConfig& m, bool moe, const TrainingRun& run, double imbalance) {
  const double d = static_cast<double>(m.hidden_size);
  const AttentionConfig& a = m.attention;
  const double heads = static_cast<double>(a.num_heads);
  const double q_width = heads * static_cast<double>(a.qk_head_dim());
  const double v_width_per_head = static_cast<double>(a.value_head_dim());
  const bool grouped = a.kind != AttentionKind::mla && a.num_kv_heads != a.num_heads;
  const double kv_heads = a.kind == AttentionKind::mla ? heads : static_cast<double>(a.num_kv_heads);
  const double k_width = kv_heads * static_cast<double>(a.qk_head_dim()), v_width = kv_heads * v_width_per_head;
  const double out_width = heads * v_width_per_head;
  const double width = ffn_width_per_token(m, moe, imbalance);
  const bool trains_base = !run.adapters.frozen_base();
  ActivationElements e;
  e.other += 2.0 * (2.0 * d + (trains_base ? d : 0.0));  // two norms
  e.other += grouped ? 4.0 * q_width : (q_width + k_width + v_width) + q_width + k_width + out_width;
  e.other += heads * 2.0;  // log-sum-exp, fp32
  e.other += (m.ffn_activation == FfnActivation::swiglu ? 3.0 : 1.0) * width;
  if (trains_base || run.adapters.method == FinetuneMethod::qlora) e.other += 2.0 * d + width;
  if (!trains_base) {
    constexpr double kDropoutKept = 1.5;  // output (2 bytes) and mask (1 byte), in 2-byte elements
    switch (run.adapters.targets) {
      case AdapterTargets::qv: e.other += kDropoutKept * d + q_width + v_width; break;
      case AdapterTargets::attention: e.other += kDropoutKept * (d + out_width); break;
      case AdapterTargets::all_linear: e.other += kDropoutKept * (d + out_width + 2.0 * d + width); break;
    }
  }
  return e;
}

}  // namespace

MemoryBreakdown memory_per_gpu(const TrainingRun& run, const TrainingStage& stage, const EfficiencyConstants& c) {
  const Parallelism& p = run.parallel;
  const ModelConfig& m = run.model;
  const double imbalance = expert_load_imbalance(run, c.moe_load_imbalance);
  const double dp = static_cast<double>(gradient_group(p, run.gpus));
  const double expert_dp = static_cast<double>(expert_gradient_group(p, run.gpus));
  const ParametersPerGpu per_gpu = parameters_per_gpu(run);
  auto sharded = [&](double dense_bytes, double expert_bytes, bool shard) {
    return shard ? dense_bytes / dp + expert_bytes / expert_dp : dense_bytes + expert_bytes;
  };
  MemoryBreakdown mem;
  const double moments = run.optimizer_states == OptimizerStates::bf16 ? 4.0 : 8.0;
  mem.weights = sharded(per_gpu.weight_bytes_dense, per_gpu.weight_bytes_expert, p.zero_stage >= 3);
  if (!run.adapters.frozen_base()) {
    // BF16 weights; FP32 gradients, FP32 master weights and AdamW moments in FP32 or BF16 (V3 §3.3.3).
    mem.gradients = sharded(4.0 * per_gpu.dense, 4.0 * per_gpu.expert, p.zero_stage >= 2);
    mem.optimizer_states = sharded((4.0 + moments) * per_gpu.dense, (4.0 + moments) * per_gpu.expert, p.zero_stage >= 1);
  } else {
    // The base as stored (BF16, or NF4 under QLoRA); the adapters in BF16 with BF16 gradients and
    // AdamW moments, no FP32 master copy (QLoRA's qlora.py casts the LoRA modules to bfloat16
    // under --bf16; its paged_adamw_32bit keeps FP32 moments).
    const double dense = per_gpu.trainable_dense, expert = per_gpu.trainable_expert;
    mem.weights += sharded(2.0 * dense, 2.0 * expert, p.zero_stage >= 3);
    mem.gradients = sharded(2.0 * dense, 2.0 * expert, p.zero_stage >= 2);
    mem.optimizer_states = sharded(moments * dense, moments * expert, p.zero_stage >= 1);
    // Paged optimizers: "automatically evicted to CPU RAM when the GPU runs out of memory"
    // (QLoRA §3), so QLoRA's moments do not decide whether the run fits.
    if (run.adapters.method == FinetuneMethod::qlora) mem.paged_to_host = mem.optimizer_states;
  }

  // Activations: micro-batches in flight x layers per stage x tokens per GPU x bytes per token.
  const double tokens = static_cast<double>(p.micro_batch * stage.seq_len) / static_cast<double>(p.tp * p.cp);
  const double gemm_bytes = run.precision == PrecisionRecipe::fp8 ? 1.0 : 2.0;
  double per_token = 0;
  const double moe_layers = static_cast<double>(m.moe_layer_count());
  auto activations = [&](bool moe) -> ActivationElements {
    if (run.recompute == Recompute::full) return {0.0, static_cast<double>(m.hidden_size)};  // only the layer's input
    return run.kernels == ActivationKernels::eager ? eager_layer_activations(m, moe, run, imbalance)
                                                   : layer_activations(m, moe, run.recompute, imbalance);
  };
  for (const auto& [moe, count] : {std::pair{false, static_cast<double>(m.num_layers) - moe_layers}, std::pair{true, moe_layers}}) {
    const ActivationElements e = activations(moe);
    per_token += count * (e.gemm_inputs * gemm_bytes + e.other * 2.0);
  }
  for (std::int64_t k = 0; k < m.mtp_depth; ++k) {
    const ActivationElements e = activations(m.is_moe());
    per_token += e.gemm_inputs * gemm_bytes + e.other * 2.0 + 2.0 * static_cast<double>(m.hidden_size) * 2.0;
  }
  const double in_flight = activations_in_flight(p.schedule, p.pp, p.virtual_stages);
  mem.activations = tokens * per_token / static_cast<double>(p.pp) * in_flight;
  // The last stage also holds one micro-batch's BF16 logits.
  mem.activations += tokens * static_cast<double>(m.vocab_size) * 2.0;
  if (m.is_moe() && p.ep > 1)  // send and receive buffers for the top-k copies of a micro-batch
    mem.moe_buffers = 2.0 * tokens * static_cast<double>(m.moe.top_k) * imbalance *
                      static_cast<double>(m.hidden_size) * 2.0;
  mem.capacity = run.gpu.hbm_bytes;
  mem.reserve = c.memory_reserve_fraction * mem.capacity;
  mem.total = mem.weights + mem.gradients + mem.optimizer_states - mem.paged_to_host + mem.activations + mem.moe_buffers +
              mem.reserve;
  return mem;
}

}  // namespace frugal::sim
