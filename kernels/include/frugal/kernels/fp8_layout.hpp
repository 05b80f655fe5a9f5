// The FP8 kernels' layout on the host and the device: how many scales a quantised matrix has, the
// scale a tile gets, and which FP8 GEMM shapes the kernels take. Plain C++ (the scale function is
// also compiled for the device): built and unit-tested everywhere against core's quantize().
//
// DeepSeek-V3's fine-grained quantisation (V3 report §3.3.2, Figure 7a):
//   activations (A, M×K)  1×128 tiles: one scale per row per 128 columns  → M × ⌈K/128⌉ scales;
//   weights     (B, N×K)  128×128 blocks                                   → ⌈N/128⌉ × ⌈K/128⌉ scales.
// Both scale grids are row-major. Online scaling: scale = amax / 448 (E4M3's largest finite
// value), or that rounded up to a power of two for UE8M0 scales (DeepSeek-V3.1's "scale_fmt":
// "ue8m0"); a tile of zeros (or one holding Inf/NaN) gets scale 1, as in core/src/fp8_quantize.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#if defined(__CUDACC__)
#define FRUGAL_HOST_DEVICE __host__ __device__
#else
#define FRUGAL_HOST_DEVICE
#endif

namespace frugal::kernels {

inline constexpr int kFp8Tile = 128;             // the 128 of 1×128 and 128×128
inline constexpr float kE4M3Max = 448.0f;        // OCP OFP8 rev 1.0: 1.75 × 2^8

enum class Fp8Tiling { tile_1x128, block_128x128 };
enum class Fp8ScaleFormat { fp32, ue8m0 };

struct Fp8QuantizeShape {
  int rows = 0, cols = 0;
  Fp8Tiling tiling = Fp8Tiling::tile_1x128;
  Fp8ScaleFormat scale_format = Fp8ScaleFormat::fp32;
};

// The scale grid: rows × ⌈cols/128⌉ for 1×128 tiles, ⌈rows/128⌉ × ⌈cols/128⌉ for blocks.
int fp8_scale_rows(const Fp8QuantizeShape& shape);
int fp8_scale_cols(const Fp8QuantizeShape& shape);

// The scale of a tile whose largest magnitude is `amax`. The division is done in double and
// rounded once to float, exactly as core's scale_for does, so that both sides agree to the bit.
FRUGAL_HOST_DEVICE inline float fp8_tile_scale(float amax, Fp8ScaleFormat format) {
  if (!(amax > 0.0f) || !(amax <= 3.4028234663852886e38f)) return 1.0f;  // zero, NaN or Inf
  const double s = static_cast<double>(amax) / 448.0;
  if (format == Fp8ScaleFormat::fp32) return static_cast<float>(s);
  // UE8M0: the smallest power of two ≥ s, 2^E with E clamped to [−127, 127] (core's ue8m0_encode_up).
  int e = 0;
  const double mantissa = frexp(s, &e);  // s = mantissa · 2^e, mantissa in [0.5, 1)
  if (mantissa == 0.5) --e;              // s is itself a power of two
  e = e < -127 ? -127 : (e > 127 ? 127 : e);
  return static_cast<float>(ldexp(1.0, e));
}

// One FP8 GEMM, C (M×N, bf16) = A (M×K, E4M3, 1×128 scales) · Bᵀ (B: N×K, E4M3, 128×128 scales),
// over `experts` weight matrices when grouped: rows offsets[e] … offsets[e+1] of A use expert e's B
// (DeepGEMM's "contiguous layout": each expert's segment padded to a multiple of 128 rows).
struct Fp8GemmShape {
  int m = 0, n = 0, k = 0;
  int experts = 1;
};

// Empty when the kernels take this shape, otherwise one line naming what is wrong: sizes positive,
// K a multiple of 128 (each 128-slice of K is one scale group), N even (bf16 pairs are stored
// together), and for a grouped GEMM `offsets` of experts + 1 ascending multiples of 128 from 0 to M.
std::string fp8_gemm_shape_error(const Fp8GemmShape& shape, const std::vector<int>& offsets = {});

}  // namespace frugal::kernels
