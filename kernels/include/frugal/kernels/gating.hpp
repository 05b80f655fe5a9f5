// DeepSeekMoE gating on the GPU, the twin of core's Router::forward (router.cpp) from the gate
// logits u_tᵀe_i onwards (V3 report §2.1.2, eq. 13–16):
//   s_{i,t} = sigmoid(logit) (or softmax over i);  choose K_t = TopK(s + b, k) inside the
//   groups_per_token groups with the largest sum of their top-2 (s + b); ties go to the lower index;
//   g_{i,t} = route_scale · s_{i,t} / Σ_{j∈K_t} s_{j,t} (or route_scale · s without normalisation).
// Versions (each tested against core's route_top_k on random logits, tests/kernels/):
//   v1 — the obvious one: one kernel writes the scores, a second one gives each token a thread
//        that scans its experts for the groups, then for the top-k;
//   v2 — fused: one warp per token does scores, group scores, group and expert selection (warp
//        arg-max shuffles) and weights in one pass over the logits, which are read once.
// All pointers are device pointers; row-major; `bias` may be null.
#pragma once

#include <cuda_runtime.h>

namespace frugal::kernels {

struct GatingShape {
  int tokens = 0;
  int experts = 0;           // ≤ 1024
  int groups = 1;            // ≤ 32, divides experts
  int groups_per_token = 1;  // M
  int top_k = 1;             // ≤ 32, ≤ the experts of M groups
  bool sigmoid = true;       // false: softmax
  bool normalize = true;
  float route_scale = 1.0f;
};

// scores: tokens × experts; chosen: tokens × top_k expert ids in descending s + b; weights: tokens × top_k.
void gating_v1(const GatingShape& shape, const float* logits, const float* bias, float* scores, int* chosen, float* weights,
               cudaStream_t stream = nullptr);
void gating_v2(const GatingShape& shape, const float* logits, const float* bias, float* scores, int* chosen, float* weights,
               cudaStream_t stream = nullptr);

// The auxiliary-loss-free bias update (V3 §2.1.2), one thread per expert: b_i −= γ when expert i's
// load is above the mean load, += γ when below. load: experts counts (device).
void bias_update(int experts, const int* load, float gamma, float* bias, cudaStream_t stream = nullptr);

}  // namespace frugal::kernels
