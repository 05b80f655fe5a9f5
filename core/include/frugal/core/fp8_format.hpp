// FP8 number formats, bit-exact (OCP 8-bit Floating Point Specification (OFP8) rev 1.0, 2023;
// Micikevicius et al. 2022, "FP8 Formats for Deep Learning"):
//
//   E4M3: 1 sign, 4 exponent (bias 7), 3 mantissa. No infinities; S.1111.111 is NaN, so the
//         largest finite value is 1.75 × 2^8 = 448. Smallest subnormal 2^-9.
//   E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa. IEEE-like: S.11111.00 is ±Inf, S.11111.xx
//         (xx ≠ 00) NaN. Largest finite 1.75 × 2^15 = 57344. Smallest subnormal 2^-16.
//   UE8M0: unsigned, 8 exponent bits, no mantissa: 2^(E − 127); E = 255 is NaN. A power-of-two
//         scale (DeepSeek-V3.1 config "scale_fmt": "ue8m0"; the V3 report §3.3.3 uses
//         power-of-two scales for the activations it communicates).
//
// Encoding rounds to nearest, ties to even. Out-of-range values either saturate to ±max
// (Saturation::finite, what DeepSeek's and Transformer Engine's casts do) or overflow
// (Saturation::none: ±Inf in E5M2, NaN in E4M3, which has no Inf). NaN stays NaN (sign kept);
// ±Inf saturates to ±max with Saturation::finite.
#pragma once

#include <cstdint>
#include <string>

namespace frugal::core {

struct Fp8Format {
  const char* name;
  int exponent_bits;
  int mantissa_bits;
  int bias;
  bool has_infinity;  // E5M2: yes; E4M3: no (its all-ones exponent still holds finite values)
  double max_finite;
  double min_normal() const;
  double min_subnormal() const;
};

inline constexpr Fp8Format kE4M3{"e4m3", 4, 3, 7, false, 448.0};
inline constexpr Fp8Format kE5M2{"e5m2", 5, 2, 15, true, 57344.0};

enum class Saturation { finite, none };

std::uint8_t fp8_encode(double value, const Fp8Format& format, Saturation saturation = Saturation::finite);
double fp8_decode(std::uint8_t code, const Fp8Format& format);
bool fp8_is_nan(std::uint8_t code, const Fp8Format& format);
// The value after a round trip through the format: fp8_decode(fp8_encode(value)).
double fp8_round(double value, const Fp8Format& format, Saturation saturation = Saturation::finite);

// "0 1111 110" style: sign, exponent and mantissa fields.
std::string fp8_bits(std::uint8_t code, const Fp8Format& format);

// UE8M0 scales.
double ue8m0_decode(std::uint8_t code);
// The smallest power of two ≥ value (> 0), as DeepGEMM rounds scales up so that amax / scale
// still fits the format; clamped to [2^-127, 2^127].
std::uint8_t ue8m0_encode_up(double value);

// bfloat16 rounding (round to nearest even), for optimizer moments stored in BF16 (V3 §3.3.3).
float round_to_bf16(float value);

}  // namespace frugal::core
