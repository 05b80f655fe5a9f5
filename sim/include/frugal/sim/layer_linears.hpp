// The linear layers of one transformer block, with their shapes and how tensor parallelism splits
// them: what LoRA adapts (adapters.hpp) and what a serving iteration multiplies (serving_step.cpp).
// MLA (V3 report §2.1.1): W_DQ (d -> d_c'), W_UQ (d_c' -> h d_qk), W_DKV with W_KR (d -> d_c + d_R),
// W_UKV (d_c -> h (d_nope + d_v)), W_O (h d_v -> d). GQA: W_Q, W_K, W_V, W_O. FFN: gate and up
// (d -> I, SwiGLU) and down (I -> d); routed and shared experts alike. The router and the output
// head are not listed.
#pragma once

#include <vector>

#include "frugal/config/model_config.hpp"

namespace frugal::sim {

enum class LinearRole {
  query_down,        // MLA's W_DQ
  query,             // W_Q, or MLA's W_UQ
  kv_down,           // MLA's W_DKV with W_KR
  key,               // GQA's W_K
  value,             // GQA's W_V, or MLA's W_UKV (keys and values)
  attention_output,  // W_O
  ffn,               // a dense layer's FFN
  routed_expert,     // one routed expert's FFN matrices
  shared_expert,
};

// Which dimension a tensor-parallel group splits (Megatron's column- and row-parallel linears):
// heads' projections by their output, W_O and FFN down by their input, the low-rank down-
// projections not at all.
enum class TensorSplit { none, output, input };

struct LayerLinear {
  double in = 0, out = 0;
  LinearRole role = LinearRole::ffn;
  TensorSplit split = TensorSplit::none;
  double copies_per_token = 1;  // routed experts: top_k of them act on each token
  double stored = 1;            // routed experts: one matrix per expert
  // Reads the same input as the linear before it, and engines run the two as one GEMM of their
  // outputs side by side: FFN up with gate (Megatron's fc1, SGLang's gate_up_proj), GQA's W_K and
  // W_V with W_Q (linear_qkv), MLA's W_DKV with W_DQ (SGLang's fused_qkv_a_proj_with_mqa; DeepGEMM's
  // table has it as N = 2112 = 1536 + 576).
  bool fused_with_previous = false;
};

// Every linear of one layer (dense FFN or MoE).
std::vector<LayerLinear> layer_linears(const ModelConfig& m, bool moe_layer);

}  // namespace frugal::sim
