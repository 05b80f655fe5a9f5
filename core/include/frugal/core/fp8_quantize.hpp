// FP8 quantisation at DeepSeek-V3's granularities (V3 report §3.3.2, Figure 7a) and the
// alternatives it is compared with:
//   per tensor          one scale for the whole matrix — online (current amax) or delayed (the
//                       largest amax of the last steps, Transformer Engine's DelayedScaling);
//   1 × 128 tiles       one scale per token per 128 channels: activations and their gradients;
//   128 × 128 blocks    one scale per 128 input × 128 output channels: weights.
// Online scaling: scale = amax / max_finite, so the tile's largest value lands on the format's
// largest (with UE8M0 scales, rounded up to a power of two). x ≈ decode(code) · scale.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <deque>
#include <vector>

#include "frugal/core/fp8_format.hpp"
#include "frugal/core/tensor.hpp"

namespace frugal::core {

// The shape of the region that shares one scale; 0 means "the whole dimension".
struct TileShape {
  Index rows = 0;
  Index cols = 0;
};
inline constexpr TileShape kPerTensor{0, 0};
inline constexpr TileShape kTile1x128{1, 128};
inline constexpr TileShape kTile128x1{128, 1};
inline constexpr TileShape kBlock128x128{128, 128};

enum class ScaleFormat { fp32, ue8m0 };

struct QuantizeOptions {
  Fp8Format format = kE4M3;
  TileShape tile = kTile1x128;
  ScaleFormat scale_format = ScaleFormat::fp32;
};

// Codes and scales, as a kernel would hold them.
struct Fp8Matrix {
  Index rows = 0, cols = 0;
  Fp8Format format = kE4M3;
  TileShape tile;                    // resolved: no zeros
  std::vector<std::uint8_t> codes;   // row-major
  Matrix<float> scales;              // one per tile
};

// Online scaling per tile.
Fp8Matrix quantize(const Matrix<float>& x, const QuantizeOptions& options);
// One given scale for the whole matrix (delayed scaling); values beyond the range saturate.
Fp8Matrix quantize_with_scale(const Matrix<float>& x, float scale, const Fp8Format& format);
Matrix<float> dequantize(const Fp8Matrix& q);

// dequantize(quantize(x)) without materialising codes: the "fake quantisation" training uses.
// Bit-identical to the two-step path (a test holds it).
Matrix<float> quantize_dequantize(const Matrix<float>& x, const QuantizeOptions& options);

// Rounds floats to the nearest value of a format (ties to even), saturating at ±max (±Inf too);
// NaN stays NaN. Branch-free bit arithmetic on |x|'s bits with the format's constants computed once,
// so that loops over it vectorise (the choices are integer masks); equal to fp8_round for every float (tested).
//   normal range: keep the top M mantissa bits, rounding the dropped 23 − M to nearest even (a
//                 carry into the exponent is the correct next binade);
//   below 2^(1 − bias): round to a multiple of the smallest subnormal q by adding and subtracting
//                 1.5·2^23·q — FP32's own round-to-nearest-even does the rounding (IEEE
//                 arithmetic: without -ffast-math the compiler may not fold (a + m) − m to a);
//   above max (Inf too): max. Non-negative floats order as their bits do.
// condition ? a : b as bit masks. Float comparisons may trap, so the compiler keeps a float ?: as a
// branch, and a branch stops a loop from vectorising; masks on the bits do not.
inline std::uint32_t select_bits(bool condition, std::uint32_t a, std::uint32_t b) {
  const std::uint32_t mask = 0u - static_cast<std::uint32_t>(condition);
  return (a & mask) | (b & ~mask);
}

class Fp8Rounder {
 public:
  explicit Fp8Rounder(const Fp8Format& f)
      : drop_(23 - f.mantissa_bits),
        magic_(12582912.0f * static_cast<float>(f.min_subnormal())),
        min_normal_bits_(std::bit_cast<std::uint32_t>(static_cast<float>(f.min_normal()))),
        max_bits_(std::bit_cast<std::uint32_t>(static_cast<float>(f.max_finite))) {}
  float operator()(float x) const {
    constexpr std::uint32_t kInfinity = 0x7f800000u;
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t sign = bits & 0x80000000u, a = bits & 0x7fffffffu;
    const std::uint32_t normal = (a + ((1u << (drop_ - 1)) - 1u) + ((a >> drop_) & 1u)) & ~((1u << drop_) - 1u);
    const std::uint32_t subnormal = std::bit_cast<std::uint32_t>((std::bit_cast<float>(a) + magic_) - magic_);
    std::uint32_t r = select_bits(a < min_normal_bits_, subnormal, normal);
    r = select_bits(a > max_bits_, max_bits_, r);
    r = select_bits(a > kInfinity, a, r);  // NaN
    return std::bit_cast<float>(r | sign);
  }

 private:
  std::uint32_t drop_;
  float magic_;
  std::uint32_t min_normal_bits_, max_bits_;
};
inline float fp8_round_fast(float x, const Fp8Format& format) { return Fp8Rounder(format)(x); }

struct QuantizationError {
  double relative_error = 0;      // ‖x̂ − x‖ / ‖x‖
  double max_abs_error = 0;
  double underflow_fraction = 0;  // non-zero values that became zero
  double saturated_fraction = 0;  // values beyond the range that were clamped to ±max
};
QuantizationError measure_quantization(const Matrix<float>& x, const Fp8Matrix& q);

// Transformer Engine's delayed scaling (recipe.DelayedScaling: amax_history_len, amax_compute_algo
// "max", margin 0): the scale for this step comes from the largest amax of the last `history`
// steps, recorded after each step. A value above that history's range saturates.
class DelayedScaling {
 public:
  explicit DelayedScaling(int history = 16, const Fp8Format& format = kE4M3) : history_(history), format_(format) {}
  float scale() const;  // 1 before any amax is recorded
  void record(float amax);

 private:
  int history_;
  Fp8Format format_;
  std::deque<float> amax_;
};

}  // namespace frugal::core
