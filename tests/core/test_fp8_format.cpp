// FP8 formats against an independent computation: every one of the 256 codes of E4M3 and E5M2
// decoded from its fields by integer arithmetic, every finite code round-tripped, and encoding
// checked against an exhaustive nearest-value search (ties to the even code).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "frugal/core/fp8_format.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {
namespace {

// The value of a code from its fields, written independently of fp8_decode:
// (−1)^s · (E == 0 ? m : 2^M + m) · 2^(max(E, 1) − bias − M).
double independent_value(int code, const Fp8Format& f) {
  const int m_bits = f.mantissa_bits;
  const int e = (code >> m_bits) & ((1 << f.exponent_bits) - 1);
  const int m = code & ((1 << m_bits) - 1);
  const long long significand = e == 0 ? m : (1LL << m_bits) + m;
  const int exponent = (e == 0 ? 1 : e) - f.bias - m_bits;
  double v = static_cast<double>(significand);
  for (int i = 0; i < std::abs(exponent); ++i) v = exponent > 0 ? v * 2 : v / 2;
  return (code & 0x80) ? -v : v;
}

bool is_special(int code, const Fp8Format& f) {
  const int e = (code >> f.mantissa_bits) & ((1 << f.exponent_bits) - 1);
  const int m = code & ((1 << f.mantissa_bits) - 1);
  if (f.has_infinity) return e == (1 << f.exponent_bits) - 1;           // E5M2: Inf and NaN
  return e == (1 << f.exponent_bits) - 1 && m == (1 << f.mantissa_bits) - 1;  // E4M3: NaN only
}

class Fp8AllCodes : public ::testing::TestWithParam<Fp8Format> {};

TEST_P(Fp8AllCodes, DecodeMatchesTheFieldsAndEncodeRoundTrips) {
  const Fp8Format f = GetParam();
  int finite = 0;
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<std::uint8_t>(code);
    if (is_special(code, f)) {
      const double v = fp8_decode(c, f);
      const int m = code & ((1 << f.mantissa_bits) - 1);
      if (f.has_infinity && m == 0) {
        EXPECT_TRUE(std::isinf(v)) << code;
        EXPECT_EQ(fp8_encode(v, f, Saturation::none), c) << code;
      } else {
        EXPECT_TRUE(std::isnan(v)) << code;
        EXPECT_TRUE(fp8_is_nan(c, f));
      }
      continue;
    }
    ++finite;
    EXPECT_EQ(fp8_decode(c, f), independent_value(code, f)) << f.name << " code " << code;
    EXPECT_EQ(fp8_encode(fp8_decode(c, f), f), c) << f.name << " code " << code;  // −0 stays 0x80
  }
  EXPECT_EQ(finite, f.has_infinity ? 248 : 254);
}

TEST_P(Fp8AllCodes, EncodeIsTheNearestValueTiesToEven) {
  const Fp8Format f = GetParam();
  std::vector<std::pair<double, int>> positives;  // (value, code), ascending
  for (int code = 0; code < 128; ++code)
    if (!is_special(code, f)) positives.push_back({independent_value(code, f), code});
  // Exhaustive reference: the nearest positive code; on a tie, the one with an even mantissa.
  auto nearest = [&](double a) {
    int best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (const auto& [v, code] : positives) {
      const double d = std::abs(v - a);
      if (d < best_distance || (d == best_distance && (code & 1) == 0)) {
        best = code;
        best_distance = d;
      }
    }
    return best;
  };
  std::vector<double> probes;
  for (std::size_t i = 0; i + 1 < positives.size(); ++i) {
    const double lo = positives[i].first, hi = positives[i + 1].first;
    probes.insert(probes.end(), {(lo + hi) / 2, lo + (hi - lo) * 0.49, lo + (hi - lo) * 0.51});  // ties and near-ties
  }
  Rng rng(8);
  for (int i = 0; i < 2000; ++i) probes.push_back(std::ldexp(rng.uniform(), static_cast<int>(rng.below(40)) - 20));
  for (double a : probes) {
    if (a > f.max_finite) continue;
    EXPECT_EQ(fp8_encode(a, f), nearest(a)) << f.name << " " << a;
    EXPECT_EQ(fp8_encode(-a, f), nearest(a) | 0x80) << f.name << " " << -a;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, Fp8AllCodes, ::testing::Values(kE4M3, kE5M2),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Fp8Format, KnownValues) {
  EXPECT_EQ(fp8_decode(0x7E, kE4M3), 448.0);
  EXPECT_EQ(fp8_decode(0x38, kE4M3), 1.0);
  EXPECT_EQ(fp8_decode(0x08, kE4M3), std::ldexp(1.0, -6));  // smallest normal
  EXPECT_EQ(fp8_decode(0x01, kE4M3), std::ldexp(1.0, -9));  // smallest subnormal
  EXPECT_EQ(fp8_decode(0x7B, kE5M2), 57344.0);
  EXPECT_EQ(fp8_decode(0x3C, kE5M2), 1.0);
  EXPECT_EQ(fp8_decode(0x01, kE5M2), std::ldexp(1.0, -16));
  EXPECT_TRUE(std::isinf(fp8_decode(0x7C, kE5M2)));
  EXPECT_EQ(fp8_bits(0x7E, kE4M3), "0 1111 110");
  EXPECT_EQ(fp8_bits(0xBC, kE5M2), "1 01111 00");
}

TEST(Fp8Format, SaturationNanAndInfinity) {
  // Finite saturation: beyond the range → ±max; ±Inf → ±max; NaN → NaN with its sign.
  EXPECT_EQ(fp8_encode(1000.0, kE4M3), 0x7E);
  EXPECT_EQ(fp8_encode(-1e9, kE4M3), 0xFE);
  EXPECT_EQ(fp8_encode(std::numeric_limits<double>::infinity(), kE4M3), 0x7E);
  EXPECT_EQ(fp8_encode(1e6, kE5M2), 0x7B);
  EXPECT_EQ(fp8_encode(std::nan(""), kE4M3), 0x7F);
  EXPECT_EQ(fp8_encode(-std::nan(""), kE5M2), 0xFF);
  // Without saturation: E4M3 has no Inf, so overflow is NaN; E5M2 overflows to ±Inf.
  EXPECT_EQ(fp8_encode(1000.0, kE4M3, Saturation::none), 0x7F);
  EXPECT_EQ(fp8_encode(-1e6, kE5M2, Saturation::none), 0xFC);
  // 464 is halfway between 448 (mantissa 110, even) and 480 (which would be 111): it rounds to
  // 448 and stays finite even without saturation; 465 rounds up, past the range.
  EXPECT_EQ(fp8_encode(464.0, kE4M3, Saturation::none), 0x7E);
  EXPECT_EQ(fp8_encode(465.0, kE4M3, Saturation::none), 0x7F);
  EXPECT_EQ(fp8_encode(465.0, kE4M3), 0x7E);
  // Below half the smallest subnormal: zero, signed.
  EXPECT_EQ(fp8_encode(std::ldexp(1.0, -11), kE4M3), 0x00);
  EXPECT_EQ(fp8_encode(-std::ldexp(1.0, -11), kE4M3), 0x80);
}

TEST(Ue8m0, PowersOfTwoRoundedUp) {
  EXPECT_EQ(ue8m0_decode(127), 1.0);
  EXPECT_EQ(ue8m0_decode(130), 8.0);
  EXPECT_TRUE(std::isnan(ue8m0_decode(255)));
  EXPECT_EQ(ue8m0_encode_up(4.0), 129);  // exactly 2^2
  EXPECT_EQ(ue8m0_encode_up(3.0), 129);  // up to 2^2
  EXPECT_EQ(ue8m0_encode_up(0.3), 126);  // up to 2^-1
  for (int code = 1; code < 255; ++code) EXPECT_EQ(ue8m0_encode_up(ue8m0_decode(static_cast<std::uint8_t>(code))), code);
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -7)), 1.0f + std::ldexp(1.0f, -7));  // representable
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8)), 1.0f);                         // tie → even
  EXPECT_EQ(round_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));  // tie → even (up)
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -12)), 1.0f + std::ldexp(1.0f, -7));
}

}  // namespace
}  // namespace frugal::core
