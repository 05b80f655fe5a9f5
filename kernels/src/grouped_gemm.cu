// Grouped GEMM over experts (grouped_gemm.hpp).
#include <mma.h>

#include <stdexcept>
#include <string>

#include "frugal/kernels/grouped_gemm.hpp"
#include "async_copy.cuh"
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

// v3: v2's WMMA tiles, fed from shared memory. A block computes 64×64 of Y with 4 warps (each 32×32:
// 2×2 WMMA tiles); each 32-wide slice of K — 64×32 of X and 32×64 of W — is staged by cp.async,
// double-buffered, so every X and W element is read from global memory once per block instead of
// once per warp tile, and the next slice loads while this one multiplies. Rows padded by 8 bf16
// (16 bytes) to spread WMMA's shared-memory loads over the banks; every fragment still starts on a
// 32-byte boundary, as load_matrix_sync requires. Segments must be padded to 64 rows.
constexpr int kBlockM = 64, kBlockN = 64, kBlockK = 32, kTiledWarps = 4;
constexpr int kStrideA = kBlockK + 8, kStrideB = kBlockN + 8;  // bf16 elements per shared row
constexpr int kStageElements = kBlockM * kStrideA + kBlockK * kStrideB;

__device__ void stage_slice(const GroupedGemmShape& s, const __nv_bfloat16* x, const __nv_bfloat16* w_e, int row0, int col0, int k0,
                            __nv_bfloat16* stage) {
  constexpr int kChunksA = kBlockM * kBlockK / 8, kChunksB = kBlockK * kBlockN / 8;  // 16-byte chunks of 8 bf16
  for (int c = threadIdx.x; c < kChunksA + kChunksB; c += kTiledWarps * 32) {
    if (c < kChunksA) {
      const int r = c / (kBlockK / 8), e = (c % (kBlockK / 8)) * 8;
      copy_16_bytes_async(stage + r * kStrideA + e, x + static_cast<long long>(row0 + r) * s.k + k0 + e, true);
    } else {
      const int b = c - kChunksA, r = b / (kBlockN / 8), e = (b % (kBlockN / 8)) * 8;
      copy_16_bytes_async(stage + kBlockM * kStrideA + r * kStrideB + e, w_e + static_cast<long long>(k0 + r) * s.n + col0 + e, true);
    }
  }
}

__global__ void __launch_bounds__(kTiledWarps * 32) grouped_gemm_tiled(GroupedGemmShape shape, const int* offsets, const __nv_bfloat16* x,
                                                                      const __nv_bfloat16* w, float* y) {
#if __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  __shared__ __align__(128) __nv_bfloat16 shared[2 * kStageElements];
  const int row0 = blockIdx.y * kBlockM, col0 = blockIdx.x * kBlockN, warp = threadIdx.x / 32;
  const int warp_row = (warp / 2) * 32, warp_col = (warp % 2) * 32;
  const __nv_bfloat16* w_e = w + static_cast<long long>(expert_of_row(offsets, shape.experts, row0)) * shape.k * shape.n;
  wmma::fragment<wmma::accumulator, kTile, kTile, kTile, float> acc[2][2];
  for (auto& row : acc)
    for (auto& f : row) wmma::fill_fragment(f, 0.0f);

  stage_slice(shape, x, w_e, row0, col0, 0, shared);
  commit_async_copies();
  for (int k0 = 0, stage = 0; k0 < shape.k; k0 += kBlockK, stage ^= 1) {
    if (k0 + kBlockK < shape.k) stage_slice(shape, x, w_e, row0, col0, k0 + kBlockK, shared + (stage ^ 1) * kStageElements);
    commit_async_copies();
    wait_for_all_but_newest_copy_group();
    __syncthreads();
    const __nv_bfloat16* a_tile = shared + stage * kStageElements;
    const __nv_bfloat16* b_tile = a_tile + kBlockM * kStrideA;
    for (int kk = 0; kk < kBlockK; kk += kTile) {
      wmma::fragment<wmma::matrix_a, kTile, kTile, kTile, __nv_bfloat16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, kTile, kTile, kTile, __nv_bfloat16, wmma::row_major> b[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], a_tile + (warp_row + i * kTile) * kStrideA + kk, kStrideA);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], b_tile + kk * kStrideB + warp_col + j * kTile, kStrideB);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();  // every warp is done with this stage before it is loaded again
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(y + static_cast<long long>(row0 + warp_row + i * kTile) * shape.n + col0 + warp_col + j * kTile, acc[i][j],
                              shape.n, wmma::mem_row_major);
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

void grouped_gemm_v3(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  if (shape.k % kBlockK != 0 || shape.n % kBlockN != 0 || shape.padded_rows % kBlockM != 0)
    throw std::invalid_argument("grouped_gemm_v3: K must be a multiple of 32, N and the padded rows multiples of 64; got K " +
                                std::to_string(shape.k) + ", N " + std::to_string(shape.n) + ", rows " + std::to_string(shape.padded_rows));
  const dim3 grid(shape.n / kBlockN, shape.padded_rows / kBlockM);
  grouped_gemm_tiled<<<grid, kTiledWarps * 32, 0, stream>>>(shape, offsets, x, w, y);
}

}  // namespace frugal::kernels
