// DeepSeekMoE gating on the GPU, the twin of core's Router::forward (router.cpp) from the gate
// logits u_tᵀe_i onwards (V3 report §2.1.2, eq. 13–16):
//   s_{i,t} = sigmoid(logit) (or softmax over i);  choose K_t = TopK(s + b, k) inside the
//   groups_per_token groups with the largest group scores; ties go to the lower index;
//   g_{i,t} = route_scale · s_{i,t} / Σ_{j∈K_t} s_{j,t} (or route_scale · s without normalisation).
// A group's score follows DeepSeek-V3's inference/model.py, Gate.forward, whose `scores` already
// hold s + b when there is a bias:
//       if self.bias is None:
//           group_scores = scores.amax(dim=-1)
//       else:
//           group_scores = scores.topk(2, dim=-1)[0].sum(dim=-1)
//   so: the largest s of the group when `bias` is null, the sum of its top-2 (s + b) when a bias is
//   given (a group of one expert: its one s + b).
// Versions (kGatingVersions below; each tested against core's route_top_k on random logits, and
// on a hand-made case where the two group rules choose different groups, tests/kernels/):
//   v1 — the obvious one: one kernel writes the scores, a second one gives each token a thread
//        that scans its experts for the groups, then for the top-k;
//   v2 — fused: one warp per token does scores, group scores, group and expert selection (warp
//        arg-max shuffles) and weights in one pass over the logits, which are read once.
// All pointers are device pointers; row-major; `bias` may be null.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <string>

#include "frugal/kernels/kernel_version.hpp"

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

// The version table (kernel_version.hpp). Both versions take any shape within GatingShape's limits.
using GatingLauncher = void (*)(const GatingShape&, const float* logits, const float* bias, float* scores, int* chosen, float* weights,
                                cudaStream_t);
struct GatingVersion {
  int number;
  const char* name;
  GatingLauncher launch;
  GpuFeature needs;
};
inline constexpr std::array kGatingVersions{
    GatingVersion{1, "v1 thread per token", gating_v1, GpuFeature::none},
    GatingVersion{2, "v2 fused, warp per token", gating_v2, GpuFeature::none},
};

// What breaks GatingShape's limits ("" when nothing); every version's launcher refuses such a shape
// with std::invalid_argument.
inline std::string gating_shape_error(const GatingShape& s) {
  if (s.tokens < 0 || s.experts <= 0 || s.experts > 1024) return "experts = " + std::to_string(s.experts) + " is not in 1 … 1024";
  if (s.groups <= 0 || s.groups > 32 || s.experts % s.groups != 0)
    return "groups = " + std::to_string(s.groups) + " is not in 1 … 32 or does not divide experts = " + std::to_string(s.experts);
  if (s.groups_per_token <= 0 || s.groups_per_token > s.groups) return "groups_per_token = " + std::to_string(s.groups_per_token) + " is not in 1 … groups";
  const int reachable = s.groups_per_token < s.groups ? s.groups_per_token * (s.experts / s.groups) : s.experts;
  if (s.top_k <= 0 || s.top_k > 32 || s.top_k > reachable)
    return "top_k = " + std::to_string(s.top_k) + " is not in 1 … min(32, " + std::to_string(reachable) + " experts of the kept groups)";
  return "";
}
inline std::string shape_error(const GatingVersion&, const GatingShape& shape) { return gating_shape_error(shape); }

// The auxiliary-loss-free bias update (V3 §2.1.2), one thread per expert: b_i −= γ when expert i's
// load is above the mean load, += γ when below. load: experts counts (device).
void bias_update(int experts, const int* load, float gamma, float* bias, cudaStream_t stream = nullptr);

}  // namespace frugal::kernels
