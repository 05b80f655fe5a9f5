// Fine-tuning with low-rank adapters: which linear layers get an adapter, how many parameters the
// adapters add, and how many base parameters QLoRA stores in 4 bits.
//
// An adapter on a linear layer W (in -> out) is W x + B A x with A: in -> r, B: r -> out
// (LoRA, Hu et al. 2021, §4.1), so it adds r (in + out) parameters. The LoRA paper counts
// |Θ| = 2 × L̂ × d_model × r for L̂ adapted d_model × d_model matrices (§7.1: "4.7M" for GPT-3
// 175B at r = 1 on W_q and W_v); adapter_parameters reproduces that count.
#pragma once

#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/training_config.hpp"

namespace frugal::sim {

// Bits one base parameter takes in QLoRA: 4-bit NormalFloat plus double-quantized block
// constants, "from 32/64 = 0.5 bits per parameter to 8/64 + 32/(64 · 256) = 0.127 bits per
// parameter" (QLoRA §3, Double Quantization).
inline constexpr double kNf4BitsPerParameter = 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0);

// One adapted linear layer of a transformer block.
struct AdaptedLinear {
  double in = 0, out = 0;
  double copies_per_token = 1;  // routed experts: top_k of them act on each token
  double stored = 1;            // routed experts: one adapter per expert
};

// The adapted linears of one layer (dense FFN or MoE, which matters only for all-linear).
// qv: the query projection(s) and the one producing values (MLA: W_UQ or W_Q, and W_UKV);
// attention: every attention projection; all-linear: those plus every FFN and expert matrix.
// The router and the output head are never adapted.
std::vector<AdaptedLinear> adapted_linears(const ModelConfig& m, bool moe_layer, AdapterTargets targets);

struct AdapterParameters {
  double total = 0;   // every adapter of the main model (MTP modules are not fine-tuned)
  double routed = 0;  // the part on routed experts, split over expert parallelism
};
AdapterParameters adapter_parameters(const ModelConfig& m, const Adapters& adapters);

// Parameters QLoRA stores in NF4: every linear layer of the blocks (bitsandbytes replaces the
// nn.Linear modules; the output head stays in 16 bits, as QLoRA's qlora.py find_all_linear_names
// leaves out lm_head). Embedding, norms and output head stay BF16.
double quantized_base_parameters(const ModelConfig& m);

}  // namespace frugal::sim
