// Grouped GEMM over experts: for each expert e, the rows of its segment of the dispatched buffer
// (moe_layout.hpp: offsets[e] … offsets[e+1], padded to the tile) times its own weight matrix:
//   Y[r, :] = X[r, :] · W_e      for r in expert e's segment          (bf16 in, fp32 accumulate, fp32 out)
// X: padded_rows × K bf16, W: experts × K × N bf16 (row-major each), Y: padded_rows × N fp32.
// The CPU twin is core's LocalExperts running each expert's FFN GEMM on its gathered rows.
// Versions (kGroupedGemmVersions below; tests/kernels/test_grouped_gemm_gpu.cpp checks each against a
// double-precision loop):
//   v1 — one thread per output element, the expert found by binary search over the offsets;
//   v2 — tensor cores through WMMA: one warp per 16×16 output tile, 16×16×16 bf16 MMAs with fp32
//        accumulators, operands straight from global memory. Needs K and N multiples of 16, tile ≥ 16;
//   v3 — the same MMAs fed from shared memory: 64×64 block tiles, 32-wide K-slices staged by
//        cp.async and double-buffered, each operand element read once per block, not once per warp
//        tile. Needs K a multiple of 32, N and the segment padding multiples of 64 (std::invalid_argument
//        otherwise);
//   v4 — Hopper's warpgroup MMAs (wgmma m64n128k16, sm_90a): a warpgroup per 64×128 of Y, both
//        operands read by the tensor cores from shared memory (X K-major, W N-major, as they lie in
//        memory), 64-wide K-slices staged by cp.async and double-buffered. Needs K a multiple of
//        64, N of 128, segments padded to 64 rows (std::invalid_argument); compute capability 9.0
//        (std::runtime_error otherwise).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <array>
#include <string>

#include "frugal/kernels/kernel_version.hpp"

namespace frugal::kernels {

struct GroupedGemmShape {
  int experts = 0;
  int padded_rows = 0;  // offsets[experts]
  int k = 0, n = 0;
};

// offsets: experts + 1 ints (device).
void grouped_gemm_v1(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream = nullptr);
void grouped_gemm_v2(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream = nullptr);
void grouped_gemm_v3(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream = nullptr);
void grouped_gemm_v4(const GroupedGemmShape& shape, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                     cudaStream_t stream = nullptr);

// The version table (kernel_version.hpp). A version covers K, N and each expert's segment with
// whole tiles: K a multiple of k_multiple, N of n_multiple, every segment padded to row_tile rows
// (plan_dispatch's tile; only padded_rows % row_tile can be checked on the host).
using GroupedGemmLauncher = void (*)(const GroupedGemmShape&, const int* offsets, const __nv_bfloat16* x, const __nv_bfloat16* w, float* y,
                                     cudaStream_t);
struct GroupedGemmVersion {
  int number;
  const char* name;
  GroupedGemmLauncher launch;
  GpuFeature needs;
  int k_multiple, n_multiple, row_tile;
};
inline constexpr std::array kGroupedGemmVersions{
    GroupedGemmVersion{1, "v1 naive", grouped_gemm_v1, GpuFeature::none, 1, 1, 1},
    GroupedGemmVersion{2, "v2 wmma", grouped_gemm_v2, GpuFeature::none, 16, 16, 16},
    GroupedGemmVersion{3, "v3 wmma, shared-memory tiles", grouped_gemm_v3, GpuFeature::none, 32, 64, 64},
    GroupedGemmVersion{4, "v4 wgmma", grouped_gemm_v4, GpuFeature::wgmma, 64, 128, 64},
};
inline std::string shape_error(const GroupedGemmVersion& v, const GroupedGemmShape& s) {
  if (s.k % v.k_multiple == 0 && s.n % v.n_multiple == 0 && s.padded_rows % v.row_tile == 0) return "";
  return "K must be a multiple of " + std::to_string(v.k_multiple) + ", N of " + std::to_string(v.n_multiple) + " and the padded rows of " +
         std::to_string(v.row_tile) + "; got K " + std::to_string(s.k) + ", N " + std::to_string(s.n) + ", rows " + std::to_string(s.padded_rows);
}

}  // namespace frugal::kernels
