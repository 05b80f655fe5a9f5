// DeepSeekMoE gating and the bias update on the GPU (gating.hpp).
#include <cfloat>
#include <climits>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/gating.hpp"

namespace frugal::kernels {

namespace {

// The order core's route_top_k sorts by: larger value first, ties to the lower index.
__device__ __forceinline__ bool ranks_before(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }

// A group's score, as DeepSeek-V3's inference/model.py Gate.forward computes it (its `scores`
// already hold s + b when there is a bias):
//     if self.bias is None: group_scores = scores.amax(dim=-1)
//     else:                 group_scores = scores.topk(2, dim=-1)[0].sum(dim=-1)
// i.e. max_i s_i without a bias; with one, the sum of the two largest s_i + b_i (a group of one
// expert: its one s + b). Experts first … first + count − 1.
__device__ __forceinline__ float group_score_of(const float* s, const float* bias, int first_expert, int count) {
  float first = -FLT_MAX, second = -FLT_MAX;
  for (int i = first_expert; i < first_expert + count; ++i) {
    const float v = s[i] + (bias ? bias[i] : 0.0f);
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) {
      second = v;
    }
  }
  return bias && count >= 2 ? first + second : first;
}

// ---- v1: scores, then one thread per token ------------------------------------------------------

// s = sigmoid(logit), or softmax over the row. One thread per token.
__global__ void scores_v1(GatingShape shape, const float* logits, float* scores) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= shape.tokens) return;
  const float* in = logits + static_cast<long long>(t) * shape.experts;
  float* out = scores + static_cast<long long>(t) * shape.experts;
  if (shape.sigmoid) {
    for (int i = 0; i < shape.experts; ++i) out[i] = 1.0f / (1.0f + expf(-in[i]));
    return;
  }
  float top = -FLT_MAX, sum = 0.0f;
  for (int i = 0; i < shape.experts; ++i) top = fmaxf(top, in[i]);
  for (int i = 0; i < shape.experts; ++i) sum += expf(in[i] - top);
  for (int i = 0; i < shape.experts; ++i) out[i] = expf(in[i] - top) / sum;
}

// Group scores (gating.hpp: model.py's rule — the largest s without a bias, the sum of the top-2
// s + b with one), the M best groups, then the top-k of s + b inside them, by repeated arg-max;
// the weights from s. One thread per token.
__global__ void top_k_v1(GatingShape shape, const float* scores, const float* bias, int* chosen, float* weights) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= shape.tokens) return;
  const float* s = scores + static_cast<long long>(t) * shape.experts;
  const int per_group = shape.experts / shape.groups;
  auto biased = [&](int i) { return s[i] + (bias ? bias[i] : 0.0f); };

  unsigned allowed = 0xffffffffu;  // bit g: group g may be chosen
  if (shape.groups > 1 && shape.groups_per_token < shape.groups) {
    float group_score[32];
    for (int g = 0; g < shape.groups; ++g) {
      group_score[g] = group_score_of(s, bias, g * per_group, per_group);
    }
    allowed = 0;
    for (int m = 0; m < shape.groups_per_token; ++m) {
      int best = -1;
      for (int g = 0; g < shape.groups; ++g)
        if (!(allowed >> g & 1u) && (best < 0 || ranks_before(group_score[g], g, group_score[best], best))) best = g;
      allowed |= 1u << best;
    }
  }

  int* out = chosen + static_cast<long long>(t) * shape.top_k;
  float sum = 0.0f;
  for (int j = 0; j < shape.top_k; ++j) {
    int best = -1;
    float best_value = -FLT_MAX;
    for (int i = 0; i < shape.experts; ++i) {
      if (!(allowed >> (i / per_group) & 1u)) continue;
      bool taken = false;
      for (int p = 0; p < j; ++p) taken = taken || out[p] == i;
      if (taken) continue;
      const float v = biased(i);
      if (best < 0 || ranks_before(v, i, best_value, best)) {
        best = i;
        best_value = v;
      }
    }
    out[j] = best;
    sum += s[best];
  }
  const float denominator = shape.normalize ? sum : 1.0f;
  for (int j = 0; j < shape.top_k; ++j)
    weights[static_cast<long long>(t) * shape.top_k + j] = shape.route_scale * s[out[j]] / denominator;
}

// ---- v2: one warp per token, fused ------------------------------------------------------------
// What changes: the logits are read once, coalesced (lane l reads experts l, l + 32, …); scores
// and s + b stay in shared memory; each selection is a warp arg-max by shuffles instead of a
// serial scan; one launch instead of two.

constexpr int kWarpsPerBlock = 4;

// Arg-max over the warp by (value, index) in ranks_before order; every lane gets the winner.
__device__ __forceinline__ void warp_arg_max(float& value, int& index) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other_value = __shfl_xor_sync(0xffffffffu, value, offset);
    const int other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (ranks_before(other_value, other_index, value, index)) {
      value = other_value;
      index = other_index;
    }
  }
}
__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__global__ void gating_fused_v2(GatingShape shape, const float* logits, const float* bias, float* scores, int* chosen,
                                float* weights) {
  extern __shared__ float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int t = blockIdx.x * kWarpsPerBlock + warp;
  if (t >= shape.tokens) return;  // the whole warp leaves together
  const int E = shape.experts, per_group = E / shape.groups;
  float* s = shared + warp * 2 * E;  // scores
  float* sb = s + E;                 // scores + bias
  const float* in = logits + static_cast<long long>(t) * E;

  if (shape.sigmoid) {
    for (int i = lane; i < E; i += 32) s[i] = 1.0f / (1.0f + expf(-in[i]));
  } else {
    float top = -FLT_MAX;
    for (int i = lane; i < E; i += 32) top = fmaxf(top, in[i]);
    top = warp_max(top);
    float sum = 0.0f;
    for (int i = lane; i < E; i += 32) sum += expf(in[i] - top);
    sum = warp_sum(sum);
    for (int i = lane; i < E; i += 32) s[i] = expf(in[i] - top) / sum;
  }
  for (int i = lane; i < E; i += 32) {
    sb[i] = s[i] + (bias ? bias[i] : 0.0f);
    scores[static_cast<long long>(t) * E + i] = s[i];
  }
  __syncwarp();

  unsigned allowed = 0xffffffffu;
  if (shape.groups > 1 && shape.groups_per_token < shape.groups) {
    // lane g holds group g's score (model.py's rule, group_score_of): from s and b, not sb, so
    // that "no bias" and "a bias of zeros" stay two different rules.
    const float group_score = lane < shape.groups ? group_score_of(s, bias, lane * per_group, per_group) : -FLT_MAX;
    allowed = 0;
    for (int m = 0; m < shape.groups_per_token; ++m) {
      const bool candidate = lane < shape.groups && !(allowed >> lane & 1u);
      float value = candidate ? group_score : -FLT_MAX;
      int index = candidate ? lane : INT_MAX;
      warp_arg_max(value, index);
      allowed |= 1u << index;
    }
  }

  unsigned taken = 0;  // bit r: expert lane + 32r already chosen
  float sum = 0.0f;
  int mine = -1;       // lane j keeps the j-th choice
  int* out = chosen + static_cast<long long>(t) * shape.top_k;
  for (int j = 0; j < shape.top_k; ++j) {
    float value = -FLT_MAX;
    int index = INT_MAX;
    for (int i = lane, r = 0; i < E; i += 32, ++r)
      if ((allowed >> (i / per_group) & 1u) && !(taken >> r & 1u) && ranks_before(sb[i], i, value, index)) {
        value = sb[i];
        index = i;
      }
    warp_arg_max(value, index);
    if (index % 32 == lane) taken |= 1u << (index / 32);
    if (lane == j) {
      mine = index;
      out[j] = index;
    }
    sum += s[index];  // every lane keeps the same sum, in the same order as v1 and core
  }
  const float denominator = shape.normalize ? sum : 1.0f;
  if (lane < shape.top_k) weights[static_cast<long long>(t) * shape.top_k + lane] = shape.route_scale * s[mine] / denominator;
}

// b_i −= γ if load_i > mean, += γ if load_i < mean. One thread per expert; each sums every load
// (E ≤ 1024: cheaper than a second launch).
__global__ void bias_update_v1(int experts, const int* load, float gamma, float* bias) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= experts) return;
  long long total = 0;
  for (int e = 0; e < experts; ++e) total += load[e];
  const double mean = static_cast<double>(total) / experts, l = load[i];
  if (l > mean) bias[i] -= gamma;
  else if (l < mean) bias[i] += gamma;
}

}  // namespace

void gating_v1(const GatingShape& shape, const float* logits, const float* bias, float* scores, int* chosen, float* weights,
               cudaStream_t stream) {
  require_shape(kGatingVersions[0], shape);
  if (shape.tokens == 0) return;
  const int threads = 128, blocks = (shape.tokens + threads - 1) / threads;
  scores_v1<<<blocks, threads, 0, stream>>>(shape, logits, scores);
  CUDA_CHECK(cudaGetLastError());
  top_k_v1<<<blocks, threads, 0, stream>>>(shape, scores, bias, chosen, weights);
  CUDA_CHECK(cudaGetLastError());
}

void gating_v2(const GatingShape& shape, const float* logits, const float* bias, float* scores, int* chosen, float* weights,
               cudaStream_t stream) {
  require_shape(kGatingVersions[1], shape);
  if (shape.tokens == 0) return;
  const int blocks = (shape.tokens + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const size_t shared = static_cast<size_t>(kWarpsPerBlock) * 2 * shape.experts * sizeof(float);
  gating_fused_v2<<<blocks, kWarpsPerBlock * 32, shared, stream>>>(shape, logits, bias, scores, chosen, weights);
  CUDA_CHECK(cudaGetLastError());
}

void bias_update(int experts, const int* load, float gamma, float* bias, cudaStream_t stream) {
  bias_update_v1<<<(experts + 255) / 256, 256, 0, stream>>>(experts, load, gamma, bias);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
