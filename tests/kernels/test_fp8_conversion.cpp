// The conversions the FP8 kernels run, checked on the CPU through CUDA's own host implementations
// of them (cuda_fp8.h): float → E4M3 (cvt.rn.satfinite.e4m3x2.f32 on the device) against core's
// encoder for floats across the whole range, the byte order of the packed pair the quantise kernel
// stores, and E4M3 → float (the FP8 GEMM's v1 decode) for all 256 codes. On a GPU the quantise
// tests then compare the device's codes with core's (test_fp8_quantize_gpu.cpp).
#include <gtest/gtest.h>

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "frugal/core/fp8_format.hpp"

namespace frugal::kernels {
namespace {

std::uint8_t cuda_e4m3(float v) { return static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3)); }

// Every 4099th float bit pattern (about a million: every exponent, mantissas spread evenly), plus
// the boundaries: ±448, the midpoint to 480 and past it, ±Inf, the smallest subnormal's half.
TEST(Fp8Conversion, CudaEncodingEqualsCoreEncoder) {
  long long compared = 0;
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 4099) {
    const float v = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (std::isnan(v)) continue;  // NaN: CUDA gives 0x7F whatever the sign, core keeps the sign
    ASSERT_EQ(cuda_e4m3(v), core::fp8_encode(v, core::kE4M3)) << "x = " << v << " (bits " << std::hex << bits << ")";
    ++compared;
  }
  for (float v : {448.0f, -448.0f, 464.0f, 464.1f, 479.0f, 1e30f, -INFINITY, INFINITY, 0x1p-10f, 0x1.8p-10f, -0x1p-11f, 0.0f, -0.0f})
    EXPECT_EQ(cuda_e4m3(v), core::fp8_encode(v, core::kE4M3)) << "x = " << v;
  EXPECT_GT(compared, 1'000'000);
}

// The quantise kernel packs four codes into one word from two float2 conversions: the first
// element of each pair must land in the low byte (little-endian, so memory order = element order).
TEST(Fp8Conversion, PackedPairPutsTheFirstElementInTheLowByte) {
  const auto pair = static_cast<std::uint16_t>(__nv_cvt_float2_to_fp8x2(float2{1.5f, -3.0f}, __NV_SATFINITE, __NV_E4M3));
  EXPECT_EQ(pair & 0xFF, core::fp8_encode(1.5, core::kE4M3));
  EXPECT_EQ(pair >> 8, core::fp8_encode(-3.0, core::kE4M3));
}

TEST(Fp8Conversion, CudaDecodingEqualsCoreDecoder) {
  for (int code = 0; code < 256; ++code) {
    const float cuda = __half2float(__half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(code), __NV_E4M3)));
    if (core::fp8_is_nan(static_cast<std::uint8_t>(code), core::kE4M3)) {
      EXPECT_TRUE(std::isnan(cuda)) << "code " << code;
    } else {
      EXPECT_EQ(cuda, core::fp8_decode(static_cast<std::uint8_t>(code), core::kE4M3)) << "code " << code;
    }
  }
}

}  // namespace
}  // namespace frugal::kernels
