// FP8 quantisation on the GPU: fp32 in, E4M3 codes and one scale per tile out (fp8_layout.hpp has
// the tilings and the scale rule). The CPU twin is core's quantize() (core/fp8_quantize.hpp); the
// codes and scales are bit-identical to it (tests/kernels/test_fp8_quantize_gpu.cpp, on random
// inputs including values at and beyond E4M3's range). Each code is the E4M3 value nearest to
// x / scale (round to nearest even, saturating at ±448: `cvt.rn.satfinite.e4m3x2.f32` on sm_89+).
//   x        rows × cols fp32, row-major;
//   codes    rows × cols bytes, row-major;
//   scales   fp8_scale_rows × fp8_scale_cols fp32, row-major; x ≈ decode(code) · scale.
// Versions (kFp8QuantizeVersions below):
//   v1 — one thread per tile: it finds the tile's amax, then writes its codes. Obvious and slow: a
//        128×128 block is 16,384 elements for one thread, and neighbouring threads read addresses
//        128 floats apart, so no load is coalesced.
//   v2 — the threads of a tile share it: 1×128 tiles get a warp each (32 lanes × 4 consecutive
//        floats, one 16-byte load per lane, the amax by warp shuffles, four codes stored as one
//        32-bit word); 128×128 blocks get a 256-thread block each (each thread a float4 per row
//        step, the amax through shared memory). Every access is coalesced; v2 should run at the
//        copy bandwidth (read 4 bytes, write 1 per element). Needs cols a multiple of 4
//        (std::invalid_argument otherwise).
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>

#include "frugal/kernels/fp8_layout.hpp"
#include "frugal/kernels/kernel_version.hpp"

namespace frugal::kernels {

void fp8_quantize_v1(const Fp8QuantizeShape& shape, const float* x, std::uint8_t* codes, float* scales, cudaStream_t stream = nullptr);
void fp8_quantize_v2(const Fp8QuantizeShape& shape, const float* x, std::uint8_t* codes, float* scales, cudaStream_t stream = nullptr);

// The version table (kernel_version.hpp).
using Fp8QuantizeLauncher = void (*)(const Fp8QuantizeShape&, const float* x, std::uint8_t* codes, float* scales, cudaStream_t);
struct Fp8QuantizeVersion {
  int number;
  const char* name;
  Fp8QuantizeLauncher launch;
  GpuFeature needs;
  int cols_multiple;  // cols % cols_multiple == 0
};
inline constexpr std::array kFp8QuantizeVersions{
    Fp8QuantizeVersion{1, "v1 thread per tile", fp8_quantize_v1, GpuFeature::none, 1},
    Fp8QuantizeVersion{2, "v2 coalesced", fp8_quantize_v2, GpuFeature::none, 4},
};
inline std::string shape_error(const Fp8QuantizeVersion& v, const Fp8QuantizeShape& s) {
  if (s.cols % v.cols_multiple == 0) return "";
  return "cols = " + std::to_string(s.cols) + " is not a multiple of " + std::to_string(v.cols_multiple) + " (16-byte loads)";
}

// Per-tensor quantisation with a given scale (delayed scaling; what cuBLASLt's FP8 GEMM takes):
// codes[i] = E4M3(x[i] / scale), saturating — the twin of core's quantize_with_scale().
void fp8_quantize_with_scale(long long n, const float* x, float scale, std::uint8_t* codes, cudaStream_t stream = nullptr);

}  // namespace frugal::kernels
