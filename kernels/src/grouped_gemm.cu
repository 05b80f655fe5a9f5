// Grouped GEMM over experts (grouped_gemm.hpp).
#include <mma.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/grouped_gemm.hpp"
#include "async_copy.cuh"
#include "expert_of_row.cuh"
#include "shared_memory.cuh"
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/wgmma_layout.hpp"
#include "wgmma.cuh"

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

// v4: Hopper's warpgroup MMAs (wgmma, sm_90a). One warpgroup computes 64×128 of Y; both operands
// are read by the tensor cores from shared memory through descriptors, without fragment loads.
// Each 64-wide K-slice is staged by cp.async in the no-swizzle core-matrix layouts (wgmma.cuh),
// double-buffered: X K-major (as it is in memory), W N-major (as it is in memory: each row of W is
// a row of K), which bf16 wgmma takes directly (imm-trans-b = 1). Four m64n128k16 MMAs per slice.
// Segments padded to 64 rows, N a multiple of 128, K of 64.
constexpr int kWgmmaM = 64, kWgmmaN = 128, kWgmmaK = 64, kWgmmaThreads = 128;
using Staging = wgmma::Bf16Staging;  // where each chunk goes, and the descriptors' offsets (wgmma_layout.hpp)
static_assert(Staging::x_stride == kWgmmaK / 8 * wgmma::kCoreBytes && Staging::w_leading == kWgmmaN / 8 * wgmma::kCoreBytes,
              "wgmma_layout.hpp's Bf16Staging is laid out for 64 of K and 128 of N per stage");
constexpr int kXTileBytes = kWgmmaM * kWgmmaK * 2, kWTileBytes = kWgmmaK * kWgmmaN * 2;
constexpr int kWgmmaStageBytes = kXTileBytes + kWTileBytes;             // 8 KB + 16 KB

// D (64×128 fp32) += X·W for one 16-wide K step, W N-major. Accumulator layout as in fp8_gemm.cu:
// warp w, lane (g, t) holds d[4j + i] = D[16w + g + 8·(i/2)][8j + 2t + (i%2)].
__device__ __forceinline__ void wgmma_bf16_64x128x16(float (&d)[64], std::uint64_t x_descriptor, std::uint64_t w_descriptor) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, 1, 1, 1, 0, 1;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(x_descriptor), "l"(w_descriptor));
#else
  __trap();  // never launched there: grouped_gemm_v4 refuses other devices
#endif
}

__device__ void stage_slice_for_wgmma(const GroupedGemmShape& s, const __nv_bfloat16* x, const __nv_bfloat16* w_e, int row0, int col0, int k0,
                                      std::uint8_t* stage) {
  constexpr int kXChunks = kWgmmaM * kWgmmaK / 8, kWChunks = kWgmmaK * kWgmmaN / 8;  // 16 bytes = 8 bf16
  for (int c = threadIdx.x; c < kXChunks + kWChunks; c += kWgmmaThreads) {
    if (c < kXChunks) {
      const int r = c / (kWgmmaK / 8), j = c % (kWgmmaK / 8);
      copy_16_bytes_async(stage + Staging::x_chunk(r, j), x + static_cast<long long>(row0 + r) * s.k + k0 + 8 * j, true);
    } else {
      const int b = c - kXChunks, kr = b / (kWgmmaN / 8), j = b % (kWgmmaN / 8);
      copy_16_bytes_async(stage + kXTileBytes + Staging::w_chunk(kr, j), w_e + static_cast<long long>(k0 + kr) * s.n + col0 + 8 * j, true);
    }
  }
}

__global__ void __launch_bounds__(kWgmmaThreads) grouped_gemm_wgmma(GroupedGemmShape shape, const int* offsets, const __nv_bfloat16* x,
                                                                   const __nv_bfloat16* w, float* y) {
  extern __shared__ __align__(128) std::uint8_t staged[];
  const int row0 = blockIdx.y * kWgmmaM, col0 = blockIdx.x * kWgmmaN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const __nv_bfloat16* w_e = w + static_cast<long long>(expert_of_row(offsets, shape.experts, row0)) * shape.k * shape.n;
  float d[64] = {};
  stage_slice_for_wgmma(shape, x, w_e, row0, col0, 0, staged);
  commit_async_copies();
  for (int k0 = 0, stage = 0; k0 < shape.k; k0 += kWgmmaK, stage ^= 1) {
    if (k0 + kWgmmaK < shape.k) stage_slice_for_wgmma(shape, x, w_e, row0, col0, k0 + kWgmmaK, staged + (stage ^ 1) * kWgmmaStageBytes);
    commit_async_copies();
    wait_for_all_but_newest_copy_group();
    make_shared_writes_visible_to_wgmma();
    __syncthreads();
    const std::uint8_t* x_tile = staged + stage * kWgmmaStageBytes;
    const std::uint8_t* w_tile = x_tile + kXTileBytes;
    wgmma_fence();
    for (int k = 0; k < kWgmmaK / 16; ++k)
      wgmma_bf16_64x128x16(d, operand_descriptor(x_tile + Staging::x_k_step_start(k), Staging::x_leading, Staging::x_stride),
                           operand_descriptor(w_tile + Staging::w_k_step_start(k), Staging::w_leading, Staging::w_stride));
    wgmma_commit_and_wait();
    __syncthreads();  // the warpgroup is done reading this stage before it is loaded again
  }
  for (int j = 0; j < 16; ++j) {
    const int row = row0 + 16 * warp + g, col = col0 + 8 * j + 2 * t;
    *reinterpret_cast<float2*>(y + static_cast<long long>(row) * shape.n + col) = make_float2(d[4 * j], d[4 * j + 1]);
    *reinterpret_cast<float2*>(y + static_cast<long long>(row + 8) * shape.n + col) = make_float2(d[4 * j + 2], d[4 * j + 3]);
  }
}

}  // namespace

// Each version covers K, N and every expert's padded segment with whole tiles: its row of
// kGroupedGemmVersions states the tiles, which must be the kernel's own.
static_assert(kGroupedGemmVersions[1].k_multiple == kTile && kGroupedGemmVersions[1].n_multiple == kTile &&
              kGroupedGemmVersions[1].row_tile == kTile);
static_assert(kGroupedGemmVersions[2].k_multiple == kBlockK && kGroupedGemmVersions[2].n_multiple == kBlockN &&
              kGroupedGemmVersions[2].row_tile == kBlockM);
static_assert(kGroupedGemmVersions[3].k_multiple == kWgmmaK && kGroupedGemmVersions[3].n_multiple == kWgmmaN &&
              kGroupedGemmVersions[3].row_tile == kWgmmaM);

void grouped_gemm_v1(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  const long long outputs = static_cast<long long>(shape.padded_rows) * shape.n;
  grouped_gemm_naive<<<static_cast<int>((outputs + 255) / 256), 256, 0, stream>>>(shape, offsets, x, w, y);
  CUDA_CHECK(cudaGetLastError());
}

void grouped_gemm_v2(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  require_shape(kGroupedGemmVersions[1], shape);
  const dim3 grid((shape.n / kTile + kWarps - 1) / kWarps, shape.padded_rows / kTile);
  grouped_gemm_wmma<<<grid, kWarps * 32, 0, stream>>>(shape, offsets, x, w, y);
  CUDA_CHECK(cudaGetLastError());
}

void grouped_gemm_v3(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  require_shape(kGroupedGemmVersions[2], shape);
  const dim3 grid(shape.n / kBlockN, shape.padded_rows / kBlockM);
  grouped_gemm_tiled<<<grid, kTiledWarps * 32, 0, stream>>>(shape, offsets, x, w, y);
  CUDA_CHECK(cudaGetLastError());
}

void grouped_gemm_v4(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream) {
  require_shape(kGroupedGemmVersions[3], shape);
  std::string why;
  if (!wgmma_available(&why)) throw std::runtime_error("grouped_gemm_v4: " + why);
  static const bool shared_memory_ready = allow_dynamic_shared_memory(grouped_gemm_wgmma, 2 * kWgmmaStageBytes, "grouped_gemm_v4");
  const dim3 grid(shape.n / kWgmmaN, shape.padded_rows / kWgmmaM);
  grouped_gemm_wgmma<<<grid, kWgmmaThreads, 2 * kWgmmaStageBytes, stream>>>(shape, offsets, x, w, y);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
