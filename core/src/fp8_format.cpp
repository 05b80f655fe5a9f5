// FP8, UE8M0 and BF16 encoding (fp8_format.hpp).
#include "frugal/core/fp8_format.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace frugal::core {

double Fp8Format::min_normal() const { return std::ldexp(1.0, 1 - bias); }
double Fp8Format::min_subnormal() const { return std::ldexp(1.0, 1 - bias - mantissa_bits); }

static std::uint8_t exponent_field(std::uint8_t code, const Fp8Format& f) {
  return static_cast<std::uint8_t>((code >> f.mantissa_bits) & ((1 << f.exponent_bits) - 1));
}
static std::uint8_t mantissa_field(std::uint8_t code, const Fp8Format& f) {
  return static_cast<std::uint8_t>(code & ((1 << f.mantissa_bits) - 1));
}
static std::uint8_t max_exponent_field(const Fp8Format& f) { return static_cast<std::uint8_t>((1 << f.exponent_bits) - 1); }

bool fp8_is_nan(std::uint8_t code, const Fp8Format& f) {
  const std::uint8_t e = exponent_field(code, f), m = mantissa_field(code, f);
  if (e != max_exponent_field(f)) return false;
  return f.has_infinity ? m != 0 : m == (1 << f.mantissa_bits) - 1;
}

// value = (−1)^s · 2^(1 − bias) · m / 2^M                 (subnormal, E = 0)
//       = (−1)^s · 2^(E − bias) · (1 + m / 2^M)            (normal)
double fp8_decode(std::uint8_t code, const Fp8Format& f) {
  const double sign = (code & 0x80) ? -1.0 : 1.0;
  const int e = exponent_field(code, f), m = mantissa_field(code, f);
  if (fp8_is_nan(code, f)) return std::numeric_limits<double>::quiet_NaN();
  if (f.has_infinity && e == max_exponent_field(f)) return sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), 1 - f.bias - f.mantissa_bits);
  return sign * std::ldexp(1.0 + static_cast<double>(m) / (1 << f.mantissa_bits), e - f.bias);
}

// E4M3: S.1111.111; E5M2: S.11111.11 (its canonical quiet NaN) — the same bits in both.
static std::uint8_t nan_code(std::uint8_t sign) { return static_cast<std::uint8_t>(sign | 0x7F); }
static std::uint8_t max_code(std::uint8_t sign, const Fp8Format& f) {
  // E4M3: S.1111.110 (448); E5M2: S.11110.11 (57344).
  return static_cast<std::uint8_t>(sign | (f.has_infinity ? 0x7B : 0x7E));
}
static std::uint8_t infinity_code(std::uint8_t sign) { return static_cast<std::uint8_t>(sign | 0x7C); }

// Round |x| on the grid of its binade — spacing q = 2^(max(e, e_min) − M), where e = ⌊log2|x|⌋
// and e_min = 1 − bias is the smallest normal exponent (below it the grid is the subnormal one) —
// to the nearest multiple of q, ties to the even multiple; then write the fields.
std::uint8_t fp8_encode(double x, const Fp8Format& f, Saturation saturation) {
  const std::uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  if (std::isnan(x)) return nan_code(sign);
  const double a = std::fabs(x);
  auto overflow = [&] {
    if (saturation == Saturation::finite) return max_code(sign, f);
    return f.has_infinity ? infinity_code(sign) : nan_code(sign);
  };
  if (std::isinf(a)) return overflow();
  if (a == 0) return sign;
  const int e_min = 1 - f.bias;
  const int e = std::max(std::ilogb(a), e_min);
  const double quantum = std::ldexp(1.0, e - f.mantissa_bits);
  const double rounded = std::nearbyint(a / quantum) * quantum;  // FE_TONEAREST: ties to even
  if (rounded > f.max_finite) return overflow();
  if (rounded == 0) return sign;
  const int re = std::ilogb(rounded);
  if (re < e_min) {  // subnormal: exponent field 0
    return static_cast<std::uint8_t>(sign | static_cast<std::uint8_t>(rounded / f.min_subnormal()));
  }
  const int mantissa = static_cast<int>(std::ldexp(rounded, f.mantissa_bits - re)) - (1 << f.mantissa_bits);
  return static_cast<std::uint8_t>(sign | ((re + f.bias) << f.mantissa_bits) | mantissa);
}

double fp8_round(double value, const Fp8Format& f, Saturation saturation) {
  return fp8_decode(fp8_encode(value, f, saturation), f);
}

std::string fp8_bits(std::uint8_t code, const Fp8Format& f) {
  std::string out(1, (code & 0x80) ? '1' : '0');
  out += ' ';
  for (int b = f.exponent_bits + f.mantissa_bits - 1; b >= 0; --b) {
    out += ((code >> b) & 1) ? '1' : '0';
    if (b == f.mantissa_bits) out += ' ';
  }
  return out;
}

double ue8m0_decode(std::uint8_t code) {
  if (code == 0xFF) return std::numeric_limits<double>::quiet_NaN();
  return std::ldexp(1.0, static_cast<int>(code) - 127);
}

std::uint8_t ue8m0_encode_up(double value) {
  if (!(value > 0)) return 0;  // the smallest scale, 2^-127
  int e = std::ilogb(value);
  if (std::ldexp(1.0, e) < value) ++e;  // round up to a power of two
  return static_cast<std::uint8_t>(std::clamp(e + 127, 0, 254));
}

// Keep the top 16 bits of the float, rounding the dropped 16 to nearest, ties to even.
float round_to_bf16(float value) {
  if (std::isnan(value)) return value;
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return std::bit_cast<float>(bits & 0xFFFF0000u);
}

}  // namespace frugal::core
