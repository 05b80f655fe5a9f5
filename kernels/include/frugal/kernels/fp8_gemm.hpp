// FP8 GEMM with DeepSeek-V3's fine-grained scaling (V3 report §3.3.2, Figure 7):
//   C[r][c] = Σ_g ( Σ_{j in 128-slice g of K} A[r][j] · B[c][j] ) · a_scale[r][g] · b_scale[c/128][g]
// A: M×K E4M3 codes with 1×128 scales (activations), B: N×K E4M3 codes with 128×128 scales (a weight
// stored [out][in], as a Linear layer keeps it), C: M×N bf16. The inner sum over each 128-slice of K
// runs on the tensor core; the scaled partial sum is then added to an FP32 accumulator in the CUDA
// cores — "promotion every N_C = 128" (§3.3.2). Grouped over experts with the contiguous layout
// (fp8_layout.hpp: Fp8GemmShape, fp8_gemm_shape_error). The CPU twin is core's fp8_gemm()
// (core/fp8_gemm.hpp): tests/kernels/test_fp8_gemm_gpu.cpp checks each version against it and
// against the exact product; bench/bench_kernels_fp8.cpp times them beside cuBLASLt and cuBLAS.
// Versions (kFp8GemmVersions below):
//   v1 — dequantise and multiply: one thread per output, codes decoded to float one by one, the
//        per-slice partial sums scaled in FP32. Any GPU; the obvious reference.
//   v2 — tensor cores: `mma.sync.m16n8k32` on E4M3 operands (sm_89+: Ada, Hopper). A block computes
//        64×128 of C with 4 warps (each 32×64: 2 × 8 MMA tiles); each 128-slice of K (one scale
//        group, 64×128 + 128×128 bytes) is staged in shared memory by cp.async, double-buffered so
//        that the next slice loads while this one multiplies; rows padded to 144 bytes so that the
//        fragment loads (8 rows × 4 lanes × 4 bytes) hit 32 different banks. After each slice the
//        warp's partial sums are scaled and promoted into FP32 registers.
//   v3 — Hopper's warpgroup MMAs (`wgmma.mma_async` m64n128k32, sm_90a): a warpgroup per 64×128 of
//        C, both operands read by the tensor cores straight from shared memory through descriptors
//        (no-swizzle core-matrix layout, staged by cp.async, double-buffered), promotion per 128 of K
//        as in v2. Not yet DeepGEMM's further steps: TMA loads, 128-byte swizzle, warp-specialised
//        producers, two consumer warpgroups, persistent blocks.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>

#include "frugal/kernels/fp8_layout.hpp"
#include "frugal/kernels/kernel_version.hpp"

namespace frugal::kernels {

struct Fp8GemmOperands {
  const std::uint8_t* a = nullptr;  // M × K codes
  const float* a_scales = nullptr;  // M × K/128
  const std::uint8_t* b = nullptr;  // experts × N × K codes
  const float* b_scales = nullptr;  // experts × ⌈N/128⌉ × K/128
  const int* offsets = nullptr;     // experts + 1 row offsets (device); nullptr when experts == 1
  __nv_bfloat16* c = nullptr;       // M × N
};

void fp8_gemm_v1(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream = nullptr);
// Throws std::runtime_error on a device below compute capability 8.9 (no FP8 tensor cores).
void fp8_gemm_v2(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream = nullptr);

// Throws std::runtime_error on a device other than compute capability 9.0 (wgmma is Hopper's).
void fp8_gemm_v3(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream = nullptr);

// The version table (kernel_version.hpp). Every version takes any shape fp8_gemm_shape_error accepts.
using Fp8GemmLauncher = void (*)(const Fp8GemmShape&, const Fp8GemmOperands&, cudaStream_t);
struct Fp8GemmVersion {
  int number;
  const char* name;
  Fp8GemmLauncher launch;
  GpuFeature needs;
};
inline constexpr std::array kFp8GemmVersions{
    Fp8GemmVersion{1, "v1 dequantise", fp8_gemm_v1, GpuFeature::none},
    Fp8GemmVersion{2, "v2 mma.sync", fp8_gemm_v2, GpuFeature::fp8_tensor_cores},
    Fp8GemmVersion{3, "v3 wgmma", fp8_gemm_v3, GpuFeature::wgmma},
};
// M, N and K only: the offsets of a grouped call live on the device (fp8_gemm_shape_error checks them).
inline std::string shape_error(const Fp8GemmVersion&, const Fp8GemmShape& s) { return fp8_gemm_shape_error({s.m, s.n, s.k, 1}); }

}  // namespace frugal::kernels
