// Dispatch and combine on the GPU (dispatch.hpp).
#include <stdexcept>
#include <string>

#include "frugal/kernels/cuda_check.hpp"
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

// ---- v2: a block per token, float4 rows -------------------------------------------------------
// The token's k positions (and weights) are read once per block instead of once per element, x's
// row once instead of k times, and every load and store moves 16 bytes. hidden % 4 == 0.
constexpr int kRowThreads = 128;

__device__ __forceinline__ float4 operator*(float g, float4 v) { return make_float4(g * v.x, g * v.y, g * v.z, g * v.w); }
__device__ __forceinline__ void operator+=(float4& a, float4 b) {
  a.x += b.x;
  a.y += b.y;
  a.z += b.z;
  a.w += b.w;
}

// rows[position[t·k + j]] = x_t for every j: the block of token t reads x_t once, writes it k times.
__global__ void permute_rows_kernel(int k, int hidden, const float4* x, const int* positions, float4* rows) {
  const int t = blockIdx.x, quads = hidden / 4;
  for (int q = threadIdx.x; q < quads; q += blockDim.x) {
    const float4 v = x[static_cast<long long>(t) * quads + q];
    for (int j = 0; j < k; ++j) rows[static_cast<long long>(positions[t * k + j]) * quads + q] = v;
  }
}

// out_t = Σ_j g_{t,j} · y[position[t·k + j]] (g = 1 when weights is null: permute's backward,
// dx_t = Σ_j drows[position[t·k + j]]).
__global__ void combine_rows_kernel(int k, int hidden, const float4* y, const int* positions, const float* weights, float4* out) {
  const int t = blockIdx.x, quads = hidden / 4;
  for (int q = threadIdx.x; q < quads; q += blockDim.x) {
    float4 sum = make_float4(0, 0, 0, 0);
    for (int j = 0; j < k; ++j) sum += (weights ? weights[t * k + j] : 1.0f) * y[static_cast<long long>(positions[t * k + j]) * quads + q];
    out[static_cast<long long>(t) * quads + q] = sum;
  }
}

// dy[position[c]] = g_c · dout_t for the token's k copies, and dg_c = dout_t · y[position[c]]: the
// block of token t reads dout_t once; warp j of the block reduces copy j's dot product.
__global__ void combine_backward_rows_kernel(int k, int hidden, const float4* dout, const float4* y, const int* positions,
                                             const float* weights, float4* dy, float* dweights) {
  const int t = blockIdx.x, quads = hidden / 4;
  for (int q = threadIdx.x; q < quads; q += blockDim.x) {
    const float4 d = dout[static_cast<long long>(t) * quads + q];
    for (int j = 0; j < k; ++j) dy[static_cast<long long>(positions[t * k + j]) * quads + q] = weights[t * k + j] * d;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int j = warp; j < k; j += blockDim.x / 32) {
    const float4* row = y + static_cast<long long>(positions[t * k + j]) * quads;
    float sum = 0.0f;
    for (int q = lane; q < quads; q += 32) {
      const float4 a = dout[static_cast<long long>(t) * quads + q], b = row[q];
      sum += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
    }
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) dweights[t * k + j] = sum;
  }
}

// v2's rows move as float4: its row of kDispatchVersions says hidden % 4 == 0.
void require_quads(const char* kernel, int tokens, int k, int hidden) {
  static_assert(kDispatchVersions[1].hidden_multiple == 4);
  const std::string broken = shape_error(kDispatchVersions[1], DispatchShape{tokens, k, hidden});
  if (!broken.empty()) throw std::invalid_argument(std::string(kernel) + ": " + broken);
}

}  // namespace

void count_experts_v1(int copies, int experts, const int* chosen, int* counts, cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(counts, 0, static_cast<size_t>(experts) * sizeof(int), stream));
  count_experts_kernel<<<blocks_for(copies), kThreads, 0, stream>>>(copies, chosen, counts);
  CUDA_CHECK(cudaGetLastError());
}

void dispatch_positions_v1(int copies, int experts, const int* chosen, const int* offsets, int* positions, cudaStream_t stream) {
  positions_kernel<<<blocks_for(experts), kThreads, 0, stream>>>(copies, experts, chosen, offsets, positions);
  CUDA_CHECK(cudaGetLastError());
}

void permute_v1(int tokens, int k, int hidden, const float* x, const int* positions, float* rows, cudaStream_t stream) {
  permute_kernel<<<blocks_for(static_cast<long long>(tokens) * k * hidden), kThreads, 0, stream>>>(tokens, k, hidden, x, positions, rows);
  CUDA_CHECK(cudaGetLastError());
}

void combine_v1(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights, float* out,
                cudaStream_t stream) {
  combine_kernel<<<blocks_for(static_cast<long long>(tokens) * hidden), kThreads, 0, stream>>>(tokens, k, hidden, y, positions,
                                                                                               weights, out);
  CUDA_CHECK(cudaGetLastError());
}

void permute_backward_v1(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx, cudaStream_t stream) {
  permute_backward_kernel<<<blocks_for(static_cast<long long>(tokens) * hidden), kThreads, 0, stream>>>(tokens, k, hidden, drows,
                                                                                                        positions, dx);
  CUDA_CHECK(cudaGetLastError());
}

void combine_backward_v1(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                         const float* weights, float* dy, float* dweights, cudaStream_t stream) {
  combine_backward_rows<<<blocks_for(static_cast<long long>(tokens) * k * hidden), kThreads, 0, stream>>>(tokens, k, hidden, dout,
                                                                                                          positions, weights, dy);
  CUDA_CHECK(cudaGetLastError());
  combine_backward_weights<<<blocks_for(static_cast<long long>(tokens) * k), kThreads, 0, stream>>>(tokens, k, hidden, dout, y,
                                                                                                    positions, dweights);
  CUDA_CHECK(cudaGetLastError());
}

void permute_v2(int tokens, int k, int hidden, const float* x, const int* positions, float* rows, cudaStream_t stream) {
  require_quads("permute_v2", tokens, k, hidden);
  permute_rows_kernel<<<tokens, kRowThreads, 0, stream>>>(k, hidden, reinterpret_cast<const float4*>(x), positions, reinterpret_cast<float4*>(rows));
  CUDA_CHECK(cudaGetLastError());
}

void combine_v2(int tokens, int k, int hidden, const float* y, const int* positions, const float* weights, float* out,
                cudaStream_t stream) {
  require_quads("combine_v2", tokens, k, hidden);
  combine_rows_kernel<<<tokens, kRowThreads, 0, stream>>>(k, hidden, reinterpret_cast<const float4*>(y), positions, weights,
                                                          reinterpret_cast<float4*>(out));
  CUDA_CHECK(cudaGetLastError());
}

void permute_backward_v2(int tokens, int k, int hidden, const float* drows, const int* positions, float* dx, cudaStream_t stream) {
  require_quads("permute_backward_v2", tokens, k, hidden);
  combine_rows_kernel<<<tokens, kRowThreads, 0, stream>>>(k, hidden, reinterpret_cast<const float4*>(drows), positions, nullptr,
                                                          reinterpret_cast<float4*>(dx));
  CUDA_CHECK(cudaGetLastError());
}

void combine_backward_v2(int tokens, int k, int hidden, const float* dout, const float* y, const int* positions,
                         const float* weights, float* dy, float* dweights, cudaStream_t stream) {
  require_quads("combine_backward_v2", tokens, k, hidden);
  combine_backward_rows_kernel<<<tokens, kRowThreads, 0, stream>>>(k, hidden, reinterpret_cast<const float4*>(dout),
                                                                   reinterpret_cast<const float4*>(y), positions, weights,
                                                                   reinterpret_cast<float4*>(dy), dweights);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
