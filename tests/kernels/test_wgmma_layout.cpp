// The wgmma kernels' shared-memory layouts on the CPU (wgmma_layout.hpp). First the canonical
// no-swizzle address functions against the PTX ISA's own worked examples ("Canonical Layouts":
// K-major tf32 and MN-major bf16). Then, for every element every MMA reads, that the 16-byte chunk
// the kernel staged puts it exactly where that MMA's descriptor (start, leading and stride byte
// offsets) says it is — and that staging fills each stage's bytes once each.
#include <gtest/gtest.h>

#include <set>

#include "frugal/kernels/wgmma_layout.hpp"

namespace frugal::kernels::wgmma {
namespace {

TEST(WgmmaLayout, CanonicalAddressesMatchThePtxExamples) {
  // K-major, tf32: ((8,2),(4,4)):((4,32),(1,64)) elements, LBO 64·4 bytes, SBO 32·4 bytes.
  for (int mn = 0; mn < 16; ++mn)
    for (int k = 0; k < 16; ++k)
      ASSERT_EQ(k_major_address(mn, k, 4, 256, 128), 4 * ((mn % 8) * 4 + (mn / 8) * 32 + (k % 4) + (k / 4) * 64)) << mn << ", " << k;
  // MN-major, bf16: ((8,1,2),(8,2)):((1,8,64),(8,128)) elements, LBO 128·2 bytes, SBO 64·2 bytes.
  for (int mn = 0; mn < 16; ++mn)
    for (int k = 0; k < 16; ++k)
      ASSERT_EQ(mn_major_address(mn, k, 2, 256, 128), 2 * ((mn % 8) + (mn / 8) * 64 + (k % 8) * 8 + (k / 8) * 128)) << mn << ", " << k;
}

// FP8 GEMM v3: A (64 rows) and B (128 rows) × 128 bytes of K per stage; four m64n128k32 MMAs.
TEST(WgmmaLayout, Fp8StagingIsWhereEachMmaReads) {
  for (int rows : {64, 128}) {
    std::set<int> staged;
    for (int row = 0; row < rows; ++row)
      for (int byte = 0; byte < 128; ++byte) staged.insert(Fp8Staging::chunk(row, byte / 16) + byte % 16);
    EXPECT_EQ(staged.size(), static_cast<std::size_t>(rows * 128));
    EXPECT_EQ(*staged.rbegin(), rows * 128 - 1);  // the stage's bytes, each once
    for (int step = 0; step < 4; ++step)
      for (int row = 0; row < rows; ++row)
        for (int k = 0; k < 32; ++k) {
          const int byte = 32 * step + k;
          ASSERT_EQ(Fp8Staging::chunk(row, byte / 16) + byte % 16,
                    Fp8Staging::k_step_start(step) + k_major_address(row, k, 1, Fp8Staging::leading, Fp8Staging::stride))
              << "row " << row << ", K byte " << byte;
        }
  }
}

// Grouped GEMM v4: X (64 rows × 64 of K, K-major) and W (64 of K × 128 of N, N-major), bf16; four
// m64n128k16 MMAs with W transposed (imm-trans-b).
TEST(WgmmaLayout, Bf16StagingIsWhereEachMmaReads) {
  std::set<int> x_bytes, w_bytes;
  for (int row = 0; row < 64; ++row)
    for (int k = 0; k < 64; ++k) x_bytes.insert(Bf16Staging::x_chunk(row, k / 8) + (k % 8) * 2);
  for (int k = 0; k < 64; ++k)
    for (int n = 0; n < 128; ++n) w_bytes.insert(Bf16Staging::w_chunk(k, n / 8) + (n % 8) * 2);
  EXPECT_EQ(x_bytes.size(), 64u * 64u);
  EXPECT_EQ(*x_bytes.rbegin(), 64 * 64 * 2 - 2);
  EXPECT_EQ(w_bytes.size(), 64u * 128u);
  EXPECT_EQ(*w_bytes.rbegin(), 64 * 128 * 2 - 2);
  for (int step = 0; step < 4; ++step)
    for (int k = 0; k < 16; ++k) {
      const int global_k = 16 * step + k;
      for (int row = 0; row < 64; ++row)
        ASSERT_EQ(Bf16Staging::x_chunk(row, global_k / 8) + (global_k % 8) * 2,
                  Bf16Staging::x_k_step_start(step) + k_major_address(row, k, 2, Bf16Staging::x_leading, Bf16Staging::x_stride))
            << "X row " << row << ", k " << global_k;
      for (int n = 0; n < 128; ++n)
        ASSERT_EQ(Bf16Staging::w_chunk(global_k, n / 8) + (n % 8) * 2,
                  Bf16Staging::w_k_step_start(step) + mn_major_address(n, k, 2, Bf16Staging::w_leading, Bf16Staging::w_stride))
            << "W k " << global_k << ", n " << n;
    }
}

}  // namespace
}  // namespace frugal::kernels::wgmma
