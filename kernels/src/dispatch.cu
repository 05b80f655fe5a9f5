// Dispatch and combine on the GPU (dispatch.hpp).
#include "frugal/kernels/dispatch.hpp"

namespace frugal::kernels {

namespace {

constexpr int kThreads = 256;
int blocks_for(long long n) { return static_cast<int>((n + kThreads - 1) / kThreads); }

__global__ void count_experts_kernel(int copies, const int* chosen, int* counts) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < copies) atomicAdd(&counts[chosen[c]], 1);
}

// One thread per expert walks every copy in order: deterministic, token-ordered rows.
__global__ void positions_kernel(int copies, int experts, const int* chosen, const int* offsets, int* positions) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= experts) return;
  int next = offsets[e];
  for (int c = 0; c < copies; ++c)
    if (chosen[c] == e) positions[c] = next++;
}

// rows[position[t·k + j]][h] = x[t][h]: one thread per (copy, h).
__global__ void permute_kernel(int tokens, int k, int hidden, const float* x, const int* positions, float* rows) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(tokens) * k * hidden) return;
  const long long copy = i / hidden;
  const int h = static_cast<int>(i % hidden);
  rows[static_cast<long long>(positions[copy]) * hidden + h] = x[(copy / k) * hidden + h];
}

// out[t][h] = Σ_j g[t][j] · y[position[t·k + j]][h]: one thread per (t, h).
__global__ void combine_kernel(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights,
                               float* out) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(tokens) * hidden) return;
  const long long t = i / hidden;
  const int h = static_cast<int>(i % hidden);
  float sum = 0.0f;
  for (int j = 0; j < k; ++j) sum += weights[t * k + j] * y[static_cast<long long>(positions[t * k + j]) * hidden + h];
  out[i] = sum;
}

// dx[t][h] = Σ_j drows[position[t·k + j]][h]: one thread per (t, h).
__global__ void permute_backward_kernel(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(tokens) * hidden) return;
  const long long t = i / hidden;
  const int h = static_cast<int>(i % hidden);
  float sum = 0.0f;
  for (int j = 0; j < k; ++j) sum += drows[static_cast<long long>(positions[t * k + j]) * hidden + h];
  dx[i] = sum;
}

// dy[position[c]][h] = g[c] · dout[t][h]: one thread per (copy, h).
__global__ void combine_backward_rows(int tokens, int k, int hidden, const float* dout, const int* positions, const float* weights,
                                      float* dy) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(tokens) * k * hidden) return;
  const long long copy = i / hidden;
  const int h = static_cast<int>(i % hidden);
  dy[static_cast<long long>(positions[copy]) * hidden + h] = weights[copy] * dout[(copy / k) * hidden + h];
}

// dg[c] = dout[t] · y[position[c]]: one thread per copy.
__global__ void combine_backward_weights(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                                         float* dweights) {
  const long long copy = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (copy >= static_cast<long long>(tokens) * k) return;
  const float* row = y + static_cast<long long>(positions[copy]) * hidden;
  const float* d = dout + (copy / k) * hidden;
  float sum = 0.0f;
  for (int h = 0; h < hidden; ++h) sum += d[h] * row[h];
  dweights[copy] = sum;
}

}  // namespace

void count_experts_v1(int copies, int experts, const int* chosen, int* counts, cudaStream_t stream) {
  cudaMemsetAsync(counts, 0, static_cast<size_t>(experts) * sizeof(int), stream);
  count_experts_kernel<<<blocks_for(copies), kThreads, 0, stream>>>(copies, chosen, counts);
}

void dispatch_positions_v1(int copies, int experts, const int* chosen, const int* offsets, int* positions, cudaStream_t stream) {
  positions_kernel<<<blocks_for(experts), kThreads, 0, stream>>>(copies, experts, chosen, offsets, positions);
}

void permute_v1(int tokens, int k, int hidden, const float* x, const int* positions, float* rows, cudaStream_t stream) {
  permute_kernel<<<blocks_for(static_cast<long long>(tokens) * k * hidden), kThreads, 0, stream>>>(tokens, k, hidden, x, positions, rows);
}

void combine_v1(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights, float* out,
                cudaStream_t stream) {
  combine_kernel<<<blocks_for(static_cast<long long>(tokens) * hidden), kThreads, 0, stream>>>(tokens, k, hidden, y, positions,
                                                                                               weights, out);
}

void permute_backward_v1(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx, cudaStream_t stream) {
  permute_backward_kernel<<<blocks_for(static_cast<long long>(tokens) * hidden), kThreads, 0, stream>>>(tokens, k, hidden, drows,
                                                                                                        positions, dx);
}

void combine_backward_v1(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                         const float* weights, float* dy, float* dweights, cudaStream_t stream) {
  combine_backward_rows<<<blocks_for(static_cast<long long>(tokens) * k * hidden), kThreads, 0, stream>>>(tokens, k, hidden, dout,
                                                                                                          positions, weights, dy);
  combine_backward_weights<<<blocks_for(static_cast<long long>(tokens) * k), kThreads, 0, stream>>>(tokens, k, hidden, dout, y,
                                                                                                    positions, dweights);
}

}  // namespace frugal::kernels
