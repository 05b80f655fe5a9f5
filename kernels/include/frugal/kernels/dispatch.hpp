// Dispatch and combine on the GPU, the twins of core's LocalExperts (moe.cpp), in the layout of
// moe_layout.hpp: copies of token rows in expert-contiguous segments padded to the GEMM tile.
//   permute:  rows[position[t·k + j]] = x_t                     (dispatch)
//   combine:  out_t = Σ_j g_{t,j} · y[position[t·k + j]]        (the weighted un-permute)
// and their backward passes:
//   permute:  dx_t = Σ_j drows[position[t·k + j]]
//   combine:  dy[position[t·k + j]] = g_{t,j} · dout_t,  dg_{t,j} = dout_t · y[position[t·k + j]]
// v1 of each: one thread per output element (positions: one thread per expert, scanning the
// copies in token order, so that rows land where the host plan and core put them).
// v2 of permute, combine and their backward passes: one thread block per token, rows moved as
// float4. The token's k positions and weights are read once per block rather than once per
// element, x_t (or dout_t) once rather than k times, and each access moves 16 bytes. permute's
// backward is combine with unit weights. Needs hidden % 4 == 0 (std::invalid_argument otherwise).
// All pointers are device pointers, row-major, fp32.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <string>

#include "frugal/kernels/kernel_version.hpp"

namespace frugal::kernels {

// counts[e] = copies that chose e (counts is zeroed here).
void count_experts_v1(int copies, int experts, const int* chosen, int* counts, cudaStream_t stream = nullptr);
// position[c] = offsets[chosen[c]] + earlier copies of the same expert.
void dispatch_positions_v1(int copies, int experts, const int* chosen, const int* offsets, int* positions,
                           cudaStream_t stream = nullptr);
void permute_v1(int tokens, int k, int hidden, const float* x, const int* positions, float* rows, cudaStream_t stream = nullptr);
void combine_v1(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights, float* out,
                cudaStream_t stream = nullptr);
void permute_backward_v1(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx,
                         cudaStream_t stream = nullptr);
// dy must be zeroed on padding rows by the caller (only copied rows are written).
void combine_backward_v1(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                         const float* weights, float* dy, float* dweights, cudaStream_t stream = nullptr);

void permute_v2(int tokens, int k, int hidden, const float* x, const int* positions, float* rows, cudaStream_t stream = nullptr);
void combine_v2(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights, float* out,
                cudaStream_t stream = nullptr);
void permute_backward_v2(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx,
                         cudaStream_t stream = nullptr);
void combine_backward_v2(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                         const float* weights, float* dy, float* dweights, cudaStream_t stream = nullptr);

// The version table (kernel_version.hpp): each version's permute, combine and their backward
// passes (count_experts_v1 and dispatch_positions_v1 serve every version).
struct DispatchShape {
  int tokens = 0, k = 0, hidden = 0;
};
struct DispatchVersion {
  int number;
  const char* name;
  decltype(&permute_v1) permute;
  decltype(&combine_v1) combine;
  decltype(&permute_backward_v1) permute_backward;
  decltype(&combine_backward_v1) combine_backward;
  GpuFeature needs;
  int hidden_multiple;  // hidden % hidden_multiple == 0
};
inline constexpr std::array kDispatchVersions{
    DispatchVersion{1, "v1 thread per element", permute_v1, combine_v1, permute_backward_v1, combine_backward_v1, GpuFeature::none, 1},
    DispatchVersion{2, "v2 block per token, float4", permute_v2, combine_v2, permute_backward_v2, combine_backward_v2, GpuFeature::none, 4},
};
inline std::string shape_error(const DispatchVersion& v, const DispatchShape& s) {
  if (s.hidden % v.hidden_multiple == 0) return "";
  return "hidden = " + std::to_string(s.hidden) + " is not a multiple of " + std::to_string(v.hidden_multiple) + " (float4 rows)";
}

}  // namespace frugal::kernels
