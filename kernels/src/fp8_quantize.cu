// FP8 quantisation kernels (fp8_quantize.hpp).
#include <cuda_fp8.h>

#include <stdexcept>
#include <string>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/fp8_quantize.hpp"

namespace frugal::kernels {

namespace {

// E4M3(v): round to nearest even, saturate to ±448 (NaN becomes 0x7F).
__device__ __forceinline__ std::uint8_t to_e4m3(float v) {
  return static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3));
}

// Four codes packed little-endian into one word: byte i is E4M3(v[i]).
__device__ __forceinline__ std::uint32_t to_e4m3x4(float4 v) {
  const std::uint32_t low = __nv_cvt_float2_to_fp8x2(make_float2(v.x, v.y), __NV_SATFINITE, __NV_E4M3);
  const std::uint32_t high = __nv_cvt_float2_to_fp8x2(make_float2(v.z, v.w), __NV_SATFINITE, __NV_E4M3);
  return low | (high << 16);
}

// The tile (tile_row, tile_col) covers rows [r0, r1) × cols [c0, c1).
struct TileBounds {
  int r0, r1, c0, c1;
};
__device__ TileBounds tile_bounds(const Fp8QuantizeShape& s, int tile_row, int tile_col) {
  const int height = s.tiling == Fp8Tiling::tile_1x128 ? 1 : kFp8Tile;
  const int r0 = tile_row * height, c0 = tile_col * kFp8Tile;
  return {r0, min(r0 + height, s.rows), c0, min(c0 + kFp8Tile, s.cols)};
}

// v1: thread t owns tile t. scale = amax / 448 (fp8_tile_scale), code = E4M3(x / scale).
__global__ void quantize_tile_per_thread(Fp8QuantizeShape s, int scale_rows, int scale_cols, const float* x, std::uint8_t* codes,
                                         float* scales) {
  const int tile = blockIdx.x * blockDim.x + threadIdx.x;
  if (tile >= scale_rows * scale_cols) return;
  const TileBounds b = tile_bounds(s, tile / scale_cols, tile % scale_cols);
  float amax = 0.0f;
  for (int r = b.r0; r < b.r1; ++r)
    for (int c = b.c0; c < b.c1; ++c) amax = fmaxf(amax, fabsf(x[static_cast<long long>(r) * s.cols + c]));
  const float scale = fp8_tile_scale(amax, s.scale_format);
  scales[tile] = scale;
  for (int r = b.r0; r < b.r1; ++r)
    for (int c = b.c0; c < b.c1; ++c) {
      const long long i = static_cast<long long>(r) * s.cols + c;
      codes[i] = to_e4m3(x[i] / scale);
    }
}

// v2, 1×128 tiles: warp w owns tile w; lane l holds columns c0 + 4l … c0 + 4l + 3 of its row.
// A partial last tile (cols not a multiple of 128) leaves its upper lanes idle.
__global__ void quantize_1x128_per_warp(Fp8QuantizeShape s, int scale_cols, const float* x, std::uint8_t* codes, float* scales) {
  const long long tile = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (tile >= static_cast<long long>(s.rows) * scale_cols) return;  // whole warps leave together
  const int row = static_cast<int>(tile / scale_cols), col = static_cast<int>(tile % scale_cols) * kFp8Tile + 4 * lane;
  const bool mine = col < s.cols;
  const long long i = static_cast<long long>(row) * s.cols + col;
  const float4 v = mine ? *reinterpret_cast<const float4*>(x + i) : make_float4(0, 0, 0, 0);
  float amax = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
  for (int offset = 16; offset > 0; offset /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
  const float scale = fp8_tile_scale(amax, s.scale_format);
  if (lane == 0) scales[tile] = scale;
  if (mine)
    *reinterpret_cast<std::uint32_t*>(codes + i) = to_e4m3x4(make_float4(v.x / scale, v.y / scale, v.z / scale, v.w / scale));
}

// v2, 128×128 blocks: thread block b owns block b. Its 256 threads cover the block as 8 rows × 32
// float4 columns per step, 16 steps: first the amax (each thread's, then the block's through shared
// memory), then the codes. The block is read twice; the second read mostly hits L2.
constexpr int kBlockThreads = 256;

__global__ void quantize_128x128_per_block(Fp8QuantizeShape s, int scale_cols, const float* x, std::uint8_t* codes, float* scales) {
  const TileBounds b = tile_bounds(s, blockIdx.x / scale_cols, blockIdx.x % scale_cols);
  const int row_in_step = threadIdx.x / 32, col = b.c0 + 4 * (threadIdx.x % 32);
  float amax = 0.0f;
  for (int r = b.r0 + row_in_step; r < b.r1; r += kBlockThreads / 32)
    if (col < b.c1) {
      const float4 v = *reinterpret_cast<const float4*>(x + static_cast<long long>(r) * s.cols + col);
      amax = fmaxf(amax, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
    }
  for (int offset = 16; offset > 0; offset /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
  __shared__ float warp_amax[kBlockThreads / 32];
  if (threadIdx.x % 32 == 0) warp_amax[threadIdx.x / 32] = amax;
  __syncthreads();
  amax = 0.0f;
  for (float w : warp_amax) amax = fmaxf(amax, w);
  const float scale = fp8_tile_scale(amax, s.scale_format);
  if (threadIdx.x == 0) scales[blockIdx.x] = scale;
  for (int r = b.r0 + row_in_step; r < b.r1; r += kBlockThreads / 32)
    if (col < b.c1) {
      const long long i = static_cast<long long>(r) * s.cols + col;
      const float4 v = *reinterpret_cast<const float4*>(x + i);
      *reinterpret_cast<std::uint32_t*>(codes + i) = to_e4m3x4(make_float4(v.x / scale, v.y / scale, v.z / scale, v.w / scale));
    }
}

__global__ void quantize_with_scale_kernel(long long n, const float* x, float scale, std::uint8_t* codes) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) codes[i] = to_e4m3(x[i] / scale);
}

int blocks_for(long long threads, int per_block) { return static_cast<int>((threads + per_block - 1) / per_block); }

}  // namespace

void fp8_quantize_v1(const Fp8QuantizeShape& shape, const float* x, std::uint8_t* codes, float* scales, cudaStream_t stream) {
  const int rows = fp8_scale_rows(shape), cols = fp8_scale_cols(shape);
  quantize_tile_per_thread<<<blocks_for(static_cast<long long>(rows) * cols, 128), 128, 0, stream>>>(shape, rows, cols, x, codes, scales);
  CUDA_CHECK(cudaGetLastError());
}

void fp8_quantize_v2(const Fp8QuantizeShape& shape, const float* x, std::uint8_t* codes, float* scales, cudaStream_t stream) {
  require_shape(kFp8QuantizeVersions[1], shape);
  const int rows = fp8_scale_rows(shape), cols = fp8_scale_cols(shape);
  if (shape.tiling == Fp8Tiling::tile_1x128)
    quantize_1x128_per_warp<<<blocks_for(static_cast<long long>(rows) * cols * 32, 256), 256, 0, stream>>>(shape, cols, x, codes, scales);
  else
    quantize_128x128_per_block<<<rows * cols, kBlockThreads, 0, stream>>>(shape, cols, x, codes, scales);
  CUDA_CHECK(cudaGetLastError());
}

void fp8_quantize_with_scale(long long n, const float* x, float scale, std::uint8_t* codes, cudaStream_t stream) {
  quantize_with_scale_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(n, x, scale, codes);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
