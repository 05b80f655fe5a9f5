// Grouped GEMM over experts (grouped_gemm.hpp).
#include <mma.h>

#include "frugal/kernels/grouped_gemm.hpp"
#include "expert_of_row.cuh"

namespace frugal::kernels {

namespace {

// v1: Y[r][c] = Σ_i X[r][i] · W_e[i][c], one thread per (r, c), fp32 accumulation.
__global__ void grouped_gemm_naive(GroupedGemmShape shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w,
                                   float* y) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(shape.padded_rows) * shape.n) return;
  const int r = static_cast<int>(i / shape.n), c = static_cast<int>(i % shape.n);
  const __nv_bfloat16* w_e = w + static_cast<long long>(expert_of_row(offsets, shape.experts, r)) * shape.k * shape.n;
  const __nv_bfloat16* x_r = x + static_cast<long long>(r) * shape.k;
  float sum = 0.0f;
  for (int j = 0; j < shape.k; ++j) sum += __bfloat162float(x_r[j]) * __bfloat162float(w_e[static_cast<long long>(j) * shape.n + c]);
  y[i] = sum;
}

// v2: one warp per 16×16 tile of Y; the tile's 16 rows lie in one expert's segment because
// segments are padded to a multiple of 16. A block of 4 warps covers 16 rows × 64 columns.
constexpr int kTile = 16, kWarps = 4;

__global__ void grouped_gemm_wmma(GroupedGemmShape shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w,
                                  float* y) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  const int warp = threadIdx.x / 32;
  const int row = blockIdx.y * kTile, col = (blockIdx.x * kWarps + warp) * kTile;
  if (row >= shape.padded_rows || col >= shape.n) return;
  const __nv_bfloat16* w_e = w + static_cast<long long>(expert_of_row(offsets, shape.experts, row)) * shape.k * shape.n;
  wmma::fragment<wmma::matrix_a, kTile, kTile, kTile, __nv_bfloat16, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, kTile, kTile, kTile, __nv_bfloat16, wmma::row_major> b;
  wmma::fragment<wmma::accumulator, kTile, kTile, kTile, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int j = 0; j < shape.k; j += kTile) {
    wmma::load_matrix_sync(a, x + static_cast<long long>(row) * shape.k + j, shape.k);
    wmma::load_matrix_sync(b, w_e + static_cast<long long>(j) * shape.n + col, shape.n);
    wmma::mma_sync(acc, a, b, acc);
  }
  wmma::store_matrix_sync(y + static_cast<long long>(row) * shape.n + col, acc, shape.n, wmma::mem_row_major);
#endif
}

}  // namespace

void grouped_gemm_v1(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  const long long outputs = static_cast<long long>(shape.padded_rows) * shape.n;
  grouped_gemm_naive<<<static_cast<int>((outputs + 255) / 256), 256, 0, stream>>>(shape, offsets, x, w, y);
}

void grouped_gemm_v2(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  const dim3 grid((shape.n / kTile + kWarps - 1) / kWarps, shape.padded_rows / kTile);
  grouped_gemm_wmma<<<grid, kWarps * 32, 0, stream>>>(shape, offsets, x, w, y);
}

}  // namespace frugal::kernels
