// Where the wgmma kernels stage their operands in shared memory (FP8 GEMM v3, grouped GEMM v4), and
// where the tensor cores read them: plain C++ for the host and the device, so that a CPU test can
// check, element by element, that every 16-byte chunk the kernels stage lands where each MMA's
// descriptor (start, leading and stride byte offsets) says the element is.
//
// The tensor cores' side is the PTX ISA's "Canonical Layouts" table for no swizzling, with
// T = 16 bytes / element size:
//   K-major  ((8, m), (T, 2k)) : ((T, stride), (1, leading))   — K contiguous
//   MN-major ((T, 1, m), (8, k)) : ((1, T, stride), (T, leading)) — M or N contiguous
// in elements; below in bytes.
#pragma once

#include "frugal/kernels/fp8_layout.hpp"  // FRUGAL_HOST_DEVICE

namespace frugal::kernels::wgmma {

inline constexpr int kCoreBytes = 128;  // a core matrix: 8 rows × 16 bytes, stored contiguously

// Byte address of element (mn, k) of an operand, relative to its descriptor's start.
FRUGAL_HOST_DEVICE constexpr int k_major_address(int mn, int k, int element_bytes, int leading, int stride) {
  const int t = 16 / element_bytes;
  return (mn % 8) * 16 + (mn / 8) * stride + (k % t) * element_bytes + (k / t) * leading;
}
FRUGAL_HOST_DEVICE constexpr int mn_major_address(int mn, int k, int element_bytes, int leading, int stride) {
  const int t = 16 / element_bytes;
  return (mn % t) * element_bytes + (mn / t) * stride + (k % 8) * 16 + (k / 8) * leading;
}

// FP8 GEMM v3: per stage, A (64 rows) and B (128 rows) × 128 bytes of K, both K-major; chunk c of
// a row holds its bytes 16c … 16c + 15. One m64n128k32 MMA per 32 bytes of K.
struct Fp8Staging {
  static constexpr int leading = kCoreBytes;       // the next 16 bytes of K: the next core matrix
  static constexpr int stride = 128 / 16 * kCoreBytes;  // the next 8 rows: after a row group's 8 core matrices
  FRUGAL_HOST_DEVICE static constexpr int chunk(int row, int c) { return (row / 8) * stride + c * leading + (row % 8) * 16; }
  FRUGAL_HOST_DEVICE static constexpr int k_step_start(int step) { return 2 * step * leading; }  // 32 bytes = 2 chunks
};

// Grouped GEMM v4, bf16: per stage, X 64 rows × 64 of K (K-major, chunk j = K elements 8j … 8j + 7)
// and W 64 rows of K × 128 of N (N-major, chunk j = N elements 8j … 8j + 7). One m64n128k16 MMA per
// 16 of K.
struct Bf16Staging {
  static constexpr int x_leading = kCoreBytes, x_stride = 64 / 8 * kCoreBytes;     // X: next 8 of K; next 8 rows
  static constexpr int w_leading = 128 / 8 * kCoreBytes, w_stride = kCoreBytes;    // W: next 8 rows of K; next 8 of N
  FRUGAL_HOST_DEVICE static constexpr int x_chunk(int row, int j) { return (row / 8) * x_stride + j * x_leading + (row % 8) * 16; }
  FRUGAL_HOST_DEVICE static constexpr int w_chunk(int k, int j) { return (k / 8) * w_leading + j * w_stride + (k % 8) * 16; }
  FRUGAL_HOST_DEVICE static constexpr int x_k_step_start(int step) { return 2 * step * x_leading; }  // 16 of K = 2 chunks
  FRUGAL_HOST_DEVICE static constexpr int w_k_step_start(int step) { return 2 * step * w_leading; }  // 16 of K = 2 row groups
};

}  // namespace frugal::kernels::wgmma
